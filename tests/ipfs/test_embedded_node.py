"""The embedded IPFS node: loopback-only networking, bitswap between members, RPC shapes.

Every test runs real libkubo node processes and talks to them with
ipfshttpclient (or plain HTTP where the wire format itself is under test).
"""

from __future__ import annotations

import contextlib
import glob
import io
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import ipfshttpclient
import psutil
import pytest
import requests

from devnet.ipfs import EmbeddedIpfsNode, connect_nodes
from devnet.ipfs.repo import NON_LOOPBACK_RANGES, local_block_path, lock_config_to_loopback
from devnet.ipfs.unixfs_layout import file_cumulative_size
from devnet.processes import DevnetError, free_port
from tests.ipfs.conftest import NodeFactory, make_node

pytestmark = pytest.mark.filterwarnings("ignore:The 'strict' parameter:FutureWarning")

HELLO_CID = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"


def client(node: EmbeddedIpfsNode) -> ipfshttpclient.Client:
    return ipfshttpclient.Client(node.api_address, timeout=15)


def non_loopback_sockets(pid: int) -> list[str]:
    """Every inet socket of the process that is not IPv4 loopback at both ends."""
    offending = []
    for connection in psutil.Process(pid).net_connections(kind="inet"):
        ends = [connection.laddr] + ([connection.raddr] if connection.raddr else [])
        for end in ends:
            address = ipaddress.ip_address(end.ip)
            if connection.family != socket.AF_INET or not address.is_loopback:
                offending.append(f"{connection.type.name} {ends} {connection.status}")
    return offending


def test_socket_check_sees_a_non_loopback_socket(tmp_path: Path) -> None:
    """Positive control: binding a wildcard UDP socket (no traffic) must be flagged."""
    probe = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            "s.bind(('0.0.0.0', 0)); print('bound', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert probe.stdout is not None and probe.stdout.readline() == b"bound\n"
        assert non_loopback_sockets(probe.pid)
    finally:
        probe.kill()
        probe.wait()


def established_peers(pid: int) -> set[tuple[str, int]]:
    return {
        (connection.raddr.ip, connection.raddr.port)
        for connection in psutil.Process(pid).net_connections(kind="tcp")
        if connection.raddr and connection.status == psutil.CONN_ESTABLISHED
    }


class SocketWatch:
    """Samples the nodes' sockets in the background for the duration of a test."""

    def __init__(self, *nodes: EmbeddedIpfsNode) -> None:
        self.pids = [node.pid for node in nodes if node.pid is not None]
        self.offending: list[str] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                with contextlib.suppress(psutil.NoSuchProcess):  # a node stopped mid-test
                    self.offending += non_loopback_sockets(pid)
            self.samples += 1
            self._stop.wait(0.05)

    def __enter__(self) -> SocketWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- network safety ---------------------------------------------------------


def test_fresh_repo_config_is_public_until_locked(tmp_path: Path) -> None:
    """CreateRepo writes Kubo's public defaults; the lock leaves nothing of them."""
    repo = tmp_path / "repo"
    # In a child process: loading libkubo starts a Go runtime we keep out of pytest.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from devnet.ipfs.libkubo import Libkubo; "
            "Libkubo(Path(sys.argv[1])).create_repo()",
            str(repo),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,  # libkubo writes kubo.log into the working directory
    )
    config = json.loads((repo / "config").read_text())
    assert config["Bootstrap"], "expected Kubo's public bootstrap list in a fresh repo"
    assert config["Discovery"]["MDNS"]["Enabled"] is True
    assert "/ip4/0.0.0.0/tcp/4001" in config["Addresses"]["Swarm"]

    lock_config_to_loopback(config, swarm_port=4101, api_port=5101)

    assert config["Bootstrap"] == []
    assert config["Discovery"]["MDNS"]["Enabled"] is False
    assert config["Routing"]["Type"] == "none"
    assert config["Experimental"]["StrategicProviding"] is True  # no provider records
    assert config["Addresses"]["Swarm"] == ["/ip4/127.0.0.1/tcp/4101"]
    assert config["Swarm"]["AddrFilters"] == NON_LOOPBACK_RANGES


def test_running_config_is_loopback_only(member_nodes: tuple[EmbeddedIpfsNode, ...]) -> None:
    for node in member_nodes:
        on_disk = json.loads((node.repo_dir / "config").read_text())
        shown = client(node).config.get()  # what the running node was started with
        for config in (on_disk, shown):
            assert config["Bootstrap"] == []
            assert config["Discovery"]["MDNS"]["Enabled"] is False
            assert config["Routing"]["Type"] == "none"
            assert config["Experimental"]["StrategicProviding"] is True
            assert config["Addresses"]["Swarm"] == [f"/ip4/127.0.0.1/tcp/{node.swarm_port}"]
            assert config["Addresses"]["Announce"] == []
            assert config["Addresses"]["AppendAnnounce"] == []
            assert config["Swarm"]["RelayClient"]["Enabled"] is False
            assert config["Swarm"]["RelayService"]["Enabled"] is False
            assert config["Swarm"]["EnableHolePunching"] is False
            assert config["Swarm"]["DisableNatPortMap"] is True
            assert config["AutoNAT"]["ServiceMode"] == "disabled"
        assert "PrivKey" not in shown["Identity"]
        assert client(node).id()["Addresses"] == [node.multiaddr]


def test_nodes_touch_only_loopback_while_exchanging(start_node: NodeFactory) -> None:
    exporter, importer = start_node("exporter"), start_node("importer")
    with SocketWatch(exporter, importer) as watch:
        time.sleep(0.5)  # start-up is when a default node would dial bootstrap peers
        cid = client(exporter).add(io.BytesIO(os.urandom(300_000)))["Hash"]
        connect_nodes(exporter, importer)
        client(importer).cat(cid, opts={"timeout": "10s"})
        assert exporter.pid is not None and importer.pid is not None
        # The watch must be able to see sockets at all, or an empty result means nothing.
        assert ("127.0.0.1", exporter.swarm_port) in established_peers(importer.pid)
        time.sleep(1.0)
    assert watch.samples > 10
    assert watch.offending == []
    for node in (exporter, importer):
        for peer in client(node).swarm.peers()["Peers"]:
            assert peer["Addr"].startswith("/ip4/127.0.0.1/tcp/")


class StracedNode(EmbeddedIpfsNode):
    """A node process run under strace, recording every address it binds, dials or sends to."""

    def argv(self) -> list[str]:
        trace = ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=connect,bind,sendto,sendmsg"]
        return [*trace, "-o", str(self.trace_file), *super().argv()]

    @property
    def trace_file(self) -> Path:
        return self.log_file.with_suffix(".strace")

    def stop(self, timeout: float = 10.0) -> None:
        # SIGTERM to strace would only detach it; signal the node under it.
        if self.process is not None:
            for child in psutil.Process(self.process.pid).children():
                child.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout)  # strace exits with its tracee
            self.process = None


def inet_addresses_in_trace(trace: str) -> list[str]:
    addresses = re.findall(r'sin_addr=inet_addr\("([^"]+)"\)', trace)
    if "AF_INET6" in trace:
        addresses.append("an AF_INET6 socket address")
    return addresses


def test_trace_parser_flags_non_loopback_addresses() -> None:
    trace = (
        '7 connect(9, {sa_family=AF_INET, sin_port=htons(4001), sin_addr=inet_addr("10.0.0.1")}'
        ", 16) = -1 EINPROGRESS\n"
        '7 bind(3, {sa_family=AF_INET6, sin6_port=htons(0), inet_pton(AF_INET6, "::", ...'
    )
    assert inet_addresses_in_trace(trace) == ["10.0.0.1", "an AF_INET6 socket address"]


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_node_syscalls_only_ever_address_loopback(tmp_path: Path) -> None:
    """Every bind/connect/send of both processes, start to stop, names 127.0.0.1 only."""
    nodes = [
        StracedNode(tmp_path / name, free_port(), free_port(), tmp_path / f"{name}.log")
        for name in ("exporter", "importer")
    ]
    try:
        for node in nodes:
            node.start()
        exporter, importer = nodes
        cid = client(exporter).add(io.BytesIO(os.urandom(300_000)))["Hash"]
        importer.connect(exporter)
        client(importer).cat(cid, opts={"timeout": "10s"})
        time.sleep(1.0)
    finally:
        for node in nodes:
            node.stop()
    for node in nodes:
        addresses = inet_addresses_in_trace(node.trace_file.read_text())
        assert addresses, "the trace saw no inet traffic at all, so it proves nothing"
        assert {address for address in addresses if not address.startswith("127.")} == set()


def test_swarm_connect_refuses_non_loopback_addresses(
    member_nodes: tuple[EmbeddedIpfsNode, ...],
) -> None:
    node, other = member_nodes
    address = f"/ip4/10.11.12.13/tcp/4001/p2p/{other.peer_id}"
    response = requests.post(f"{node.api_url}/swarm/connect", params={"arg": address}, timeout=5)

    assert response.status_code == 400
    assert "refusing to dial" in response.json()["Message"]
    assert node.pid is not None and non_loopback_sockets(node.pid) == []


# -- members exchanging payloads over bitswap --------------------------------


def test_importer_fetches_exporter_payload_over_bitswap(start_node: NodeFactory) -> None:
    exporter, importer = start_node("exporter"), start_node("importer")
    payload = os.urandom(700_000)  # opaque, like an HPKE envelope; 3 chunks
    cid = client(exporter).add(io.BytesIO(payload))["Hash"]

    # Not connected: the importer neither has the blocks nor can get them.
    assert client(importer).swarm.peers()["Peers"] == []
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="deadline exceeded"):
        client(importer).cat(cid, opts={"timeout": "1s"})
    assert not local_block_path(importer.repo_dir, cid).exists()

    importer.connect(exporter)
    fetched = client(importer).cat(cid, opts={"timeout": "10s"})

    assert fetched == payload
    assert local_block_path(importer.repo_dir, cid).exists()
    assert [peer["Peer"] for peer in client(importer).swarm.peers()["Peers"]] == [exporter.peer_id]


def test_a_node_recycled_after_its_fetches_goes_on_serving_with_its_peers(
    tmp_path: Path,
) -> None:
    """libkubo leaves a bitswap session behind every fetch, so the node restarts in
    place every `recycle_after` fetches (here 3): same identity, its peers dialed
    again (here one that dialed IT), and fetches go on, also after a fetch that
    timed out because nobody has the content (left waiting inside libkubo)."""
    exporter = make_node(tmp_path, "exporter")
    importer = make_node(tmp_path, "importer", recycle_after=3)
    try:
        exporter.start()
        importer.start()
        exporter.connect(importer)  # the importer dials nobody itself
        payloads = [os.urandom(2000 + i) for i in range(7)]
        cids = [client(exporter).add(io.BytesIO(p))["Hash"] for p in payloads]
        nobody_has = client(exporter).add(io.BytesIO(os.urandom(100)), only_hash=True)["Hash"]
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="deadline exceeded"):
            client(importer).cat(nobody_has, opts={"timeout": "1s"})  # fetch 1
        fetched = [client(importer).cat(cid, opts={"timeout": "10s"}) for cid in cids]  # 2-8

        assert fetched == payloads
        assert client(importer).id()["ID"] == importer.peer_id
        assert [peer["Peer"] for peer in client(importer).swarm.peers()["Peers"]] == [
            exporter.peer_id
        ]
        log_text = importer.log_file.read_text()
        assert log_text.count("recycled the node after 3 fetches") == 2, log_text[-3000:]
        assert "1 peers dialed again" in log_text and "not reachable" not in log_text
    finally:
        exporter.stop()
        importer.stop()


# -- add semantics ----------------------------------------------------------


def test_add_returns_kubo_default_cids(member_nodes: tuple[EmbeddedIpfsNode, ...]) -> None:
    ipfs = client(member_nodes[0])
    data = os.urandom(600_000)

    assert ipfs.add_bytes(b"hello\n") == HELLO_CID
    predicted = ipfs.add(io.BytesIO(data), only_hash=True)["Hash"]
    assert not local_block_path(member_nodes[0].repo_dir, predicted).exists()
    assert predicted not in ipfs.pin.ls(type="all")["Keys"]
    assert ipfs.add(io.BytesIO(data))["Hash"] == predicted


def test_add_reports_the_dag_size_kubo_reports(start_node: NodeFactory) -> None:
    node = start_node("sizes")
    data = os.urandom(3 * 262_144 + 1234)

    def blocks() -> dict[str, bytes]:
        files = glob.glob(str(node.repo_dir / "blocks" / "*" / "*.data"))
        return {path: Path(path).read_bytes() for path in files}

    before = blocks()
    entry = client(node).add(io.BytesIO(data))
    written = {path: block for path, block in blocks().items() if path not in before}
    # Kubo's adder also writes a one-link MFS directory naming the file by its CID.
    dag = [block for block in written.values() if entry["Hash"].encode() not in block]

    assert len(dag) == 5  # 4 leaves and the root
    assert int(entry["Size"]) == sum(len(block) for block in dag) == file_cumulative_size(len(data))


def test_add_with_pin_false_leaves_content_unpinned(
    member_nodes: tuple[EmbeddedIpfsNode, ...],
) -> None:
    ipfs = client(member_nodes[0])
    unpinned = ipfs.add(io.BytesIO(os.urandom(1000)), pin=False)["Hash"]
    pinned = ipfs.add(io.BytesIO(b"pinned first\n"))["Hash"]
    again = ipfs.add(io.BytesIO(b"pinned first\n"), pin=False)["Hash"]

    keys = ipfs.pin.ls(type="all")["Keys"]
    assert unpinned not in keys
    assert again == pinned and keys[pinned]["Type"] == "recursive"  # pin=False keeps old pins
    assert ipfs.cat(unpinned, offline=True)  # stored, just not pinned


def test_pin_ls_separates_recursive_and_indirect(
    member_nodes: tuple[EmbeddedIpfsNode, ...],
) -> None:
    ipfs = client(member_nodes[0])
    cid = ipfs.add(io.BytesIO(os.urandom(600_000)))["Hash"]  # root + 3 leaves

    everything = ipfs.pin.ls(type="all")["Keys"]
    assert everything[cid]["Type"] == "recursive"
    assert sum(1 for entry in everything.values() if entry["Type"] == "indirect") >= 3
    assert cid in ipfs.pin.ls(type="recursive")["Keys"]
    assert cid not in ipfs.pin.ls(type="indirect")["Keys"]

    assert ipfs.pin.rm(cid)["Pins"] == [cid]
    assert cid not in ipfs.pin.ls(type="all")["Keys"]
    assert ipfs.pin.add(cid)["Pins"] == [cid]
    assert ipfs.pin.ls(cid)["Keys"] == {cid: {"Type": "recursive"}}


# -- persistence and garbage collection ---------------------------------------


def test_restart_keeps_identity_content_and_pins(tmp_path: Path) -> None:
    node = make_node(tmp_path, "member")
    node.start()
    try:
        payload = os.urandom(400_000)
        cid = client(node).add(io.BytesIO(payload))["Hash"]
        peer_id = node.peer_id
        node.stop()
        node.start()

        assert node.peer_id == peer_id
        assert client(node).cat(cid, offline=True) == payload
        assert client(node).pin.ls(type="recursive")["Keys"][cid]["Type"] == "recursive"
    finally:
        node.stop()


def test_second_process_on_a_running_repo_is_refused_untouched(
    member_nodes: tuple[EmbeddedIpfsNode, ...], tmp_path: Path
) -> None:
    running = member_nodes[0]
    config_before = (running.repo_dir / "config").read_bytes()
    intruder = EmbeddedIpfsNode(
        running.repo_dir, free_port(), free_port(), tmp_path / "intruder.log"
    )

    with pytest.raises(DevnetError, match="in use by another node process"):
        intruder.start(timeout=10)

    assert (running.repo_dir / "config").read_bytes() == config_before
    assert client(running).id()["ID"] == running.peer_id


def test_gc_is_refused_and_pinned_content_stays(start_node: NodeFactory) -> None:
    node = start_node("gc")
    ipfs = client(node)
    pinned = ipfs.add(io.BytesIO(os.urandom(2000)))["Hash"]
    unpinned = ipfs.add(io.BytesIO(os.urandom(2000)))["Hash"]
    ipfs.pin.rm(unpinned)

    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="not available"):
        ipfs.repo.gc()

    assert ipfs.cat(pinned, offline=True)
    assert pinned in ipfs.pin.ls(type="recursive")["Keys"]
    # The known limitation, pinned down: without GC, unpinned blocks stay too.
    assert local_block_path(node.repo_dir, unpinned).exists()


# -- the wire format ----------------------------------------------------------


def test_rpc_errors_have_kubo_shape(member_nodes: tuple[EmbeddedIpfsNode, ...]) -> None:
    node = member_nodes[0]
    missing = "QmNLei78zWmzUdbeRB3CiUfAizWUrbeeZh5K1rhAQKCh51"  # an empty directory

    bad = requests.post(f"{node.api_url}/cat", params={"arg": "no-such-cid"}, timeout=5)
    slow = requests.post(
        f"{node.api_url}/cat", params={"arg": missing, "timeout": "300ms"}, timeout=5
    )
    no_arg = requests.post(f"{node.api_url}/pin/add", timeout=5)

    assert bad.status_code == 400 and bad.json()["Code"] == 1 and bad.json()["Type"] == "error"
    assert slow.status_code == 500
    assert slow.json()["Code"] == 0 and "context deadline exceeded" in slow.json()["Message"]
    assert no_arg.status_code == 400 and "required" in no_arg.json()["Message"]
    assert requests.get(f"{node.api_url}/id", timeout=5).status_code == 405
    assert requests.post(f"{node.api_url}/no/such/command", timeout=5).status_code == 404
    assert client(node).version()["Version"] == "0.22.0"


def test_sigterm_stops_node_with_fetches_parked(start_node: NodeFactory) -> None:
    node = start_node("stopping")
    missing = "QmNLei78zWmzUdbeRB3CiUfAizWUrbeeZh5K1rhAQKCh51"

    def fetch_until_cut_off() -> None:
        with contextlib.suppress(requests.RequestException):  # the node goes away
            requests.post(
                f"{node.api_url}/cat", params={"arg": missing, "timeout": "60s"}, timeout=70
            )

    parked = threading.Thread(target=fetch_until_cut_off, daemon=True)
    parked.start()
    time.sleep(0.3)
    process = node.process
    assert process is not None

    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=10)

    assert code == 0
    assert time.monotonic() - started < 5
    log = node.log_file.read_text()
    assert "IPFS node stopped" in log
    assert "IPFS: " in log  # libkubo's Go log, routed from <repo>/kubo.log into ours
