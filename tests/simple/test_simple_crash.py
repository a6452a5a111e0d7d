"""Crashes at random points of the inbound path during a drop of many files: after
restarts every file is in done/ and every document is anchored exactly once."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from web3 import Web3

from ledger_client.outbox import Outbox
from ledger_client.pipeline import DocumentPipeline
from ledger_client.records import economy_bytes, parse_document_id
from manifests.generate import generate_manifest
from manifests.importers import export_csv
from manifests.xml import document_to_xml
from node.db import Database
from node.errors import InjectedFault
from tests.node.network import Network
from tests.simple.exchange import FULL, SIMPLE, SimpleNode, drop, make_simple_node


class Crashes:
    """A fault point that crashes with probability `rate`, at most `limit` times."""

    def __init__(self, seed: int, rate: float, limit: int) -> None:
        self.random = random.Random(seed)
        self.rate = rate
        self.limit = limit
        self.points: list[str] = []

    def __call__(self, point: str) -> None:
        if len(self.points) < self.limit and self.random.random() < self.rate:
            self.points.append(point)
            raise InjectedFault(point)


@pytest.fixture
def crash_run(
    network: Network, w3: Web3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[int, int], None]]:
    member = network[SIMPLE]
    opened: list[Database | Outbox] = []

    def run(count: int, seed: int) -> None:
        crashes = Crashes(seed, rate=0.08, limit=count // 3)
        registry = member.ledger.registry
        real_anchor = registry.anchor

        def anchor(*args, **kwargs):  # type: ignore[no-untyped-def]
            crashes("pipeline.before_transaction")
            receipt = real_anchor(*args, **kwargs)
            crashes("pipeline.after_transaction")  # mined, the outbox not told
            return receipt

        monkeypatch.setattr(registry, "anchor", anchor)
        outbox_url = member.pipeline.outbox.url
        start_block = w3.eth.block_number + 1

        def start() -> SimpleNode:
            """A node process starting: fresh pipeline and database objects, same files."""
            outbox = Outbox(outbox_url)
            db = Database(f"sqlite:///{tmp_path / 'simple.db'}")
            opened.extend([outbox, db])
            pipeline = DocumentPipeline(
                member.ledger, member.ipfs, member.key, outbox, fetch_timeout=10.0
            )
            return make_simple_node(
                member,
                tmp_path / "exchange",
                db,
                start_block=start_block,
                fault=crashes,
                pipeline=pipeline,
            )

        node = start()
        dropped: dict[str, str] = {}
        for i in range(count):
            document = generate_manifest(f"crash-{seed}-{i}", origin=SIMPLE, destination=FULL)
            dropped[document.reference] = [
                f"{i:03d}.json",
                f"{i:03d}.xml",
                f"{i:03d}.manifest.csv",
            ][i % 3]
            content: str | bytes = [
                document.model_dump_json(),
                document_to_xml(document),
                export_csv([document]),
            ][i % 3]
            drop(node.folders.inbox, dropped[document.reference], content)

        restarts = 0
        while node.folders.ready_files(node.folders.inbox):
            try:
                node.simple.inbound.run_once()
            except InjectedFault:
                restarts += 1
                node = start()
        assert restarts == len(crashes.points) and restarts >= min(5, count // 4)

        # done/ holds every dropped file with its receipt; nothing else anywhere.
        names = set(dropped.values())
        assert not node.folders.ready_files(node.folders.rejected)
        done = {p.name for p in node.folders.ready_files(node.folders.done)}
        assert done == names | {n + ".receipt.json" for n in names}
        ids: dict[str, str] = {}
        for reference, name in dropped.items():
            receipt = json.loads((node.folders.done / (name + ".receipt.json")).read_text())
            (record,) = receipt["documents"]
            assert record["reference"] == reference and record["state"] == "anchored"
            ids[reference] = record["document_id"]
        assert len(set(ids.values())) == count

        # The chain holds exactly these documents of this economy, each once.
        logs = registry.contract.events.DocumentAnchored().get_logs(
            from_block=start_block,
            argument_filters={"destination": economy_bytes(FULL)},
        )
        anchored = [
            "0x" + bytes(log["args"]["id"]).hex()
            for log in logs
            if parse_document_id(bytes(log["args"]["id"])).economy == SIMPLE
        ]
        assert len(anchored) == count
        assert set(anchored) == set(ids.values())

    yield run
    for item in opened:
        item.close()


def test_crashes_during_a_drop_of_200_files_lose_nothing_and_submit_nothing_twice(
    crash_run: Callable[[int, int], None],
) -> None:
    crash_run(200, 11)


def test_crashes_while_receiving_and_deciding_acknowledge_each_version_once(
    network: Network, w3: Web3, tmp_path: Path
) -> None:
    member = network[SIMPLE]
    registry = member.ledger.registry
    start_block = w3.eth.block_number + 1
    incoming = [
        network[FULL]
        .pipeline.submit(generate_manifest(f"crash-in-{i}", origin=FULL, destination=SIMPLE))
        .document_id
        for i in range(8)
    ]
    lanes = ["GREEN", "YELLOW", "RED"]
    crashes = Crashes(5, rate=0.25, limit=30)
    opened: list[Database] = []

    def start() -> SimpleNode:
        db = Database(f"sqlite:///{tmp_path / 'simple.db'}")
        opened.append(db)
        return make_simple_node(
            member,
            tmp_path / "exchange",
            db,
            start_block=start_block,
            fault=crashes,
            listener_fault=crashes,
        )

    node = start()
    decided: set[str] = set()
    restarts = 0
    for _ in range(200):
        try:
            node.listener.poll_once()
            for i, doc_id in enumerate(incoming):
                name = f"{doc_id}-v1.decision.json"
                if name not in decided and (node.folders.received / f"{doc_id}-v1.json").exists():
                    decision = {"lane": lanes[i % 3], "reason": f"decision {i}"}
                    drop(node.folders.decisions, name, json.dumps(decision))
                    decided.add(name)
            node.simple.decisions.run_once()
        except InjectedFault:
            restarts += 1
            node = start()
            continue
        if len(decided) == len(incoming) and not node.folders.ready_files(node.folders.decisions):
            break
    assert restarts >= 3
    for i, doc_id in enumerate(incoming):
        name = f"{doc_id}-v1.decision.json"
        assert (node.folders.decisions_done / name).is_file()
        lane, _ = registry.acknowledgement(bytes.fromhex(doc_id[2:]), 1, SIMPLE)
        assert lane is not None and lane.name == lanes[i % 3]
    assert not node.folders.ready_files(node.folders.decisions_rejected)
    acks = registry.contract.events.DocumentAcknowledged().get_logs(from_block=start_block)
    mine = [log for log in acks if bytes(log["args"]["acknowledger"]).decode() == SIMPLE]
    assert sorted("0x" + bytes(log["args"]["id"]).hex() for log in mine) == sorted(incoming)
    for db in opened:
        db.close()
