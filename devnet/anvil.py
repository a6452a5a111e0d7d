"""The devnet's chain: an anvil process on loopback, state optionally persisted.

Mining mode: interval mining mixed with automine (`--mixed-mining
--block-time`). Plain automine can leave ready transactions unmined under fast
pipelined submission (Foundry issue #10122); the interval makes sure every
pending transaction is mined within one block time, while automine keeps
single-transaction latency low.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devnet.processes import DevnetError, ensure_port_free, start_process, stop_process, wait_until
from ledger_client.compiler import REPO_ROOT

ANVIL_BIN = REPO_ROOT / "node_modules" / ".bin" / "anvil"
DEFAULT_CHAIN_ID = 31337
BLOCK_TIME = 1.0
"""Seconds between interval blocks. anvil 1.7.1 rebuilds the whole state trie for every block it
mines, empty ones included (Foundry #15715, fixed in releases after 1.7.1, none of them on npm):
measured idle, about 2.1 ms a block per 1,000 acknowledged documents (129 ms at 60,000). At a
0.2 s interval an idle chain of 100,000 documents would keep a core busy and starve the nodes;
at 1 s it costs a fifth of that. Automine still mines a lone transaction at once, so only the
leftovers of #10122 and the blocks that confirmations wait for (nodes with confirmations > 0)
follow this interval, as they would on a QBFT chain with 1 s blocks."""
PRUNE_HISTORY = "--prune-history"
"""By default anvil keeps no state of past blocks (logs, receipts and blocks stay). Left to
itself it persists older states under ~/.foundry/anvil/tmp and leaves them there when
stopped (77 GB after a day of test and benchmark runs filled the disk). With a number of
states to keep (`--prune-history 16`, even 1), anvil 1.7.1 grows by about the size of the
state with every block, empty ones included (250 KiB a block with 5,000 documents anchored,
6.8 GB at 19,000 of a 100,000-document run), so only short-lived chains that need
`anvil_reorg` keep some (`past_states`). `evm_snapshot`/`evm_revert` need none; a mined
revert is explained on the latest state (`TransactionSender`)."""


def anvil_binary() -> str:
    if ANVIL_BIN.exists():
        return str(ANVIL_BIN)
    found = shutil.which("anvil")
    if found is None:
        raise DevnetError("anvil not found; run `make setup` (npm @foundry-rs/anvil-linux-amd64)")
    return found


@dataclass
class AnvilChain:
    """One anvil process. `state_file` persists the chain across stop/start."""

    port: int
    log_file: Path
    state_file: Path | None = None
    block_time: float = BLOCK_TIME
    chain_id: int = DEFAULT_CHAIN_ID
    accounts: int = 2
    #: Ether per dev account: the faucet funds every member account of every test network.
    balance_ether: int = 10**9
    #: States of past blocks kept in memory: `anvil_reorg` rewinds at most that many blocks.
    #: 0 keeps none (see PRUNE_HISTORY); for short-lived test chains only.
    past_states: int = 0
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [
            anvil_binary(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--accounts",
            str(self.accounts),
            "--balance",
            str(self.balance_ether),
            "--block-time",
            str(self.block_time),
            "--mixed-mining",
            "--no-request-size-limit",
            "--gas-limit",
            "1000000000",
            "--code-size-limit",
            "49152",
            PRUNE_HISTORY,
            *([str(self.past_states)] if self.past_states else []),
        ]
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            argv += ["--state", str(self.state_file), "--state-interval", "5"]
        return argv + self.extra_args

    def start(self, timeout: float = 30.0) -> None:
        ensure_port_free(self.port, "anvil")
        self.process = start_process(self.argv(), self.log_file)
        wait_until(
            self._answers, timeout=timeout, what="anvil", process=self.process, log=self.log_file
        )

    def _answers(self) -> bool:
        request = urllib.request.Request(
            self.rpc_url,
            data=json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=1) as response:
            return "result" in json.load(response)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)  # SIGTERM lets anvil dump --state
            self.process = None
