"""The embedded single-machine network: one anvil chain, and per member an
encrypted account keystore, an X25519 encryption key, an embedded IPFS node and
(once issue 5 lands) a node service, all on 127.0.0.1 under one data directory.

`up` is idempotent and restartable: key material and the deployment are made
once and reused; the chain state is persisted by anvil (`--state`), so `up`
after `down` resumes the same chain and contracts. Processes outlive the
command; their pids are kept in `<data dir>/processes.json` for `down` and
`status`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eth_account import Account

from devnet.anvil import AnvilChain
from devnet.ipfs import EmbeddedIpfsNode, connect_nodes
from devnet.processes import DevnetError
from ledger_client.chain import TransactionSender, connect
from ledger_client.deployment import Deployment, FoundingMember, deploy_all
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.keystore import create_account_keystore, keystore_address, load_account

DEFAULT_MEMBERS = ("KZ", "UZ", "AZ", "KR")


@dataclass(frozen=True)
class DevnetConfig:
    data_dir: Path = Path(".devnet")
    members: tuple[str, ...] = DEFAULT_MEMBERS
    chain_port: int = 8545
    ipfs_api_base_port: int = 5101
    ipfs_swarm_base_port: int = 4101
    node_base_port: int = 8101
    block_time: float = 0.2

    def member_dir(self, economy: str) -> Path:
        return self.data_dir / "members" / economy

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def deployment_file(self) -> Path:
        return self.data_dir / "deployment.json"

    @property
    def processes_file(self) -> Path:
        return self.data_dir / "processes.json"

    @property
    def network_file(self) -> Path:
        return self.data_dir / "network.json"


@dataclass(frozen=True)
class MemberFiles:
    """Where a member's secrets live; the password file is mode 0600 (devnet only)."""

    economy: str
    directory: Path
    keystore: Path
    encryption_key: Path
    password_file: Path

    def password(self) -> str:
        return self.password_file.read_text().strip()


@dataclass
class MemberEndpoints:
    economy: str
    account: str
    ipfs_api: str
    ipfs_swarm: str
    node_url: str
    keystore: str
    encryption_key: str
    password_file: str


@dataclass
class NetworkInfo:
    """What clients, tests and the demo need to reach the running devnet."""

    rpc_url: str
    ws_url: str
    chain_id: int
    deployment_file: str
    members: dict[str, MemberEndpoints] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> NetworkInfo:
        try:
            data = json.loads(path.read_text())
        except OSError:
            raise DevnetError(f"{path} not found: is the devnet up? (`cie devnet up`)") from None
        members = {e: MemberEndpoints(**m) for e, m in data.pop("members").items()}
        return cls(**data, members=members)


def member_files(config: DevnetConfig, economy: str) -> MemberFiles:
    directory = config.member_dir(economy)
    return MemberFiles(
        economy=economy,
        directory=directory,
        keystore=directory / "account.keystore.json",
        encryption_key=directory / "encryption-key.pem",
        password_file=directory / "password",
    )


def ensure_member_keys(files: MemberFiles) -> tuple[str, bytes]:
    """Create the member's password, account keystore and encryption key once."""
    files.directory.mkdir(parents=True, exist_ok=True)
    if not files.password_file.exists():
        fd = os.open(files.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24) + "\n")
    password = files.password()
    if not files.keystore.exists():
        # Devnet keystores use a cheaper KDF so `up` stays quick; still encrypted at rest.
        create_account_keystore(files.keystore, password, kdf="pbkdf2", iterations=50_000)
    if not files.encryption_key.exists():
        MemberEncryptionKey.generate().save(files.encryption_key, password)
    key = MemberEncryptionKey.load(files.encryption_key, password)
    return keystore_address(files.keystore), key.public_key_bytes


def _pid_alive(pid: int) -> bool:
    # Reap it first if it is our own exited child: a zombie still answers kill(0).
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Devnet:
    def __init__(self, config: DevnetConfig) -> None:
        self.config = config

    # -- process bookkeeping ---------------------------------------------------
    def _processes(self) -> dict[str, dict[str, object]]:
        try:
            data: dict[str, dict[str, object]] = json.loads(self.config.processes_file.read_text())
            return data
        except (OSError, ValueError):
            return {}

    def _record(self, name: str, pid: int, port: int, log: Path) -> None:
        processes = self._processes()
        processes[name] = {"pid": pid, "port": port, "log": str(log)}
        self.config.processes_file.write_text(json.dumps(processes, indent=2) + "\n")

    def _running(self, name: str) -> bool:
        entry = self._processes().get(name)
        return bool(entry) and _pid_alive(int(entry["pid"]))  # type: ignore[arg-type, index]

    # -- up ------------------------------------------------------------------------
    def up(self) -> NetworkInfo:
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        cfg.log_dir.mkdir(parents=True, exist_ok=True)
        chain = AnvilChain(
            port=cfg.chain_port,
            log_file=cfg.log_dir / "anvil.log",
            state_file=cfg.data_dir / "chain" / "state.json",
            block_time=cfg.block_time,
        )
        if not self._running("anvil"):
            chain.start()
            assert chain.process is not None
            self._record("anvil", chain.process.pid, cfg.chain_port, chain.log_file)
        w3 = connect(chain.rpc_url)
        members = {e: member_files(cfg, e) for e in cfg.members}
        keys = {e: ensure_member_keys(f) for e, f in members.items()}
        faucet = w3.eth.accounts[0]  # anvil's unlocked dev account: devnet funding only
        for account, _ in keys.values():
            if w3.eth.get_balance(account) < 10**19:
                tx = w3.eth.send_transaction({"from": faucet, "to": account, "value": 10**21})
                w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.05)
        deployment = self._ensure_deployment(w3, keys)
        nodes = []
        for index, economy in enumerate(cfg.members):
            node = EmbeddedIpfsNode(
                cfg.member_dir(economy) / "ipfs",
                api_port=cfg.ipfs_api_base_port + index,
                swarm_port=cfg.ipfs_swarm_base_port + index,
                log_file=cfg.log_dir / f"ipfs-{economy}.log",
            )
            if self._running(f"ipfs-{economy}"):
                node._answers()  # learn the running node's peer id
            else:
                node.start()
                assert node.pid is not None
                self._record(f"ipfs-{economy}", node.pid, node.api_port, node.log_file)
            nodes.append(node)
        connect_nodes(*nodes)
        info = NetworkInfo(
            rpc_url=chain.rpc_url,
            ws_url=chain.ws_url,
            chain_id=deployment.chain_id,
            deployment_file=str(cfg.deployment_file.resolve()),
        )
        for index, economy in enumerate(cfg.members):
            files = members[economy]
            info.members[economy] = MemberEndpoints(
                economy=economy,
                account=keys[economy][0],
                ipfs_api=nodes[index].api_address,
                ipfs_swarm=nodes[index].multiaddr,
                node_url=f"http://127.0.0.1:{cfg.node_base_port + index}",
                keystore=str(files.keystore.resolve()),
                encryption_key=str(files.encryption_key.resolve()),
                password_file=str(files.password_file.resolve()),
            )
        info.save(cfg.network_file)
        return info

    def _ensure_deployment(self, w3, keys: dict[str, tuple[str, bytes]]) -> Deployment:  # type: ignore[no-untyped-def]
        cfg = self.config
        if cfg.deployment_file.exists():
            deployment = Deployment.load(cfg.deployment_file)
            address = deployment.contracts["DocumentRegistry"].address
            if deployment.chain_id == w3.eth.chain_id and w3.eth.get_code(address):
                return deployment
        deployer = Account.create()  # throw-away: keeps no power after the constructor
        tx = w3.eth.send_transaction(
            {"from": w3.eth.accounts[0], "to": deployer.address, "value": 10**20}
        )
        w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.05)
        deployment = deploy_all(
            TransactionSender(w3, deployer),
            [FoundingMember(e, pub, (account,)) for e, (account, pub) in keys.items()],
        )
        deployment.save(cfg.deployment_file)
        return deployment

    # -- down / status ---------------------------------------------------------------
    def down(self, timeout: float = 15.0) -> list[str]:
        """Stop every recorded process (SIGTERM; anvil writes its state on exit)."""
        import time

        stopped = []
        processes = self._processes()
        # Stop services before the chain so nothing writes to a dying chain.
        for name in sorted(processes, key=lambda n: n == "anvil"):
            pid = int(processes[name]["pid"])  # type: ignore[arg-type]
            if _pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + timeout
                while _pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if _pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)
                stopped.append(name)
        self.config.processes_file.unlink(missing_ok=True)
        return stopped

    def status(self) -> list[tuple[str, int, int, bool, bool]]:
        """(name, pid, port, process alive, port answering) per recorded part."""
        rows = []
        for name, entry in self._processes().items():
            pid, port = int(entry["pid"]), int(entry["port"])  # type: ignore[arg-type]
            rows.append((name, pid, port, _pid_alive(pid), _port_open(port)))
        return rows

    def log_files(self) -> dict[str, Path]:
        return {n: Path(str(e["log"])) for n, e in self._processes().items()}


def open_member_sender(info: NetworkInfo, economy: str) -> TransactionSender:
    """A signing sender for a member, decrypting its keystore with its password file."""
    member = info.members[economy]
    password = Path(member.password_file).read_text().strip()
    return TransactionSender(connect(info.rpc_url), load_account(Path(member.keystore), password))
