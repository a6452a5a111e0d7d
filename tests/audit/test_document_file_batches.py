"""Reading batches of document files (zip archives, JSON arrays) without a chain: limits
are checked before inflating, and a forged zip header cannot inflate past what it declares."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest

from ledger_client.audit.document_file import (
    MAX_DOCUMENT_FILE_BYTES,
    DocumentFileError,
    document_files_in_json_array,
    document_files_in_zip,
)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_members_are_the_json_files_in_name_order() -> None:
    archive = _zip({"b.json": b"{}", "a/c.json": b"[]", "notes.txt": b"x", "a.json": b"1"})
    assert document_files_in_zip(archive) == [("a.json", b"1"), ("a/c.json", b"[]"),
                                              ("b.json", b"{}")]  # fmt: skip


@pytest.mark.parametrize(
    ("members", "options", "says"),
    [
        ({f"{i}.json": b"{}" for i in range(4)}, {"max_files": 3}, "at most 3"),
        ({"a.json": b"x" * 600, "b.json": b"y" * 600}, {"max_total_bytes": 1000}, "inflates"),
        ({"big.json": b"\0" * (MAX_DOCUMENT_FILE_BYTES + 1)}, {}, "a document file is at most"),
    ],
)
def test_zip_limits_are_checked_on_the_declared_sizes(
    members: dict[str, bytes], options: dict[str, int], says: str
) -> None:
    with pytest.raises(DocumentFileError, match=says):
        document_files_in_zip(_zip(members), **options)  # type: ignore[arg-type]


def test_a_zip_member_cannot_inflate_past_its_declared_size() -> None:
    archive = bytearray(_zip({"a.json": b"[" + b"0," * 5000 + b"0]"}))
    # Forge the central directory's uncompressed size (what zipfile trusts) down to 10.
    directory = archive.index(b"PK\x01\x02")
    struct.pack_into("<I", archive, directory + 24, 10)
    # zipfile inflates no more than the declared 10 bytes, which then fail the CRC.
    with pytest.raises(DocumentFileError, match="not a readable zip archive"):
        document_files_in_zip(bytes(archive))


@pytest.mark.parametrize("data", [b"not a zip", b"PK\x03\x04" + b"\0" * 40, b""])
def test_something_that_is_not_a_zip_is_refused(data: bytes) -> None:
    with pytest.raises(DocumentFileError, match="zip"):
        document_files_in_zip(data)


def test_a_json_array_is_split_into_files_as_they_were_sent() -> None:
    files = [{"format": "x", "é": "\ud800"}, [], 3]
    raw = json.dumps(files).encode()
    split = document_files_in_json_array(raw)
    assert [name for name, _ in split] == ["[0]", "[1]", "[2]"]
    assert [json.loads(data) for _, data in split] == files  # a lone surrogate survives


@pytest.mark.parametrize(
    ("raw", "says"),
    [(b'{"a": 1}', "JSON array"), (b"[1,", "not a JSON array"), (b'[{"a":1,"a":2}]', "duplicate")],
)
def test_a_body_that_is_no_json_array_is_refused(raw: bytes, says: str) -> None:
    with pytest.raises(DocumentFileError, match=says):
        document_files_in_json_array(raw)
