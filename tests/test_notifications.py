"""Webhooks against real HTTP servers on 127.0.0.1 (http.server in a thread): bodies, retries, timeouts.

Only the network's timing is outside govkit: the backoff's sleep is recorded instead of slept, the
requests, timeouts and failures are real.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result

from conftest import Project
from govkit.audit.log import AuditLog
from govkit.audit.records import LIFECYCLE_CHANGED, NOTIFICATION_FAILED
from govkit.inventory.notify import BACKOFF_SECONDS, Notification, body, deliver, notify
from govkit.inventory.sections import Webhook

HOSTILE = "<!channel> & *bold* [x](javascript:alert(1)) \x1b[31m\n::warning::"


@dataclass
class Server:
    """A webhook receiver: answers each POST with the next status in `script` (then 200), after `delay`."""

    script: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            state.received.append({"body": json.loads(self.rfile.read(length)), "type": self.headers["Content-Type"]})
            if state.delay:
                time.sleep(state.delay)
            status = state.script.pop(0) if state.script else 200
            try:
                self.send_response(status)
                if status in (301, 302, 307):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the client gave up waiting (the hanging-server test)
                pass

        def log_message(self, *_: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/hooks/secret-token-123"
    yield state
    httpd.shutdown()
    httpd.server_close()


NOTE = Notification("state.changed", "lending", HOSTILE, "1.0", f"{HOSTILE} 1.0: approved -> deployed")


def test_json_body_is_delivered(server: Server) -> None:
    result = deliver(Webhook(url=server.url), NOTE)
    assert result.ok and result.attempts == 1
    (got,) = server.received
    assert got["type"] == "application/json"
    assert got["body"]["event"] == "state.changed" and got["body"]["model"] == HOSTILE  # JSON carries data as is


def test_slack_body_escapes_mentions_and_control_characters(server: Server) -> None:
    assert deliver(Webhook(url=server.url, format="slack"), NOTE).ok
    text = server.received[0]["body"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp;" in text
    assert "\x1b" not in text and "\n" not in text


def test_teams_body_is_an_adaptive_card_with_inert_markdown(server: Server) -> None:
    assert deliver(Webhook(url=server.url, format="teams"), NOTE).ok
    message = server.received[0]["body"]
    assert message["type"] == "message"
    card = message["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    texts = [b["text"] for b in card["body"] if b["type"] == "TextBlock"]
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    for text in [*texts, facts["model"]]:
        assert "[x](javascript" not in text and "*bold*" not in text and "\x1b" not in text


def test_fails_twice_then_succeeds_with_doubling_backoff(server: Server) -> None:
    server.script = [503, 500]
    slept: list[float] = []
    result = deliver(Webhook(url=server.url, retries=3), NOTE, sleep=slept.append)
    assert result.ok and result.attempts == 3
    assert len(server.received) == 3
    assert slept == [BACKOFF_SECONDS, BACKOFF_SECONDS * 2]


def test_client_error_is_not_retried(server: Server) -> None:
    server.script = [404]
    result = deliver(Webhook(url=server.url, retries=3), NOTE, sleep=lambda _: None)
    assert not result.ok and result.attempts == 1 and result.error == "HTTP 404"


def test_a_redirect_is_not_followed(server: Server) -> None:
    server.script = [307]
    result = deliver(Webhook(url=server.url, retries=0), NOTE)
    assert not result.ok and len(server.received) == 1


def test_hanging_server_times_out_is_warned_about_and_logged(server: Server, tmp_path: Path) -> None:
    server.delay = 5.0
    warnings: list[str] = []
    with AuditLog(tmp_path / "g.db", key_path=tmp_path / "k.pem") as log:
        started = time.monotonic()
        results = notify(
            log,
            [Webhook(url=server.url, timeout_seconds=0.3, retries=1)],
            NOTE,
            warn=warnings.append,
            sleep=lambda _: None,
        )
        elapsed = time.monotonic() - started
        failed = [log.read_verified(e) for e in log.entries(action=NOTIFICATION_FAILED)]
    assert elapsed < 4.0, elapsed  # two attempts cut off at 0.3 s each, not the server's 5 s
    assert [r.ok for r in results] == [False] and results[0].attempts == 2
    assert "timed out" in results[0].error.lower() or "timeout" in results[0].error.lower()
    (warning,) = warnings
    assert "state.changed" in warning and "secret-token" not in warning
    (record,) = failed
    assert record["webhook"].startswith("http://127.0.0.1:") and "secret-token" not in json.dumps(record)
    assert record["attempts"] == 2 and record["event"] == "state.changed"


def test_events_filter_which_hooks_fire(server: Server) -> None:
    hooks = [Webhook(url=server.url, events=("review.overdue",))]
    assert notify(None, hooks, NOTE, warn=print) == []
    assert server.received == []


def test_bodies_of_every_format_are_json_objects() -> None:
    for fmt in ("json", "slack", "teams"):
        assert isinstance(json.loads(json.dumps(body(NOTE, fmt))), dict)


# -- from the CLI, with the webhooks configured in the policy ---------------------------------------


def _with_hook(project: Project, hook: dict[str, Any]) -> None:
    project.policy(lambda d: d.update(notifications={"webhooks": [hook]}))


def _set(project: Project, state: str) -> Result:
    return project.run(
        ["lifecycle", "set", "scorer", "1.4.0", state, "--reason", "ready", "--policy", str(project.root / "policies")]
    )


def test_state_change_is_posted_to_the_team_webhook(project: Project, server: Server) -> None:
    _with_hook(project, {"url": server.url, "format": "json"})
    assert project.check().exit_code == 0
    result = _set(project, "in-review")
    assert result.exit_code == 0, result.output
    (got,) = server.received
    assert got["body"]["event"] == "state.changed" and got["body"]["details"]["to"] == "in-review"
    assert got["body"]["team"] == "alpha"


def test_failing_evaluation_is_posted(project: Project, server: Server) -> None:
    _with_hook(project, {"url": server.url, "events": ["evaluation.failed"]})
    project.manifest(lambda d: d["model"].update(license="CC-BY-NC-4.0"))
    assert project.check().exit_code == 1
    (got,) = server.received
    assert got["body"]["event"] == "evaluation.failed" and "T-LIC-001" in got["body"]["details"]["blocking_rules"]


def test_a_webhook_down_never_blocks_or_loses_the_audit_entry(project: Project, server: Server) -> None:
    server.delay = 2.0
    _with_hook(project, {"url": server.url, "timeout_seconds": 0.2, "retries": 0})
    assert project.check().exit_code == 0
    result = _set(project, "in-review")
    assert result.exit_code == 0, result.output
    assert "warning: notification state.changed" in result.output
    with AuditLog(create=False) as log:
        changes = [log.read_verified(e) for e in log.entries(action=LIFECYCLE_CHANGED)]
        failed = log.entries(action=NOTIFICATION_FAILED)
        assert changes[0]["to"] == "in-review" and len(failed) == 1
        assert failed[0].seq > log.entries(action=LIFECYCLE_CHANGED)[0].seq  # the change was committed first


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)", "http://"])
def test_non_http_webhook_url_is_exit_2(project: Project, url: str) -> None:
    _with_hook(project, {"url": url})
    result = project.run(["policy", "validate", str(project.root / "policies")])
    assert result.exit_code == 2
    assert "notifications.webhooks[0].url" in result.output and "Traceback" not in result.output
    assert yaml.safe_load((project.root / "policies" / "base.yaml").read_text())["notifications"]


def test_due_notify_posts_failing_monitoring(project: Project, server: Server) -> None:
    from dataclasses import replace

    import evaluations
    from govkit.audit.records import record_evaluation
    from govkit.evaluation import Finding

    _with_hook(project, {"url": server.url, "format": "slack"})
    drift = Finding("GK-MON-001", "drift", "monitoring.psi", "high", "fail", "drifted", "income", blocking=True)
    model = {"name": "scorer", "version": "1.4.0", "team": "alpha", "owner": "o", "risk_tier": "high"}
    monitored = replace(
        evaluations.sample_evaluation(), model=model, team="alpha", findings=(drift,), options={"purpose": "monitor"}
    )
    with AuditLog() as log:
        record_evaluation(log, monitored)
    result = project.run(["inventory", "due", "--notify", "--policy", str(project.root / "policies")])
    assert result.exit_code == 0, result.output  # failing monitoring of a version not deployed: listed, not overdue
    (got,) = server.received
    assert "monitoring.failed" in got["body"]["text"] and "GK-MON-001" in got["body"]["text"]


def test_a_server_answering_garbage_is_a_failed_delivery_not_a_crash() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def garbage() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(b"this is not HTTP\r\n\r\n")
            conn.close()

    threading.Thread(target=garbage, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    result = deliver(Webhook(url=url, retries=1), NOTE, sleep=lambda _: None)
    listener.close()
    assert not result.ok and result.attempts == 2 and "BadStatusLine" in result.error
