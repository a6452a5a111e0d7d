"""Connection, keystores and nonce-safe sending against a real anvil chain."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from eth_account import Account
from eth_typing import URI
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3RPCError
from web3.types import RPCEndpoint

from ledger_client import contract_errors as ce
from ledger_client.chain import (
    STATE_RACE_RETRIES,
    TransactionSender,
    _HTTPProvider,
    _PooledPosts,
    calldata,
    connect,
    connect_async,
)
from ledger_client.errors import ChainUnavailableError, TransactionFailedError
from ledger_client.keystore import (
    KeystoreError,
    create_account_keystore,
    keystore_address,
    load_account,
)
from ledger_client.records import DocType, Record
from tests.conftest import ConsortiumFixture


def _transfer(sender: TransactionSender, to: str, value: int) -> None:
    tx = {
        "to": to,
        "value": value,
        "gas": 21000,
        "chainId": sender.chain_id,
        **sender.fee_params(),
    }
    sender.wait(sender.sign_and_send(tx))  # type: ignore[arg-type]


def test_concurrent_submissions_from_one_account_never_collide(
    w3: Web3, sender: TransactionSender
) -> None:
    recipient = Account.create().address
    start_nonce = w3.eth.get_transaction_count(sender.address)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: _transfer(sender, recipient, 1), range(40)))
    assert w3.eth.get_balance(recipient) == 40
    assert w3.eth.get_transaction_count(sender.address) == start_nonce + 40


def test_nonce_resyncs_after_an_outside_transaction(w3: Web3, sender: TransactionSender) -> None:
    recipient = Account.create().address
    _transfer(sender, recipient, 1)
    # Another process using the same key sends a transaction behind our back.
    other = TransactionSender(w3, sender.account)
    _transfer(other, recipient, 1)
    _transfer(sender, recipient, 1)  # stale local nonce: must resync, not fail
    assert w3.eth.get_balance(recipient) == 3


def _mined_block(sender: TransactionSender, tx_hash: HexBytes, *, raw: bool) -> int:
    if raw:
        receipt = sender.wait_raw(tx_hash)
        assert receipt.tx_hash == bytes(tx_hash) and receipt.gas_used == 21000
        return receipt.block_number
    formatted = sender.wait(tx_hash)
    assert formatted["status"] == 1
    return int(formatted["blockNumber"])


@pytest.mark.parametrize("raw", [False, True], ids=["formatted", "raw"])
def test_waiting_for_a_receipt_polls_until_mined_and_gives_up_at_the_timeout(
    w3: Web3, sender: TransactionSender, raw: bool
) -> None:
    recipient = Account.create().address
    base = {"to": recipient, "value": 1, "gas": 21000, "chainId": sender.chain_id}
    nonce = w3.eth.get_transaction_count(sender.address)
    # Sent one nonce ahead: the chain holds it back until the gap is filled.
    queued = w3.eth.send_raw_transaction(
        sender.account.sign_transaction(
            {**base, **sender.fee_params(), "nonce": nonce + 1}
        ).raw_transaction
    )
    sender.receipt_timeout = 0.3
    with pytest.raises(TransactionFailedError, match=r"not mined within 0\.3s"):
        _mined_block(sender, queued, raw=raw)
    sender.receipt_timeout = 30.0
    gap = w3.eth.send_raw_transaction(
        sender.account.sign_transaction(
            {**base, **sender.fee_params(), "nonce": nonce}
        ).raw_transaction
    )
    assert _mined_block(sender, gap, raw=raw) <= _mined_block(sender, queued, raw=raw)
    assert w3.eth.get_balance(recipient) == 2


def test_unreachable_endpoint_is_a_clear_error() -> None:
    with pytest.raises(ChainUnavailableError, match="not reachable"):
        connect("http://127.0.0.1:9", timeout=1)


def test_websocket_endpoint_connects(anvil) -> None:  # type: ignore[no-untyped-def]
    async def chain_id() -> int:
        w3 = await connect_async(anvil.ws_url)
        try:
            return await w3.eth.chain_id
        finally:
            await w3.provider.disconnect()

    assert asyncio.run(chain_id()) == anvil.chain_id


def test_keystore_roundtrip_and_wrong_password(tmp_path: Path) -> None:
    path = tmp_path / "member.json"
    address = create_account_keystore(path, "correct horse", kdf="pbkdf2", iterations=2)
    assert keystore_address(path) == address
    assert load_account(path, "correct horse").address == address
    assert path.stat().st_mode & 0o077 == 0
    with pytest.raises(KeystoreError, match="wrong password"):
        load_account(path, "battery staple")
    assert "correct horse" not in path.read_text()


def test_reads_of_the_latest_state_survive_blocks_mined_meanwhile(w3: Web3) -> None:
    """The devnet's anvil keeps no past states: a read of "latest" racing a new block
    fails with BlockOutOfRangeError unless the provider asks again."""
    stop = threading.Event()

    def mine() -> None:
        while not stop.is_set():
            w3.provider.make_request(RPCEndpoint("evm_mine"), [])

    account = w3.eth.accounts[0]
    call = {"from": account, "to": account, "data": "0x"}
    miner = threading.Thread(target=mine)
    miner.start()
    try:
        for _ in range(300):
            assert w3.eth.estimate_gas(call) == 21000  # type: ignore[arg-type]
        for _ in range(20):
            answers = w3.provider.make_batch_request(  # type: ignore[attr-defined]
                [(RPCEndpoint("eth_call"), [call, "latest"])] * 20
            )
            assert [a.get("result") for a in answers] == ["0x"] * 20
    finally:
        stop.set()
        miner.join()


def test_a_read_of_a_state_the_node_no_longer_keeps_fails_as_such(w3: Web3) -> None:
    w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    old = w3.eth.block_number - 1
    with pytest.raises(Web3RPCError, match="BlockOutOfRange"):
        w3.eth.get_balance(w3.eth.accounts[0], old)


def _lost(height: int) -> dict[str, object]:
    message = f"BlockOutOfRangeError: block height is {height} but requested was {height - 1}"
    return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": message}}


def _scripted_provider(
    monkeypatch: pytest.MonkeyPatch, answers: list[dict[str, object]]
) -> tuple[_HTTPProvider, list[object]]:
    """A provider whose transport answers `answers` in turn and records the params sent."""
    sent: list[object] = []

    def answer(self: HTTPProvider, method: RPCEndpoint, params: object) -> object:
        sent.append(params)
        return answers.pop(0)

    monkeypatch.setattr(HTTPProvider, "make_request", answer)
    return _HTTPProvider("http://127.0.0.1:1"), sent


def test_a_read_of_latest_is_asked_again_for_as_long_as_blocks_keep_racing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CI lost the race four times in a row with a miner in a tight loop (a streak of 4 in
    3,000 reads here): a read of "latest" is repeated, each time against a newer block."""
    lost = [_lost(100 + i) for i in range(10)]
    provider, sent = _scripted_provider(monkeypatch, [*lost, {"id": 1, "result": "0x"}])
    response = provider.make_request(RPCEndpoint("eth_call"), [{"to": "0x00"}, "latest"])
    assert response == {"id": 1, "result": "0x"}
    assert len(sent) == 11


def test_a_read_of_latest_that_keeps_losing_ends_with_the_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lost = [_lost(100 + i) for i in range(STATE_RACE_RETRIES + 1)]
    provider, sent = _scripted_provider(monkeypatch, [*lost, {"id": 1, "result": "0x"}])
    response = provider.make_request(RPCEndpoint("eth_call"), [{"to": "0x00"}, "latest"])
    assert "BlockOutOfRangeError" in str(response.get("error"))
    assert len(sent) == STATE_RACE_RETRIES + 1


def test_a_read_of_a_named_block_is_not_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking again for a block the node no longer keeps gets the same refusal."""
    for block in ("0x10", 16, {"blockNumber": "0x10"}):
        provider, sent = _scripted_provider(monkeypatch, [_lost(17), {"id": 1, "result": "0x"}])
        response = provider.make_request(RPCEndpoint("eth_getBalance"), ["0x00", block])
        assert "BlockOutOfRangeError" in str(response.get("error"))
        assert len(sent) == 1


def test_chain_posts_take_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JSON-RPC transport resolves the proxy and the CA bundle when it is made;
    requests would read the environment (and look for .netrc) on every request."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    remote = _PooledPosts("https://rpc.example.org")
    local = _PooledPosts("http://127.0.0.1:8545")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9999")  # read no more
    assert remote.proxy == "http://127.0.0.1:3128"
    assert local.proxy is None
    assert remote.ca_certs == "/etc/ssl/certs/ca-certificates.crt"


class _Scripted(BaseHTTPRequestHandler):
    """Answers a JSON-RPC POST by its path: /ok, /error (HTTP 503), /slow (after 2 s),
    /auth (401 without the Basic credentials of user "node", password "s3cret")."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/slow":
            threading.Event().wait(2.0)
        status = 503 if self.path == "/error" else 200
        if self.path == "/auth" and self.headers.get("Authorization") != "Basic bm9kZTpzM2NyZXQ=":
            status = 401
        body = b'{"jsonrpc":"2.0","id":0,"result":"0x2a"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_chain_posts_fail_as_the_requests_errors_callers_expect() -> None:
    """web3 retries reads on `requests.ConnectionError`/`Timeout` and our callers map
    OSError to ChainUnavailableError: the urllib3 transport raises those, and an HTTP
    error status as `requests.HTTPError`, as the requests session did."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{closed.getsockname()[1]}"
    try:
        provider = _HTTPProvider(f"{base}/ok", request_kwargs={"timeout": 0.5})
        assert provider.make_request(RPCEndpoint("eth_blockNumber"), [])["result"] == "0x2a"
        port = server.server_address[1]
        with_credentials = _HTTPProvider(f"http://node:s3cret@127.0.0.1:{port}/auth")
        assert with_credentials.make_request(RPCEndpoint("eth_chainId"), [])["result"] == "0x2a"
        with pytest.raises(requests.HTTPError, match="401"):
            _PooledPosts(base).make_post_request(URI(f"{base}/auth"), b"{}", timeout=0.5)
        posts = _PooledPosts(base)
        with pytest.raises(requests.HTTPError, match="503"):
            posts.make_post_request(URI(f"{base}/error"), b"{}", timeout=0.5)
        with pytest.raises(requests.Timeout) as slow:
            posts.make_post_request(URI(f"{base}/slow"), b"{}", timeout=0.5)
        with pytest.raises(requests.ConnectionError) as gone:
            posts.make_post_request(URI(refused), b"{}", timeout=0.5)
        assert isinstance(slow.value, OSError) and isinstance(gone.value, OSError)
        assert not isinstance(gone.value, requests.Timeout)
    finally:
        server.shutdown()
        server.server_close()


def test_calldata_is_what_web3_encodes_for_every_argument_shape(
    consortium: ConsortiumFixture,
) -> None:
    """`calldata` (eth_abi, once) against web3's own encoding: bytes, a packed record, a
    proof tuple, an economy code, an address list, a bool."""
    kz = consortium["KZ"].ledger
    registry, members = kz.registry.contract.functions, kz.consortium.contract.functions
    record = Record(DocType.PRE_ARRIVAL_MANIFEST, os.urandom(32), os.urandom(32), ("UZ", "AZ"))
    proof = (os.urandom(32), record.pack(), [os.urandom(32), os.urandom(32)])
    calls = [
        registry.anchor(5, b"\x00" * 32, record.pack()),
        registry.anchorBatch(6, b"\x01" * 32, record.pack() + record.pack()),
        registry.acknowledge(os.urandom(32), 2, 1, os.urandom(32), os.urandom(32), proof),
        members.proposeAddMember(b"SG", os.urandom(32), [Account.create().address] * 2),
        members.vote(3, True),
    ]
    for call in calls:
        assert calldata(call) == HexBytes(call._encode_transaction_data()), call.fn_name


def test_a_transaction_built_from_calldata_reverts_with_its_typed_error_at_estimate(
    consortium: ConsortiumFixture,
) -> None:
    registry = consortium["KZ"].ledger.registry
    record = Record(DocType.PRE_ARRIVAL_MANIFEST, os.urandom(32), os.urandom(32), ("UZ",))
    serial = 900_001
    registry.anchor(serial, record)
    sender = registry.sender
    assert sender is not None
    nonce = sender.w3.eth.get_transaction_count(sender.address)
    with pytest.raises(ce.RegistryDuplicateDocument):
        registry.anchor(serial, record)
    assert sender.w3.eth.get_transaction_count(sender.address) == nonce  # nothing was sent


@pytest.mark.parametrize(
    "raw",
    [
        b'{"jsonrpc":"2.0","id":1,"result":[{"address":"0xab","topics":["0x01","0x02"],'
        b'"data":"0x","blockNumber":"0x10","removed":false,"logIndex":"0x0"}]}',
        b'{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"header not found"}}',
        b'{"jsonrpc":"2.0","id":3,"result":null}',
        b'[{"id":1,"result":"0x1"},{"id":2,"result":123456789012345678901234567890}]',
        b'{"id":4,"result":"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00","x":1.5e300,"n":-0.0}',
        b'{"id":5,"result":NaN}',  # not JSON: jiter refuses it, json reads it
        b'{"id":6,"result":"\\ud800"}',  # a lone surrogate: the same
    ],
)
def test_responses_decode_as_web3s_own_decoder_reads_them(raw: bytes) -> None:
    decoded = _HTTPProvider.decode_rpc_response(raw)
    assert decoded == HTTPProvider.decode_rpc_response(raw) or json.dumps(decoded) == json.dumps(
        HTTPProvider.decode_rpc_response(raw)
    )  # NaN != NaN: compared by their JSON text


def test_a_malformed_response_raises_web3s_decoding_error() -> None:
    with pytest.raises(json.JSONDecodeError, match="Could not decode"):
        _HTTPProvider.decode_rpc_response(b'{"id":1,"result":')
