"""Chain connection and transaction sending.

Speaks standard Ethereum JSON-RPC only (no anvil-only calls) so the same code
runs against anvil and Besu/QBFT: proof-of-authority extraData middleware can be
switched on, and zero-gas-price networks get legacy transactions at gas price 0.

`TransactionSender` owns one signing account: a lock-protected local nonce
counter lets many threads submit at once without nonce collisions, and a
rejected nonce resynchronizes from the chain. Reverts come back as the typed
exceptions of `ledger_client.contract_errors`, named after the contract rule.

`HeadSubscription` follows new blocks over a WebSocket (`eth_subscribe`
"newHeads" through web3's `subscription_manager`) in a thread of its own and
reconnects with backoff; callers use it only as a wake-up signal and keep their
own polling as the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import certifi
import jiter
import requests
import structlog
import urllib3
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_typing import URI
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import AsyncWeb3, Web3
from web3._utils.http import DEFAULT_HTTP_TIMEOUT
from web3._utils.http_session_manager import HTTPSessionManager
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    TransactionIndexingInProgress,
    TransactionNotFound,
    Web3RPCError,
)
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers import AsyncHTTPProvider, HTTPProvider, WebSocketProvider
from web3.types import LogReceipt, Nonce, RPCEndpoint, RPCResponse, TxParams, TxReceipt
from web3.utils.subscriptions import (
    EthSubscription,
    LogsSubscription,
    LogsSubscriptionContext,
    NewHeadsSubscription,
    NewHeadsSubscriptionContext,
)

from ledger_client import contract_errors
from ledger_client.errors import (
    ChainError,
    ChainUnavailableError,
    ContractRuleError,
    TransactionFailedError,
)

#: Transactions are priced once per this many seconds, not once per transaction.
FEE_REFRESH_SECONDS = 2.0

#: Waits between receipt polls: short first (an automining devnet usually has the
#: receipt a few ms after the send, and a miss at web3's fixed 50 ms interval put
#: 50 ms on the slowest submissions), then every `RECEIPT_POLL_MAX` seconds.
RECEIPT_POLLS = (0.002, 0.005, 0.01, 0.02, 0.04)
RECEIPT_POLL_MAX = 0.05

log = structlog.get_logger(__name__)

_R = TypeVar("_R")


STATE_RACE_RETRIES = 20
"""Times a read of the latest state is asked again after losing the race with a new
block: a miner in a tight loop made 1 read in ~3,000 lose 4 times in a row (CI met it)."""

_BLOCK_TAGS = frozenset({"latest", "pending", "safe", "finalized"})


def _lost_state_race(response: object) -> bool:
    error = response.get("error") if isinstance(response, dict) else None
    return isinstance(error, dict) and "BlockOutOfRangeError" in str(error.get("message", ""))


def _reads_a_moving_block(params: Any) -> bool:
    """Whether a request reads a block resolved when it is served ("latest" and the
    like, or a lone argument that leaves the block to its default), so that asking
    again reads a newer block; a block named by number or hash stays as old."""
    if not isinstance(params, (list, tuple)) or len(params) <= 1:
        return True
    return any(isinstance(param, str) and param in _BLOCK_TAGS for param in params)


def _race_lost(request: tuple[RPCEndpoint, Any], response: object) -> bool:
    return _lost_state_race(response) and _reads_a_moving_block(request[1])


class _HTTPProvider(HTTPProvider):
    """An HTTP provider that repeats a read of the latest state that anvil refused with
    ``BlockOutOfRangeError`` (at most `STATE_RACE_RETRIES` times).

    The devnet's anvil keeps no state of past blocks (`devnet.anvil.PRUNE_HISTORY`): a
    read of the latest state that resolved "latest" to a block number just before a new
    block was mined finds that state gone and fails (23 of the node tests' fixtures met
    it in one run, a block every 0.2 s). Asked again, it reads the new block. A request
    naming a block that is really too old is not repeated: it is answered as such.

    Its requests go through `_PooledPosts` (urllib3) rather than a `requests` session.
    """

    def __init__(self, endpoint_uri: str, **kwargs: Any) -> None:
        super().__init__(endpoint_uri, **kwargs)
        self._request_session_manager = _PooledPosts(endpoint_uri)

    @staticmethod
    def decode_rpc_response(raw_response: bytes) -> RPCResponse:
        """JSON-RPC responses read by jiter (1.8x `json.loads` on the large
        ``eth_getLogs`` answers of a 5,000-document verification); what it refuses
        (malformed JSON, NaN, lone surrogates) goes to web3's decoder, which reads
        it as before or raises its error."""
        try:
            return cast(RPCResponse, jiter.from_json(raw_response, cache_mode="keys"))
        except ValueError:
            return HTTPProvider.decode_rpc_response(raw_response)

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        response = super().make_request(method, params)
        for _ in range(STATE_RACE_RETRIES):
            if not _race_lost((method, params), response):
                break
            response = super().make_request(method, params)
        return response

    def make_batch_request(
        self, batch_requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        responses = super().make_batch_request(batch_requests)
        for _ in range(STATE_RACE_RETRIES):
            if not isinstance(responses, list):
                break
            lost = [
                i for i, response in enumerate(responses) if _race_lost(batch_requests[i], response)
            ]
            if not lost:
                break
            again = super().make_batch_request([batch_requests[i] for i in lost])
            if not isinstance(again, list) or len(again) != len(lost):
                break
            for index, response in zip(lost, again, strict=True):
                responses[index] = response
        return responses


HTTP_POOL_SIZE = 32
"""Connections kept per HTTP endpoint: a node's fetch threads, worker and API share one."""


class _PooledPosts(HTTPSessionManager):
    """web3's JSON-RPC POSTs over one urllib3 connection pool instead of a `requests`
    session: requests spent ~0.55 ms of CPU a call on top of urllib3's ~0.4 ms (0.93 vs
    0.39 ms for a local `eth_blockNumber`: session merging, hooks, header checks), and
    a node makes a few dozen calls per document.

    Credentials in `url` are sent as Basic authorization. The environment is read
    once, here: the proxy that applies to `url` and a CA
    bundle named in ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (else certifi's, as
    requests did). Failures are raised as the `requests` exceptions web3's retry of
    reads and our callers expect: `requests.Timeout`/`requests.ConnectionError` (both
    OSError), `requests.HTTPError` for an HTTP error status.
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        parsed = urllib3.util.parse_url(url)
        scheme = parsed.scheme or "http"
        # credentials in the URL become a Basic header, as requests made them
        self.auth: dict[str, str] = (
            urllib3.util.make_headers(basic_auth=parsed.auth) if parsed.auth else {}
        )
        proxies = requests.utils.get_environ_proxies(url)
        self.proxy: str | None = proxies.get(scheme) or proxies.get("all")
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self.ca_certs: str = bundle or certifi.where()
        options: dict[str, Any] = {
            "maxsize": HTTP_POOL_SIZE,
            "retries": False,
            "ca_certs": self.ca_certs,
        }
        self.pool: urllib3.PoolManager = (
            urllib3.ProxyManager(self.proxy, **options)
            if self.proxy
            else urllib3.PoolManager(**options)
        )

    def make_post_request(
        self, endpoint_uri: URI, data: bytes | dict[str, Any], **kwargs: Any
    ) -> bytes:
        seconds = kwargs.get("timeout") or DEFAULT_HTTP_TIMEOUT
        try:
            response = self.pool.urlopen(
                "POST",
                endpoint_uri,
                body=data,
                headers={**(kwargs.get("headers") or {}), **self.auth},
                timeout=urllib3.Timeout(connect=seconds, read=seconds),
                redirect=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:  # also a ConnectTimeoutError
            raise requests.ConnectionError(f"{endpoint_uri}: {exc}") from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise requests.Timeout(f"{endpoint_uri}: {exc}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise requests.ConnectionError(f"{endpoint_uri}: {exc}") from exc
        if response.status >= 400:
            raise requests.HTTPError(f"{response.status} {response.reason} for url: {endpoint_uri}")
        return response.data


def connect(url: str, *, poa: bool = False, timeout: float = 30.0) -> Web3:
    """Connect to an HTTP JSON-RPC endpoint; fails fast with ChainUnavailableError."""
    if not url.startswith(("http://", "https://")):
        raise ChainUnavailableError(
            f"{url!r} is not an HTTP(S) JSON-RPC URL; use connect_async() for ws:// endpoints"
        )
    # The chain id never changes under a connection, yet web3 asks for it on many calls:
    # cached, it costs one request instead of one per call (nothing else is cached).
    w3 = Web3(
        _HTTPProvider(
            url,
            request_kwargs={"timeout": timeout},
            cache_allowed_requests=True,
            cacheable_requests={RPCEndpoint("eth_chainId")},
        )
    )
    if poa:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    _check_reachable(url, lambda: w3.eth.chain_id)
    return w3


async def connect_async(url: str, *, poa: bool = False, timeout: float = 30.0) -> AsyncWeb3[Any]:
    """Connect to an HTTP or WebSocket endpoint for asynchronous use (subscriptions)."""
    w3: AsyncWeb3[Any]
    if url.startswith(("ws://", "wss://")):
        w3 = await AsyncWeb3(WebSocketProvider(url, request_timeout=timeout))
    elif url.startswith(("http://", "https://")):
        w3 = AsyncWeb3(AsyncHTTPProvider(url, request_kwargs={"timeout": timeout}))
    else:
        raise ChainUnavailableError(f"{url!r} is neither an http(s):// nor a ws(s):// URL")
    if poa:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    try:
        await w3.eth.chain_id
    except Exception as exc:
        raise ChainUnavailableError(f"chain endpoint {url} is not reachable: {exc}") from exc
    return w3


def _check_reachable(url: str, probe: Callable[[], object]) -> None:
    try:
        probe()
    except Exception as exc:
        raise ChainUnavailableError(
            f"chain endpoint {url} is not reachable ({exc.__class__.__name__}: {exc}); "
            "is the node running and the URL right?"
        ) from exc


def decode_revert(data: str | bytes | None) -> ContractRuleError | None:
    """Turn revert data into the typed exception of the contract rule, if known."""
    if data is None:
        return None
    raw = HexBytes(data)
    if len(raw) < 4:
        return None
    entry = contract_errors.ERRORS.get("0x" + raw[:4].hex())
    if entry is None:
        return None
    cls, names, types = entry
    try:
        values = abi_decode(list(types), bytes(raw[4:]))
    except Exception:
        return None
    args = {
        name: _readable(value, abi_type)
        for name, value, abi_type in zip(names, values, types, strict=True)
    }
    return cls(cls.__name__, args)


def _readable(value: object, abi_type: str) -> object:
    if abi_type == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if isinstance(value, bytes):
        if len(value) == 2 and value.isalpha():  # economy codes are bytes2 ASCII
            return value.decode()
        return "0x" + value.hex()
    return value


def as_chain_error(exc: Exception) -> Exception:
    """Map a web3 exception from a call or estimate to our typed exception."""
    if isinstance(exc, ContractCustomError | ContractLogicError):
        data = exc.data if isinstance(exc.data, str) else None
        typed = decode_revert(data)
        if typed is not None:
            return typed
        return TransactionFailedError(f"contract call reverted: {exc.message or exc}")
    if isinstance(exc, ConnectionError | OSError):
        return ChainUnavailableError(f"chain endpoint not reachable: {exc}")
    return exc


@dataclass(frozen=True)
class RawReceipt:
    """A successful transaction's receipt, its logs as the node sent them (hex strings).

    web3 formats a receipt's logs at about a millisecond each, and an anchoring or an
    acknowledgement batch holds one log per document; the callers that read logs
    decode the few words they need (`ledger_client.raw_logs`)."""

    tx_hash: bytes
    block_number: int
    gas_used: int
    logs: tuple[dict[str, Any], ...]


def raw_receipt(w3: Web3, tx_hash: bytes) -> dict[str, Any] | None:
    """The receipt of `tx_hash` unformatted; None if the node cannot give it: not mined
    (yet), or the node still indexing its transactions (geth's answer after a restart)."""
    try:
        response = w3.provider.make_request(
            RPCEndpoint("eth_getTransactionReceipt"), ["0x" + tx_hash.hex()]
        )
    except Exception as exc:
        raise as_chain_error(exc) from exc
    if "error" in response:
        error = response["error"]
        message = error.get("message", "") if isinstance(error, dict) else str(error)
        if "indexing" in message.lower():
            return None
        raise ChainError(f"reading the receipt of 0x{tx_hash.hex()} failed: {error}")
    return cast(dict[str, Any] | None, response.get("result"))


@dataclass
class _Fees:
    params: dict[str, int]
    fetched_at: float


class TransactionSender:
    """Signs and sends transactions for one account, safely from many threads."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        gas_margin: float = 1.25,
        receipt_timeout: float = 120.0,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.address = account.address
        self.chain_id = w3.eth.chain_id
        self.gas_margin = gas_margin
        self.receipt_timeout = receipt_timeout
        self._lock = threading.Lock()
        self._next_nonce: int | None = None
        self._fees: _Fees | None = None

    # -- nonces ---------------------------------------------------------------
    def _take_nonce(self) -> int:
        with self._lock:
            if self._next_nonce is None:
                self._next_nonce = self.w3.eth.get_transaction_count(self.address, "pending")
            nonce = self._next_nonce
            self._next_nonce += 1
            return nonce

    def resync_nonce(self) -> None:
        """Forget the local counter; the next send reads the pending count again."""
        with self._lock:
            self._next_nonce = None

    # -- fees -----------------------------------------------------------------
    def fee_params(self) -> dict[str, int]:
        """Gas price fields for a new transaction (legacy 0 on free-gas networks)."""
        now = time.monotonic()
        fees = self._fees
        if fees is not None and now - fees.fetched_at < FEE_REFRESH_SECONDS:
            return fees.params
        gas_price = self.w3.eth.gas_price
        params: dict[str, int]
        if gas_price == 0:  # permissioned networks with free gas (Besu min-gas-price 0)
            params = {"gasPrice": 0}
        else:
            base = self.w3.eth.get_block("latest").get("baseFeePerGas")
            if base is None:
                params = {"gasPrice": gas_price}
            else:
                tip = self.w3.eth.max_priority_fee
                params = {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}
        self._fees = _Fees(params, now)
        return params

    # -- building and sending -------------------------------------------------
    def estimate(self, call: ContractFunction | ContractConstructor | TxParams) -> int:
        """The gas limit for `call` (its estimate times `gas_margin`); a revert raises
        the contract's typed rule error."""
        try:
            if isinstance(call, dict):
                estimated = self.w3.eth.estimate_gas(call)
            else:
                estimated = call.estimate_gas({"from": self.address})
        except Exception as exc:
            raise as_chain_error(exc) from exc
        return int(estimated * self.gas_margin)

    def build(
        self, call: ContractFunction | ContractConstructor, *, gas: int | None = None
    ) -> TxParams:
        """The unsigned transaction of `call` (gas estimated unless given). A function
        called with positional arguments is encoded once, by eth_abi (`calldata`)."""
        if isinstance(call, ContractConstructor) or call.kwargs:
            params: Any = {"from": self.address, "chainId": self.chain_id, **self.fee_params()}
            params["gas"] = gas if gas is not None else self.estimate(call)
            return call.build_transaction(params)
        return self.build_call(call.address, calldata(call), gas=gas)

    def build_call(self, to: str, data: bytes, *, gas: int | None = None) -> TxParams:
        """The unsigned transaction calling contract `to` with `data` (gas estimated
        unless given: a revert raises the contract's typed rule error)."""
        tx: Any = {"from": self.address, "to": to, "data": HexBytes(data)}
        if gas is None:
            gas = self.estimate(tx)
        tx.update({"chainId": self.chain_id, "gas": gas, **self.fee_params()})
        return cast(TxParams, tx)

    def sign_and_send(self, tx: TxParams) -> HexBytes:
        """Assign a nonce, sign and send; retry once after a nonce resync."""
        for attempt in (1, 2):
            tx["nonce"] = Nonce(self._take_nonce())
            signed = self.account.sign_transaction(tx)  # type: ignore[arg-type]
            try:
                return self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except (ValueError, Web3RPCError) as exc:
                message = str(exc).lower()
                if attempt == 1 and ("nonce" in message or "already known" in message):
                    self.resync_nonce()
                    continue
                raise TransactionFailedError(f"transaction rejected by the node: {exc}") from exc
            except (ConnectionError, OSError) as exc:
                self.resync_nonce()
                raise ChainUnavailableError(f"could not send transaction: {exc}") from exc
        raise AssertionError("unreachable")

    def wait(self, tx_hash: HexBytes) -> TxReceipt:
        """The transaction's receipt once mined (polled, see `RECEIPT_POLLS`); a revert
        raises its rule error, no receipt within `receipt_timeout` TransactionFailedError."""
        receipt = self._poll_receipt(tx_hash, lambda: self.w3.eth.get_transaction_receipt(tx_hash))
        if receipt["status"] != 1:
            raise self._explain_failure(tx_hash, receipt["blockNumber"])
        return receipt

    def wait_raw(self, tx_hash: HexBytes) -> RawReceipt:
        """`wait`, the receipt's logs left as the node sent them (`RawReceipt`)."""

        def fetch() -> dict[str, Any]:
            receipt = raw_receipt(self.w3, bytes(tx_hash))
            if receipt is None:
                raise TransactionNotFound(f"transaction {tx_hash.hex()} is not mined yet")
            return receipt

        receipt = self._poll_receipt(tx_hash, fetch)
        block_number = int(receipt["blockNumber"], 16)
        if int(receipt["status"], 16) != 1:
            raise self._explain_failure(tx_hash, block_number)
        return RawReceipt(
            bytes(tx_hash), block_number, int(receipt["gasUsed"], 16), tuple(receipt["logs"])
        )

    def _poll_receipt(self, tx_hash: HexBytes, fetch: Callable[[], _R]) -> _R:
        deadline = time.monotonic() + self.receipt_timeout
        delays = iter(RECEIPT_POLLS)
        while True:
            try:
                return fetch()
            except (TransactionNotFound, TransactionIndexingInProgress):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TransactionFailedError(
                        f"transaction {tx_hash.hex()} not mined within {self.receipt_timeout}s"
                    ) from None
                time.sleep(min(next(delays, RECEIPT_POLL_MAX), left))

    def _explain_failure(self, tx_hash: HexBytes, block_number: int) -> Exception:
        """Replay a reverted transaction as a call to recover the contract's reason: on the
        state before its block or, where the node keeps no such history (anvil with
        `--prune-history`, Besu Bonsai beyond its retained layers), on the latest state,
        where what made it revert (a revocation, an acknowledgement) usually still holds."""
        tx = self.w3.eth.get_transaction(tx_hash)
        call: dict[str, Any] = {"from": tx["from"], "to": tx["to"], "data": tx["input"]}
        for block in (block_number - 1, "latest"):
            try:
                self.w3.eth.call(call, block)  # type: ignore[arg-type]
            except Exception as exc:
                if block != "latest" and _history_unavailable(exc):
                    continue
                mapped = as_chain_error(exc)
                if mapped is not exc:
                    return mapped
            break
        return TransactionFailedError(
            f"transaction {tx_hash.hex()} reverted in block {block_number}"
        )

    def transact(
        self, call: ContractFunction | ContractConstructor, *, gas: int | None = None
    ) -> TxReceipt:
        """Build, sign, send one transaction and wait for its successful receipt."""
        return self.wait(self.sign_and_send(self.build(call, gas=gas)))

    def transact_raw(self, call: ContractFunction, *, gas: int | None = None) -> RawReceipt:
        """`transact`, the receipt from `wait_raw`."""
        return self.wait_raw(self.sign_and_send(self.build(call, gas=gas)))

    def transact_many(
        self, calls: Sequence[ContractFunction], *, gas: Sequence[int] | None = None
    ) -> list[TxReceipt]:
        """Send several transactions back to back (consecutive nonces), then wait for all."""
        hashes = [
            self.sign_and_send(self.build(call, gas=None if gas is None else gas[i]))
            for i, call in enumerate(calls)
        ]
        return [self.wait(h) for h in hashes]


_NO_HISTORY = ("blockoutofrange", "missing trie node", "world state", "state not available")


def calldata(call: ContractFunction) -> HexBytes:
    """The data of a call made with positional arguments, encoded by eth_abi. web3
    encodes a call again for its estimate and for its transaction, and checks the whole
    ABI each time (a keccak of every function's signature): ~0.8 ms of CPU each, a
    tenth of a node's CPU at low load, where every document is its own transaction."""
    return HexBytes(
        function_abi_to_4byte_selector(call.abi)
        + abi_encode(get_abi_input_types(call.abi), call.args)
    )


def _history_unavailable(exc: Exception) -> bool:
    """Whether a call failed because the node keeps no state for the block asked."""
    return any(marker in str(exc).lower() for marker in _NO_HISTORY)


class HeadSubscription:
    """New-block notifications from a WebSocket endpoint, in a background thread, and
    the logs that match some filters.

    `on_head(block_number)` is called from the subscription's thread for every head
    the endpoint announces; `on_logs(block_number)` for every log matching one of
    `log_filters` (``eth_getLogs`` filters without a block range: an address and
    topics by position; a log a reorganisation removed is announced again, marked
    removed, and counts too). When the connection drops (or cannot be made),
    `connected` is cleared and the subscriptions are made again after `backoff`
    seconds, doubling up to `max_backoff`; heads and logs announced while
    disconnected are not replayed, so callers must treat them only as hints to look
    at the chain.
    """

    def __init__(
        self,
        url: str,
        on_head: Callable[[int], None],
        *,
        on_logs: Callable[[int], None] | None = None,
        log_filters: Sequence[Mapping[str, Any]] = (),
        poa: bool = False,
        backoff: float = 0.5,
        max_backoff: float = 15.0,
        timeout: float = 10.0,
    ) -> None:
        if not url.startswith(("ws://", "wss://")):
            raise ChainUnavailableError(f"{url!r} is not a ws:// or wss:// URL")
        self.url = url
        self.on_head = on_head
        self.on_logs = on_logs
        self.log_filters = list(log_filters)
        self.poa = poa
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        #: Set while a subscription is live.
        self.connected = threading.Event()
        #: Heads and matching logs received, and subscriptions made (1 + reconnections),
        #: since start.
        self.heads = 0
        self.logs = 0
        self.subscriptions = 0
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._thread_main, name="cie-heads", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(task.cancel)
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.connected.clear()

    def _thread_main(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(self._run())

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        if self._stopping.is_set():  # stopped before the task could be cancelled
            return
        delay = self.backoff
        while not self._stopping.is_set():
            try:
                await self._subscribe_and_listen()
                reason = "connection closed"
            except asyncio.CancelledError:
                break
            except Exception as exc:  # refused, dropped, or timed out: retry
                reason = f"{type(exc).__name__}: {exc}"
            was_connected = self.connected.is_set()
            self.connected.clear()
            if self._stopping.is_set():
                break
            if was_connected:
                delay = self.backoff
            log.warning("chain.heads_lost", url=self.url, reason=reason, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    async def _subscribe_and_listen(self) -> None:
        provider = WebSocketProvider(
            self.url, request_timeout=self.timeout, max_connection_retries=1
        )
        async with AsyncWeb3(provider) as w3:
            if self.poa:
                w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)

            async def handle(context: NewHeadsSubscriptionContext) -> None:
                self.heads += 1
                self.on_head(int(context.result["number"]))

            async def handle_log(context: LogsSubscriptionContext) -> None:
                self.logs += 1
                if self.on_logs is not None:
                    self.on_logs(int(cast(LogReceipt, context.result)["blockNumber"]))

            subscriptions: list[EthSubscription[Any]] = [
                LogsSubscription(
                    address=f["address"],
                    topics=f.get("topics"),
                    handler=handle_log,
                    label=f"cie-logs-{i}",
                )
                for i, f in enumerate(self.log_filters)
            ]
            subscriptions.append(NewHeadsSubscription(label="cie-heads", handler=handle))
            await w3.subscription_manager.subscribe(subscriptions)
            self.subscriptions += 1
            self.connected.set()
            log.info("chain.heads_subscribed", url=self.url, subscriptions=self.subscriptions)
            await w3.subscription_manager.handle_subscriptions(run_forever=True)
