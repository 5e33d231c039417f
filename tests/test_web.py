"""`govkit serve` in a real browser: the server runs as `govkit serve` in its own process over a real
SQLite log that the real engine, lifecycle and report commands wrote; Playwright drives Debian's
chromium (Playwright cannot download browsers here). Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from conftest import new_project
from govkit.cli import cli

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(2)>"
TOKEN = "test-token-" + "7f3a" * 8
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "web"


@dataclass
class Site:
    root: Path
    db: Path
    env: dict[str, str]
    report_seq: int
    report_sha: str
    evaluation_seq: int


def _govkit(args: str, env: dict[str, str], cwd: Path) -> str:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, shlex.split(args), env=env, catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, (args, result.output)
    return result.output


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Three models of two teams (one named like an XSS attack), checked by the real engine, one moved
    through its lifecycle, and a rendered PDF report."""
    root = tmp_path_factory.mktemp("site")
    db = root / "govkit.db"
    env = {
        "GOVKIT_DB": str(db),
        "GOVKIT_KEY": str(root / "key" / "log-key.pem"),
        "GOVKIT_ACTOR": "tester@example.com",
        "NO_COLOR": "1",
        "CI": "",
    }
    models = [("scorer", "1.4.0", "alpha"), ("churn-model", "0.9.1", "beta"), (HOSTILE, "1.0.0", "beta")]
    for name, version, team in models:
        project = new_project(root / f"p-{team}-{len(name)}")

        def mutate(data: dict[str, Any], name: str = name, version: str = version, team: str = team) -> None:
            data["model"].update(name=name, version=version, team=team)
            if name == "churn-model":  # the base policy refuses a non-commercial model: a failing evaluation
                data["model"]["license"] = "CC-BY-NC-4.0"

        project.manifest(mutate)
        for _ in range(2 if name == "scorer" else 1):  # two evaluations: a trend to chart
            result = CliRunner().invoke(
                cli,
                ["check", str(project.manifest_path), "--policy", str(project.root / "policies"), "--format", "json"],
                env=env,
                catch_exceptions=False,
            )
            assert result.exit_code == (1 if name == "churn-model" else 0), result.output
    _govkit("lifecycle set scorer 1.4.0 in-review --reason 'quarterly release'", env, root)
    _govkit(f"report --latest scorer --out {root / 'reports' / 'scorer.pdf'}", env, root)
    _govkit(f"export --model scorer --out {root / 'evidence' / 'scorer.zip'} --include reports", env, root)
    from govkit.audit.log import AuditLog

    with AuditLog(db, key_path=Path(env["GOVKIT_KEY"]), create=False) as log:
        (rendered,) = log.entries(action="report.rendered")
        evaluation = log.entries(action="evaluation.recorded", model="scorer")[-1]
        sha = str((log.payload(rendered.seq) or {})["sha256"])
    return Site(root, db, env, rendered.seq, sha, evaluation.seq)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]


def _start(site: Site, *extra: str, env: dict[str, str] | None = None, db: str | None = None) -> Iterator[Server]:
    """`govkit serve` in its own process on a free loopback port, until the generator is closed."""
    port = _free_port()
    args = [sys.executable, "-m", "govkit", "serve", "--db", db or str(site.db), "--port", str(port), *extra]
    args += ["--files", str(site.root / "reports"), "--files", str(site.root / "evidence")]
    process = subprocess.Popen(
        args, cwd=site.root, env={**os.environ, **site.env, **(env or {})}, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.2)
    try:
        yield Server(url, process)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def server(site: Site) -> Iterator[Server]:
    yield from _start(site)


@pytest.fixture(scope="module")
def open_server(site: Site) -> Iterator[Server]:
    """Bound to every interface, so a token is required."""
    yield from _start(site, "--host", "0.0.0.0", env={"GOVKIT_SERVE_TOKEN": TOKEN})


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/system-deps.sh installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


class Watch:
    """Everything a page does wrong: console errors, uncaught exceptions, dialogs, failed or outside requests."""

    def __init__(self, page: Any, base: str) -> None:
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on("request", lambda r: r.url.startswith(base) or self.problems.append(f"outside request: {r.url}"))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)

    def _failed(self, request: Any) -> None:
        """A request that failed, except one the next navigation cancelled (the icon of a page left at once)."""
        if "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"failed: {request.url} ({request.failure})")


def _pages(site: Site) -> dict[str, str]:
    return {
        "portfolio": "/",
        "model": "/models/scorer",
        "evaluation": f"/evaluations/{site.evaluation_seq}",
        "audit": "/audit",
        "downloads": "/downloads",
        "hostile-model": "/models/" + quote(HOSTILE, safe=""),
    }


def test_every_page_loads_without_console_errors(site: Site, server: Server, browser: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    watch = Watch(page, server.url)
    for name, path in _pages(site).items():
        response = page.goto(server.url + path)
        assert response.status == 200, (name, response.status)
        headers = response.headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert watch.problems == []
    assert watch.dialogs == []
    page.close()


def test_model_page_charts_the_recorded_measurements(site: Site, server: Server, browser: Any) -> None:
    from govkit.audit.log import AuditLog

    with AuditLog(site.db, key_path=Path(site.env["GOVKIT_KEY"]), create=False) as log:
        recorded = [log.read_verified(e) for e in log.entries(action="evaluation.recorded", model="scorer")]
    numeric = {
        f["rule_id"]
        for p in recorded
        for f in p["evaluation"]["findings"]
        if isinstance(f["measured"], int | float) and not isinstance(f["measured"], bool)
    }
    assert len(recorded) == 2 and numeric
    page = browser.new_page()
    page.goto(server.url + "/models/scorer")
    charts = page.locator(".charts svg")
    assert charts.count() == 2
    legend = charts.first.text_content() or ""
    assert all(rule in legend for rule in numeric)
    assert page.locator("#evaluations tbody tr").count() == 2
    page.close()


def test_portfolio_counts_come_from_the_log(site: Site, server: Server, browser: Any) -> None:
    from govkit.audit.log import AuditLog
    from govkit.inventory.interface import build_inventory

    with AuditLog(site.db, key_path=Path(site.env["GOVKIT_KEY"]), create=False) as log:
        inventory = build_inventory(log)
    page = browser.new_page()
    page.goto(server.url + "/")
    rows = page.locator("#models tbody tr")
    assert rows.count() == len(inventory.models) == 3
    scorer = page.locator("#models tbody tr", has_text="scorer").first
    assert "in-review" in scorer.inner_text()  # the lifecycle entry, folded by the inventory
    failing = sum(1 for m in inventory.models for v in m.versions if v.latest_evaluation.verdict == "fail")
    assert failing == 1
    assert page.locator(".card").nth(2).locator(".num").inner_text() == str(failing)
    page.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_filters_and_search(site: Site, server: Server, browser: Any, javascript: bool) -> None:
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(server.url + "/")
    page.select_option("select[name=team]", "beta")
    if not javascript:
        page.click("form.filters button[type=submit]")  # the form works without the script
    page.wait_for_url("**team=beta**")
    names = page.locator("#models tbody th").all_inner_texts()
    assert sorted(names) == sorted(["churn-model", HOSTILE])
    page.fill("input[name=q]", "churn")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**q=churn**")
    assert page.locator("#models tbody th").all_inner_texts() == ["churn-model"]
    page.goto(server.url + "/?state=in-review")
    assert page.locator("#models tbody th").all_inner_texts() == ["scorer"]
    context.close()


def test_hostile_model_name_shows_as_text(site: Site, server: Server, browser: Any) -> None:
    page = browser.new_page()
    watch = Watch(page, server.url)
    for path in ("/", "/models/" + quote(HOSTILE, safe=""), "/audit", "/?q=" + quote("<script>")):
        page.goto(server.url + path)
        assert page.locator("img").count() == 0, path
        assert page.locator("script").count() == 1, path  # only /static/govkit.js
        assert HOSTILE in page.locator("main").inner_text(), path
    page.goto(server.url + "/")
    link = page.locator("#models a", has_text="<script>")
    assert link.inner_text() == HOSTILE
    link.click()
    assert page.locator("h1").inner_text() == HOSTILE
    page.wait_for_timeout(300)
    assert watch.dialogs == []
    assert watch.problems == []
    page.close()


def test_non_loopback_server_requires_the_token(site: Site, open_server: Server, browser: Any) -> None:
    status, headers, _ = _get(open_server.url + "/")
    assert status == 401
    assert headers["www-authenticate"].startswith("Bearer")
    assert "default-src 'self'" in headers["content-security-policy"]
    assert _get(open_server.url + "/", {"Authorization": "Bearer wrong-" + TOKEN[6:]})[0] == 401
    assert _get(open_server.url + "/static/govkit.css")[0] == 401
    status, _, body = _get(open_server.url + "/", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and b"Model portfolio" in body
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {TOKEN}"})
    page = context.new_page()
    watch = Watch(page, open_server.url)
    assert page.goto(open_server.url + "/models/scorer").status == 200
    assert watch.problems == []
    context.close()


def _files(site: Site) -> dict[str, str]:
    """The log and the inventory's signed cache beside it (a viewer writes neither)."""
    paths = [site.db, site.db.with_name(site.db.name + ".inventory-cache.json")]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "absent" for p in paths}


def test_only_get_and_head_and_the_log_is_untouched(site: Site, server: Server) -> None:
    before = _files(site)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, _ = _get(server.url + "/", method=method)
        assert status == 405 and headers["allow"] == "GET, HEAD"
    assert _get(server.url + "/", method="HEAD")[0] == 200
    for path in _pages(site).values():
        assert _get(server.url + path)[0] == 200
    assert _files(site) == before


def test_a_foreign_host_name_is_refused_on_loopback(server: Server) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not read the viewer."""
    assert _get(server.url + "/", {"Host": "evil.example"})[0] == 400
    assert _get(server.url + "/", {"Host": "localhost"})[0] == 200


def test_download_serves_the_recorded_report_only(site: Site, server: Server) -> None:
    status, headers, body = _get(f"{server.url}/files/{site.report_seq}")
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == site.report_sha
    assert headers["content-type"] == "application/pdf"
    assert "attachment" in headers["content-disposition"]
    assert _get(f"{server.url}/files/{site.evaluation_seq}")[0] == 404  # an evaluation records no file
    from govkit.audit.log import AuditLog

    with AuditLog(site.db, key_path=Path(site.env["GOVKIT_KEY"]), create=False) as log:
        (exported,) = log.entries(action="evidence.exported")
        bundle_sha = (log.read_verified(exported))["sha256"]
    status, headers, body = _get(f"{server.url}/files/{exported.seq}")
    assert status == 200 and headers["content-type"] == "application/zip"
    assert (
        hashlib.sha256(body).hexdigest()
        == bundle_sha
        == hashlib.sha256((site.root / "evidence" / "scorer.zip").read_bytes()).hexdigest()
    )
    assert _get(f"{server.url}/files/../../etc/passwd")[0] == 404
    assert _get(f"{server.url}/files/99999")[0] == 404


def test_download_refuses_a_changed_file_and_paths_outside_the_folders(site: Site, tmp_path: Path) -> None:
    """A signed entry naming `../secret.pdf` cannot reach outside the folders; a swapped file is not served."""
    from govkit.audit.log import AuditLog
    from govkit.web.downloads import read_recorded, recorded_file

    folder = tmp_path / "reports"
    folder.mkdir()
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF-1.7 secret")
    (folder / "ok.pdf").write_bytes(b"%PDF-1.7 ok")
    with AuditLog(tmp_path / "log.db", key_path=tmp_path / "k.pem") as log:
        secret_sha = hashlib.sha256(secret.read_bytes()).hexdigest()
        outside = log.append("report.rendered", "m@1", {"sha256": secret_sha, "file": "../secret.pdf"})
        inside = log.append(
            "report.rendered", "m@1", {"sha256": hashlib.sha256(b"%PDF-1.7 ok").hexdigest(), "file": "ok.pdf"}
        )
        wanted_out = recorded_file(outside, log.read_verified(outside))
        wanted_in = recorded_file(inside, log.read_verified(inside))
    assert wanted_out is not None and wanted_in is not None
    assert wanted_out.name == "secret.pdf"
    assert read_recorded((folder,), wanted_out) is None
    assert read_recorded((folder,), wanted_in) == b"%PDF-1.7 ok"
    (folder / "ok.pdf").write_bytes(b"%PDF-1.7 changed")
    assert read_recorded((folder,), wanted_in) is None


def test_read_only_store_refuses_writes(site: Site, tmp_path: Path) -> None:
    import sqlite3

    from govkit.audit.log import open_store

    copy = tmp_path / "copy.db"
    copy.write_bytes(site.db.read_bytes())
    store = open_store(copy, create=False, read_only=True)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.db.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")  # type: ignore[attr-defined]
    finally:
        store.close()


def test_a_broken_log_is_shown_as_such(site: Site, tmp_path: Path, browser: Any) -> None:
    """Pages never render from a log that does not verify: an edited payload gives an error page."""
    import sqlite3

    copy = tmp_path / "govkit.db"
    copy.write_bytes(site.db.read_bytes())
    conn = sqlite3.connect(copy)
    conn.execute("DROP TRIGGER payloads_no_update")
    body = json.loads(conn.execute("SELECT body FROM payloads WHERE seq = ?", [site.evaluation_seq]).fetchone()[0])
    body["evaluation"]["verdict"] = "pass" if body["evaluation"]["verdict"] == "fail" else "fail"
    conn.execute("UPDATE payloads SET body = ? WHERE seq = ?", [json.dumps(body).encode(), site.evaluation_seq])
    conn.commit()
    conn.close()
    broken = Site(site.root, copy, site.env, site.report_seq, site.report_sha, site.evaluation_seq)
    for running in _start(broken):
        page = browser.new_page()
        response = page.goto(running.url + "/")
        assert response.status == 500
        assert "does not verify" in page.locator("main").inner_text()
        assert f"entry {site.evaluation_seq}" in page.locator("main").inner_text()
        page.goto(running.url + "/audit")
        assert "FAILED" in page.locator(".chain").inner_text()
        page.screenshot(path=str(ARTIFACTS / "broken-log.png"), full_page=True)
        page.close()


def test_port_in_use_and_missing_token_are_one_line_exit_2(site: Site) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "govkit", "serve", "--db", str(site.db), "--port", str(port)],
            env={**os.environ, **site.env},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: --port: port {port} on 127.0.0.1 is in use; pick another with --port"
    env = {k: v for k, v in {**os.environ, **site.env}.items() if k != "GOVKIT_SERVE_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "govkit", "serve", "--db", str(site.db), "--host", "0.0.0.0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "GOVKIT_SERVE_TOKEN" in result.stderr


def test_missing_web_extra_names_it(site: Site) -> None:
    code = (
        "import sys\nsys.modules['starlette'] = None\nfrom govkit.cli import main\n"
        f"sys.argv = ['govkit', 'serve', '--db', {str(site.db)!r}, '--port', '0']\nmain()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **site.env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: govkit serve needs starlette, which is not installed: pip install 'govkit[web]'"
    )


def test_serves_a_postgresql_log_read_only(site: Site, pg_base: str, browser: Any) -> None:
    """The same pages over the same log copied into PostgreSQL (`govkit log copy`), on a read-only session."""
    from govkit.audit.log import open_store
    from postgres_server import new_database

    location = new_database(pg_base)
    _govkit(f"log copy --from {site.db} --to {location}", site.env, site.root)
    for running in _start(site, db=location):
        url = running.url
        page = browser.new_page()
        watch = Watch(page, url)
        assert page.goto(url + "/").status == 200
        names = sorted(page.locator("#models tbody th").all_inner_texts())
        assert names == sorted(["scorer", "churn-model", HOSTILE])
        assert page.goto(url + "/models/scorer").status == 200
        assert "in-review" in page.locator("#versions").inner_text()
        assert page.goto(url + "/audit").status == 200
        assert "Chain verified" in page.locator(".chain").inner_text()
        assert watch.problems == []
        page.close()
    store = open_store(location, create=False, read_only=True)
    try:
        import psycopg

        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            store.conn.execute("INSERT INTO govkit.meta (key, value) VALUES ('x', 'y')")  # type: ignore[attr-defined]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("host", "environ", "expected"),
    [
        ("127.0.0.1", {}, None),
        ("::1", {}, None),
        ("localhost", {}, None),
        ("127.0.0.1", {"GOVKIT_SERVE_TOKEN": TOKEN}, TOKEN),  # given on loopback: enforced there too
        ("0.0.0.0", {"GOVKIT_SERVE_TOKEN": TOKEN}, TOKEN),
        ("0.0.0.0", {}, "error"),
        ("10.1.2.3", {}, "error"),
        ("::", {}, "error"),
        ("127.0.0.1", {"GOVKIT_SERVE_TOKEN": "short"}, "error"),
    ],
)
def test_which_binds_need_a_token(host: str, environ: dict[str, str], expected: str | None) -> None:
    from govkit.errors import GovkitError
    from govkit.web.security import access_token

    if expected == "error":
        with pytest.raises(GovkitError, match="GOVKIT_SERVE_TOKEN"):
            access_token(host, environ)
    else:
        assert access_token(host, environ) == expected
