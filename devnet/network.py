"""The embedded single-machine network: one anvil chain, and per member an
encrypted account keystore, an X25519 encryption key, an embedded IPFS node and
a customs node service (`python -m node serve`), all on 127.0.0.1 under one
data directory.

Per member, `members/<economy>/` holds the keystore, the password file (0600),
the encryption key, the IPFS repo, the node's SQLite database (`node.db`), the
node's settings (`node.env`, the `CIE_NODE_*` variables the service is started
with) and `api-keys.json` (0600): one plaintext API key per role, created once
(the node database keeps only their SHA-256 hashes) for the demo, the tests and
the dashboard login. Logs go to `<data dir>/logs/`.

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
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.types import Wei

from devnet.anvil import BLOCK_TIME, AnvilChain
from devnet.ipfs import EmbeddedIpfsNode, connect_nodes
from devnet.processes import (
    DevnetError,
    ensure_port_free,
    start_process,
    wait_until,
)
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
    block_time: float = BLOCK_TIME
    # anvil (one sequencer) and QBFT are final on inclusion: no block to wait for.
    node_confirmations: int = 0
    node_poll_interval: float = 0.25
    node_start_timeout: float = 90.0
    # Members whose node runs in simple exchange mode (node/simple: folders in and
    # out, officers' decision files acknowledge). Opt-in: the demo does not drive
    # simple members yet, so the default is none.
    simple_members: tuple[str, ...] = ()

    def member_dir(self, economy: str) -> Path:
        return self.data_dir / "members" / economy

    def is_simple(self, economy: str) -> bool:
        return economy in self.simple_members

    def simple_root(self, economy: str) -> Path:
        """The exchange folder of a simple-mode member (inbox/, done/, received/, ...)."""
        return self.member_dir(economy) / "exchange"

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
    node_db: str = ""
    node_env_file: str = ""
    api_keys_file: str = ""
    mode: str = "full"  # "full" (API + risk engine) or "simple" (folders + officers)
    simple_root: str = ""

    def api_key(self, role: str) -> str:
        """The member node's plaintext API key for `role` (devnet only; file mode 0600)."""
        keys: dict[str, str] = json.loads(Path(self.api_keys_file).read_text())
        return keys[role]

    @property
    def dashboard_url(self) -> str:
        return f"{self.node_url}/dashboard/"


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


def resolve_simple_members(spec: str, members: tuple[str, ...]) -> tuple[str, ...]:
    """`--simple`: "auto" (the last member when there are 4 or more: KR by default),
    "none" or "" (no one), or comma-separated economies."""
    value = spec.strip()
    if value.lower() == "auto":
        return members[-1:] if len(members) >= 4 else ()
    if value.lower() in ("", "none"):
        return ()
    return tuple(m.strip().upper() for m in value.split(",") if m.strip())


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


NODE_ROLES = ("submitter", "risk_officer", "auditor", "node_admin")


def node_environment(
    config: DevnetConfig, economy: str, port: int, rpc_url: str, ipfs_api: str
) -> dict[str, str]:
    """The `CIE_NODE_*` settings of a member's node service (also written to `node.env`)."""
    files = member_files(config, economy)
    directory = files.directory.resolve()
    return {
        "CIE_NODE_ECONOMY": economy,
        "CIE_NODE_RPC_URL": rpc_url,
        # anvil serves WebSocket on the HTTP port: new blocks wake the listener at once.
        "CIE_NODE_WS_URL": "ws" + rpc_url.removeprefix("http"),
        "CIE_NODE_DEPLOYMENT_FILE": str(config.deployment_file.resolve()),
        "CIE_NODE_KEYSTORE_FILE": str(files.keystore.resolve()),
        "CIE_NODE_KEYSTORE_PASSWORD_FILE": str(files.password_file.resolve()),
        "CIE_NODE_ENCRYPTION_KEY_FILE": str(files.encryption_key.resolve()),
        "CIE_NODE_ENCRYPTION_KEY_PASSWORD_FILE": str(files.password_file.resolve()),
        "CIE_NODE_IPFS_API": ipfs_api,
        "CIE_NODE_DATABASE_URL": f"sqlite:///{directory / 'node.db'}",
        "CIE_NODE_CONFIRMATIONS": str(config.node_confirmations),
        "CIE_NODE_POLL_INTERVAL": str(config.node_poll_interval),
        "CIE_NODE_SHARE_REASONS_WITH": '["*"]',
        "CIE_NODE_HOST": "127.0.0.1",
        "CIE_NODE_PORT": str(port),
        **(
            {
                "CIE_NODE_SIMPLE_MODE": "true",
                "CIE_NODE_SIMPLE_ROOT": str(config.simple_root(economy).resolve()),
                "CIE_NODE_SIMPLE_POLL_INTERVAL": str(config.node_poll_interval),
            }
            if config.is_simple(economy)
            else {}
        ),
    }


def ensure_api_keys(database_url: str, keys_file: Path, economy: str) -> dict[str, str]:
    """One API key per role, created once: hashed in the node DB, plaintext in a 0600 file."""
    from node.db import Database
    from node.services.api_keys import Role, authenticate, create_api_key

    db = Database(database_url)
    try:
        try:
            keys: dict[str, str] = json.loads(keys_file.read_text())
        except (OSError, ValueError):
            keys = {}
        for role in NODE_ROLES:
            key = keys.get(role)
            if key is None or authenticate(db, key) is None:  # e.g. the node DB was removed
                keys[role] = create_api_key(db, f"devnet-{economy}-{role}", Role(role))
    finally:
        db.close()
    tmp = keys_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(keys, indent=2) + "\n")
    os.replace(tmp, keys_file)
    return keys


def _node_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


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
    def _processes(self) -> dict[str, dict[str, Any]]:
        try:
            data: dict[str, dict[str, Any]] = json.loads(self.config.processes_file.read_text())
            return data
        except (OSError, ValueError):
            return {}

    def _record(self, name: str, pid: int, port: int, log: Path, **extra: str) -> None:
        processes = self._processes()
        processes[name] = {"pid": pid, "port": port, "log": str(log), **extra}
        self.config.processes_file.write_text(json.dumps(processes, indent=2) + "\n")

    def _running(self, name: str) -> bool:
        entry = self._processes().get(name)
        return bool(entry) and _pid_alive(int(entry["pid"]))  # type: ignore[index]

    # -- up ------------------------------------------------------------------------
    def up(self) -> NetworkInfo:
        cfg = self.config
        unknown = sorted(set(cfg.simple_members) - set(cfg.members))
        if unknown:
            raise DevnetError(f"simple members {', '.join(unknown)} are not members")
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
            address = Web3.to_checksum_address(account)
            if w3.eth.get_balance(address) < 10**19:
                tx = w3.eth.send_transaction({"from": faucet, "to": address, "value": Wei(10**21)})
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
        self._start_node_services(chain.rpc_url, [n.api_address for n in nodes])
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
                node_db=str((files.directory / "node.db").resolve()),
                node_env_file=str((files.directory / "node.env").resolve()),
                api_keys_file=str((files.directory / "api-keys.json").resolve()),
                mode="simple" if cfg.is_simple(economy) else "full",
                simple_root=(
                    str(cfg.simple_root(economy).resolve()) if cfg.is_simple(economy) else ""
                ),
            )
        info.save(cfg.network_file)
        return info

    def _start_node_services(self, rpc_url: str, ipfs_apis: list[str]) -> None:
        """Start every member's node service that is not running, then wait for `/ready`."""
        cfg = self.config
        started = []
        for index, economy in enumerate(cfg.members):
            name = f"node-{economy}"
            port = cfg.node_base_port + index
            mode = "simple" if cfg.is_simple(economy) else "full"
            running = self._running(name)
            running_mode = self._processes().get(name, {}).get("mode", "full")
            if running and running_mode != mode:
                raise DevnetError(
                    f"the node service of {economy} runs in {running_mode} mode, not {mode}: "
                    "`cie devnet down` first to change a member's mode"
                )
            env = node_environment(cfg, economy, port, rpc_url, ipfs_apis[index])
            directory = cfg.member_dir(economy)
            if cfg.is_simple(economy):
                cfg.simple_root(economy).mkdir(parents=True, exist_ok=True)
            (directory / "node.env").write_text(
                "".join(f"{k}={v}\n" for k, v in sorted(env.items()))
            )
            ensure_api_keys(env["CIE_NODE_DATABASE_URL"], directory / "api-keys.json", economy)
            if running:
                continue
            ensure_port_free(port, f"the node service of {economy}")
            log = cfg.log_dir / f"{name}.log"
            process = start_process(
                [sys.executable, "-m", "node", "serve"], log, env={**env, "PYTHONUNBUFFERED": "1"}
            )
            self._record(name, process.pid, port, log, mode=mode)
            started.append((economy, port, process, log))
        deadline = time.monotonic() + cfg.node_start_timeout
        for economy, port, process, log in started:
            url = f"http://127.0.0.1:{port}"
            wait_until(
                lambda url=url: _node_ready(url),  # type: ignore[misc]
                timeout=max(1.0, deadline - time.monotonic()),
                what=f"the node service of {economy} (port {port})",
                process=process,
                log=log,
            )

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
        stopped = []
        processes = self._processes()
        # Node services first, then IPFS, then the chain: nothing writes to a dying part.
        order = {"node": 0, "ipfs": 1}
        for name in sorted(processes, key=lambda n: order.get(n.split("-")[0], 2)):
            pid = int(processes[name]["pid"])
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
            pid, port = int(entry["pid"]), int(entry["port"])
            rows.append((name, pid, port, _pid_alive(pid), _port_open(port)))
        return rows

    def log_files(self) -> dict[str, Path]:
        return {n: Path(str(e["log"])) for n, e in self._processes().items()}


def open_member_sender(info: NetworkInfo, economy: str) -> TransactionSender:
    """A signing sender for a member, decrypting its keystore with its password file."""
    member = info.members[economy]
    password = Path(member.password_file).read_text().strip()
    return TransactionSender(connect(info.rpc_url), load_account(Path(member.keystore), password))
