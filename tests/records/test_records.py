"""The Python mirror of the on-chain record format: ids, packing, Merkle proofs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.errors import DocumentValidationError
from ledger_client.records import (
    DocType,
    Record,
    document_id,
    leaf,
    merkle_proof,
    merkle_root,
    parse_document_id,
    verify_proof,
)

economies = st.sampled_from(["KZ", "UZ", "AZ", "KR", "SG"])


@given(economies, st.sampled_from(list(DocType)), st.integers(0, 2**64 - 1))
def test_document_id_roundtrips(economy: str, doc_type: DocType, serial: int) -> None:
    parsed = parse_document_id(document_id(economy, doc_type, serial))
    assert (parsed.economy, parsed.doc_type, parsed.serial) == (economy, doc_type, serial)


def test_document_id_layout_is_fixed() -> None:
    assert document_id("KZ", DocType.CERTIFICATE_OF_ORIGIN, 5).hex() == (
        "4b5a03" + "00" * 21 + "0000000000000005"
    )


def test_record_packing_layout() -> None:
    record = Record(
        DocType.PRE_ARRIVAL_MANIFEST, b"\x11" * 32, b"\x22" * 32, ("KR", "UZ"), (b"\x33" * 32,)
    )
    packed = record.pack()
    assert packed == (
        b"\x01" + b"\x11" * 32 + b"\x22" * 32 + b"\x02" + b"KRUZ" + b"\x01" + b"\x33" * 32
    )


@pytest.mark.parametrize(
    "record",
    [
        Record(DocType.PRE_ARRIVAL_MANIFEST, b"\x11" * 31, b"\x22" * 32, ("KR",)),
        Record(DocType.PRE_ARRIVAL_MANIFEST, b"\x11" * 32, b"\x22" * 32, ()),
        Record(DocType.PRE_ARRIVAL_MANIFEST, b"\x11" * 32, b"\x22" * 32, ("kr",)),
    ],
)
def test_bad_records_are_refused(record: Record) -> None:
    with pytest.raises(DocumentValidationError):
        record.pack()


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40), st.data())
def test_every_leaf_proves_against_the_root(leaves: list[bytes], data: st.DataObject) -> None:
    root = merkle_root(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    assert verify_proof(merkle_proof(leaves, index), root, leaves[index])
    outsider = leaf(b"\x00" * 32, b"not in the batch")
    assert not verify_proof(merkle_proof(leaves, index), root, outsider)


def test_single_leaf_root_is_the_leaf() -> None:
    only = leaf(b"\x01" * 32, b"record")
    assert merkle_root([only]) == only
    assert merkle_proof([only], 0) == []
