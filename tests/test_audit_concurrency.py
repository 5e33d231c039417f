"""Many writers at once, and writers killed mid-append: the log stays dense, valid and complete."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from govkit.audit.log import AuditLog

WRITER = """
import sys
from govkit.audit.log import AuditLog
path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with AuditLog(path, actor=name) as log:
    for i in range(count):
        entry = log.append("test.event", name + "@1", {"writer": name, "i": i})
        print(entry.seq, entry.entry_id, flush=True)   # acknowledged only after commit
"""


def spawn(path: Path, name: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), name, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def test_eight_writers_two_thousand_entries(tmp_path: Path) -> None:
    path = tmp_path / "concurrent.db"
    with AuditLog(path) as setup:  # creates the log and registers the key
        setup.append("test.start", "setup@1", {})
    writers = [spawn(path, f"w{i}", 250) for i in range(8)]
    outputs = [w.communicate(timeout=300) for w in writers]
    for w, (_, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, err
        assert "locked" not in err
    with AuditLog(path) as log:
        result = log.verify()
        entries = log.entries(action="test.event")
        all_seqs = [e.seq for e in log.entries()]
    assert result.ok, result.first
    assert result.size == 2 + 8 * 250
    assert len(entries) == 2000
    assert all_seqs == list(range(1, result.size + 1))
    acknowledged = {line.split()[1] for out, _ in outputs for line in out.splitlines()}
    assert acknowledged == {e.entry_id for e in entries}


def test_sigkill_mid_append_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    with AuditLog(path) as setup:
        setup.append("test.start", "setup@1", {})
    rng = random.Random(7)
    acknowledged: set[str] = set()
    for _ in range(25):
        writer = spawn(path, "victim", 100_000)
        assert writer.stdout is not None
        first = writer.stdout.readline()  # appending has begun, whatever the import time was
        time.sleep(0.05 + rng.random() * 0.2)
        writer.send_signal(signal.SIGKILL)
        out, _ = writer.communicate()
        acknowledged |= {line.split()[1] for line in (first + out).splitlines() if len(line.split()) == 2}
    with AuditLog(path) as log:
        result = log.verify()
        stored = {e.entry_id for e in log.entries(action="test.event")}
    assert result.ok, result.first
    assert len(acknowledged) > 50  # the writers really were killed mid-stream, not before starting
    assert acknowledged <= stored


def test_sixteen_writers_on_postgres(pg_base: str) -> None:
    from postgres_server import new_database

    url = new_database(pg_base)
    with AuditLog(url) as setup:
        setup.append("test.start", "setup@1", {})
    writers = [spawn(url, f"w{i}", 100) for i in range(16)]  # type: ignore[arg-type]
    outputs = [w.communicate(timeout=300) for w in writers]
    for w, (_, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, err
    with AuditLog(url) as log:
        result = log.verify()
        seqs = [e.seq for e in log.entries()]
        entries = log.entries(action="test.event")
    assert result.ok, result.first
    assert len(entries) == 1600 and seqs == list(range(1, result.size + 1))
    assert {line.split()[1] for out, _ in outputs for line in out.splitlines()} == {e.entry_id for e in entries}


def test_log_copy_sqlite_to_postgres(tmp_path: Path, pg_base: str) -> None:
    from click.testing import CliRunner

    from govkit.cli import cli
    from postgres_server import new_database

    source = tmp_path / "team.db"
    with AuditLog(source) as log:
        for i in range(30):
            log.append("test.event", f"m@{i}", {"i": i})
        log.redact(5, "erasure")
        log.checkpoint()
        head = log.verify().head
    url = new_database(pg_base)
    result = CliRunner().invoke(cli, ["log", "copy", "--from", str(source), "--to", url])
    assert result.exit_code == 0, result.output
    assert f"both logs verify with head {head[:16]}" in result.stdout
    with AuditLog(url) as log:
        copied = log.verify()
        assert copied.ok and copied.head == head and copied.checkpoints == 1
        log.append("test.event", "m@after", {"after": "copy"})  # the same key keeps writing to the shared log
        assert log.verify().ok
    again = CliRunner().invoke(cli, ["log", "copy", "--from", str(source), "--to", url])
    assert again.exit_code == 2 and "not empty" in again.stderr


def test_demo_runs_against_postgres(tmp_path: Path, pg_base: str) -> None:
    from click.testing import CliRunner

    from govkit.cli import cli
    from postgres_server import new_database

    url = new_database(pg_base)
    result = CliRunner(env={"NO_COLOR": "1"}).invoke(
        cli, ["demo", "--dir", str(tmp_path), "--db", url], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "entries verified" in result.stdout
    verify = CliRunner().invoke(cli, ["log", "verify", "--db", url])
    assert verify.exit_code == 0 and verify.stdout.startswith("ok: ")


def test_documented_roles_work(pg_base: str) -> None:
    """The role setup in docs/scaling.md, run as written: the writer appends, and cannot rewrite."""
    import re

    import psycopg

    from postgres_server import new_database

    url = new_database(pg_base)
    with AuditLog(url) as log:  # the owner creates the schema
        log.append("test.start", "setup@1", {})
    doc = (Path(__file__).resolve().parents[1] / "docs" / "scaling.md").read_text()
    sql = re.search(r"```sql\n(.*?)```", doc, re.S).group(1)  # type: ignore[union-attr]
    with psycopg.connect(url, autocommit=True) as conn:
        for role in ("govkit_admin", "govkit_writer", "govkit_reader", "govkit_redactor"):
            conn.execute(f"DROP ROLE IF EXISTS {role}")  # roles are cluster-wide; tests share the server
        conn.execute(sql)
    writer = url.replace("postgresql://govkit@", "postgresql://govkit_writer@")
    with AuditLog(writer) as log:
        log.append("test.event", "m@1", {"by": "writer"})
        log.checkpoint()
        assert log.verify().ok
    with psycopg.connect(writer, autocommit=True) as conn:
        for statement in (
            "UPDATE govkit.entries SET actor = 'x'",
            "DELETE FROM govkit.entries",
            "TRUNCATE govkit.entries CASCADE",
            "DELETE FROM govkit.payloads",
        ):
            try:
                conn.execute(statement)
            except psycopg.errors.InsufficientPrivilege:
                continue
            raise AssertionError(f"the writer role could run: {statement}")
