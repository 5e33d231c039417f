"""The audit log: append, read, redact, rotate, and a tamper matrix that verify must catch."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from backends import PostgresBackend, Raw, SqliteBackend
from govkit.audit.chain import Checkpoint, entry_hash
from govkit.audit.keys import create_key
from govkit.audit.log import AuditLog
from govkit.errors import GovkitError


def filled(location: str, n: int = 12) -> AuditLog:
    log = AuditLog(location)
    for i in range(n):
        log.append("test.event", f"model-{i % 3}@1.0", {"i": i, "note": f"event {i}"})
    return log


def first_problem(location: str, known: Checkpoint | None = None) -> tuple[int | None, str]:
    with AuditLog(location) as log:
        result = log.verify(known_checkpoint=known)
    assert not result.ok
    first = result.first
    assert first is not None
    return first.seq, first.message


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Every store: the same entries, hashes and verification whichever holds the log."""
    if request.param == "sqlite":
        return SqliteBackend(tmp_path)
    return PostgresBackend(request.getfixturevalue("pg_base"))


@pytest.fixture
def db(backend: Any) -> str:
    location = backend.new_location()
    filled(location).close()
    return location


def raw_for(db: str) -> Raw:
    """Raw access to `db` with the guard triggers switched off (what an attacker with write access does)."""
    return (PostgresBackend(db.rsplit("/", 1)[0]) if "://" in db else SqliteBackend(Path(db).parent)).raw(db)


def test_append_read_verify(db: str) -> None:
    with AuditLog(db) as log:
        entries = log.entries()
        assert [e.seq for e in entries] == list(range(1, 14))
        assert entries[0].action == "key.added"
        assert entries[1].actor == "tester@example.com"
        assert log.payload(2) == {"i": 0, "note": "event 0"}
        assert [e.seq for e in log.entries(model="model-1")] == [3, 6, 9, 12]
        assert log.verify().ok


def test_a_conditional_append_writes_only_at_the_size_it_was_given(db: str) -> None:
    """`if_size` is the compare-and-swap under the store's write lock (lifecycle changes rely on it)."""
    from govkit.audit.log import LogMoved

    with AuditLog(db) as log:
        size = log.store.size()
        with pytest.raises(LogMoved, match=f"grew from {size - 1} to {size}"):
            log.append_many([("test.event", "m@1", {"i": 1}), ("test.event", "m@1", {"i": 2})], if_size=size - 1)
        assert log.store.size() == size  # nothing of the batch was written
        entry = log.append("test.event", "m@1", {"i": 3}, if_size=size)
        assert entry.seq == size + 1
        assert log.verify().ok


def test_header_hash_is_length_prefixed(db: str) -> None:
    with AuditLog(db) as log:
        e = log.entries()[3]
    header = e.header()
    moved = {**header, "action": header["action"] + header["subject"][:1], "subject": header["subject"][1:]}
    assert entry_hash(moved) != entry_hash(header)  # a string join would have collided


def test_key_file_is_private(isolated_log: Path, db: str) -> None:
    mode = stat.S_IMODE(os.stat(isolated_log / "log-key.pem").st_mode)
    assert mode == 0o600


def test_triggers_refuse_update_and_delete(db: str, backend: Any) -> None:
    conn = backend.guarded(db)
    for sql in [
        "UPDATE entries SET actor = 'mallory' WHERE seq = 3",
        "DELETE FROM entries WHERE seq = 3",
        "UPDATE payloads SET body = x'00' WHERE seq = 3",
        "DELETE FROM payloads WHERE seq = 3",
        "INSERT INTO entries SELECT seq + 100, entry_id, recorded_at, actor, action, subject, payload_digest, "
        "prev_hash, key_id, entry_hash, signature FROM entries WHERE seq = 3",
    ]:
        with pytest.raises(backend.guard_error):
            conn.execute(sql)
    conn.conn.close()


def test_tamper_edit_payload(db: str) -> None:
    raw_for(db).execute("UPDATE payloads SET body = ? WHERE seq = 5", [b'{"i":3,"note":"forged"}'])
    assert first_problem(db) == (5, "payload does not match its digest (payload edited)")


def test_tamper_edit_header_field(db: str) -> None:
    raw_for(db).execute("UPDATE entries SET actor = 'mallory' WHERE seq = 7")
    assert first_problem(db) == (7, "entry hash does not match its header (header edited)")


def test_tamper_recompute_hashes_without_key(db: str) -> None:
    """Edit entry 6 and re-hash the chain from there: links and hashes agree, signatures don't."""
    conn = raw_for(db)
    rows = conn.execute("SELECT * FROM entries WHERE seq >= 6 ORDER BY seq").fetchall()
    cols = [d[0] for d in conn.execute("SELECT * FROM entries LIMIT 1").description]
    prev = conn.execute("SELECT entry_hash FROM entries WHERE seq = 5").fetchone()[0]
    for row in rows:
        rec = dict(zip(cols, row, strict=True))
        if rec["seq"] == 6:
            rec["subject"] = "model-x@9.9"
        rec["prev_hash"] = prev
        rec["entry_hash"] = entry_hash(rec)
        conn.execute(
            "UPDATE entries SET subject = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
            [rec["subject"], rec["prev_hash"], rec["entry_hash"], rec["seq"]],
        )
        prev = rec["entry_hash"]
    assert first_problem(db) == (6, "signature does not verify")


def test_tamper_delete_middle_row(db: str) -> None:
    conn = raw_for(db)
    conn.execute("DELETE FROM payloads WHERE seq = 8")
    conn.execute("DELETE FROM entries WHERE seq = 8")
    seq, message = first_problem(db)
    assert seq == 8 and "missing or out of order" in message


def test_tamper_insert_row(db: str) -> None:
    conn = raw_for(db)
    last = conn.execute("SELECT * FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    cols = [d[0] for d in conn.execute("SELECT * FROM entries LIMIT 1").description]
    rec = dict(zip(cols, last, strict=True))
    forged = {
        **rec,
        "seq": rec["seq"] + 1,
        "entry_id": "f" * 32,
        "action": "signoff.recorded",
        "prev_hash": rec["entry_hash"],
    }
    forged["entry_hash"] = entry_hash(forged)
    conn.execute(
        f"INSERT INTO entries ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", [forged[c] for c in cols]
    )
    conn.execute(
        "INSERT INTO payloads (seq, body) SELECT ?, body FROM payloads WHERE seq = ?", [forged["seq"], rec["seq"]]
    )
    assert first_problem(db) == (forged["seq"], "signature does not verify")


def test_tamper_reorder(db: str) -> None:
    conn = raw_for(db)
    conn.execute("UPDATE entries SET seq = -1 WHERE seq = 4")
    conn.execute("UPDATE entries SET seq = 4 WHERE seq = 5")
    conn.execute("UPDATE entries SET seq = 5 WHERE seq = -1")
    assert first_problem(db) == (4, "prev_hash does not link to the previous entry")


def test_tamper_truncate_tail_needs_known_checkpoint(db: Path, tmp_path: str) -> None:
    with AuditLog(db) as log:
        known = log.checkpoint()
    saved = tmp_path / "known.txt"
    saved.write_text(known.note())
    conn = raw_for(db)
    conn.execute("DELETE FROM checkpoints")  # the attacker also removes stored checkpoints
    conn.execute("DELETE FROM payloads WHERE seq > 10")
    conn.execute("DELETE FROM entries WHERE seq > 10")
    with AuditLog(db) as log:
        assert log.verify().ok  # undetectable from the file alone: that is the honest limit
    _, message = first_problem(db, Checkpoint.parse(saved.read_text()))
    assert "log has only 10 entries (truncated or rolled back)" in message


def test_tamper_replace_with_older_copy(tmp_path: str) -> None:
    db = str(tmp_path / "audit.db")  # a file-level attack: SQLite only
    filled(db).close()
    old = tmp_path / "old.db"
    with AuditLog(db) as log:
        log.store.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    shutil.copyfile(db, old)
    with AuditLog(db) as log:
        log.append("test.event", "model-0@1.0", {"late": True})
        known = log.checkpoint()
    shutil.copyfile(old, db)
    for suffix in ("-wal", "-shm"):
        Path(db + suffix).unlink(missing_ok=True)
    _, message = first_problem(db, known)
    assert "truncated or rolled back" in message


def test_rewrite_with_stolen_key_is_caught_by_known_checkpoint(db: Path, tmp_path: str) -> None:
    """An attacker with the key can re-sign a rewritten history; a checkpoint kept elsewhere still notices."""
    with AuditLog(db) as log:
        known = log.checkpoint()
        key = log.signing_key()
        conn = raw_for(db)
        conn.execute("DELETE FROM checkpoints")
        rows = conn.execute("SELECT * FROM entries WHERE seq >= 4 ORDER BY seq").fetchall()
        cols = [d[0] for d in conn.execute("SELECT * FROM entries LIMIT 1").description]
        prev = conn.execute("SELECT entry_hash FROM entries WHERE seq = 3").fetchone()[0]
        for row in rows:
            rec = dict(zip(cols, row, strict=True))
            rec["actor"] = "mallory" if rec["seq"] == 4 else rec["actor"]
            rec["prev_hash"] = prev
            rec["entry_hash"] = entry_hash(rec)
            rec["signature"] = key.sign(bytes.fromhex(rec["entry_hash"])).hex()
            conn.execute(
                "UPDATE entries SET actor = ?, prev_hash = ?, entry_hash = ?, signature = ? WHERE seq = ?",
                [rec["actor"], rec["prev_hash"], rec["entry_hash"], rec["signature"], rec["seq"]],
            )
            prev = rec["entry_hash"]
        assert log.verify().ok
        result = log.verify(known_checkpoint=known)
    assert not result.ok and "history differs from the checkpoint" in str(result.first)


def test_redaction_keeps_chain_valid_and_is_logged(db: str) -> None:
    with AuditLog(db) as log:
        entry = log.redact(4, "erasure request #12")
        assert log.payload(4) is None
        assert log.payload(entry.seq)["reason"] == "erasure request #12"
        assert log.verify().ok
    conn = raw_for(db)
    conn.execute("DELETE FROM payloads WHERE seq = 5")  # removed without a redaction entry
    assert first_problem(db) == (5, "payload missing without a logged redaction")


def test_key_rotation(db: Path, tmp_path: str) -> None:
    with AuditLog(db) as log:
        new = create_key(tmp_path / "new.pem")
        log.rotate_key(new)
        log.append("test.event", "model-0@1.0", {"after": "rotation"})
        entries = log.entries()
        assert entries[-1].key_id == new.key_id != entries[-3].key_id
        assert log.verify().ok
    # a key that was never registered cannot sign into this log
    rogue = create_key(tmp_path / "rogue.pem").path
    with AuditLog(db, key_path=rogue) as log, pytest.raises(GovkitError, match="not registered"):
        log.append("test.event", "x@1", {})


def test_trusted_key_pinning(db: Path, tmp_path: str) -> None:
    other = create_key(tmp_path / "other.pem")
    with AuditLog(db) as log:
        assert log.verify(trusted_keys=[log.signing_key().public_raw]).ok
        result = log.verify(trusted_keys=[other.public_raw])
    assert not result.ok and "unknown key" in str(result.first)


def test_cli_verify_and_exit_codes(db: str, tmp_path: Path, project) -> None:
    saved = tmp_path / "cp.txt"
    assert project.run(f"log checkpoint --db {db} --output {saved}").exit_code == 0
    ok = project.run(f"log verify --db {db} --known-checkpoint {saved}")
    assert ok.exit_code == 0 and "ok: 13 entries" in ok.stdout  # 12 appends and the opening key.added
    raw_for(db).execute("UPDATE entries SET actor = 'mallory' WHERE seq = 9")
    bad = project.run(f"log verify --db {db}")
    assert bad.exit_code == 1 and "entry 9: entry hash does not match" in bad.stderr
    shown = json.loads(project.run(f"log show --db {db} --action key.added --format json").stdout)
    assert len(shown) == 1 and shown[0]["seq"] == 1


def test_check_records_evaluation_with_digest(project) -> None:
    result = project.check("--format json")
    digest = json.loads(result.stdout)["evaluation_digest"]
    with AuditLog() as log:
        (entry,) = log.entries(action="evaluation.recorded")
        payload = log.payload(entry.seq)
    assert entry.subject == "scorer@1.4.0"
    assert payload["evaluation_digest"] == digest
    assert payload["evaluation"]["inputs"]["files"]["manifest"]["sha256"]
    assert project.check("--no-log").exit_code == 0
    with AuditLog() as log:
        assert len(log.entries(action="evaluation.recorded")) == 1


def test_model_filter_is_literal(backend: Any) -> None:
    """`_` and `%` in a model name are characters, not wildcards, in every store."""
    with AuditLog(backend.new_location()) as log:
        for subject in ("a_b@1", "axb@1", "a%b@2", "a_b", "a_bc@1"):
            log.append("test.event", subject, {})
        assert [e.subject for e in log.entries(model="a_b")] == ["a_b@1", "a_b"]
        assert [e.subject for e in log.entries(model="a%b")] == ["a%b@2"]
        assert len(log.entries(action="test.event", since="2000-01-01", limit=2)) == 2


def test_model_filter_is_exact_and_case_sensitive(backend: Any) -> None:
    """Model `m` is not model `M` (SQLite's LIKE ignored ASCII case), nor `m2`, nor any name sorting
    between `m@` and the next name; a limit counts only the model's own entries."""
    subjects = ["M@1", "m@1", "m@2@rc", "mA@1", "m?@1", "m2@1", "m", "M", "é@1", "É@1", "m@"]
    with AuditLog(backend.new_location()) as log:
        for subject in subjects:
            log.append("test.event", subject, {})
        for model in ("m", "M", "é", "É", "mA"):
            want = [s for s in subjects if s == model or s.startswith(model + "@")]
            assert [e.subject for e in log.entries(model=model)] == want, model
        assert [e.subject for e in log.entries(model="M", limit=1)] == ["M@1"]
