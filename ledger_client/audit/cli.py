"""`cie audit`: verify document files and aggregate statistics (read-only on the chain).

Exit status of ``verify``: 0 valid or redacted-valid, 1 invalid (tampered,
unknown, wrong chain), 2 revoked, 3 superseded, 4 usage or I/O error.
``verify-batch`` exits with the worst status among its files in the order
1 > 2 > 3 > 0 (an unreadable file counts as 1), or 4 if the input cannot be read.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ledger_client.audit.analytics import aggregate_report, to_csv
from ledger_client.audit.document_file import DocumentFileError, document_files_in_zip
from ledger_client.audit.html import render_html
from ledger_client.audit.report import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_REVOKED,
    EXIT_USAGE,
    AuditReport,
)
from ledger_client.audit.verifier import AuditVerifier, batch_report
from ledger_client.chain import connect
from ledger_client.deployment import Deployment
from ledger_client.errors import LedgerClientError
from ledger_client.ledger import Ledger
from ledger_client.settings import get_settings

app = typer.Typer(
    help="Verify document files against the ledger and report on its events (read-only).",
    no_args_is_help=True,
)
console = Console(stderr=True)

RpcOption = Annotated[
    str | None, typer.Option("--rpc-url", help="JSON-RPC endpoint (default: CIE_RPC_URL)")
]
DeploymentOption = Annotated[
    Path | None,
    typer.Option("--deployment", help="deployment file (default: CIE_DEPLOYMENT_FILE)"),
]
PoaOption = Annotated[bool, typer.Option("--poa", help="proof-of-authority chain (Besu)")]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(EXIT_USAGE)


def open_read_only_ledger(
    rpc_url: str | None, deployment: Path | None, poa: bool = False
) -> Ledger:
    """A ledger without a signing account, from options or the client settings."""
    settings = get_settings()
    try:
        w3 = connect(rpc_url or settings.rpc_url, poa=poa or settings.poa)
        return Ledger.open(w3, Deployment.load(deployment or settings.deployment_file))
    except LedgerClientError as exc:
        raise _fail(str(exc)) from None


def _summary(report: AuditReport) -> None:
    colour = (
        "green" if report.exit_code == EXIT_OK else "red" if report.exit_code == 1 else ("yellow")
    )
    console.print(
        f"[bold {colour}]{report.verdict.value}[/]  {report.document_id} "
        f"version {report.presented_version} ({report.doc_type})"
    )
    for finding in report.findings:
        console.print(f"  - {finding}")
    if report.anchored:
        console.print(
            f"  issuer {report.issuer_economy}, submitted by {report.submitter}, anchored in "
            f"block {report.anchored_block} at {report.anchored_at}; latest version "
            f"{report.latest_version}"
        )
        for destination in report.destinations:
            acks = (
                ", ".join(f"v{a.version} {a.lane} {a.time}" for a in destination.acknowledgements)
                or "not acknowledged"
            )
            console.print(f"  -> {destination.economy}: {acks}")


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="the document file to verify")],
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON report")] = False,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="write the printable HTML report here")
    ] = None,
    rpc_url: RpcOption = None,
    deployment: DeploymentOption = None,
    poa: PoaOption = False,
) -> None:
    """Verify one document file: recompute its commitment and report what the chain says."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    ledger = open_read_only_ledger(rpc_url, deployment, poa)
    try:
        report = AuditVerifier(ledger).verify(raw, source=file.name)
    except DocumentFileError as exc:
        raise _fail(f"{file} is not a document file: {exc}") from None
    if as_json:
        typer.echo(report.to_json())
    else:
        _summary(report)
    if html_out is not None:
        try:
            html_out.write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            raise _fail(f"cannot write {html_out}: {exc.strerror}") from None
    raise typer.Exit(report.exit_code)


def _files(source: Path) -> Iterator[tuple[str, bytes]]:
    if source.is_dir():
        for path in sorted(source.rglob("*.json")):
            yield str(path.relative_to(source)), path.read_bytes()
    elif zipfile.is_zipfile(source):
        yield from document_files_in_zip(source)
    else:
        raise OSError(f"{source} is neither a directory nor a zip archive")


@app.command("verify-batch")
def verify_batch(
    source: Annotated[Path, typer.Argument(help="a directory or zip archive of *.json files")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write every report as a JSON array here")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="processes recomputing commitments (helps on idle multi-core hosts)", min=1
        ),
    ] = 1,
    rpc_url: RpcOption = None,
    deployment: DeploymentOption = None,
    poa: PoaOption = False,
) -> None:
    """Verify every document file in a directory or zip (chain reads batched)."""
    try:
        files = list(_files(source))
    except (OSError, DocumentFileError) as exc:
        raise _fail(f"cannot read {source}: {exc}") from None
    ledger = open_read_only_ledger(rpc_url, deployment, poa)
    verifier = AuditVerifier(ledger)
    with Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("verify", total=len(files))
        results = verifier.verify_many(
            files, progress=lambda n: progress.advance(task, n), workers=workers
        )
    summary = batch_report(results)
    table = Table(title=f"{len(results)} document file(s) from {source}")
    table.add_column("verdict")
    table.add_column("files", justify="right")
    for verdict, count in summary.summary.items():
        if count:
            table.add_row(verdict, str(count))
    Console().print(table)
    for item in results:
        if item.error is not None:
            console.print(f"[red]unreadable[/] {item.source}: {item.error}")
        elif item.report is not None and item.report.exit_code != EXIT_OK:
            console.print(f"[yellow]{item.report.verdict.value}[/] {item.source}")
    if json_out is not None:
        payload = [
            json.loads(item.report.to_json(indent=None))
            if item.report
            else {"source": item.source, "error": item.error}
            for item in results
        ]
        try:
            json_out.write_text(json.dumps(payload, indent=1))
        except OSError as exc:
            raise _fail(f"cannot write {json_out}: {exc.strerror}") from None
    raise typer.Exit(summary.exit_code)


@app.command("report")
def report(
    json_out: Annotated[Path | None, typer.Option("--json", help="write JSON here")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="write CSV here")] = None,
    aeo_map: Annotated[
        Path | None,
        typer.Option("--aeo-map", help="JSON object: document id -> exporter AEO id (or null)"),
    ] = None,
    from_block: Annotated[
        int | None, typer.Option(help="first block (default: deployment)")
    ] = None,
    to_block: Annotated[int | None, typer.Option(help="last block (default: latest)")] = None,
    overdue_hours: Annotated[float, typer.Option(help="transit overdue after (hours)")] = 72.0,
    rpc_url: RpcOption = None,
    deployment: DeploymentOption = None,
    poa: PoaOption = False,
) -> None:
    """Aggregate statistics from the registry's events (JSON/CSV; JSON on stdout if neither)."""
    mapping = None
    if aeo_map is not None:
        try:
            mapping = json.loads(aeo_map.read_text())
        except (OSError, ValueError) as exc:
            raise _fail(f"cannot read the AEO mapping {aeo_map}: {exc}") from None
        if not isinstance(mapping, dict):
            raise _fail("the AEO mapping must be a JSON object of document id -> AEO id")
    ledger = open_read_only_ledger(rpc_url, deployment, poa)
    result = aggregate_report(
        ledger,
        from_block=from_block,
        to_block=to_block,
        exporter_aeo=mapping,
        overdue_after=int(overdue_hours * 3600),
    )
    try:
        if json_out is not None:
            json_out.write_text(result.to_json())
        if csv_out is not None:
            csv_out.write_text(to_csv(result))
    except OSError as exc:
        raise _fail(f"cannot write the report: {exc.strerror}") from None
    if json_out is None and csv_out is None:
        typer.echo(result.to_json())


KeystoreOption = Annotated[
    Path | None,
    typer.Option(
        "--keystore", help="encrypted keystore of a node account (default: CIE_KEYSTORE_FILE)"
    ),
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--password-file", help="keystore password file (default: CIE_KEYSTORE_PASSWORD_FILE)"
    ),
]


def _signing_ledger(ledger: Ledger, keystore: Path | None, password_file: Path | None) -> Ledger:
    """The same ledger signing as the node account in the keystore."""
    from ledger_client.chain import TransactionSender
    from ledger_client.keystore import load_account, read_password_file

    settings = get_settings()
    keystore = keystore or settings.keystore_file
    password_file = password_file or settings.keystore_password_file
    if keystore is None or password_file is None:
        raise _fail("issuing on the registry needs --keystore and --password-file (a node account)")
    try:
        account = load_account(keystore, read_password_file(password_file))
    except LedgerClientError as exc:
        raise _fail(str(exc)) from None
    return ledger.as_account(TransactionSender(ledger.w3, account))


def _read_wrapped(file: Path) -> dict[str, Any]:
    from ledger_client.audit.openattestation import OaDocumentError, verify_wrapped

    try:
        wrapped = json.loads(file.read_bytes())
        verify_wrapped(wrapped)
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    except (ValueError, OaDocumentError) as exc:
        raise _fail(f"{file} is not an OA v2 wrapped document: {exc}") from None
    if not isinstance(wrapped, dict):
        raise _fail(f"{file} is not an OA v2 wrapped document")
    return wrapped


@app.command("oa-export")
def oa_export(
    files: Annotated[
        list[Path], typer.Argument(help="full-disclosure document files of anchored documents")
    ],
    out: Annotated[Path, typer.Option("--out", help="directory for the OA files")],
    identity_location: Annotated[
        str,
        typer.Option(help="DNS name whose TXT record names this economy's documentStore"),
    ],
    issuer_name: Annotated[
        str | None, typer.Option(help="issuer name in the OA files (default: '<XX> customs')")
    ] = None,
    hide: Annotated[
        list[str] | None,
        typer.Option("--hide", help="OA data path to obfuscate, e.g. certificate.consignee"),
    ] = None,
    keystore: KeystoreOption = None,
    password_file: PasswordFileOption = None,
    rpc_url: RpcOption = None,
    deployment: DeploymentOption = None,
    poa: PoaOption = False,
) -> None:
    """Export anchored documents as one OpenAttestation v2 batch and issue its root.

    Every file must verify VALID with full disclosure and belong to the signing
    account's economy; otherwise nothing is issued (exit 1). The OA files name the
    economy's OaDocumentStore facade as documentStore (`<documentId>-v<version>.oa.json`)."""
    from ledger_client.audit.document_file import parse_document_file
    from ledger_client.audit.openattestation import (
        OaDocumentError,
        OaLedgerDocument,
        issue_oa_batch,
    )
    from ledger_client.audit.report import Verdict

    raws: list[tuple[Path, bytes]] = []
    for file in files:
        try:
            raws.append((file, file.read_bytes()))
        except OSError as exc:
            raise _fail(f"cannot read {file}: {exc.strerror}") from None
    ledger = open_read_only_ledger(rpc_url, deployment, poa)
    verifier = AuditVerifier(ledger)
    sources: list[OaLedgerDocument] = []
    refused: list[str] = []
    for file, raw in raws:
        try:
            report = verifier.verify(raw, source=file.name)
            parsed = parse_document_file(raw)
        except DocumentFileError as exc:
            raise _fail(f"{file} is not a document file: {exc}") from None
        if report.verdict != Verdict.VALID or parsed.document is None:
            refused.append(f"{file}: {report.verdict.value} ({report.disclosure} disclosure)")
            continue
        assert report.anchored_commitment is not None
        sources.append(
            OaLedgerDocument(
                document=parsed.document,
                document_id=parsed.document_id_hex,
                version=parsed.version,
                commitment=report.anchored_commitment,
            )
        )
    if refused:
        for line in refused:
            console.print(f"[red]not exported[/] {line}")
        console.print(
            "only files that verify VALID with full disclosure can be exported; nothing issued"
        )
        raise typer.Exit(EXIT_INVALID)
    signer = _signing_ledger(ledger, keystore, password_file)
    try:
        out.mkdir(parents=True, exist_ok=True)
        batch = issue_oa_batch(
            signer,
            sources,
            identity_location=identity_location,
            issuer_name=issuer_name,
            hide=hide or (),
        )
    except OSError as exc:
        raise _fail(f"cannot create {out}: {exc.strerror}") from None
    except (OaDocumentError, LedgerClientError) as exc:
        raise _fail(str(exc)) from None
    written = []
    for source, document in zip(sources, batch.documents, strict=True):
        path = out / f"{source.document_id}-v{source.version}.oa.json"
        try:
            path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise _fail(
                f"the root is issued, but {path} cannot be written: {exc.strerror}"
            ) from None
        written.append(str(path))
    typer.echo(
        json.dumps(
            {
                "economy": batch.economy,
                "documentStore": batch.document_store,
                "merkleRoot": batch.merkle_root,
                "transaction": batch.tx_hash,
                "block": batch.block_number,
                "files": written,
            },
            indent=2,
        )
    )
    raise typer.Exit(EXIT_OK)


@app.command("oa-revoke")
def oa_revoke(
    file: Annotated[Path, typer.Argument(help="an OA v2 document issued by your economy")],
    whole_batch: Annotated[
        bool, typer.Option("--whole-batch", help="revoke every document of its batch (the root)")
    ] = False,
    keystore: KeystoreOption = None,
    password_file: PasswordFileOption = None,
    rpc_url: RpcOption = None,
    deployment: DeploymentOption = None,
    poa: PoaOption = False,
) -> None:
    """Revoke an OA document (its target hash), or its whole batch, on the registry."""
    from ledger_client.audit.openattestation import OaDocumentError, revoke_oa_document

    wrapped = _read_wrapped(file)
    signer = _signing_ledger(
        open_read_only_ledger(rpc_url, deployment, poa), keystore, password_file
    )
    try:
        receipt = revoke_oa_document(signer, wrapped, whole_batch=whole_batch)
    except (OaDocumentError, LedgerClientError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        json.dumps({"revoked": True, "transaction": "0x" + bytes(receipt["transactionHash"]).hex()})
    )
    raise typer.Exit(EXIT_OK)


@app.command("oa-verify")
def oa_verify(
    file: Annotated[Path, typer.Argument(help="an OpenAttestation v2 wrapped document")],
    document_store: Annotated[
        str | None,
        typer.Option(
            help="DocumentStore to check issuance/revocation against "
            "(default: the documentStore the document names)"
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="integrity only: do not ask the DocumentStore")
    ] = False,
    rpc_url: RpcOption = None,
    poa: PoaOption = False,
) -> None:
    """Check an OA v2 wrapped document: target hash (incl. obfuscated fields), Merkle proof,
    and issuance/revocation on its DocumentStore (for CIE documents, the issuing economy's
    OaDocumentStore facade). DNS-TXT identity is not checked (it needs DNS).
    Exit 0 valid, 1 invalid or not issued, 2 revoked, 4 usage."""
    from ledger_client.audit.openattestation import (
        OaDocumentError,
        document_store_of,
        document_store_status,
        verify_wrapped,
    )

    try:
        wrapped = json.loads(file.read_bytes())
        result = verify_wrapped(wrapped)
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    except (ValueError, OaDocumentError) as exc:
        raise _fail(f"{file} is not an OA v2 wrapped document: {exc}") from None
    typer.echo(json.dumps(dataclasses.asdict(result), indent=2))
    if not result.valid:
        raise typer.Exit(EXIT_INVALID)
    if document_store is None and not offline:
        try:
            document_store = document_store_of(wrapped)
        except OaDocumentError as exc:
            console.print(f"[yellow]issuance not checked:[/] {exc}")
    if document_store is not None and not offline:
        from web3 import Web3

        from ledger_client.audit.openattestation import DOCUMENT_STORE_ABI

        settings = get_settings()
        try:
            w3 = connect(rpc_url or settings.rpc_url, poa=poa or settings.poa)
            store = w3.eth.contract(
                address=Web3.to_checksum_address(document_store), abi=DOCUMENT_STORE_ABI
            )
            issued, revoked = document_store_status(store, wrapped)
        except Exception as exc:  # web3 raises several unrelated types for a bad store
            raise _fail(
                f"cannot ask the DocumentStore {document_store} ({exc}); is it a contract on "
                "this chain? (--offline checks integrity only)"
            ) from None
        typer.echo(
            json.dumps({"documentStore": store.address, "issued": issued, "revoked": revoked})
        )
        if revoked:
            raise typer.Exit(EXIT_REVOKED)
        if not issued:
            raise typer.Exit(EXIT_INVALID)
    raise typer.Exit(EXIT_OK)


@app.command("schema")
def schema(
    analytics: Annotated[bool, typer.Option(help="the aggregate report's schema")] = False,
) -> None:
    """Print the JSON Schema of the audit report (or of the aggregate report)."""
    from ledger_client.audit.analytics import AnalyticsReport

    model = AnalyticsReport if analytics else AuditReport
    typer.echo(json.dumps(model.model_json_schema(by_alias=True, mode="serialization"), indent=2))
