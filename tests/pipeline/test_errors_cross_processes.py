"""Errors of the ledger client survive pickling (a worker process raises them to its
parent) as themselves: class, message, arguments and attributes."""

from __future__ import annotations

import pickle

import pytest

from ledger_client.envelope import DecryptionError, MalformedEnvelopeError
from ledger_client.errors import (
    DocumentValidationError,
    IpfsContentNotFoundError,
    LedgerClientError,
    VerificationError,
)
from ledger_client.pipeline import (
    BatchRejectedError,
    DocumentConflictError,
    DocumentRejectedError,
)
from ledger_client.provenance import VersionNotFoundError
from manifests import FieldError


@pytest.mark.parametrize(
    "error",
    [
        VerificationError("commitment", "leaf /reference does not match"),
        DecryptionError("the envelope is sealed to SG's key version 1"),
        MalformedEnvelopeError("truncated header"),
        VersionNotFoundError("0xab has 1 version, not 3"),
        DocumentValidationError("bad", [{"field": "x", "rule": "r", "message": "m"}]),
        DocumentRejectedError([FieldError("reference", "required", "missing")]),
        BatchRejectedError({2: [FieldError("hs_code", "pattern", "not 6 digits")]}),
        DocumentConflictError("KZ-0001", b"\x01" * 32),
        IpfsContentNotFoundError("Qm... could not be retrieved in time"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_round_trip_through_pickle(error: LedgerClientError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert copy.__dict__ == error.__dict__
