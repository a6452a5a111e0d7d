"""The demo scenario on a running devnet: `cie demo`.

Everything goes through the member nodes' REST APIs (with the API keys the devnet
created) except the MRA approvals, which have no endpoint yet and are sent with
the members' own accounts. Acknowledgements come from the importing nodes'
listeners; the demo only watches.

Scenario (sizes follow `scale`, the number of new documents):

* AEO exporters registered on chain by their own economy (`POST /aeo`);
* an MRA between the first two members, approved by both;
* pre-arrival manifests between every pair of members, bulk-submitted by the
  exporting node; one of them amended afterwards (version 2);
* e-COs: most linked to a manifest and consistent with it, one linked but
  inconsistent (the importer's risk engine must flag it), some standalone; one
  revoked after its acknowledgement;
* transit movements A -> C -> B (C records TRANSIT_PASSED, B the ARRIVAL) and
  A -> B, plus one with an arrival time limit seconds away and no ARRIVAL: it must
  show up as overdue at its destination (`GET /transit/overdue`);
* simple-mode members (`MemberEndpoints.mode == "simple"`, node/simple) take no part
  in the above; they exchange through their folders: the demo drops a JSON file
  (two manifests), a CSV file (a manifest) and an XML file (an e-CO linked to the
  first manifest) addressed to full members into `inbox/`, plus one invalid file
  that must land in `rejected/`; full members send manifests to them through their
  APIs; the demo acts as the officer, writing a decision file into `decisions/`
  for everything that lands in `received/`, and those decisions must appear on
  chain as the simple member's acknowledgements.

The summary is computed afterwards from the chain (document histories) and the
node databases (processing states, risk outcomes, acknowledgements seen by the
exporters), never from what the demo meant to do.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import create_engine, text

from devnet.network import NetworkInfo, open_member_sender
from devnet.processes import DevnetError
from ledger_client.chain import connect
from ledger_client.deployment import Deployment
from ledger_client.ledger import Ledger
from ledger_client.provenance import DocumentHistory, read_history
from ledger_client.records import Lane
from manifests import DocumentType
from manifests.generate import DocumentGenerator

MANIFEST = DocumentType.PRE_ARRIVAL_MANIFEST
TRANSIT = DocumentType.TRANSIT_DECLARATION
ECO = DocumentType.CERTIFICATE_OF_ORIGIN
BULK_CHUNK = 25
REVOCATION_REASON = 3


class DemoError(DevnetError):
    """The scenario could not run (a node refused a request, or it timed out)."""


@dataclass
class SentDocument:
    document_id: str  # 0x-hex
    version: int
    doc_type: DocumentType
    issuer: str
    reference: str
    submitted_at: float
    tags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, int]:
        return (self.document_id.removeprefix("0x"), self.version)


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:  # nearest rank
        index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
        return round(ordered[index], 3)

    return {
        "n": len(ordered),
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": round(ordered[-1], 3),
    }


class NodeClient:
    """One member node's REST API, with the devnet's API keys for each role."""

    def __init__(self, info: NetworkInfo, economy: str) -> None:
        member = info.members[economy]
        self.economy = economy
        self.keys = json.loads(Path(member.api_keys_file).read_text())
        self.http = httpx.Client(base_url=member.node_url, timeout=300.0)

    def call(self, method: str, path: str, role: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, headers={"X-API-Key": self.keys[role]}, **kwargs)
        if response.status_code >= 400:
            raise DemoError(
                f"{self.economy} node: {method} {path} -> {response.status_code} "
                f"{response.text[:800]}"
            )
        return response.json()

    def close(self) -> None:
        self.http.close()


def arrival_offsets(count: int, rate: float, seed: str) -> list[float]:
    """When one exporter sends its `count` paced requests, in seconds from its start: a
    Poisson process of `rate` requests per second (independent exponential gaps, seeded).

    Exporters submit independently of each other, so at a low overall rate requests
    rarely meet, and sometimes do; a fixed interval from a common start would instead
    send every exporter's request at the same instant, a burst at each tick.
    """
    if rate <= 0:
        return [0.0] * count
    gaps = random.Random(seed)
    offsets, at = [], 0.0
    for _ in range(count):
        at += gaps.expovariate(rate)
        offsets.append(at)
    return offsets


class DemoScenario:
    """The scenario against a running devnet (`NetworkInfo`); `run()` returns the summary."""

    def __init__(
        self,
        info: NetworkInfo,
        *,
        scale: int,
        seed: int | None = None,
        console: Console | None = None,
        timeout: float = 600.0,
        rate: float = 0.0,
    ) -> None:
        # The API scenario runs among the full members; simple members use their folders.
        self.simple = [e for e, m in info.members.items() if m.mode == "simple"]
        self.members = [e for e in info.members if e not in self.simple]
        if len(self.members) < 3:
            raise DemoError("the demo needs at least three full members (transit A -> C -> B)")
        self.info = info
        self.scale = max(scale, 20)
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self.rng = random.Random(self.seed)
        self.console = console or Console()
        self.timeout = timeout
        # Documents per second over all exporters, one document per request; 0 = as fast
        # as the nodes take them (bulk batches of BULK_CHUNK: the latency then includes
        # queueing at importers).
        self.rate = rate
        self.nodes = {e: NodeClient(info, e) for e in info.members}
        self.sent: dict[tuple[str, int], SentDocument] = {}
        self.ack_seen: dict[tuple[str, int, str], float] = {}
        self.histories: dict[str, DocumentHistory] = {}
        self.aeo_ids: list[str] = []
        self.mra: tuple[str, str] = (self.members[0], self.members[1])
        self.ledger = Ledger.open(
            connect(info.rpc_url), Deployment.load(Path(info.deployment_file)), None
        )
        self.engines = {
            e: create_engine(f"sqlite:///{info.members[e].node_db}") for e in info.members
        }
        self.started = time.time()
        # per simple member: the inbox files dropped, by expected outcome, and the
        # officer's decisions (received/ file name -> decision written)
        self.simple_files: dict[str, dict[str, list[str]]] = {
            e: {"done": [], "rejected": []} for e in self.simple
        }
        self.decisions: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in self.simple}

    # -- running -------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        generator = DocumentGenerator(self.seed, economies=self.members)
        n_manifests = max(8, int(self.scale * 0.45))
        n_transits = max(4, int(self.scale * 0.20))
        n_ecos = max(6, self.scale - n_manifests - n_transits)
        manifests = [self._manifest(generator) for _ in range(n_manifests)]
        # Acknowledgements are timed by when an exporter's DB first shows them: watch
        # all along, not only while waiting, or the latencies would include idle time.
        watching = threading.Event()
        watcher = threading.Thread(target=self._watch_acknowledgements, args=(watching,))
        watcher.start()
        try:
            with self._progress() as progress:
                self._scenario(generator, manifests, n_ecos, n_transits, progress)
        finally:
            watching.set()
            watcher.join()
        return self.summary()

    def _watch_acknowledgements(self, stop: threading.Event) -> None:
        while not stop.wait(0.1):
            with contextlib.suppress(OSError, ValueError, KeyError):  # moved under us: next round
                self._officer_round()
            try:
                self._poll_acknowledgements()
            except Exception:  # a locked SQLite read: try again on the next round
                continue

    def _scenario(
        self,
        generator: DocumentGenerator,
        manifests: list[dict[str, Any]],
        n_ecos: int,
        n_transits: int,
        progress: Progress,
    ) -> None:
        self._setup_aeo_and_mra(manifests, progress)
        self._submit(MANIFEST, manifests, progress, "manifests")
        self._await_acknowledgements(progress, "manifests acknowledged")
        ecos, tags = self._certificates(generator, manifests, n_ecos)
        transits, transit_tags = self._transits(generator, n_transits)
        self._submit(ECO, ecos, progress, "e-COs", tags)
        self._submit(TRANSIT, transits, progress, "transit declarations", transit_tags)
        if self.simple:
            self._simple_exchange(progress)
        self._amend_one_manifest(manifests, progress)
        self._record_checkpoints(progress)
        self._await_acknowledgements(progress, "all acknowledged")
        self._revoke_one_certificate(progress)
        self._await_overdue(progress)

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()
        for engine in self.engines.values():
            engine.dispose()

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("[bold]{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )

    # -- documents ------------------------------------------------------------------------
    def _manifest(self, generator: DocumentGenerator) -> dict[str, Any]:
        origin, destination = self.rng.sample(self.members, 2)
        doc = generator.manifest(origin=origin, destination=destination)
        return dict(doc.model_dump(mode="json"))

    def _certificates(
        self, generator: DocumentGenerator, manifests: list[dict[str, Any]], count: int
    ) -> tuple[list[dict[str, Any]], dict[str, set[str]]]:
        from manifests.pre_arrival import PreArrivalManifest

        ecos: list[dict[str, Any]] = []
        tags: dict[str, set[str]] = {}
        models = [PreArrivalManifest.model_validate(m) for m in manifests]
        # The inconsistent e-CO: certificate X -> Z citing a manifest Y -> Z of another
        # economy whose goods and parties differ. The issuing node cannot check a foreign
        # manifest; the importer holds it, so its risk engine must flag the mismatch.
        cited = models[0]
        y, z = cited.issuer_economy, cited.place_of_unloading[:2]
        x = next(e for e in self.members if e not in (y, z))
        own_manifest = generator.manifest(origin=x, destination=z)
        inconsistent = generator.linked_certificate(own_manifest).model_dump(mode="json")
        inconsistent["links"] = [
            {
                "document_type": MANIFEST.name,
                "issuer_economy": y,
                "reference": cited.reference,
            }
        ]
        ecos.append(inconsistent)
        tags[inconsistent["reference"]] = {"inconsistent"}
        linked = max(1, (count - 1) * 2 // 3)
        for model in models[1 : 1 + linked]:
            eco = generator.linked_certificate(model)
            ecos.append(eco.model_dump(mode="json"))
            tags[eco.reference] = {"linked"}
        while len(ecos) < count:
            eco = generator.certificate_of_origin()
            data = eco.model_dump(mode="json")
            ecos.append(data)
            tags[eco.reference] = {"standalone"}
        # the certificate revoked later: a consistent linked one
        revoke_ref = ecos[1]["reference"] if len(ecos) > 1 else ecos[0]["reference"]
        tags[revoke_ref].add("to_revoke")
        return ecos, tags

    def _transits(
        self, generator: DocumentGenerator, count: int
    ) -> tuple[list[dict[str, Any]], dict[str, set[str]]]:
        now = datetime.now(UTC).replace(microsecond=0)
        transits: list[dict[str, Any]] = []
        tags: dict[str, set[str]] = {}
        for index in range(count):
            length = 3 if index % 2 == 0 else 2
            itinerary = self.rng.sample(self.members, length)
            doc = generator.transit_declaration(itinerary=itinerary).model_dump(mode="json")
            doc["departure"] = (now - timedelta(hours=2)).isoformat()
            if index == count - 1:
                doc["arrival_time_limit"] = (now + timedelta(seconds=20)).isoformat()
                tags[doc["reference"]] = {"overdue"}
            else:
                doc["arrival_time_limit"] = (now + timedelta(days=7)).isoformat()
                tags[doc["reference"]] = {"via" if length == 3 else "direct"}
            transits.append(doc)
        return transits, tags

    def _submit(
        self,
        doc_type: DocumentType,
        documents: list[dict[str, Any]],
        progress: Progress,
        label: str,
        tags: dict[str, set[str]] | None = None,
    ) -> None:
        task = progress.add_task(f"anchoring {label}", total=len(documents))
        by_issuer: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for doc in documents:
            by_issuer[str(doc["issuer_economy"])].append(doc)

        # Paced: one document per request (low load, documents arriving one by one),
        # each exporter on its own schedule (`arrival_offsets`); bulk: chunks at once.
        chunk_size = 1 if self.rate else BULK_CHUNK

        def submit_all(issuer: str) -> None:
            docs = by_issuer[issuer]
            offsets = arrival_offsets(
                len(docs), self.rate / len(by_issuer), f"{self.seed}/{label}/{issuer}"
            )
            started = time.monotonic()
            for index, start in enumerate(range(0, len(docs), chunk_size)):
                chunk = docs[start : start + chunk_size]
                if self.rate:
                    time.sleep(max(0.0, started + offsets[index] - time.monotonic()))
                submitted_at = time.time()
                receipts = self.nodes[issuer].call(
                    "POST", f"/documents/{doc_type.name}/bulk", "submitter", json=chunk
                )
                for receipt in receipts:
                    sent = SentDocument(
                        receipt["document_id"],
                        int(receipt["version"]),
                        doc_type,
                        issuer,
                        receipt["reference"],
                        submitted_at,
                        set((tags or {}).get(receipt["reference"], set())),
                    )
                    self.sent[sent.key] = sent
                progress.advance(task, len(chunk))

        self._parallel(submit_all, by_issuer)

    def _parallel(self, work: Callable[[str], None], economies: Iterable[str]) -> None:
        economies = list(economies)
        with ThreadPoolExecutor(max_workers=max(1, len(economies))) as pool:
            for future in [pool.submit(work, e) for e in economies]:
                future.result()

    def _setup_aeo_and_mra(self, manifests: list[dict[str, Any]], progress: Progress) -> None:
        """Register a few AEO exporters per economy and let half the manifests name one.

        Only traders of the MRA partners are recognized across the border, so the
        AEO vs non-AEO inspection rates compare like with like on those routes.
        """
        candidates: dict[str, list[str]] = defaultdict(list)
        for doc in manifests:
            aeo_id = doc["consignor"].get("aeo_id")
            if aeo_id and aeo_id[:2] in self.members and aeo_id not in candidates[aeo_id[:2]]:
                candidates[aeo_id[:2]].append(aeo_id)
        for economy in self.members:
            while len(candidates[economy]) < 3:
                candidates[economy].append(f"{economy}AEO{self.rng.randint(1, 999_999):06d}")
            del candidates[economy][3:]
        for doc in manifests:
            if self.rng.random() < 0.5:
                doc["consignor"]["aeo_id"] = self.rng.choice(candidates[doc["issuer_economy"]])
        chosen = [a for e in self.members for a in candidates[e]]
        task = progress.add_task("AEOs and the MRA", total=len(chosen) + 2)
        now = int(time.time())

        def register(economy: str) -> None:
            for aeo_id in candidates[economy]:
                self.nodes[economy].call(
                    "POST",
                    "/aeo",
                    "node_admin",
                    json={
                        "aeo_id": aeo_id,
                        "tier": 1,
                        "valid_from": now - 86_400,
                        "valid_until": now + 365 * 86_400,
                    },
                )
                self.aeo_ids.append(aeo_id)
                progress.advance(task)

        self._parallel(register, self.members)
        a, b = self.mra
        for economy, partner in ((a, b), (b, a)):
            sender = open_member_sender(self.info, economy)
            ledger = Ledger.open(
                sender.w3, Deployment.load(Path(self.info.deployment_file)), sender
            )
            if not ledger.aeo.is_mra_effective(a, b):
                try:
                    ledger.aeo.approve_mra(partner)
                except Exception as exc:  # already approved on a resumed devnet
                    if "already" not in str(exc).lower():
                        raise
            progress.advance(task)
        # the node services' own senders keep a local nonce; the next send resyncs it

    def _amend_one_manifest(self, manifests: list[dict[str, Any]], progress: Progress) -> None:
        task = progress.add_task("amending a manifest", total=1)
        amended = json.loads(json.dumps(manifests[-1]))
        item = amended["goods_items"][0]
        item["gross_mass_kg"] = str(round(float(item["gross_mass_kg"]) * 1.1 + 1, 3))
        issuer = amended["issuer_economy"]
        submitted_at = time.time()
        receipt = self.nodes[issuer].call(
            "PUT", f"/documents/{MANIFEST.name}", "submitter", json=amended
        )
        sent = SentDocument(
            receipt["document_id"],
            int(receipt["version"]),
            MANIFEST,
            issuer,
            receipt["reference"],
            submitted_at,
            {"amended"},
        )
        self.sent[sent.key] = sent
        progress.advance(task)

    def _record_checkpoints(self, progress: Progress) -> None:
        transits = [s for s in self.sent.values() if s.doc_type == TRANSIT]
        plan: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for sent in transits:
            # The itinerary is the destinations list, departure economy first (the issuer).
            itinerary = list(self._history(sent.document_id).destinations)
            plan[itinerary[0]].append((sent.document_id, "DEPARTURE"))
            if "overdue" in sent.tags:
                continue  # departed, never arrives
            for middle in itinerary[1:-1]:
                plan[middle].append((sent.document_id, "TRANSIT_PASSED"))
            plan[itinerary[-1]].append((sent.document_id, "ARRIVAL"))
        task = progress.add_task("transit checkpoints", total=sum(len(p) for p in plan.values()))
        # In itinerary order, as the registry requires (at most one office of transit here).
        for kind in ("DEPARTURE", "TRANSIT_PASSED", "ARRIVAL"):

            def record(economy: str, kind: str = kind) -> None:
                for doc_id, wanted in plan[economy]:
                    if wanted == kind:
                        self.nodes[economy].call(
                            "POST",
                            f"/documents/{doc_id}/checkpoints",
                            "submitter",
                            json={"kind": kind},
                        )
                        progress.advance(task)

            self._parallel(record, list(plan))

    def _revoke_one_certificate(self, progress: Progress) -> None:
        task = progress.add_task("revoking an e-CO", total=1)
        for sent in self.sent.values():
            if "to_revoke" in sent.tags:
                self.nodes[sent.issuer].call(
                    "POST",
                    f"/documents/{sent.document_id}/revoke",
                    "submitter",
                    json={"reason_code": REVOCATION_REASON},
                )
                sent.tags.add("revoked")
                self.histories.pop(sent.document_id, None)
        progress.advance(task)

    def _await_overdue(self, progress: Progress) -> None:
        overdue = [s for s in self.sent.values() if "overdue" in s.tags]
        task = progress.add_task("overdue transit alert", total=len(overdue))
        deadline = time.monotonic() + 90
        pending = {s.document_id: s for s in overdue}
        while pending and time.monotonic() < deadline:
            for doc_id in list(pending):
                destination = self._history(doc_id).destinations[-1]
                listed = self.nodes[destination].call("GET", "/transit/overdue", "risk_officer")
                if any(item["document_id"] == doc_id for item in listed):
                    del pending[doc_id]
                    progress.advance(task)
            time.sleep(1.0)

    # -- simple-mode members ------------------------------------------------------------------
    def _simple_root(self, economy: str) -> Path:
        return Path(self.info.members[economy].simple_root)

    def _simple_exchange(self, progress: Progress) -> None:
        """Drop files into each simple member's inbox, send it documents, await the outcomes."""
        from manifests.importers.csv_documents import export_csv
        from manifests.xml.codec import document_to_xml

        generator = DocumentGenerator(f"{self.seed}-simple", economies=list(self.info.members))
        run = f"demo-{int(self.started)}"
        dropped_at: dict[tuple[str, str], float] = {}
        to_simple: list[dict[str, Any]] = []
        for economy in self.simple:
            a, b, c = self.rng.sample(self.members, 3)
            first = generator.manifest(origin=economy, destination=a)
            second = generator.manifest(origin=economy, destination=b)
            invalid = generator.manifest(origin=economy, destination=c).model_dump(mode="json")
            invalid["goods_items"][0]["hs_code"] = "not-a-code"
            files = {
                f"{run}-1-manifests.json": json.dumps(
                    [first.model_dump(mode="json"), second.model_dump(mode="json")], indent=2
                ).encode(),
                f"{run}-2-manifest.manifest.csv": export_csv(
                    [generator.manifest(origin=economy, destination=c)]
                ).encode(),
                f"{run}-3-certificate.xml": document_to_xml(generator.linked_certificate(first)),
                f"{run}-4-invalid.json": json.dumps(invalid).encode(),
            }
            inbox = self._simple_root(economy) / "inbox"
            (inbox / ".tmp").mkdir(parents=True, exist_ok=True)
            for name, data in files.items():  # write, then rename (node/simple/README.md)
                temporary = inbox / ".tmp" / name
                temporary.write_bytes(data)
                os.replace(temporary, inbox / name)
                dropped_at[(economy, name)] = time.time()
                outcome = "rejected" if "invalid" in name else "done"
                self.simple_files[economy][outcome].append(name)
            for sender in self.rng.sample(self.members, 2):
                doc = generator.manifest(origin=sender, destination=economy)
                to_simple.append(doc.model_dump(mode="json"))
        # documents for the simple members, through the full members' APIs
        tags = {str(d["reference"]): {"to_simple"} for d in to_simple}
        self._submit(MANIFEST, to_simple, progress, "manifests to simple members", tags)
        task = progress.add_task("simple members' inbox files", total=len(dropped_at))
        deadline = time.monotonic() + self.timeout
        pending = dict(dropped_at)
        while pending and time.monotonic() < deadline:
            for economy, name in list(pending):
                root = self._simple_root(economy)
                receipt = root / "done" / f"{name}.receipt.json"
                if (root / "rejected" / f"{name}.errors.json").exists():
                    del pending[(economy, name)]
                    progress.advance(task)
                elif receipt.exists():
                    submitted_at = pending.pop((economy, name))
                    progress.advance(task)
                    for doc in json.loads(receipt.read_text())["documents"]:
                        sent = SentDocument(
                            doc["document_id"],
                            int(doc["version"]),
                            DocumentType[doc["doc_type"]],
                            economy,
                            doc["reference"],
                            submitted_at,
                            {"from_simple", name.rsplit(".", 1)[-1]},
                        )
                        self.sent[sent.key] = sent
            time.sleep(0.2)
        if pending:
            self.console.print(f"[red]inbox files without an outcome:[/] {sorted(pending)}")

    def _officer_round(self) -> None:
        """The officer of each simple member: decide everything that lands in received/."""
        for economy in self.simple:
            root = self._simple_root(economy)
            received = root / "received"
            if not received.is_dir():
                continue
            decided = self.decisions[economy]
            for path in sorted(received.glob("0x*-v*.json")):
                if path.name.endswith(".revoked.json") or path.name in decided:
                    continue
                data = json.loads(path.read_text())
                name = str(data["decision_file"])
                lane = "YELLOW" if len(decided) % 2 == 1 else "GREEN"
                decision = {
                    "lane": lane,
                    "reason": f"demo officer: {data['doc_type']} {data['reference']} reviewed",
                    "officer": "Demo Officer",
                }
                folder = root / "decisions"
                folder.mkdir(parents=True, exist_ok=True)
                temporary = folder / f"{name}.part"
                temporary.write_text(json.dumps(decision) + "\n")
                os.replace(temporary, folder / name)
                decided[path.name] = {
                    "document_id": str(data["document_id"]),
                    "version": int(data["version"]),
                    "reference": str(data["reference"]),
                    "doc_type": str(data["doc_type"]),
                    "decision_file": name,
                    "lane": lane,
                }

    def _simple_summary(self) -> tuple[dict[str, Any], list[str]]:
        """Per simple member, from its folders and the chain: files, decisions, problems."""
        report: dict[str, Any] = {}
        problems: list[str] = []
        for economy in self.simple:
            root = self._simple_root(economy)
            done = {p.name.removesuffix(".receipt.json") for p in (root / "done").glob("*.json")}
            rejected: dict[str, list[str]] = {}
            for path in (root / "rejected").glob("*.errors.json"):
                errors = json.loads(path.read_text()).get("errors", [])
                rejected[path.name.removesuffix(".errors.json")] = sorted(
                    {str(e.get("rule")) for e in errors}
                )
            expected = self.simple_files[economy]
            for name in expected["done"]:
                if name not in done:
                    problems.append(f"{economy} inbox file {name} not done")
            for name in expected["rejected"]:
                if name not in rejected:
                    problems.append(f"{economy} invalid inbox file {name} not rejected")
            if not expected["done"]:
                problems.append(f"{economy}: no inbox files were dropped")
            decisions = []
            for entry in self.decisions[economy].values():
                receipt_file = (
                    root / "decisions" / "done" / f"{entry['decision_file']}.receipt.json"
                )
                try:
                    outcome = json.loads(receipt_file.read_text()).get("outcome")
                except (OSError, ValueError):
                    outcome = None
                history = self._history(entry["document_id"])
                on_chain = any(
                    a.economy == economy
                    and a.version == entry["version"]
                    and a.lane.name == entry["lane"]
                    for a in history.acknowledgements
                )
                if outcome != "acknowledged" or not on_chain:
                    problems.append(
                        f"{economy} decision {entry['decision_file']}: outcome {outcome}, "
                        f"{'on' if on_chain else 'not on'} chain"
                    )
                decisions.append({**entry, "outcome": outcome, "on_chain": on_chain})
            if not decisions:
                problems.append(f"{economy}: the officer made no decision (nothing received)")
            report[economy] = {
                "folder": str(root),
                "files_done": sorted(n for n in expected["done"] if n in done),
                "files_rejected": {n: rejected[n] for n in expected["rejected"] if n in rejected},
                "decisions": sorted(decisions, key=lambda d: d["decision_file"]),
                "decisions_on_chain": sum(1 for d in decisions if d["on_chain"]),
            }
        return report, problems

    # -- watching -----------------------------------------------------------------------------
    def _history(self, document_id: str) -> DocumentHistory:
        if document_id not in self.histories:
            self.histories[document_id] = read_history(
                self.ledger.registry, bytes.fromhex(document_id.removeprefix("0x"))
            )
        return self.histories[document_id]

    def expected_acknowledgers(self, sent: SentDocument) -> list[str]:
        return [e for e in self._history(sent.document_id).destinations if e != sent.issuer]

    def _poll_acknowledgements(self) -> None:
        now = time.time()
        for engine in self.engines.values():
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT document_id, version, acknowledger FROM acknowledgements")
                ).all()
            for row in rows:
                doc_hex, version, acknowledger = str(row[0]), int(row[1]), str(row[2])
                key = (doc_hex, version, acknowledger)
                if key not in self.ack_seen and (doc_hex, version) in self.sent:
                    self.ack_seen[key] = now

    def _await_acknowledgements(self, progress: Progress, label: str) -> None:
        expected = {
            (*sent.key, economy)
            for sent in self.sent.values()
            for economy in self.expected_acknowledgers(sent)
        }
        task = progress.add_task(label, total=len(expected))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            self._poll_acknowledgements()
            done = len(expected & self.ack_seen.keys())
            progress.update(task, completed=done)
            if done == len(expected):
                return
            time.sleep(0.2)
        missing = sorted(expected - self.ack_seen.keys())[:5]
        self.console.print(f"[red]timed out waiting for acknowledgements[/], e.g. {missing}")

    # -- the summary --------------------------------------------------------------------------
    def _rows(self, economy: str, sql: str) -> list[Any]:
        with self.engines[economy].connect() as connection:
            return list(connection.execute(text(sql)).all())

    def summary(self) -> dict[str, Any]:
        self.histories.clear()  # re-read everything from the chain
        self._poll_acknowledgements()
        processing: dict[tuple[str, int, str], tuple[str, int | None]] = {}
        outcomes: dict[tuple[str, int, str], tuple[float, str]] = {}
        for economy in self.info.members:
            for doc_hex, version, state, lane in self._rows(
                economy, "SELECT document_id, version, state, lane FROM processing"
            ):
                processing[(doc_hex, int(version), economy)] = (state, lane)
            for doc_hex, version, created_at, reasons in self._rows(
                economy, "SELECT document_id, version, created_at, reasons FROM risk_outcomes"
            ):
                outcomes[(doc_hex, int(version), economy)] = (float(created_at), reasons)

        problems: list[str] = []
        counts = Counter[str]()
        routes = Counter[tuple[str, str, str]]()
        lanes: dict[str, Counter[str]] = defaultdict(Counter)
        hook_latency: list[float] = []
        ack_latency: list[float] = []
        inspection = {"aeo": Counter[str](), "non_aeo": Counter[str]()}
        documents = []
        for sent in sorted(self.sent.values(), key=lambda s: (s.submitted_at, s.key)):
            doc_hex, version = sent.key
            history = self._history(sent.document_id)
            anchored = any(v.version == version for v in history.versions)
            acknowledgers = self.expected_acknowledgers(sent)
            chain_acks = {
                a.economy: a.lane for a in history.acknowledgements if a.version == version
            }
            delivered = verified = acknowledged = bool(acknowledgers)
            for economy in acknowledgers:
                routes[(sent.issuer, economy, sent.doc_type.name)] += 1
                state, lane = processing.get((doc_hex, version, economy), ("missing", None))
                delivered &= state != "missing"
                verified &= state in ("assessed", "acknowledged")
                seen = (doc_hex, version, economy) in self.ack_seen
                acknowledged &= state == "acknowledged" and economy in chain_acks and seen
                if economy in chain_acks:
                    lanes[sent.doc_type.name][chain_acks[economy].name] += 1
                if (doc_hex, version, economy) in outcomes:
                    created_at, reasons = outcomes[(doc_hex, version, economy)]
                    hook_latency.append(created_at - sent.submitted_at)
                    rules = {f["rule"] for f in json.loads(reasons).get("findings", [])}
                    group = "aeo" if "aeo.recognized" in rules else "non_aeo"
                    inspection[group]["assessed"] += 1
                    if lane is not None and lane >= int(Lane.YELLOW):
                        inspection[group]["inspected"] += 1
                if seen:
                    ack_latency.append(
                        self.ack_seen[(doc_hex, version, economy)] - sent.submitted_at
                    )
            for name, ok in (
                ("anchored", anchored),
                ("delivered", delivered),
                ("verified", verified),
                ("acknowledged", acknowledged),
            ):
                counts[name] += int(ok)
                if not ok:
                    problems.append(f"{sent.doc_type.name} {sent.reference} v{version} not {name}")
            counts["total"] += 1
            documents.append(
                {
                    "document_id": sent.document_id,
                    "version": version,
                    "doc_type": sent.doc_type.name,
                    "issuer": sent.issuer,
                    "reference": sent.reference,
                    "destinations": list(history.destinations),
                    "tags": sorted(sent.tags),
                    "anchored": anchored,
                    "delivered": delivered,
                    "verified": verified,
                    "acknowledged": acknowledged,
                    "revoked": history.revocation is not None,
                }
            )
        flagged = self._flagged_cases(processing, outcomes)
        problems += [
            f"{c['case']} {c['reference']} not flagged" for c in flagged if not c["flagged"]
        ]
        simple, simple_problems = self._simple_summary()
        problems += simple_problems
        rate = {
            group: {
                "assessed": c["assessed"],
                "inspected": c["inspected"],
                "rate": round(c["inspected"] / c["assessed"], 3) if c["assessed"] else None,
            }
            for group, c in inspection.items()
        }
        return {
            "ok": not problems,
            "problems": problems,
            "seed": self.seed,
            "scale": self.scale,
            "duration_s": round(time.time() - self.started, 1),
            "documents": dict(counts),
            "by_route": [
                {"issuer": i, "destination": d, "doc_type": t, "count": n}
                for (i, d, t), n in sorted(routes.items())
            ],
            "lanes": {t: dict(c) for t, c in sorted(lanes.items())},
            "acknowledgements": len(self.ack_seen),
            "latency_s": {
                "submit_to_importer_hook": percentiles(hook_latency),
                "submit_to_ack_seen_by_exporter": percentiles(ack_latency),
            },
            "inspection_rates": rate,
            "aeo_registered": sorted(self.aeo_ids),
            "mra": list(self.mra),
            "flagged": flagged,
            "simple_members": simple,
            "dashboards": {e: m.dashboard_url for e, m in self.info.members.items()},
            "documents_detail": documents,
        }

    def _flagged_cases(
        self,
        processing: dict[tuple[str, int, str], tuple[str, int | None]],
        outcomes: dict[tuple[str, int, str], tuple[float, str]],
    ) -> list[dict[str, Any]]:
        cases = []
        for sent in self.sent.values():
            doc_hex, version = sent.key
            if "inconsistent" in sent.tags:
                importer = self.expected_acknowledgers(sent)[0]
                _, reasons = outcomes.get((doc_hex, version, importer), (0.0, "{}"))
                rules = sorted(
                    f["rule"]
                    for f in json.loads(reasons).get("findings", [])
                    if f["rule"].startswith("linked.")
                    and f["rule"] != "linked.manifest_unavailable"
                )
                lane = processing.get((doc_hex, version, importer), ("", None))[1]
                cases.append(
                    {
                        "case": "inconsistent linked e-CO",
                        "document_id": sent.document_id,
                        "reference": sent.reference,
                        "economy": importer,
                        "flagged": bool(rules) and lane is not None and lane >= int(Lane.YELLOW),
                        "detail": f"lane {Lane(lane).name if lane else None}; "
                        + ", ".join(sorted({r.removeprefix("linked.") for r in rules})),
                    }
                )
            if "overdue" in sent.tags:
                destination = self._history(sent.document_id).destinations[-1]
                listed = self.nodes[destination].call("GET", "/transit/overdue", "risk_officer")
                found = any(i["document_id"] == sent.document_id for i in listed)
                cases.append(
                    {
                        "case": "overdue transit",
                        "document_id": sent.document_id,
                        "reference": sent.reference,
                        "economy": destination,
                        "flagged": found,
                        "detail": "listed by GET /transit/overdue" if found else "not listed",
                    }
                )
            if "revoked" in sent.tags:
                revoked = self._history(sent.document_id).revocation is not None
                cases.append(
                    {
                        "case": "revoked e-CO",
                        "document_id": sent.document_id,
                        "reference": sent.reference,
                        "economy": sent.issuer,
                        "flagged": revoked,
                        "detail": "revoked on chain" if revoked else "not revoked",
                    }
                )
        return cases


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    docs = summary["documents"]
    table = Table("issuer", "destination", "type", "documents", title="documents per route")
    for row in summary["by_route"]:
        table.add_row(row["issuer"], row["destination"], row["doc_type"], str(row["count"]))
    console.print(table)
    lanes = Table("type", "GREEN", "YELLOW", "RED", title="lanes (acknowledgements on chain)")
    for doc_type, counter in summary["lanes"].items():
        lanes.add_row(doc_type, *(str(counter.get(k, 0)) for k in ("GREEN", "YELLOW", "RED")))
    console.print(lanes)
    latency = Table("latency (s)", "n", "p50", "p95", "p99", "max", title="latency")
    for name, p in summary["latency_s"].items():
        latency.add_row(name, *(str(p[k]) for k in ("n", "p50", "p95", "p99", "max")))
    console.print(latency)
    rates = Table("traders", "assessed", "yellow/red", "rate", title="inspection rates")
    for group, r in summary["inspection_rates"].items():
        rates.add_row(group, str(r["assessed"]), str(r["inspected"]), str(r["rate"]))
    console.print(rates)
    flagged = Table("case", "reference", "at", "flagged", "detail", title="flagged cases")
    for case in summary["flagged"]:
        flagged.add_row(
            case["case"],
            case["reference"],
            case["economy"],
            "[green]yes" if case["flagged"] else "[red]NO",
            case["detail"],
        )
    console.print(flagged)
    status = Table("documents", "anchored", "delivered", "verified", "acknowledged", "acks seen")
    status.add_row(
        str(docs.get("total", 0)),
        str(docs.get("anchored", 0)),
        str(docs.get("delivered", 0)),
        str(docs.get("verified", 0)),
        str(docs.get("acknowledged", 0)),
        str(summary["acknowledgements"]),
    )
    console.print(status)
    for economy, part in summary.get("simple_members", {}).items():
        simple = Table(
            "file / decision", "outcome", title=f"simple member {economy}: {part['folder']}"
        )
        for name in part["files_done"]:
            simple.add_row(name, "done")
        for name, rules in part["files_rejected"].items():
            simple.add_row(name, "rejected: " + ", ".join(rules))
        for d in part["decisions"]:
            simple.add_row(
                f"decision {d['doc_type']} {d['reference']} v{d['version']}",
                f"{d['lane']}, {d['outcome']}, "
                + ("on chain" if d["on_chain"] else "[red]not on chain"),
            )
        console.print(simple)
    for economy, url in summary["dashboards"].items():
        console.print(f"dashboard {economy}: {url}")
    if summary["problems"]:
        console.print(f"[red]{len(summary['problems'])} problems[/], e.g.:")
        for problem in summary["problems"][:10]:
            console.print(f"  {problem}")
    else:
        console.print(
            f"[green]all {docs.get('total', 0)} documents anchored, delivered, verified "
            f"and acknowledged; every flagged case flagged[/] ({summary['duration_s']} s)"
        )
