"""On-chain throughput: pre-built, pre-signed transactions sent as fast as possible.

Measures documents per second by *chain time*: from the first submission to
the receipt of the last transaction, under each anvil mining mode. Signing and
encoding happen before the clock starts (the question is what the chain
sustains, not what one Python client signs). The workloads of each mode, in
this order, on the same chain:

* CIE `anchorBatch` of 1000 documents per transaction;
* OpenAttestation's DocumentStore (the contract compiled in the npm package
  ``@govtechsg/document-store``) as TradeTrust issues: one Merkle root of 1000
  documents per `issue`; 1000 target hashes per `bulkIssue`;
* CIE `anchor`, one document per transaction;
* the naive baseline (`bench/contracts/NaiveRegistry.sol` `anchorFull`): one
  transaction per document with the full record in storage;
* OpenAttestation `issue`, one document per transaction.

Raw transactions go out as JSON-RPC arrays of `eth_sendRawTransaction` over one
HTTP connection. Every receipt is checked afterwards (status 1, one
`DocumentAnchored` per document for the CIE workloads, one `DocumentIssued` per
root or target hash for OpenAttestation's), so a figure never
counts work that did not happen. A mode that leaves transactions unmined
(Foundry #10122) is reported as stalled with how many were mined.

    python -m bench.onchain_bench [--full]
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from web3 import Web3

from bench import standalone
from bench.gas import deploy_naive_registry, deploy_openattestation_store
from devnet.anvil import BLOCK_TIME, AnvilChain
from devnet.processes import free_port
from ledger_client.chain import TransactionSender, connect
from ledger_client.deployment import FoundingMember, deploy_all
from ledger_client.ledger import Ledger
from ledger_client.records import DocType, Record, document_id
from ledger_client.registry import NO_AUTHORITY

BATCH = 1000
GAS_PRICE = 50 * 10**9  # fixed and high: base fee moves as blocks fill, nothing may stall on it
STALL_SECONDS = 30.0

# Mining modes: label -> (anvil flags instead of the devnet's, how to mine).
MODES: dict[str, tuple[list[str], str]] = {
    "automine": ([], "auto"),
    "interval 0.2 s": (["--block-time", "0.2"], "auto"),
    f"mixed: automine + {BLOCK_TIME:g} s interval (devnet)": (
        ["--block-time", f"{BLOCK_TIME:g}", "--mixed-mining"],
        "auto",
    ),
    "manual: --no-mining, evm_mine after submission": (["--no-mining"], "manual"),
}

# (batches of 1000, single-document txs) per profile: for CIE's anchors, for
# OpenAttestation's roots and single issues and for the naive baseline;
# OpenAttestation's bulkIssue of 1000 target hashes gets a sixth of the batches.
WORKLOAD = {"quick": (60, 2000), "full": (300, 10000)}

# Mining flags the devnet's AnvilChain always passes; each mode sets its own.
_DEVNET_MINING = {"--mixed-mining": 0, "--block-time": 1}


class _ModeChain(AnvilChain):
    """The devnet's anvil with the mining flags replaced by a mode's."""

    mining: list[str]

    def argv(self) -> list[str]:
        argv = super().argv()
        out: list[str] = []
        skip = 0
        for arg in argv:
            if skip:
                skip -= 1
                continue
            if arg in _DEVNET_MINING:
                skip = _DEVNET_MINING[arg]
                continue
            out.append(arg)
        return out + self.mining


@dataclass
class Row:
    mode: str
    workload: str
    documents: int
    transactions: int
    seconds: float | None  # None: stalled
    mined: int
    blocks: int
    note: str = ""  # why a stalled row stalled, when anvil said nothing

    @property
    def docs_per_second(self) -> float | None:
        return None if self.seconds is None else self.documents / self.seconds


class _Rpc:
    """Plain JSON-RPC over one keep-alive HTTP session (arrays in one request)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self._id = 0

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        payload: list[dict[str, Any]] = []
        for method, params in calls:
            self._id += 1
            payload.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        answer = self.session.post(self.url, json=payload, timeout=STALL_SECONDS).json()
        by_id = {item["id"]: item for item in answer}
        results = []
        for call in payload:
            item = by_id[call["id"]]
            if "error" in item:
                raise RuntimeError(f"{call['method']} failed: {item['error']}")
            results.append(item.get("result"))
        return results

    def call(self, method: str, *params: Any) -> Any:
        return self.batch([(method, list(params))])[0]


def _fund(w3: Web3, address: str) -> None:
    tx = w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": address, "value": Web3.to_wei(10**6, "ether")}
    )
    w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.02)


def _record() -> Record:
    return Record(DocType.PRE_ARRIVAL_MANIFEST, os.urandom(32), os.urandom(32), ("UZ",))


class _Signer:
    def __init__(self, w3: Web3, account: LocalAccount) -> None:
        self.account = account
        self.chain_id = w3.eth.chain_id
        self.nonce = int(w3.eth.get_transaction_count(account.address))

    def sign(self, to: str, data: str, gas: int) -> tuple[str, str]:
        signed = self.account.sign_transaction(
            {
                "to": HexStr(to),
                "data": HexStr(data),
                "gas": gas,
                "gasPrice": GAS_PRICE,
                "nonce": self.nonce,
                "chainId": self.chain_id,
                "value": 0,
            }
        )
        self.nonce += 1
        return "0x" + signed.raw_transaction.hex(), "0x" + signed.hash.hex()


def _submit_and_time(
    rpc: _Rpc, raw: list[str], hashes: list[str], per_request: int, manual: bool
) -> tuple[float | None, int]:
    """Send everything, wait for the last receipt; (chain seconds or None, txs mined)."""
    started = time.perf_counter()
    elapsed: float | None
    for start in range(0, len(raw), per_request):
        rpc.batch([("eth_sendRawTransaction", [tx]) for tx in raw[start : start + per_request]])
    deadline = started + STALL_SECONDS
    while True:
        if manual:
            rpc.call("evm_mine")
        if rpc.call("eth_getTransactionReceipt", hashes[-1]) is not None:
            elapsed = time.perf_counter() - started
            break
        if time.perf_counter() > deadline:
            elapsed = None
            break
        if not manual:
            time.sleep(0.002)
    receipts = _receipts(rpc, hashes)
    return elapsed, sum(1 for r in receipts if r is not None)


def _receipts(rpc: _Rpc, hashes: list[str]) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(hashes), 500):
        out += rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes[start : start + 500]])
    return out


def _check(receipts: list[Any], topic: str | None, expected: int) -> set[int]:
    """Every receipt succeeded (and together they carry `expected` logs of `topic`:
    one DocumentAnchored per document, one DocumentIssued per OA root or target
    hash); the set of blocks used."""
    events = 0
    blocks: set[int] = set()
    for receipt in receipts:
        if receipt is None:
            continue
        if int(receipt["status"], 16) != 1:
            raise RuntimeError(f"transaction {receipt['transactionHash']} reverted")
        blocks.add(int(receipt["blockNumber"], 16))
        if topic is not None:
            events += sum(1 for log in receipt["logs"] if log["topics"][0] == topic)
    mined = sum(1 for r in receipts if r is not None)
    if topic is not None and mined == len(receipts) and events != expected:
        raise RuntimeError(f"{events} events of topic {topic}, expected {expected}")
    return blocks


# A workload: name, documents, signed (raw tx, hash) pairs, transactions per JSON-RPC
# request, the topic of the log to count in the receipts (None: none) and how many.
_Work = tuple[str, int, list[tuple[str, str]], int, str | None, int]


class _OpenAttestation:
    """OpenAttestation's DocumentStore owned by the issuer (deployed by `deployer`), and
    its ways to issue as workloads signed by `signer` (the issuer's next nonces: sign
    in the order of submission)."""

    def __init__(
        self, w3: Web3, deployer: LocalAccount, issuer: LocalAccount, signer: _Signer
    ) -> None:
        self.w3, self.issuer, self.signer = w3, issuer, signer
        self.store = deploy_openattestation_store(TransactionSender(w3, deployer), issuer.address)
        self.issued = (
            "0x" + bytes(Web3.keccak(text=_event_signature(self.store, "DocumentIssued"))).hex()
        )

    def _signed(self, function: str, args: list[list[Any]]) -> list[tuple[str, str]]:
        calls = [str(self.store.encode_abi(function, args=a)) for a in args]
        estimate = self.w3.eth.estimate_gas(
            {"from": self.issuer.address, "to": self.store.address, "data": HexStr(calls[0])}
        )
        return [self.signer.sign(self.store.address, data, int(estimate * 1.3)) for data in calls]

    def batched(self, batches: int) -> list[_Work]:
        """One Merkle root of BATCH documents per `issue` (TradeTrust's way); BATCH target
        hashes per `bulkIssue` (on a sixth of the batches)."""
        bulk = max(1, batches // 6)
        roots = self._signed("issue", [[os.urandom(32)] for _ in range(batches)])
        hashes = self._signed(
            "bulkIssue", [[[os.urandom(32) for _ in range(BATCH)]] for _ in range(bulk)]
        )
        return [
            (f"OpenAttestation issue, one Merkle root per {BATCH} documents",
             batches * BATCH, roots, 5, self.issued, batches),
            (f"OpenAttestation bulkIssue of {BATCH} target hashes",
             bulk * BATCH, hashes, 1, self.issued, bulk * BATCH),
        ]  # fmt: skip

    def single(self, count: int) -> _Work:
        """One document (its target hash as the root) per `issue`."""
        txs = self._signed("issue", [[os.urandom(32)] for _ in range(count)])
        return ("OpenAttestation issue, one document per tx", count, txs, 100, self.issued, count)


def measure_mode(label: str, flags: list[str], how: str, profile: str, scratch: Path) -> list[Row]:
    batches, singles = WORKLOAD[profile]
    chain = _ModeChain(port=free_port(), log_file=scratch / f"anvil-{len(flags)}-{how}.log")
    chain.mining = flags
    manual = how == "manual"
    rows: list[Row] = []
    chain.start()
    try:
        w3 = connect(chain.rpc_url)
        rpc = _Rpc(chain.rpc_url)
        if manual:
            rpc.call("evm_setAutomine", True)  # set-up transactions wait for receipts
        issuer: LocalAccount = Account.create()
        other: LocalAccount = Account.create()
        deployer: LocalAccount = Account.create()
        for account in (issuer, other, deployer):
            _fund(w3, account.address)
        deployment = deploy_all(
            TransactionSender(w3, deployer),
            [
                FoundingMember("KZ", os.urandom(32), (issuer.address,)),
                FoundingMember("UZ", os.urandom(32), (other.address,)),
            ],
        )
        registry = Ledger.open(w3, deployment, TransactionSender(w3, issuer)).registry.contract
        naive = deploy_naive_registry(TransactionSender(w3, deployer))
        anchored_topic = (
            "0x" + bytes(Web3.keccak(text=_event_signature(registry, "DocumentAnchored"))).hex()
        )
        serial = 1
        signer = _Signer(w3, issuer)

        def batch_data(first: int) -> str:
            packed = b"".join(_record().pack() for _ in range(BATCH))
            return str(registry.encode_abi("anchorBatch", args=[first, NO_AUTHORITY, packed]))

        batch_gas = int(
            w3.eth.estimate_gas(
                {"from": issuer.address, "to": registry.address, "data": HexStr(batch_data(serial))}
            )
            * 1.3
        )
        work: list[_Work] = []
        txs = []
        for _ in range(batches):
            txs.append(signer.sign(registry.address, batch_data(serial), batch_gas))
            serial += BATCH
        work.append(
            (f"anchorBatch of {BATCH}", batches * BATCH, txs, 5, anchored_topic, batches * BATCH)
        )
        # The batched workloads first: a flood of single-document transactions can stall
        # a mode (below), leaving what follows it moot.
        openattestation = _OpenAttestation(w3, deployer, issuer, signer)
        work += openattestation.batched(batches)
        single_data = [
            str(registry.encode_abi("anchor", args=[serial + i, NO_AUTHORITY, _record().pack()]))
            for i in range(singles)
        ]
        serial += singles
        single_gas = int(
            w3.eth.estimate_gas(
                {"from": issuer.address, "to": registry.address, "data": HexStr(single_data[0])}
            )
            * 1.5
        )
        txs = [signer.sign(registry.address, data, single_gas) for data in single_data]
        work.append(("anchor, one document per tx", singles, txs, 100, anchored_topic, singles))
        naive_data = [
            str(
                naive.encode_abi(
                    "anchorFull",
                    args=[
                        document_id("KZ", DocType.PRE_ARRIVAL_MANIFEST, 10**9 + i),
                        1,
                        os.urandom(32),
                        os.urandom(32),
                        [b"UZ"],
                        [],
                    ],
                )
            )
            for i in range(singles)
        ]
        naive_gas = int(
            w3.eth.estimate_gas(
                {"from": issuer.address, "to": naive.address, "data": HexStr(naive_data[0])}
            )
            * 1.3
        )
        txs = [signer.sign(naive.address, data, naive_gas) for data in naive_data]
        work.append(("baseline: naive, one tx per document", singles, txs, 100, None, 0))
        work.append(openattestation.single(singles))
        if manual:
            rpc.call("evm_setAutomine", False)
        for name, documents, signed, per_request, topic, events in work:
            raw = [tx for tx, _ in signed]
            hashes = [h for _, h in signed]
            try:
                seconds, mined = _submit_and_time(rpc, raw, hashes, per_request, manual)
            except requests.RequestException as error:
                # anvil stopped answering under the submission (seen with automine and
                # many single-transaction requests); the rest of this chain is moot.
                note = f"anvil did not answer a submission request ({type(error).__name__})"
                rows.append(Row(label, name, documents, len(raw), None, 0, 0, note))
                break
            blocks = _check(_receipts(rpc, hashes), topic, events)
            rows.append(Row(label, name, documents, len(raw), seconds, mined, len(blocks)))
            if seconds is None:
                # Unmined transactions block the nonces after them: the rest is moot.
                break
    finally:
        chain.stop()
    return rows


def _event_signature(contract: Any, name: str) -> str:
    (abi,) = [e for e in contract.abi if e.get("type") == "event" and e.get("name") == name]
    return f"{name}({','.join(_abi_type(i) for i in abi['inputs'])})"


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return str(item["type"])


def run(profile: str = "quick") -> dict[str, Any]:
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="onchain-bench-") as scratch:
        for label, (flags, how) in MODES.items():
            rows += measure_mode(label, flags, how, profile, Path(scratch))
    return {"rows": rows, "profile": profile, "seconds": time.perf_counter() - started}


def markdown(result: dict[str, Any]) -> str:
    rows: list[Row] = result["rows"]
    lines = [
        "| mining mode | workload | documents | txs | blocks | chain s | docs/s | vs naive |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        naive = next(
            (
                r
                for r in rows
                if r.mode == row.mode and r.workload.startswith("baseline") and r.seconds
            ),
            None,
        )
        rate = row.docs_per_second
        if rate is None:
            what = row.note or (
                f"{row.mined} of {row.transactions} txs mined after {STALL_SECONDS:.0f} s"
            )
            lines.append(
                f"| {row.mode} | {row.workload} | {row.documents:,} | {row.transactions:,} | "
                f"{row.blocks} | stalled: {what} | | |"
            )
            continue
        ratio = f"{rate / naive.docs_per_second:.1f}x" if naive and naive.docs_per_second else ""
        lines.append(
            f"| {row.mode} | {row.workload} | {row.documents:,} | {row.transactions:,} | "
            f"{row.blocks} | {row.seconds:.2f} | {rate:,.0f} | {ratio} |"
        )
    best = max(
        (r for r in rows if r.workload.startswith("anchorBatch") and r.docs_per_second),
        key=lambda r: r.docs_per_second or 0.0,
        default=None,
    )
    devnet = next(
        (r for r in rows if "(devnet)" in r.mode and r.workload.startswith("anchorBatch")), None
    )
    if devnet is not None and devnet.docs_per_second is not None:
        met = "met" if devnet.docs_per_second >= 10_000 else "NOT met"
        lines += [
            "",
            f"**Target** (>= 10,000 documents/s on-chain, pre-built batches, chain time): "
            f"{devnet.docs_per_second:,.0f} docs/s in the devnet's mode ({met})"
            + (
                f"; best mode here: {best.mode}, {best.docs_per_second:,.0f} docs/s."
                if best is not None and best.docs_per_second
                else "."
            ),
        ]
    return "\n".join(lines)


def markdown_section(profile: str = "quick") -> str:
    result = run(profile)
    return (
        "Command: `python -m bench --only onchain` (module `bench.onchain_bench`): one issuer "
        "(KZ) sends pre-built, pre-signed transactions as JSON-RPC arrays of "
        "`eth_sendRawTransaction` to a fresh anvil per mining mode; chain time runs from the "
        "first submission to the last receipt; every receipt is then checked (status 1 and one "
        "`DocumentAnchored` per document, one `DocumentIssued` per OpenAttestation root or "
        "target hash). Signing is not timed. OpenAttestation: the DocumentStore contract "
        "compiled in the npm package `@govtechsg/document-store`, owned by the issuer. Ratios "
        "are against the naive baseline (one tx per document, full record in storage) on the "
        "same chain. "
        f"Measured in {result['seconds']:.0f} s.\n\n" + markdown(result) + "\n\n" + MODE_NOTE
    )


MODE_NOTE = (
    "**Which mining mode the devnet uses, and why.** The devnet runs anvil with "
    f"`--block-time {BLOCK_TIME:g} --mixed-mining` (`devnet.anvil.AnvilChain`): automine gives "
    "a lone transaction its receipt at once (low single-document latency), and the interval "
    "mines what automine left pending after a burst of a few transactions (Foundry #10122). "
    "It does not rescue a flood of thousands of single transactions: with either interval "
    "some such flood stalled (the stalled rows; 0.2 s and 1 s alike). The interval was "
    f"0.2 s; it is {BLOCK_TIME:g} s because anvil 1.7.1 rebuilds the whole state trie for "
    "every block, empty ones included (`devnet.anvil.BLOCK_TIME`: 129 ms a block at 60,000 "
    "acknowledged documents). Pure interval mining caps a lone transaction's "
    "latency at the block time; manual mining (`--no-mining` + `evm_mine`) packs many "
    "transactions per block but needs a driver and is not how a member node runs. Batches "
    "are the node's normal path and every mode sustains them; floods of thousands of "
    "single-document transactions are where the modes differ, and where anvil itself can "
    "stall (rows marked stalled: transactions accepted but not mined, or a submission "
    "request left unanswered). The figures in other sections use the devnet's mode."
)


def main() -> None:
    standalone(__doc__, run, markdown, "more transactions per workload")


if __name__ == "__main__":
    main()
