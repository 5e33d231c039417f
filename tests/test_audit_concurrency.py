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
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())


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
        time.sleep(0.25 + rng.random() * 0.25)  # import time ~0.2 s, then appending
        writer.send_signal(signal.SIGKILL)
        out, _ = writer.communicate()
        acknowledged |= {line.split()[1] for line in out.splitlines() if len(line.split()) == 2}
    with AuditLog(path) as log:
        result = log.verify()
        stored = {e.entry_id for e in log.entries(action="test.event")}
    assert result.ok, result.first
    assert len(acknowledged) > 50  # the writers really were killed mid-stream, not before starting
    assert acknowledged <= stored
