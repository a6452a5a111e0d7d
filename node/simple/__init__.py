"""Simple exchange mode: files in, files out, manual review, on the same ledger.

Turn it on with ``CIE_NODE_SIMPLE_MODE=true`` and ``CIE_NODE_SIMPLE_ROOT=<dir>``
(a local directory or a mounted share). The node is the same service on the
same ledger; only the administration's side changes: folders instead of the
API, an officer's decision instead of the automatic risk engine.

Folders under the root (created on start)::

    inbox/              drop document files here (see "Dropping files")
    inbox/.tmp/         a place to write files before renaming them into inbox/
    done/               submitted files, each with <name>.receipt.json
    rejected/           refused files, each with <name>.errors.json
    received/           documents addressed to this economy: <id>-v<n>.json + .html
    decisions/          drop decision files here
    decisions/done/     applied decisions, each with <name>.receipt.json
    decisions/rejected/ refused decisions, each with <name>.errors.json

Dropping files (``inbox/``)
    * ``<name>.json``: one document or a JSON array of documents (the type is
      read from each ``schema_version``);
    * ``<name>.xml``: one document in its XML form (root element
      ``PreArrivalManifest``, ``TransitDeclaration``, ``FormD``, ``FormAK`` or
      ``GenericCertificate``), validated against the published XSDs in
      ``manifests/xml/schemas/``;
    * ``<name>.<type>.csv`` with type ``manifest``, ``transit`` or ``origin``
      (one row per goods item, layout of `manifests.importers.csv_documents`).

    All documents of one file are anchored together in one transaction, or the
    whole file is rejected. **Write, then rename**: write the file as
    ``<name>.part`` (or anywhere in ``inbox/.tmp/``) and rename it to its final
    name when complete. Names starting with ``.`` or ending in ``.part``,
    ``.partial``, ``.tmp``, ``.crdownload`` or ``~`` are never picked up. Any
    other name is picked up (an unknown extension is rejected).

Receipt (``done/<name>.receipt.json``)::

    {"file": "...", "sha256": "...", "outcome": "done",
     "documents": [{"document_id": "0x...", "reference": "...", "doc_type": "...",
                    "version": 1, "commitment": "0x...", "cid": "...", "state": "anchored",
                    "transaction": "0x...", "block_number": 123, "created": true}]}

    ``created`` is false when the same document was already anchored (the same
    content dropped again is not anchored twice).

Error file (``rejected/<name>.errors.json``)::

    {"file": "...", "sha256": "...", "outcome": "rejected",
     "errors": [{"field": "goods_items[0].hs_code", "rule": "hs_code.format",
                 "message": "...", "row": 3, "column": "...", "document_index": 0}]}

    ``field`` is the JSON path in the document ("" = the file or document as a
    whole), ``rule`` a stable machine name; ``row``/``column``/
    ``document_index`` appear when known. If a name is already taken in
    ``done/`` or ``rejected/`` the file is stored as ``<sha256[:12]>-<name>``.

Received documents (``received/0x<document id>-v<version>.json`` and ``.html``)
    Written once the version is fetched, decrypted and verified against the
    chain: ``{"schema": "cie.simple.received/1", "document_id", "version",
    "doc_type", "reference", "issuer_economy", "decision_file", "provenance":
    {...}, "document": {...}}``. The HTML file renders the same for people.
    A version revoked while awaiting a decision gets ``<stem>.revoked.json``.

Decision file (``decisions/0x<document id>-v<version>.decision.json``)::

    {"lane": "GREEN" | "YELLOW" | "RED", "reason": "text, 1..2000 characters",
     "officer": "optional, up to 100 characters"}

    The name is the ``decision_file`` of the received JSON. The decision is
    acknowledged on chain like any acknowledgement (lane plus a salted
    commitment to the reasons), then the file moves to ``decisions/done/`` with
    ``{"file", "outcome": "acknowledged", "document_id", "version", "lane",
    "transaction"}``. In simple mode the risk engine never acknowledges.

Crash safety: see `node.simple.inbound` (journal in the node database) and
`node.simple.decisions`.
"""

from node.simple.decisions import Decision, DecisionWorker, parse_decision_file
from node.simple.folders import ExchangeFolders
from node.simple.inbound import InboundWorker, parse_inbound_file
from node.simple.review import AWAITING_DECISION, ManualReviewListener
from node.simple.worker import FolderWorker, SimpleMode

__all__ = [
    "AWAITING_DECISION",
    "Decision",
    "DecisionWorker",
    "ExchangeFolders",
    "FolderWorker",
    "InboundWorker",
    "ManualReviewListener",
    "SimpleMode",
    "parse_decision_file",
    "parse_inbound_file",
]
