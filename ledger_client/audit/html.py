"""The printable HTML rendering of an `AuditReport`: one self-contained page.

Inline CSS only, no scripts, fonts or images, so it prints and archives as is.
Every value is HTML-escaped (document fields come from outside).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

from ledger_client.audit.report import AuditReport, Verdict

__all__ = ["render_html"]

_VERDICT_COLOURS = {
    Verdict.VALID: "#1b7f3b",
    Verdict.REDACTED_VALID: "#1b7f3b",
    Verdict.SUPERSEDED: "#b36b00",
    Verdict.REVOKED: "#b00020",
    Verdict.TAMPERED: "#b00020",
    Verdict.UNKNOWN: "#b00020",
    Verdict.WRONG_CHAIN: "#b00020",
}

_CSS = """
body{font-family:Helvetica,Arial,sans-serif;font-size:11pt;color:#111;margin:2em;max-width:60em}
h1{font-size:16pt;margin-bottom:.2em}h2{font-size:12pt;border-bottom:1px solid #999;
margin-top:1.4em}table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#eee;width:14em}td.mono,.mono{font-family:Menlo,Consolas,monospace;
font-size:9pt;word-break:break-all}.verdict{display:inline-block;color:#fff;padding:.3em .8em;
font-weight:bold;border-radius:3px}ul{margin:.3em 0}.muted{color:#666}
@media print{body{margin:0}h2{page-break-after:avoid}table{page-break-inside:auto}}
"""


def _e(value: Any) -> str:
    if value is None:
        return '<span class="muted">-</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False)
    return html.escape(str(value))


def _pairs(rows: Iterable[tuple[str, Any]], mono: Sequence[str] = ()) -> str:
    cells = "".join(
        f"<tr><th>{_e(label)}</th><td{' class=mono' if label in mono else ''}>{_e(value)}</td></tr>"
        for label, value in rows
    )
    return f"<table>{cells}</table>"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>" if body else '<p class="muted">none</p>'


def render_html(report: AuditReport) -> str:
    """The report as one printable, self-contained HTML page."""
    colour = _VERDICT_COLOURS[report.verdict]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>Audit report {_e(report.document_id)}</title><style>{_CSS}</style></head><body>",
        "<h1>CIE Ledger: document verification report</h1>",
        f'<p><span class="verdict" style="background:{colour}">{_e(report.verdict.value)}</span>'
        f" &nbsp;exit status {report.exit_code}</p>",
        "<ul>" + "".join(f"<li>{_e(f)}</li>" for f in report.findings) + "</ul>",
        "<h2>Presented file</h2>",
        _pairs(
            [
                ("source", report.source),
                ("document id", report.document_id),
                ("document type", report.doc_type),
                ("schema version", report.schema_version),
                ("version presented", report.presented_version),
                ("disclosure", report.disclosure),
                (
                    "fields disclosed / hidden",
                    f"{report.disclosed_field_count} / {report.hidden_field_count}",
                ),
                ("recomputed commitment", report.computed_commitment),
                ("file chain / registry", f"{report.file_chain_id} / {report.file_registry}"),
            ],
            mono=("document id", "recomputed commitment"),
        ),
        "<h2>On the ledger</h2>",
        _pairs(
            [
                ("chain / registry read", f"{report.chain_id} / {report.registry}"),
                ("anchored", report.anchored),
                ("anchored commitment", report.anchored_commitment),
                ("issuer economy", report.issuer_economy),
                ("submitting account", report.submitter),
                ("issuing authority", report.issuing_authority or "the customs administration"),
                (
                    "anchored (block, time)",
                    f"{report.anchored_block}, {report.anchored_at}" if report.anchored else None,
                ),
                ("anchoring transaction", report.anchor_tx),
                ("latest version", report.latest_version),
                ("later version exists", report.later_version_exists),
                ("revoked", report.revoked),
                (
                    "revocation reason code",
                    report.revocation.reason_code if report.revocation else None,
                ),
                ("revoked at", report.revocation.time if report.revocation else None),
                ("checked at", report.checked_at),
            ],
            mono=("anchored commitment", "submitting account", "anchoring transaction"),
        ),
        "<h2>Versions</h2>",
        _table(
            ("version", "block", "time", "commitment"),
            ((v.version, v.block, v.time, v.commitment) for v in report.versions),
        ),
        "<h2>Destinations and acknowledgements</h2>",
        _table(
            ("destination", "version", "lane", "time", "block", "reasons shared"),
            (
                (d.economy, a.version, a.lane, a.time, a.block, a.reasons_shared)
                for d in report.destinations
                for a in d.acknowledgements
            ),
        ),
        "<p>Not acknowledged: "
        + _e(", ".join(d.economy for d in report.destinations if not d.acknowledgements) or "-")
        + "</p>",
        "<h2>Linked documents</h2>",
        _table(
            ("document id", "type", "issuer", "anchored", "latest version", "revoked"),
            (
                (
                    link.document_id,
                    link.doc_type,
                    link.issuer_economy,
                    link.anchored,
                    link.latest_version,
                    link.revoked,
                )
                for link in report.linked_documents
            ),
        ),
    ]
    if report.transit is not None:
        t = report.transit
        parts += [
            "<h2>Transit checkpoints</h2>",
            f"<p>Itinerary: {_e(' → '.join(t.itinerary))}; departed: {_e(t.departed)}; "
            f"arrived: {_e(t.arrived)}; duration: "
            f"{_e(None if t.duration_seconds is None else f'{t.duration_seconds} s')}</p>",
            _table(
                ("economy", "checkpoint", "position", "time", "block"),
                ((c.economy, c.kind, c.position, c.time, c.block) for c in t.checkpoints),
            ),
        ]
    if report.fields is not None:
        parts += [
            "<h2>Disclosed fields</h2>",
            _table(("field", "value"), sorted(report.fields.items())),
        ]
    parts.append(
        f'<p class="muted">Report schema {_e(report.schema_)}. Recomputed from the presented '
        "file and the registry's events; no payload was fetched or decrypted.</p></body></html>"
    )
    return "".join(parts)
