"""Bad payloads that reach a destination node through the chain: the node records the
failed check, raises its alert metric, runs no risk hook, sends no webhook and no
acknowledgement (nothing downstream acts on a document it could not verify).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger_client.commitment import commit
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.envelope import EnvelopeContext, RecipientKey, seal
from ledger_client.ipfs import cid_to_digest
from ledger_client.provenance import DocumentPayload
from ledger_client.records import DocType, Record, document_id
from manifests.generate import DocumentGenerator
from node import db as tables
from node.db import Database
from node.listener import State
from node.metrics import VERIFICATION_FAILURES
from tests.node.network import Network, count_hook_runs, make_listener


def _wrong_key(network: Network) -> dict[str, RecipientKey]:
    """UZ's entry sealed to a key that is not UZ's (at UZ's current key version)."""
    version = network["UZ"].ledger.consortium.encryption_key("UZ")[1]
    stranger = MemberEncryptionKey.generate().public_key_bytes
    return {
        "KZ": RecipientKey(network["KZ"].key.public_key_bytes, 1),
        "UZ": RecipientKey(stranger, version),
    }


def _kz_only(network: Network) -> dict[str, RecipientKey]:
    """A destination (UZ) left out of the envelope's recipients."""
    return {"KZ": RecipientKey(network["KZ"].key.public_key_bytes, 1)}


CASES: dict[str, tuple[Callable[[Network], dict[str, RecipientKey]], str]] = {
    "payload encrypted to the wrong key": (_wrong_key, "decrypt"),
    "payload not encrypted for a destination": (_kz_only, "not_recipient"),
}


@pytest.mark.parametrize("case", list(CASES), ids=lambda c: c.replace(" ", "_"))
def test_a_payload_the_destination_cannot_open_is_recorded_and_nothing_acts_on_it(
    network: Network, tmp_path: Path, case: str
) -> None:
    recipients, check = CASES[case]
    kz, uz = network["KZ"], network["UZ"]
    start = network.w3.eth.block_number + 1
    manifest = DocumentGenerator(6060 + len(case)).manifest(origin="KZ", destination="UZ")
    data = manifest.model_dump(mode="json")
    with kz.pipeline.outbox.transaction() as work:
        serial = work.reserve_serials("KZ", 1, kz.pipeline.serial_floor)
    doc_id = document_id("KZ", DocType.PRE_ARRIVAL_MANIFEST, serial)
    committed = commit(data, 1, manifest.schema_version)
    payload = DocumentPayload(1, manifest.schema_version, data, committed.salts).to_bytes()
    envelope = seal(payload, recipients(network), EnvelopeContext(doc_id, 1))
    digest = cid_to_digest(kz.ipfs.add_bytes(envelope))
    kz.ledger.registry.anchor(
        serial, Record(DocType.PRE_ARRIVAL_MANIFEST, committed.root, digest, ("UZ",))
    )

    database = Database(f"sqlite:///{tmp_path / 'uz.db'}")
    try:
        alerts_before = VERIFICATION_FAILURES.labels(check)._value.get()
        listener = make_listener(uz, database, start_block=start)
        hook_runs: list[str] = []
        count_hook_runs(listener, hook_runs)
        listener.poll_once()
        listener.poll_once()  # a second round neither retries into success nor records twice
        with database.sessions() as session:
            failures = [
                f.check
                for f in session.scalars(select(tables.VerificationFailure))
                if f.document_id == doc_id.hex()
            ]
            row = session.get(tables.Processing, (doc_id.hex(), 1))
            outcome = session.get(tables.RiskOutcome, (doc_id.hex(), 1))
            deliveries = list(session.scalars(select(tables.WebhookDelivery)))
        assert failures == [check]
        assert row is not None and row.state == State.VERIFICATION_FAILED
        assert outcome is None and deliveries == [] and hook_runs == []
        assert VERIFICATION_FAILURES.labels(check)._value.get() == alerts_before + 1
        assert uz.ledger.registry.acknowledgement(doc_id, 1, "UZ")[0] is None
    finally:
        database.close()
