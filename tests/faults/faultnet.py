"""The fault tests' network and their one invariant check.

`FaultNetwork` is the node tests' consortium (`tests.node.network`: real X25519
keys, one embedded IPFS node, one pipeline with a SQLite outbox per member) on
a chain of its own whose state is persisted (`anvil --state`), so the chain
and every IPFS node can be stopped and started again on the same ports.

`assert_exactly_once` is the invariant every fault test ends with: every
submitted document is anchored exactly once (chain events), and every
destination fetched, verified, assessed (one risk outcome: the hook effect)
and acknowledged it exactly once (node database rows and chain events).

Keys made here are TEST FIXTURES: random per run, funded only on the test
chain, never written outside pytest's temporary directories.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from devnet.anvil import AnvilChain
from devnet.ipfs import EmbeddedIpfsNode, connect_nodes
from ledger_client.outbox import SubmissionState
from ledger_client.pipeline import DocumentPipeline
from ledger_client.records import economy_bytes
from manifests import Document
from manifests.generate import DocumentGenerator
from node import db as tables
from node.db import Database
from node.listener import RegistryListener, State
from tests.node.network import Member, Network, make_listener

_tags = itertools.count(1)


@dataclass
class FaultNetwork:
    """A consortium whose chain and IPFS nodes the tests stop and start."""

    anvil: AnvilChain
    net: Network
    nodes: dict[str, EmbeddedIpfsNode]
    directory: Path
    databases: list[Database] = field(default_factory=list)

    def __getitem__(self, economy: str) -> Member:
        return self.net[economy]

    @property
    def w3(self) -> Any:
        return self.net.w3

    def database(self, name: str) -> Database:
        db = Database(f"sqlite:///{self.directory / (name + '.db')}")
        self.databases.append(db)
        return db

    def listener(self, economy: str, db: Database, **options: Any) -> RegistryListener:
        return make_listener(self[economy], db, **options)

    def stop_chain(self) -> None:
        self.anvil.stop()  # SIGTERM: anvil writes its --state file

    def start_chain(self) -> None:
        self.anvil.start()
        for member in self.net.members.values():  # a fresh process: ask it for the nonce
            assert member.ledger.sender is not None
            member.ledger.sender.resync_nonce()

    def stop_ipfs(self, economy: str) -> None:
        self.nodes[economy].stop()

    def start_ipfs(self, economy: str) -> None:
        node = self.nodes[economy]
        node.start()
        connect_nodes(*self.nodes.values())  # the swarm connections died with the node

    def close(self) -> None:
        for db in self.databases:
            db.close()
        for member in self.net.members.values():
            member.ipfs.close()
            member.pipeline.outbox.close()
        for node in self.nodes.values():
            node.stop()


def manifests(origin: str, destination: str, count: int, seed: int) -> list[Document]:
    """`count` generated manifests origin -> destination under references no other test uses."""
    generator = DocumentGenerator(seed)
    tag = next(_tags)
    return [
        generator.manifest(origin=origin, destination=destination).model_copy(
            update={"reference": f"{origin}-F{seed}-{tag}-{index:06d}"}
        )
        for index in range(count)
    ]


def tagged_manifests(
    origin: str, destination: str, count: int, seed: int, tag: str
) -> list[Document]:
    """The same list in every process: generated from `seed`, references from `tag`."""
    generator = DocumentGenerator(seed)
    return [
        generator.manifest(origin=origin, destination=destination).model_copy(
            update={"reference": f"{origin}-{tag}-{index:06d}"}
        )
        for index in range(count)
    ]


def submitted_ids(pipeline: DocumentPipeline, documents: Iterable[Document]) -> dict[str, str]:
    """document id (hex, no 0x) -> destination, from the issuer's outbox allocations.

    Every submitted document must have an allocation with an anchored entry:
    a reference that lost its allocation was not anchored, which fails here.
    """
    out: dict[str, str] = {}
    for document in documents:
        allocation = pipeline.outbox.allocation(
            document.issuer_economy, int(document.document_type), document.reference
        )
        assert allocation is not None, f"{document.reference} has no allocation (not anchored)"
        entry = pipeline.outbox.current_entry(allocation.document_id)
        assert entry is not None and entry.state is SubmissionState.ANCHORED, (
            document.reference,
            entry,
        )
        (destination,) = document.destinations
        out[allocation.document_id.hex()] = destination
    return out


def _log_ids(logs: Sequence[Any]) -> Counter[str]:
    return Counter(bytes(log["args"]["id"]).hex() for log in logs)


def assert_exactly_once(
    fnet: FaultNetwork,
    submitted: Mapping[str, str],
    databases: Mapping[str, Database],
    start_block: int,
) -> None:
    """The invariant (module docstring); `submitted` maps document id hex -> destination."""
    registry = fnet.net.members[next(iter(fnet.net.members))].ledger.registry
    events = registry.contract.events
    issuers = {bytes.fromhex(doc_id)[:2].decode() for doc_id in submitted}
    anchored_all = _log_ids(events.DocumentAnchored().get_logs(from_block=start_block))
    for issuer in issuers:
        prefix = economy_bytes(issuer).hex()
        anchored = {d: n for d, n in anchored_all.items() if d.startswith(prefix)}
        mine = {doc_id for doc_id in submitted if doc_id.startswith(prefix)}
        duplicated = {doc_id: n for doc_id, n in anchored.items() if n != 1}
        assert not duplicated, f"anchored more than once: {duplicated}"
        assert set(anchored) >= mine, f"never anchored: {sorted(mine - set(anchored))[:5]}"
        # Nothing else anchored by that issuer: no reference anchored twice under two ids.
        assert set(anchored) == mine, f"anchored but not submitted: {set(anchored) - mine}"
    for destination, db in databases.items():
        expected = sorted(d for d, dest in submitted.items() if dest == destination)
        with db.sessions() as session:
            states = dict(
                session.execute(
                    select(tables.Processing.document_id, tables.Processing.state).where(
                        tables.Processing.document_id.in_(expected)
                    )
                ).all()
            )
            outcomes = Counter(
                session.scalars(
                    select(tables.RiskOutcome.document_id).where(
                        tables.RiskOutcome.document_id.in_(expected)
                    )
                )
            )
            recorded = Counter(
                session.scalars(
                    select(tables.ChainEvent.document_id).where(
                        tables.ChainEvent.event == "DocumentAnchored",
                        tables.ChainEvent.document_id.in_(expected),
                    )
                )
            )
            verified = session.scalar(
                select(func.count())
                .select_from(tables.Processing)
                .where(
                    tables.Processing.document_id.in_(expected),
                    tables.Processing.document_json.is_not(None),
                )
            )
        not_done = {d: s for d, s in states.items() if s != State.ACKNOWLEDGED}
        assert sorted(states) == expected, f"{destination}: missing {set(expected) - set(states)}"
        assert not not_done, f"{destination}: not acknowledged: {not_done}"
        assert verified == len(expected), f"{destination}: fetched-and-verified {verified}"
        assert sorted(outcomes) == expected and set(outcomes.values()) <= {1}, (
            f"{destination}: hook effects {outcomes}"
        )
        assert sorted(recorded) == expected and set(recorded.values()) <= {1}, (
            f"{destination}: anchor events recorded {recorded}"
        )
        acked = _log_ids(
            events.DocumentAcknowledged().get_logs(
                argument_filters={"acknowledger": economy_bytes(destination)},
                from_block=start_block,
            )
        )
        acked_here = {d: n for d, n in acked.items() if d in set(expected)}
        assert sorted(acked_here) == expected, f"{destination}: acks on chain {len(acked_here)}"
        assert set(acked_here.values()) == ({1} if expected else set()), acked_here


def poll_until_done(
    listener: RegistryListener, expected: int, rounds: int = 200, *, tolerate: bool = False
) -> None:
    """Poll `listener` until `expected` versions are acknowledged (finite rounds)."""
    for _ in range(rounds):
        try:
            listener.poll_once()
        except Exception:
            if not tolerate:
                raise
        done = _acknowledged(listener.db)
        if done >= expected:
            return
    raise AssertionError(f"listener not done after {rounds} rounds: {_acknowledged(listener.db)}")


def _acknowledged(db: Database) -> int:
    with db.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(tables.Processing)
                .where(tables.Processing.state == State.ACKNOWLEDGED)
            )
            or 0
        )
