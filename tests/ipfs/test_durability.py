"""Blockstore durability modes: one syncfs per add request (default) or fsync per block."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from devnet.ipfs import EmbeddedIpfsNode
from devnet.ipfs.repo import set_block_sync
from ledger_client.ipfs import IpfsStore


def flatfs_sync(repo_dir: Path) -> bool:
    config = json.loads((repo_dir / "config").read_text())
    (flatfs,) = [
        m["child"] for m in config["Datastore"]["Spec"]["mounts"] if m["child"]["type"] == "flatfs"
    ]
    return bool(flatfs["sync"])


def test_a_repo_switches_between_modes_and_keeps_its_content(
    start_node: Callable[[str], EmbeddedIpfsNode],
    store_of: Callable[[EmbeddedIpfsNode], IpfsStore],
) -> None:
    payloads = [os.urandom(2000) for _ in range(5)]
    node = start_node("member")
    assert flatfs_sync(node.repo_dir) is False  # default: flushed once per request
    cids = store_of(node).add_many(payloads)
    node.stop()
    # Same repo, Kubo's per-block fsync: `sync` is not part of datastore_spec, so
    # the repo opens and serves what was added before.
    node = EmbeddedIpfsNode(
        node.repo_dir, node.api_port, node.swarm_port, node.log_file, sync_every_block=True
    )
    node.start()
    try:
        assert flatfs_sync(node.repo_dir) is True
        store = IpfsStore(node.api_address, timeout=10.0)
        try:
            assert [store.cat(cid) for cid in cids] == payloads
            assert set(cids) <= store.pins()
            assert store.add_bytes(payloads[0]) == cids[0]
            # A multi-file add in this mode: one group pin, its record fsynced.
            more = [os.urandom(3000) for _ in range(4)]
            more_cids = store.add_many(more)
        finally:
            store.close()
    finally:
        node.stop()
    node = EmbeddedIpfsNode(node.repo_dir, node.api_port, node.swarm_port, node.log_file)
    node.start()
    try:
        assert flatfs_sync(node.repo_dir) is False
        with IpfsStore(node.api_address, timeout=10.0) as store:
            assert set(cids + more_cids) <= store.pins()
            assert [store.cat(cid) for cid in more_cids] == more
    finally:
        node.stop()


def test_a_config_without_one_flatfs_blockstore_is_refused() -> None:
    config = {"Datastore": {"Spec": {"type": "mount", "mounts": []}}}
    with pytest.raises(ValueError, match="flatfs"):
        set_block_sync(config, False)
