"""`cie devnet`: up is idempotent, down/up resumes the same chain, a taken port
is a clear error, and member secrets are encrypted at rest."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devnet.network import Devnet, DevnetConfig, NetworkInfo, open_member_sender
from devnet.processes import PICK_HIGH, PICK_LOW, DevnetError, free_port, free_port_range
from ledger_client.deployment import Deployment
from ledger_client.ledger import Ledger
from ledger_client.records import DocType, Record


def _config(tmp_path: Path) -> DevnetConfig:
    return DevnetConfig(
        data_dir=tmp_path / "devnet",
        members=("KZ", "UZ"),
        chain_port=free_port_range(1),
        ipfs_api_base_port=free_port_range(2),
        ipfs_swarm_base_port=free_port_range(2),
        node_base_port=free_port_range(2),
    )


def test_up_down_up_resumes_the_same_chain(tmp_path: Path) -> None:
    config = _config(tmp_path)
    devnet = Devnet(config)
    try:
        info = devnet.up()
        assert devnet.up().members.keys() == info.members.keys()  # idempotent while running
        sender = open_member_sender(info, "KZ")
        ledger = Ledger.open(sender.w3, Deployment.load(config.deployment_file), sender)
        record = Record(DocType.PRE_ARRIVAL_MANIFEST, b"\x01" * 32, b"\x02" * 32, ("UZ",))
        doc_id = ledger.registry.anchor(1, record).ids[0]
        deployment_before = config.deployment_file.read_text()
        assert set(devnet.down()) == {"anvil", "ipfs-KZ", "ipfs-UZ", "node-KZ", "node-UZ"}
        assert devnet.status() == []
        info = devnet.up()
        assert config.deployment_file.read_text() == deployment_before  # not redeployed
        sender = open_member_sender(info, "KZ")
        ledger = Ledger.open(sender.w3, Deployment.load(config.deployment_file), sender)
        assert ledger.registry.is_anchored(doc_id)
        assert all(alive and answering for *_, alive, answering in devnet.status())
    finally:
        devnet.down()


def test_member_secrets_are_encrypted_at_rest(tmp_path: Path) -> None:
    config = _config(tmp_path)
    devnet = Devnet(config)
    try:
        info = devnet.up()
    finally:
        devnet.down()
    member = info.members["KZ"]
    password = Path(member.password_file).read_text().strip()
    assert Path(member.password_file).stat().st_mode & 0o077 == 0
    for secret_file in (member.keystore, member.encryption_key):
        assert password not in Path(secret_file).read_text()
    assert "PRIVATE KEY" not in Path(member.encryption_key).read_text().replace(
        "ENCRYPTED PRIVATE KEY", ""
    )
    assert NetworkInfo.load(config.network_file).members["UZ"].economy == "UZ"


def test_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", config.chain_port))
        blocker.listen()
        with pytest.raises(DevnetError, match=f"port {config.chain_port} .* already in use"):
            Devnet(config).up()


def test_free_ports_are_below_the_ephemeral_range_and_never_repeat() -> None:
    """`free_port` picks below the range the OS gives outgoing connections their local
    ports from (a port bound to 0 is one of those, and CI once lost an IPFS node's API
    port to a connection between the pick and the bind), and never hands a port out twice."""
    low, _high = (
        int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    )
    ports = [free_port() for _ in range(200)]
    assert all(PICK_LOW <= port < PICK_HIGH < low for port in ports)
    base = free_port_range(3)
    assert len({*ports, base, base + 1, base + 2}) == len(ports) + 3
    for port in ports[:3]:  # each still bindable: the pick holds nothing open
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
