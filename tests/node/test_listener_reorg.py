"""Reorgs: anvil's evm_snapshot / evm_revert (IN TESTS ONLY) rewrite recent blocks.

The module runs on its own anvil with interval mining switched off, so every
block is made on purpose and the test is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update

from devnet.anvil import AnvilChain
from ledger_client.chain import connect
from manifests.generate import generate_manifest
from node import db as tables
from node.db import Database
from node.listener import KEEP_SCANNED_BLOCKS, RegistryListener, State, processing_counts
from node.metrics import REORGS
from tests.node.network import Network, make_listener, running_network


@pytest.fixture(scope="module")
def chain(own_anvil: AnvilChain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    w3 = connect(own_anvil.rpc_url)
    with running_network(w3, tmp_path_factory.mktemp("reorg"), ("KZ", "UZ")) as net:
        w3.provider.make_request("evm_setIntervalMining", [0])  # type: ignore[arg-type]
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        yield net


def _rpc(net: Network, method: str, *params: object) -> object:
    response = net.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]


def _revert(net: Network, snapshot: object) -> None:
    _rpc(net, "evm_revert", snapshot)
    for member in net.members.values():  # their transactions after the snapshot are gone
        assert member.ledger.sender is not None
        member.ledger.sender.resync_nonce()


class Announce:
    """Called before each scan: nothing (a polled round: the head is asked first), or
    the tip announced as the head subscription would (the first span is then asked in
    the same batch as the head and the cursor's block, and must be dropped on a reorg).
    `seed`: the test's documents differ per mode (the chain and outbox are shared)."""

    def __init__(self, announced: bool) -> None:
        self.announced = announced

    def seed(self, seed: int) -> int:
        return seed + 1000 * self.announced

    def __call__(self, listener: RegistryListener) -> None:
        if self.announced:
            listener._on_head(listener.w3.eth.block_number)


@pytest.fixture(params=[False, True], ids=["polled", "announced"])
def announce(request: pytest.FixtureRequest) -> Announce:
    return Announce(request.param)


def _events(db: Database) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(tables.ChainEvent)) or 0)


def test_unconfirmed_document_is_never_acted_on(
    chain: Network,
    database: Callable[[str], Database],
    announce: Announce,
) -> None:
    db = database("uz-unconfirmed")
    start = chain.w3.eth.block_number + 1
    listener = make_listener(chain["UZ"], db, start_block=start, confirmations=2)
    snapshot = _rpc(chain, "evm_snapshot")
    manifest = generate_manifest(announce.seed(301), origin="KZ", destination="UZ")
    receipt = chain["KZ"].pipeline.submit(manifest)
    assert chain.w3.eth.block_number == receipt.block_number  # the tip: 0 confirmations
    announce(listener)
    listener.poll_once()
    assert processing_counts(db) == {} and _events(db) == 0
    _revert(chain, snapshot)  # the block with the document is gone
    for _ in range(3):
        _rpc(chain, "evm_mine")
    announce(listener)
    listener.poll_once()
    assert processing_counts(db) == {} and _events(db) == 0
    cursor = listener.cursor()
    assert cursor is not None
    assert cursor[0] == chain.w3.eth.block_number - 2
    assert cursor[1] == bytes(chain.w3.eth.get_block(cursor[0])["hash"]).hex()
    assert (
        chain["UZ"].ledger.registry.acknowledgement(receipt.document_id_bytes, 1, "UZ")[0] is None
    )


def test_deep_reorg_rewinds_the_cursor_and_drops_what_was_not_acted_on(
    chain: Network,
    database: Callable[[str], Database],
    announce: Announce,
) -> None:
    db = database("uz-deep")
    start = chain.w3.eth.block_number + 1
    listener = make_listener(chain["UZ"], db, start_block=start, confirmations=0)
    _rpc(chain, "evm_mine")
    listener.scan_once()
    fork_point = listener.cursor()
    assert fork_point is not None
    snapshot = _rpc(chain, "evm_snapshot")
    manifest = generate_manifest(announce.seed(302), origin="KZ", destination="UZ")
    kept = chain["KZ"].pipeline.submit(manifest)
    announce(listener)
    listener.scan_once()  # recorded, not yet processed
    assert processing_counts(db) == {State.PENDING: 1}
    orphaned_cursor = listener.cursor()
    assert orphaned_cursor is not None and orphaned_cursor[0] == kept.block_number
    reorgs_before = REORGS._value.get()
    _revert(chain, snapshot)
    for _ in range(2):
        _rpc(chain, "evm_mine")  # a longer replacement branch without the document
    announce(listener)
    report = listener.scan_once()
    assert report.reorg
    assert REORGS._value.get() == reorgs_before + 1
    assert processing_counts(db) == {} and _events(db) == 0
    cursor = listener.cursor()
    assert cursor is not None
    assert cursor[0] == chain.w3.eth.block_number
    assert cursor[1] == bytes(chain.w3.eth.get_block(cursor[0])["hash"]).hex()
    assert cursor[1] != orphaned_cursor[1] or cursor[0] != orphaned_cursor[0]
    listener.process_pending()
    assert chain["UZ"].ledger.registry.acknowledgement(kept.document_id_bytes, 1, "UZ")[0] is None


def test_the_scanned_blocks_kept_are_the_reorg_window_and_the_cursor_follows_the_scan(
    chain: Network, database: Callable[[str], Database]
) -> None:
    """Each span records its end block and moves the cursor; blocks older than
    `KEEP_SCANNED_BLOCKS` spans are forgotten, and a span ending on a block recorded
    already (a cursor set back by hand) replaces its hash rather than failing."""
    db = database("uz-window")
    start = chain.w3.eth.block_number + 1
    listener = make_listener(chain["UZ"], db, start_block=start, chunk_size=1)
    _rpc(chain, "anvil_mine", hex(KEEP_SCANNED_BLOCKS + 40))
    head = chain.w3.eth.block_number
    listener.scan_once()

    def scanned() -> dict[int, str]:
        with db.sessions() as s:
            rows = s.execute(
                select(tables.ScannedBlock.block_number, tables.ScannedBlock.block_hash)
            )
            return {int(n): str(h) for n, h in rows}

    kept = scanned()
    assert sorted(kept) == list(range(head - KEEP_SCANNED_BLOCKS, head + 1))
    tip = bytes(chain.w3.eth.get_block(head)["hash"]).hex()
    assert kept[head] == tip and listener.cursor() == (head, tip)
    before = chain.w3.eth.get_block(head - 1)["hash"]
    with db.transaction() as s:  # the cursor set back a block; block `head` stays recorded
        s.execute(
            update(tables.ChainCursor).values(block_number=head - 1, block_hash=bytes(before).hex())
        )
    _rpc(chain, "evm_mine")
    assert not listener.scan_once().reorg
    kept = scanned()
    assert kept[head] == tip and max(kept) == head + 1 == listener.cursor()[0]  # type: ignore[index]
    assert min(kept) == head + 1 - KEEP_SCANNED_BLOCKS


def test_an_announced_head_brings_the_first_span_in_the_heads_batch(
    chain: Network, database: Callable[[str], Database]
) -> None:
    """A polled round asks the head and the cursor's block, then the span; after a head
    announcement the span is asked with them: one JSON-RPC batch a round."""
    db = database("uz-one-batch")
    listener = make_listener(chain["UZ"], db, start_block=chain.w3.eth.block_number + 1)
    _rpc(chain, "evm_mine")
    listener.scan_once()
    provider = listener.w3.provider
    batches: list[int] = []
    real = provider.make_batch_request

    def counted(requests: Any) -> Any:
        batches.append(len(requests))
        return real(requests)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(provider, "make_batch_request", counted)
        for index, seed in enumerate((303, 304)):
            chain["KZ"].pipeline.submit(generate_manifest(seed, origin="KZ", destination="UZ"))
            _rpc(chain, "evm_mine")
            if index:
                listener._on_head(chain.w3.eth.block_number)
            batches.clear()
            listener.scan_once()
            assert len(batches) == (1 if index else 2), batches
            assert processing_counts(db) == {State.PENDING: index + 1}
            assert listener.cursor() == (
                chain.w3.eth.block_number,
                bytes(chain.w3.eth.get_block("latest")["hash"]).hex(),
            )
