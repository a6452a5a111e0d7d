"""Batched, pipelined acknowledgements: a round sends a window's acknowledgements as
acknowledgeBatch transactions back to back, stores each hash on its rows, then awaits
the receipts; a batch the chain refuses goes again one version at a time (real anvil,
IPFS and SQLite; the real TransactionSender is only wrapped to observe the order of
sends and waits)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from hexbytes import HexBytes
from web3.types import TxParams

from ledger_client.chain import HeadSubscription, RawReceipt, TransactionSender
from ledger_client.contract_errors import RegistryDocumentRevoked
from ledger_client.errors import IpfsError
from ledger_client.records import Lane
from ledger_client.registry import AcknowledgementItem
from manifests.generate import DocumentGenerator
from node import db as tables
from node import listener as listener_module
from node.db import Database
from node.errors import InjectedFault
from node.listener import State, processing_counts
from node.reasons import open_shared_reasons
from tests.node.network import Member, Network, make_listener


def _submit(member: Member, count: int, seed: int) -> list[str]:
    generator = DocumentGenerator(seed)
    docs = [generator.manifest(origin="KZ", destination="UZ") for _ in range(count)]
    return [r.document_id.removeprefix("0x") for r in member.pipeline.submit_batch(docs)]


def _sender(member: Member) -> TransactionSender:
    sender = member.ledger.registry.sender
    assert sender is not None
    return sender


@pytest.fixture
def calls(network: Network, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """("send" | "wait", tx hash) of every transaction UZ's sender sends or awaits."""
    sender = _sender(network["UZ"])
    send, wait = sender.sign_and_send, sender.wait_raw
    seen: list[tuple[str, str]] = []

    def sign_and_send(tx: TxParams) -> HexBytes:
        tx_hash = send(tx)
        seen.append(("send", tx_hash.hex()))
        return tx_hash

    def waited(tx_hash: HexBytes) -> RawReceipt:
        seen.append(("wait", tx_hash.hex()))
        return wait(tx_hash)

    monkeypatch.setattr(sender, "sign_and_send", sign_and_send)
    monkeypatch.setattr(sender, "wait_raw", waited)
    yield seen


def _acknowledgements_on_chain(network: Network, start: int) -> list[tuple[str, str]]:
    """(document, transaction hash) of UZ's DocumentAcknowledged events since `start`."""
    logs = (
        network["UZ"]
        .ledger.registry.contract.events.DocumentAcknowledged()
        .get_logs(argument_filters={"acknowledger": b"UZ"}, from_block=start)
    )
    return [(bytes(log["args"]["id"]).hex(), log["transactionHash"].hex()) for log in logs]


def _acknowledged_on_chain(network: Network, start: int) -> list[str]:
    return [doc for doc, _ in _acknowledgements_on_chain(network, start)]


def _rows_stored_before_wait(
    db: Database, sender: TransactionSender, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[int, bool]]:
    """Per awaited receipt: (rows holding its hash, whether all of them are still
    `assessed`), checked when the wait starts."""
    wait = sender.wait_raw
    seen: list[tuple[int, bool]] = []

    def check_stored(tx_hash: HexBytes) -> RawReceipt:
        with db.sessions() as session:
            rows = session.query(tables.Processing).filter_by(ack_tx_hash=tx_hash.hex()).all()
            seen.append((len(rows), all(r.state == State.ASSESSED for r in rows)))
        return wait(tx_hash)

    monkeypatch.setattr(sender, "wait_raw", check_stored)
    return seen


def test_a_window_goes_out_as_one_batch_transaction(
    network: Network,
    database: Callable[[str], Database],
    calls: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = network.w3.eth.block_number + 1
    ids = _submit(network["KZ"], 7, seed=30)
    db = database("uz-batch")
    listener = make_listener(network["UZ"], db, start_block=start)
    stored = _rows_stored_before_wait(db, _sender(network["UZ"]), monkeypatch)
    listener.poll_once()
    assert [kind for kind, _ in calls] == ["send", "wait"]
    assert stored == [(7, True)]  # the hash was on every row before the receipt was awaited
    tx_hash = calls[0][1]
    assert processing_counts(db) == {State.ACKNOWLEDGED: 7}
    with db.sessions() as session:
        assert {r.ack_tx_hash for r in session.query(tables.Processing)} == {tx_hash}
    # one DocumentAcknowledged per version, all in that one transaction
    assert sorted(_acknowledgements_on_chain(network, start)) == sorted(
        (doc, tx_hash) for doc in ids
    )


def test_a_window_is_sent_before_its_first_receipt_is_awaited(
    network: Network,
    database: Callable[[str], Database],
    calls: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listener_module, "ACK_BATCH", 2)
    start = network.w3.eth.block_number + 1
    ids = _submit(network["KZ"], 7, seed=31)
    db = database("uz-pipeline")
    listener = make_listener(network["UZ"], db, start_block=start, round_chunk=4, ack_window=3)
    stored = _rows_stored_before_wait(db, _sender(network["UZ"]), monkeypatch)
    listener.poll_once()
    # chunks of 4 and 3 versions; windows of at most 3 versions within each, sent as a
    # batch of 2 and a single acknowledgement
    send2, wait2 = ["send"] * 2, ["wait"] * 2
    assert [kind for kind, _ in calls] == send2 + wait2 + ["send", "wait"] + send2 + wait2
    assert [h for kind, h in calls if kind == "send"] == [h for kind, h in calls if kind == "wait"]
    # each hash was durable on its rows (2, 1, 1, 2, 1) before its receipt
    assert stored == [(2, True), (1, True), (1, True), (2, True), (1, True)]
    assert processing_counts(db) == {State.ACKNOWLEDGED: 7}
    with db.sessions() as session:
        hashes = {r.ack_tx_hash for r in session.query(tables.Processing)}
    assert hashes == {h for kind, h in calls if kind == "send"}
    assert sorted(_acknowledged_on_chain(network, start)) == sorted(ids)


def test_a_batch_refused_at_sending_goes_one_by_one(
    network: Network,
    database: Callable[[str], Database],
    calls: list[tuple[str, str]],
) -> None:
    """KZ revokes a document after UZ assessed it: the batch's gas estimate meets
    RegistryDocumentRevoked, nothing is sent as a batch; the versions go one by one, the
    revoked one ends `revoked` (no attempt charged), the others are acknowledged once."""
    start = network.w3.eth.block_number + 1
    ids = _submit(network["KZ"], 4, seed=39)
    victim = ids[2]
    db = database("uz-refused")

    kz = network["KZ"].ledger.registry

    def revoke_first(point: str) -> None:
        if (
            point == "process.before_ack"
            and not kz.document_state(bytes.fromhex(victim)).revoked_at
        ):
            kz.revoke(bytes.fromhex(victim), 1)

    listener = make_listener(network["UZ"], db, start_block=start, fault=revoke_first)
    listener.poll_once()
    assert [kind for kind, _ in calls] == ["send"] * 3 + ["wait"] * 3  # three singles
    with db.sessions() as session:
        row = session.get(tables.Processing, (victim, 1))
        assert row is not None
        assert (row.state, row.ack_tx_hash, row.attempts) == (State.REVOKED, None, 0)
    assert processing_counts(db) == {State.ACKNOWLEDGED: 3, State.REVOKED: 1}
    assert sorted(_acknowledged_on_chain(network, start)) == sorted(set(ids) - {victim})


def test_a_revert_found_only_in_the_receipt_is_handled(
    network: Network, database: Callable[[str], Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """KZ revokes a document after UZ estimated the window's batch and before UZ sent
    it: the batch is mined and reverts (status 0), recording nothing; the versions go
    again one by one: that one ends `revoked`, the others are acknowledged once."""
    start = network.w3.eth.block_number + 1
    ids = _submit(network["KZ"], 4, seed=32)
    victim = ids[1]
    db = database("uz-revert")
    listener = make_listener(network["UZ"], db, start_block=start)
    sender = _sender(network["UZ"])
    send = sender.sign_and_send
    reverted: list[HexBytes] = []

    def revoke_then_send(tx: TxParams) -> HexBytes:
        if not reverted and bytes.fromhex(victim) in bytes(HexBytes(tx["data"])):
            network["KZ"].ledger.registry.revoke(bytes.fromhex(victim), 1)
            reverted.append(send(tx))
            return reverted[0]
        return send(tx)

    monkeypatch.setattr(sender, "sign_and_send", revoke_then_send)
    listener.poll_once()
    assert reverted, "the victim's acknowledgement was never sent"
    assert network.w3.eth.get_transaction_receipt(reverted[0])["status"] == 0
    with db.sessions() as session:
        row = session.get(tables.Processing, (victim, 1))
        assert row is not None
        assert (row.state, row.ack_tx_hash, row.attempts) == (State.REVOKED, None, 0)
    assert processing_counts(db) == {State.ACKNOWLEDGED: 3, State.REVOKED: 1}
    assert sorted(_acknowledged_on_chain(network, start)) == sorted(set(ids) - {victim})
    with db.sessions() as session:  # acknowledged by single transactions after the revert
        hashes = {r.ack_tx_hash for r in session.query(tables.Processing)} - {None}
    assert len(hashes) == 3 and reverted[0].hex() not in hashes
    listener.poll_once()  # the revocation event changes nothing more
    assert processing_counts(db) == {State.ACKNOWLEDGED: 3, State.REVOKED: 1}


@pytest.mark.parametrize("point", ["process.ack_sent", "process.after_ack"])
def test_a_crash_between_sending_and_confirming_acknowledges_once(
    network: Network, database: Callable[[str], Database], point: str
) -> None:
    start = network.w3.eth.block_number + 1
    ids = _submit(network["KZ"], 5, seed=33 if point == "process.ack_sent" else 34)
    db = database("uz-crash-window")
    hits = 0

    def crash_at_second(name: str) -> None:
        nonlocal hits
        if name == point:
            hits += 1
            if hits == 2:
                raise InjectedFault(name)

    with pytest.raises(InjectedFault):  # windows of 2, 2 and 1: crashes in the second batch
        make_listener(
            network["UZ"], db, start_block=start, ack_window=2, fault=crash_at_second
        ).poll_once()
    with db.sessions() as session:
        in_flight = [
            r
            for r in session.query(tables.Processing)
            if r.state == State.ASSESSED and r.ack_tx_hash is not None
        ]
    assert len(in_flight) == 2  # a batch sent, hash stored, never confirmed by the crashed process
    assert len({r.ack_tx_hash for r in in_flight}) == 1
    make_listener(network["UZ"], db, start_block=start).poll_once()  # a fresh process
    assert processing_counts(db) == {State.ACKNOWLEDGED: 5}
    assert sorted(_acknowledged_on_chain(network, start)) == sorted(ids)  # once each


def test_a_proof_from_the_scanned_anchoring_matches_the_search_by_id(network: Network) -> None:
    """`anchored_in` (the listener passes the scanned event's transaction) skips the
    log search; a hash the chain does not hold, or one that anchored other documents,
    falls back to it."""
    first = _submit(network["KZ"], 3, seed=35)
    other = _submit(network["KZ"], 2, seed=36)
    registry = network["UZ"].ledger.registry
    doc = bytes.fromhex(first[2])
    searched = registry.document_proof(doc)
    anchoring = registry.anchored_batch_of(doc).tx_hash
    elsewhere = registry.anchored_batch_of(bytes.fromhex(other[0])).tx_hash
    fresh = type(registry)(registry.contract, registry.sender, from_block=registry.from_block)
    assert fresh.document_proof(doc, anchored_in=anchoring) == searched
    for wrong in (b"\x11" * 32, elsewhere):
        assert fresh.document_proof(doc, anchored_in=wrong) == searched


def test_a_head_during_a_window_has_the_sent_acknowledgements_confirmed_first(
    network: Network,
    database: Callable[[str], Database],
    calls: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A head arriving after the second transaction of a window (batches of 2 here): those
    two are confirmed, the head is scanned (its new version assessed), then the window
    goes on."""
    monkeypatch.setattr(listener_module, "ACK_BATCH", 2)
    start = network.w3.eth.block_number + 1
    _submit(network["KZ"], 6, seed=37)
    db = database("uz-head-window")
    listener = make_listener(network["UZ"], db, start_block=start)
    # never started: only makes the listener treat `wake()` as a head notification
    monkeypatch.setattr(
        listener, "heads", HeadSubscription("ws://127.0.0.1:9", lambda number: None)
    )
    sender = _sender(network["UZ"])
    send = sender.sign_and_send
    late: list[str] = []

    def send_then_head(tx: TxParams) -> HexBytes:
        tx_hash = send(tx)
        if len([kind for kind, _ in calls if kind == "send"]) == 2 and not late:
            late.extend(_submit(network["KZ"], 1, seed=38))  # the head brings a new version
            listener.wake()
        return tx_hash

    monkeypatch.setattr(sender, "sign_and_send", send_then_head)
    listener.poll_once()
    kinds = [kind for kind, _ in calls]
    # window of 6: two batches, the head (both confirmed, then scanned), the third batch;
    # then the head's version alone
    assert kinds == ["send", "send", "wait", "wait", "send", "wait", "send", "wait"]
    assert listener.scans["head"] == 1
    assert processing_counts(db) == {State.ACKNOWLEDGED: 7}


def test_send_acknowledgements_raises_the_first_bad_items_rule_before_sending(
    network: Network, calls: list[tuple[str, str]]
) -> None:
    ids = [bytes.fromhex(d) for d in _submit(network["KZ"], 3, seed=40)]
    network["KZ"].ledger.registry.revoke(ids[1], 1)
    registry = network["UZ"].ledger.registry

    def item(doc: bytes) -> AcknowledgementItem:
        return AcknowledgementItem(doc, 1, Lane.GREEN, b"\x01" * 32)

    with pytest.raises(RegistryDocumentRevoked) as refused:
        registry.send_acknowledgements([item(d) for d in ids])
    assert refused.value.rule_args == {"id": "0x" + ids[1].hex()}
    assert calls == []  # estimated, never sent
    with pytest.raises(ValueError, match="at least one"):
        registry.send_acknowledgements([])
    receipt = registry.acknowledge_batch([item(ids[0]), item(ids[2])])
    assert len(receipt.logs) == 2
    assert registry.acknowledgement(ids[0], 1, "UZ")[0] == Lane.GREEN
    assert registry.acknowledgement(ids[1], 1, "UZ")[0] is None


@pytest.mark.parametrize("add_many_fails", [False, True])
def test_a_windows_shared_reasons_go_to_ipfs_in_one_request(
    network: Network,
    database: Callable[[str], Database],
    monkeypatch: pytest.MonkeyPatch,
    add_many_fails: bool,
) -> None:
    """The sealed reasons of a window's versions are added in one IPFS request and each
    digest on chain opens for the issuer; if that request fails (not an outage), each
    version's reasons are added on their own and the window still goes as one batch."""
    start = network.w3.eth.block_number + 1
    ids = _submit(network["KZ"], 4, seed=41 if add_many_fails else 42)
    uz = network["UZ"]
    requests: list[int] = []
    add_many = uz.ipfs.add_many

    def counted(payloads: list[bytes]) -> list[str]:
        requests.append(len(payloads))
        if add_many_fails and len(payloads) > 1:
            raise IpfsError("refused for the test")
        return add_many(payloads)

    monkeypatch.setattr(uz.ipfs, "add_many", counted)
    db = database("uz-shared")
    make_listener(uz, db, start_block=start, share_reasons_with=lambda _: True).poll_once()
    assert requests == ([4, 1, 1, 1, 1] if add_many_fails else [4])
    assert processing_counts(db) == {State.ACKNOWLEDGED: 4}
    assert len({tx for _, tx in _acknowledgements_on_chain(network, start)}) == 1
    with db.sessions() as session:
        outcomes = {o.document_id: o for o in session.query(tables.RiskOutcome)}
    kz = network["KZ"]
    for doc in ids:
        outcome = outcomes[doc]
        reasons = open_shared_reasons(
            kz.ipfs,
            "KZ",
            kz.key,
            bytes.fromhex(doc),
            1,
            bytes.fromhex(outcome.reasons_commitment),
            bytes.fromhex(outcome.reasons_digest),
        )
        assert reasons == json.loads(outcome.reasons)
