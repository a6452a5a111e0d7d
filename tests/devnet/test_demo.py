"""`cie demo --once`: the whole scenario on a fresh devnet, judged by its JSON summary
(computed from the chain and the node databases, not from what the demo meant to do)."""

from __future__ import annotations

import itertools
import json
import socket
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from devnet.demo import arrival_offsets
from devnet.processes import free_port_range


def test_demo_once_anchors_delivers_verifies_and_acknowledges_everything(tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    argv = [
        sys.executable,
        "-m",
        "ledger_client.cli",
        "demo",
        "--once",
        "--scale",
        "60",
        "--seed",
        "7",
        "--data-dir",
        str(tmp_path / "devnet"),
        "--chain-port",
        str(free_port_range(1)),
        "--ipfs-api-base-port",
        str(free_port_range(4)),
        "--ipfs-swarm-base-port",
        str(free_port_range(4)),
        "--node-base-port",
        str(free_port_range(4)),
        "--json",
        str(summary_file),
        "--timeout",
        "180",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = json.loads(summary_file.read_text())

    assert summary["ok"] and summary["problems"] == []
    docs = summary["documents"]
    assert docs["total"] >= 60
    for stage in ("anchored", "delivered", "verified", "acknowledged"):
        assert docs[stage] == docs["total"], stage
    detail = summary["documents_detail"]
    assert all(
        d["anchored"] and d["delivered"] and d["verified"] and d["acknowledged"] for d in detail
    )
    types = {d["doc_type"] for d in detail}
    assert types == {"PRE_ARRIVAL_MANIFEST", "TRANSIT_DECLARATION", "CERTIFICATE_OF_ORIGIN"}
    assert any(d["version"] == 2 and "amended" in d["tags"] for d in detail)
    assert any(d["revoked"] and d["doc_type"] == "CERTIFICATE_OF_ORIGIN" for d in detail)
    assert any(
        len(d["destinations"]) == 3 and d["doc_type"] == "TRANSIT_DECLARATION" for d in detail
    )

    cases = {c["case"]: c for c in summary["flagged"]}
    assert set(cases) == {"inconsistent linked e-CO", "overdue transit", "revoked e-CO"}
    assert all(c["flagged"] for c in cases.values()), cases

    latency = summary["latency_s"]
    # documents for the simple member are decided by its officer, not a risk hook
    to_simple = sum(1 for d in detail if "to_simple" in d["tags"])
    assert latency["submit_to_importer_hook"]["n"] >= docs["total"] - to_simple
    assert latency["submit_to_ack_seen_by_exporter"]["n"] >= docs["total"]
    for name in ("submit_to_importer_hook", "submit_to_ack_seen_by_exporter"):
        assert 0 < latency[name]["p50"] <= latency[name]["p95"] <= latency[name]["p99"]
    assert summary["aeo_registered"] and len(summary["mra"]) == 2
    assert summary["inspection_rates"]["non_aeo"]["assessed"] > 0
    assert len(summary["dashboards"]) == 4
    assert "all" in result.stdout and "dashboard KZ" in result.stdout

    # KR (the 4th member) runs in simple mode by default: files in, files out, officers.
    simple = summary["simple_members"]
    assert set(simple) == {"KR"}
    kr = simple["KR"]
    assert [n.rsplit("-", 1)[-1] for n in kr["files_done"]] == [
        "manifests.json",
        "manifest.manifest.csv",
        "certificate.xml",
    ]
    assert [n.rsplit("-", 1)[-1] for n in kr["files_rejected"]] == ["invalid.json"]
    assert all(rules for rules in kr["files_rejected"].values())
    from_kr = [d for d in detail if "from_simple" in d["tags"]]
    assert {d["issuer"] for d in from_kr} == {"KR"}
    assert len(from_kr) == 4  # 2 (JSON) + 1 (CSV) + 1 (XML e-CO)
    assert {t for d in from_kr for t in d["tags"]} >= {"json", "csv", "xml"}
    to_kr = [d for d in detail if "to_simple" in d["tags"]]
    assert to_kr and all("KR" in d["destinations"] for d in to_kr)
    decided = {(d["document_id"], d["version"]) for d in kr["decisions"]}
    assert {(d["document_id"], d["version"]) for d in to_kr} <= decided
    assert all(d["outcome"] == "acknowledged" and d["on_chain"] for d in kr["decisions"])
    assert kr["decisions_on_chain"] == len(kr["decisions"])
    assert "simple member KR" in result.stdout


def test_a_taken_node_service_port_is_a_clear_error(tmp_path: Path) -> None:
    from devnet.network import Devnet, DevnetConfig
    from devnet.processes import DevnetError

    node_base = free_port_range(2)
    config = DevnetConfig(
        data_dir=tmp_path / "devnet",
        members=("KZ", "UZ"),
        chain_port=free_port_range(1),
        ipfs_api_base_port=free_port_range(2),
        ipfs_swarm_base_port=free_port_range(2),
        node_base_port=node_base,
    )
    devnet = Devnet(config)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", node_base + 1))
        blocker.listen()
        try:
            with pytest.raises(DevnetError, match=f"port {node_base + 1} .* node service of UZ"):
                devnet.up()
        finally:
            devnet.down()
    # The member's API keys exist once, hashed in its node DB, plaintext only in a 0600 file.
    keys_file = config.member_dir("KZ") / "api-keys.json"
    assert keys_file.stat().st_mode & 0o077 == 0
    assert set(json.loads(keys_file.read_text())) == {
        "submitter",
        "risk_officer",
        "auditor",
        "node_admin",
    }
    db_bytes = (config.member_dir("KZ") / "node.db").read_bytes()
    assert json.loads(keys_file.read_text())["submitter"].encode() not in db_bytes


def test_paced_exporters_send_on_their_own_poisson_schedules() -> None:
    """The latency bench's low load: each exporter's requests are a seeded Poisson
    process, so exporters do not all send at the same instants (a burst per tick)."""
    rate = 1.25  # per exporter: 5 documents/s over four exporters
    schedules = {e: arrival_offsets(4000, rate, f"11/manifests/{e}") for e in "ABCD"}
    assert schedules["A"] == arrival_offsets(4000, rate, "11/manifests/A")  # reproducible
    for offsets in schedules.values():
        gaps = [b - a for a, b in itertools.pairwise([0.0, *offsets])]
        assert all(g > 0 for g in gaps)
        assert statistics.fmean(gaps) == pytest.approx(1 / rate, rel=0.05)
        # exponential gaps: standard deviation equal to the mean (a fixed interval has 0)
        assert statistics.pstdev(gaps) == pytest.approx(1 / rate, rel=0.1)
    instants = [round(t, 3) for offsets in schedules.values() for t in offsets]
    assert len(set(instants)) > 0.99 * len(instants)
    assert arrival_offsets(3, 0.0, "bulk") == [0.0, 0.0, 0.0]
