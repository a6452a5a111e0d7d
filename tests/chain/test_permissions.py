"""Every permission rule of the contracts, exercised through the Python client
against contracts deployed from scratch on anvil. Reverts must surface as the
typed exception named after the rule."""

from __future__ import annotations

import itertools
import os
import time

import pytest
from eth_account import Account

from ledger_client import contract_errors as ce
from ledger_client.aeo import RecognitionBasis
from ledger_client.consortium import MemberStatus, ProposalStatus
from ledger_client.errors import ContractRuleError
from ledger_client.records import CheckpointKind, DocStatus, DocType, Lane, Record, document_id
from ledger_client.registry import RegistryClient
from tests.conftest import ConsortiumFixture

_serials = itertools.count(1_000)


def serial() -> int:
    return next(_serials)


def record(doc_type: DocType = DocType.PRE_ARRIVAL_MANIFEST, *destinations: str) -> Record:
    return Record(doc_type, os.urandom(32), os.urandom(32), destinations or ("UZ",))


def anchored(c: ConsortiumFixture, issuer: str, rec: Record) -> bytes:
    s = serial()
    receipt = c[issuer].ledger.registry.anchor(s, rec)
    return receipt.ids[0]


# -- membership -------------------------------------------------------------------


def test_non_member_cannot_anchor(consortium: ConsortiumFixture) -> None:
    with pytest.raises(ce.ConsortiumNotActiveMember) as info:
        consortium.outsider.registry.anchor(serial(), record())
    assert info.value.rule == "ConsortiumNotActiveMember"
    assert info.value.rule_args["account"] == consortium.outsider.sender.address  # type: ignore[union-attr]


def test_typed_errors_share_the_base_and_builtin(consortium: ConsortiumFixture) -> None:
    with pytest.raises(PermissionError):
        consortium.outsider.registry.anchor(serial(), record())
    with pytest.raises(ContractRuleError):
        consortium.outsider.aeo.approve_mra("KZ")


def test_membership_changes_need_quorum(consortium: ConsortiumFixture) -> None:
    kz, uz, az = consortium["KZ"].ledger, consortium["UZ"].ledger, consortium["AZ"].ledger
    required = kz.consortium.required_votes()
    assert required == 3  # ceil(4 * 6667 / 10000)
    newcomer = Account.create().address
    proposal = kz.consortium.propose_add_member("SG", os.urandom(32), [newcomer])
    uz.consortium.vote(proposal, True)
    assert kz.consortium.proposal(proposal).status == ProposalStatus.PENDING
    assert kz.consortium.member_status("SG") == MemberStatus.NONE
    with pytest.raises(ce.ConsortiumAlreadyVoted):
        uz.consortium.vote(proposal, True)
    with pytest.raises(ce.ConsortiumNotActiveMember):
        consortium.outsider.consortium.vote(proposal, True)
    az.consortium.vote(proposal, True)
    assert kz.consortium.proposal(proposal).status == ProposalStatus.EXECUTED
    assert kz.consortium.member_status("SG") == MemberStatus.ACTIVE


def test_suspended_member_cannot_submit(w3, fund) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import deploy_consortium

    c = deploy_consortium(w3, fund)
    proposal = c["KZ"].ledger.consortium.propose_suspend_member("KR")
    for e in ("UZ", "AZ"):
        c[e].ledger.consortium.vote(proposal, True)
    assert c["KZ"].ledger.consortium.member("KR").status == MemberStatus.SUSPENDED
    with pytest.raises(ce.ConsortiumNotActiveMember):
        c["KR"].ledger.registry.anchor(serial(), record())


def test_key_rotation_is_self_service_and_keeps_history(consortium: ConsortiumFixture) -> None:
    az = consortium["AZ"]
    old_key, old_version = az.ledger.consortium.encryption_key("AZ")
    new_key = os.urandom(32)
    az.ledger.consortium.rotate_encryption_key(new_key)
    assert az.ledger.consortium.encryption_key("AZ") == (new_key, old_version + 1)
    assert az.ledger.consortium.encryption_key_at("AZ", old_version) == old_key
    with pytest.raises(ce.ConsortiumNotActiveMember):
        consortium.outsider.consortium.rotate_encryption_key(os.urandom(32))


def test_member_records_are_reused_up_to_max_age_and_forgotten_after_a_write(  # type: ignore[no-untyped-def]
    w3, fund
) -> None:
    from tests.conftest import deploy_consortium

    c = deploy_consortium(w3, fund)
    kz, az = c["KZ"].ledger.consortium, c["AZ"].ledger.consortium
    seen = kz.member("AZ", max_age=60)
    az.rotate_encryption_key(os.urandom(32))  # through another client: this one cannot know
    assert kz.member("AZ", max_age=60) == seen
    time.sleep(0.06)
    assert kz.member("AZ", max_age=0.05).key_version == seen.key_version + 1  # too old: read
    az.rotate_encryption_key(os.urandom(32))
    assert kz.member("AZ").key_version == seen.key_version + 2  # no max_age: always read

    own = kz.member("KZ", max_age=60)
    az.rotate_encryption_key(os.urandom(32))
    assert kz.member("AZ", max_age=60).key_version == seen.key_version + 2  # reused
    kz.rotate_encryption_key(os.urandom(32))  # a write through this client forgets them all
    assert kz.member("KZ", max_age=60).key_version == own.key_version + 1
    assert kz.member("AZ", max_age=60).key_version == seen.key_version + 3


# -- documents ----------------------------------------------------------------------


def test_duplicate_id_is_rejected(consortium: ConsortiumFixture) -> None:
    s = serial()
    consortium["KZ"].ledger.registry.anchor(s, record())
    with pytest.raises(ce.RegistryDuplicateDocument) as info:
        consortium["KZ"].ledger.registry.anchor(s, record())
    assert info.value.rule_args["id"] == "0x" + document_id("KZ", 1, s).hex()
    # The same serial in another economy's namespace is another document.
    consortium["UZ"].ledger.registry.anchor(s, record(DocType.PRE_ARRIVAL_MANIFEST, "KZ"))


def test_batch_roundtrip_and_proofs_rebuilt_from_events(consortium: ConsortiumFixture) -> None:
    kz = consortium["KZ"].ledger.registry
    first = serial()
    for _ in range(6):
        serial()
    records = [record(DocType.CERTIFICATE_OF_ORIGIN, "UZ", "KR") for _ in range(5)]
    receipt = kz.anchor_batch(first, records)
    assert len(receipt.ids) == 5
    for doc_id, rec in zip(receipt.ids, records, strict=True):
        proof = kz.document_proof(doc_id)
        assert proof.record == rec.pack()
        assert kz.contract.functions.verifyDocument(doc_id, proof.as_tuple()).call()


def test_the_proof_cache_is_bounded_by_documents_not_batches(
    consortium: ConsortiumFixture,
) -> None:
    """A 256-batch bound held 128,000 records at 500 a batch: an importer's memory grew
    through a 100k catch-up. Evicted batches are read again when asked."""
    kz = consortium["KZ"].ledger.registry
    small = RegistryClient(kz.contract, proof_cache_documents=12)
    batches = []
    for _ in range(3):
        first = serial()
        for _ in range(4):
            serial()
        records = [record(DocType.CERTIFICATE_OF_ORIGIN, "UZ") for _ in range(5)]
        batches.append((kz.anchor_batch(first, records).ids, records))
    for _ in range(2):  # the second pass reads the evicted batches again
        for ids, records in batches:
            for doc_id, rec in zip(ids, records, strict=True):
                proof = small.document_proof(doc_id)
                assert proof.record == rec.pack()
                assert kz.contract.functions.verifyDocument(doc_id, proof.as_tuple()).call()
            assert sum(len(b.ids) for b in small._batches.values()) <= 12
            assert sum(len(levels[0]) for levels in small._levels.values()) <= 12
    assert len(small._batches) == 2  # 10 documents; a third batch would make 15


def test_only_the_issuer_amends_or_revokes(consortium: ConsortiumFixture) -> None:
    doc = anchored(consortium, "KZ", record())
    with pytest.raises(ce.RegistryNotIssuer) as info:
        consortium["UZ"].ledger.registry.amend(doc, os.urandom(32), os.urandom(32))
    assert info.value.rule_args["caller"] == "UZ"
    with pytest.raises(ce.RegistryNotIssuer):
        consortium["UZ"].ledger.registry.revoke(doc, 1)
    consortium["KZ"].ledger.registry.amend(doc, os.urandom(32), os.urandom(32))
    assert consortium["KZ"].ledger.registry.document_state(doc).version == 2
    consortium["KZ"].ledger.registry.revoke(doc, 7)
    state = consortium["KZ"].ledger.registry.document_state(doc)
    assert (state.status, state.revocation_reason) == (DocStatus.REVOKED, 7)
    with pytest.raises(ce.RegistryDocumentRevoked):
        consortium["KZ"].ledger.registry.amend(doc, os.urandom(32), os.urandom(32))


def test_acknowledgements_only_from_destinations_once_per_version(
    consortium: ConsortiumFixture,
) -> None:
    doc = anchored(consortium, "KZ", record(DocType.PRE_ARRIVAL_MANIFEST, "UZ"))
    with pytest.raises(ce.RegistryNotDestination) as info:
        consortium["AZ"].ledger.registry.acknowledge(doc, 1, Lane.GREEN, os.urandom(32))
    assert info.value.rule_args["caller"] == "AZ"
    with pytest.raises(ce.RegistryUnknownVersion):
        consortium["UZ"].ledger.registry.acknowledge(doc, 2, Lane.GREEN, os.urandom(32))
    consortium["UZ"].ledger.registry.acknowledge(doc, 1, Lane.RED, os.urandom(32))
    with pytest.raises(ce.RegistryAlreadyAcknowledged):
        consortium["UZ"].ledger.registry.acknowledge(doc, 1, Lane.GREEN, os.urandom(32))
    lane, at = consortium["KZ"].ledger.registry.acknowledgement(doc, 1, "UZ")
    assert lane == Lane.RED and at > 0


def test_transit_checkpoints_follow_the_itinerary(consortium: ConsortiumFixture) -> None:
    itinerary = ("KZ", "UZ", "AZ")
    doc = anchored(consortium, "KZ", record(DocType.TRANSIT_DECLARATION, *itinerary))
    reg = {e: consortium[e].ledger.registry for e in ("KZ", "UZ", "AZ", "KR")}
    with pytest.raises(ce.RegistryCheckpointOutOfOrder):
        reg["UZ"].record_checkpoint(doc, CheckpointKind.TRANSIT_PASSED)
    with pytest.raises(ce.RegistryWrongCheckpointEconomy):
        reg["UZ"].record_checkpoint(doc, CheckpointKind.DEPARTURE)
    reg["KZ"].record_checkpoint(doc, CheckpointKind.DEPARTURE)
    with pytest.raises(ce.RegistryNotOnItinerary):
        reg["KR"].record_checkpoint(doc, CheckpointKind.INCIDENT)
    with pytest.raises(ce.RegistryCheckpointOutOfOrder):
        reg["AZ"].record_checkpoint(doc, CheckpointKind.ARRIVAL)
    reg["UZ"].record_checkpoint(doc, CheckpointKind.TRANSIT_PASSED)
    reg["UZ"].record_checkpoint(doc, CheckpointKind.INCIDENT)
    reg["AZ"].record_checkpoint(doc, CheckpointKind.ARRIVAL)
    assert reg["KZ"].document_state(doc).checkpoint_position == 3
    with pytest.raises(ce.RegistryCheckpointOutOfOrder):
        reg["UZ"].record_checkpoint(doc, CheckpointKind.INCIDENT)
    manifest = anchored(consortium, "KZ", record())
    with pytest.raises(ce.RegistryNotTransitDeclaration):
        reg["KZ"].record_checkpoint(manifest, CheckpointKind.DEPARTURE)


def test_issuing_authority_must_be_registered_by_the_issuer(
    consortium: ConsortiumFixture,
) -> None:
    chamber = os.urandom(32)
    with pytest.raises(ce.RegistryUnknownAuthority):
        consortium["KR"].ledger.registry.anchor(serial(), record(), authority_id=chamber)
    consortium["KR"].ledger.consortium.register_authority(
        chamber, consortium.outsider.sender.address
    )  # type: ignore[union-attr]
    consortium["KR"].ledger.registry.anchor(serial(), record(), authority_id=chamber)
    with pytest.raises(ce.RegistryUnknownAuthority):  # another economy cannot use KR's authority
        consortium["UZ"].ledger.registry.anchor(serial(), record(), authority_id=chamber)


# -- AEO / MRA ---------------------------------------------------------------------------


def test_per_document_reads_answer_as_web3_calls_do(consortium: ConsortiumFixture) -> None:
    """`ContractClient._read` (eth_abi encoding, for the reads made per document)
    gives what web3's `call()` gives, before and after a document's state exists."""
    registry, aeo = consortium["KZ"].ledger.registry, consortium["KZ"].ledger.aeo
    doc = anchored(consortium, "KZ", record())
    functions = registry.contract.functions
    answers = [registry._read("documentState", doc)]
    assert answers[0] == functions.documentState(doc).call()
    registry.amend(doc, os.urandom(32), os.urandom(32))
    registry.revoke(doc, 9)
    answers.append(registry._read("documentState", doc))
    assert answers[1] == functions.documentState(doc).call()
    assert answers[0] != answers[1]
    operator = os.urandom(32)
    call = aeo.contract.functions.recognition(b"KZ", operator, b"UZ")
    assert aeo._read("recognition", b"KZ", operator, b"UZ") == tuple(call.call())
    members = consortium["KZ"].ledger.consortium  # addresses checksummed, as web3 gives them
    accounts = members.contract.functions.accountsOf(b"KZ").call()
    assert members._read("accountsOf", b"KZ") == tuple(accounts)
    status, version, key, admitted, listed = members.contract.functions.member(b"KZ").call()
    assert members._read("member", b"KZ") == (status, version, key, admitted, tuple(listed))
    assert accounts == list(listed) == [consortium["KZ"].account.address]
    with pytest.raises(ce.ConsortiumNotActiveMember):  # a revert keeps its typed error
        consortium["KZ"].ledger.consortium._read("activeEconomyOf", Account.create().address)


def test_batched_per_document_reads_answer_as_single_reads_do(
    consortium: ConsortiumFixture,
) -> None:
    """`ContractClient._read_many` (one JSON-RPC batch) gives, in order, what `_read`
    gives for each: untouched, amended and revoked documents alike; a revert in the
    batch keeps its typed error."""
    registry = consortium["KZ"].ledger.registry
    untouched, amended, revoked = (anchored(consortium, "KZ", record()) for _ in range(3))
    registry.amend(amended, os.urandom(32), os.urandom(32))
    registry.revoke(revoked, 4)
    ids = [revoked, untouched, amended, untouched]
    assert registry.recorded_states(ids) == [registry.recorded_state(d) for d in ids]
    expected = [(1, True, 0), (1, False, 0), (2, False, 0), (1, False, 0)]
    assert registry.recorded_states(ids) == expected
    assert registry.recorded_states([]) == []
    consortium_client = consortium["KZ"].ledger.consortium
    member = consortium_client._read("activeEconomyOf", consortium["KZ"].account.address)
    with pytest.raises(ce.ConsortiumNotActiveMember):
        consortium_client._read_many(
            "activeEconomyOf",
            [(consortium["KZ"].account.address,), (Account.create().address,)],
        )
    assert consortium_client._read_many(
        "activeEconomyOf", [(consortium["KZ"].account.address,)]
    ) == [member]


def test_operator_recognition_follows_status_and_mra(consortium: ConsortiumFixture) -> None:
    kz, uz = consortium["KZ"].ledger.aeo, consortium["UZ"].ledger.aeo
    operator = os.urandom(32)
    now = int(time.time())
    kz.register_operator(operator, 1, now - 3600, now + 365 * 86400)
    assert kz.recognition("KZ", operator, "KZ").basis == RecognitionBasis.OWN_PROGRAMME
    assert not kz.recognition("KZ", operator, "UZ").recognized
    with pytest.raises(ce.AeoUnknownOperator):  # UZ cannot touch KZ's operators
        uz.suspend_operator(operator)
    kz.approve_mra("UZ")
    assert not kz.recognition("KZ", operator, "UZ").recognized  # one side only
    uz.approve_mra("KZ")
    assert kz.recognition("KZ", operator, "UZ").basis == RecognitionBasis.MRA
    kz.suspend_operator(operator)
    assert not kz.recognition("KZ", operator, "UZ").recognized
    kz.reinstate_operator(operator)
    uz.terminate_mra("KZ")
    assert not kz.recognition("KZ", operator, "UZ").recognized
    with pytest.raises(ce.ConsortiumNotActiveMember):
        consortium.outsider.aeo.register_operator(os.urandom(32), 1, now, now + 10)
