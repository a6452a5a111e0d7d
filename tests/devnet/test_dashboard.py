"""The node dashboard in a real browser (Debian chromium through Playwright) against a
running devnet that the demo scenario has filled: sign-in with an officer's API key,
every page loads without console errors, the inbox lists what was sent, and the
provenance panel shows what the chain says. Screenshots go to test-artifacts/.

chromium missing is a failure, not a skip: `make setup` installs it (CI runs
`make test`, which runs setup first).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devnet.demo import DemoScenario
from devnet.network import Devnet, DevnetConfig, NetworkInfo
from devnet.processes import free_port_range
from ledger_client.provenance import read_history

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
IMPORTER = "UZ"


@dataclass
class FilledDevnet:
    info: NetworkInfo
    summary: dict[str, Any]
    scenario: DemoScenario

    def url(self, economy: str, path: str) -> str:
        return self.info.members[economy].node_url + path


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilledDevnet]:
    config = DevnetConfig(
        data_dir=tmp_path_factory.mktemp("dashboard") / "devnet",
        members=("KZ", "UZ", "AZ"),
        chain_port=free_port_range(1),
        ipfs_api_base_port=free_port_range(3),
        ipfs_swarm_base_port=free_port_range(3),
        node_base_port=free_port_range(3),
    )
    network = Devnet(config)
    try:
        info = network.up()
        scenario = DemoScenario(info, scale=24, seed=11, timeout=180)
        summary = scenario.run()
        assert summary["ok"], summary["problems"]
        yield FilledDevnet(info, summary, scenario)
        scenario.close()
    finally:
        network.down()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.fail(
            "chromium is not installed: run `make setup` (it installs the Debian packages "
            "chromium and chromium-driver); the dashboard tests need a real browser"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: run `make setup`")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()),  # fresh profile
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: Any, devnet: FilledDevnet) -> Iterator[Any]:
    """A signed-in risk officer's page on the importer's dashboard, collecting console errors."""
    browser_context.clear_cookies()  # every test signs in afresh
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors
    page.goto(devnet.url(IMPORTER, "/dashboard/"))
    assert "/dashboard/login" in page.url  # not signed in yet
    page.fill("#api_key", devnet.info.members[IMPORTER].api_key("risk_officer"))
    page.click("#sign-in")
    page.wait_for_url("**/dashboard/")
    yield page
    page.close()


def _addressed_to(devnet: FilledDevnet, economy: str) -> list[dict[str, Any]]:
    return [
        d
        for d in devnet.summary["documents_detail"]
        if economy in d["destinations"] and d["issuer"] != economy
    ]


def test_pages_load_without_console_errors(page: Any, devnet: FilledDevnet) -> None:
    for name, path in (
        ("overview", "/dashboard/"),
        ("inbox", "/dashboard/inbox"),
        ("transit", "/dashboard/transit"),
        ("aeo", "/dashboard/aeo"),
    ):
        response = page.goto(devnet.url(IMPORTER, path))
        assert response.status == 200, name
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
    page.goto(devnet.url(IMPORTER, "/dashboard/"))
    page.wait_for_load_state("networkidle")
    assert page.locator("#chart-volumes svg rect").count() > 0  # the charts drew
    assert page.locator("#chart-inspection svg").count() == 1
    assert page.console_errors == []


def test_inbox_shows_the_documents_the_scenario_sent(page: Any, devnet: FilledDevnet) -> None:
    expected = {d["document_id"] for d in _addressed_to(devnet, IMPORTER)}
    assert expected
    seen: set[str] = set()
    page_number = 1
    while True:
        page.goto(devnet.url(IMPORTER, f"/dashboard/inbox?page={page_number}"))
        ids = page.locator("#inbox tbody tr[data-document-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.documentId)"
        )
        seen.update(ids)
        if not ids or page.locator(".pager a", has_text="older").count() == 0:
            break
        page_number += 1
    page.goto(devnet.url(IMPORTER, "/dashboard/inbox"))
    page.screenshot(path=str(ARTIFACTS / "dashboard-inbox-first-page.png"), full_page=True)
    assert expected <= seen
    assert page.locator("#inbox .lane").count() > 0  # lanes are shown
    assert page.console_errors == []


def test_provenance_panel_matches_the_chain(page: Any, devnet: FilledDevnet) -> None:
    addressed = _addressed_to(devnet, IMPORTER)
    # Prefer a transit movement A -> C -> B: its panel also shows checkpoints.
    transit = max(
        addressed,
        key=lambda d: (d["doc_type"] == "TRANSIT_DECLARATION", len(d["destinations"])),
    )
    doc_id = transit["document_id"]
    page.goto(devnet.url(IMPORTER, f"/dashboard/documents/{doc_id}"))
    page.screenshot(path=str(ARTIFACTS / "dashboard-document.png"), full_page=True)

    history = read_history(devnet.scenario.ledger.registry, bytes.fromhex(doc_id[2:]))
    chain = history.provenance(None)

    def field(name: str) -> str:
        return str(page.locator(f"#provenance [data-field={name}]").inner_text()).strip()

    assert field("document_id") == doc_id
    assert field("issuer_economy") == chain.issuer_economy
    assert field("submitter").lower() == chain.submitter.lower()
    assert field("commitment") == "0x" + chain.commitment.hex()
    assert field("cid") == chain.cid
    assert field("block_number") == str(chain.block_number)
    assert field("tx_hash") == "0x" + chain.tx_hash.hex()
    assert field("latest_version") == str(history.latest_version)
    assert field("destinations") == ", ".join(chain.destinations)
    acks = page.locator("#acknowledgements tbody tr").count()
    assert acks == len([a for a in chain.acknowledgements if a.version == chain.version])
    assert page.console_errors == []


def test_sign_in_needs_an_officers_key(browser_context: Any, devnet: FilledDevnet) -> None:
    base = devnet.url(IMPORTER, "")
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        assert client.get("/dashboard/inbox").status_code == 303  # to the login page
        wrong = client.post("/dashboard/login", data={"api_key": "cie_nope"})
        assert "unknown or revoked API key" in wrong.text
        submitter = devnet.info.members[IMPORTER].api_key("submitter")
        refused = client.post("/dashboard/login", data={"api_key": submitter})
        assert "cannot use the dashboard" in refused.text
        auditor = devnet.info.members[IMPORTER].api_key("auditor")
        ok = client.post("/dashboard/login", data={"api_key": auditor, "next": "/dashboard/aeo"})
        assert ok.status_code == 303 and ok.headers["location"] == "/dashboard/aeo"
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert auditor.lower() not in cookie  # a session token, never the key itself
        assert client.get("/dashboard/aeo").status_code == 200
