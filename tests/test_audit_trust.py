"""Trust hardening of the audit log (issue 14): anchoring, rotation, identity, malformed rows, read-only opens,
witnessed notes, verified reads and the checkpoint fast path."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from backends import PostgresBackend, SqliteBackend
from govkit.audit.chain import Checkpoint, MerkleAccumulator, entry_hash, merkle_root, note_key_id
from govkit.audit.keys import SigningKey, create_key, load_key, public_path
from govkit.audit.log import AuditLog, LogIntegrityError
from govkit.audit.records import find_by_file_digest, find_evaluation
from govkit.canonical import canonical_bytes
from govkit.errors import GovkitError
from test_audit_log import filled, raw_for


def forge(db: str, key: SigningKey, action: str, subject: str, payload: dict[str, Any]) -> int:
    """Append a correctly hashed, linked and signed entry with `key`, bypassing govkit's own checks."""
    conn = raw_for(db)
    last = conn.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = last or (0, "0" * 64)
    body = canonical_bytes(payload)
    header = {
        "seq": seq + 1,
        "entry_id": uuid.uuid4().hex,
        "recorded_at": "2026-12-01T00:00:00.000000Z",
        "actor": "mallory",
        "action": action,
        "subject": subject,
        "payload_digest": hashlib.sha256(body).hexdigest(),
        "prev_hash": prev,
        "key_id": key.key_id,
    }
    digest = entry_hash(header)
    row = {**header, "entry_hash": digest, "signature": key.sign(bytes.fromhex(digest)).hex()}
    conn.execute(f"INSERT INTO entries ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
    conn.execute("INSERT INTO payloads (seq, body) VALUES (?, ?)", [seq + 1, body])
    return seq + 1


def signed_checkpoint(key: SigningKey, origin: str, hashes: list[str]) -> Checkpoint:
    """A checkpoint over `hashes` signed by `key`, built by hand (what a key holder can produce)."""
    unsigned = Checkpoint(
        origin=origin,
        size=len(hashes),
        root=merkle_root([bytes.fromhex(h) for h in hashes]).hex(),
        head=hashes[-1],
        timestamp="2026-12-01T00:00:00Z",
        key_id=key.key_id,
    )
    sig = base64.b64encode(note_key_id(origin, key.public_raw) + key.sign(unsigned.body())).decode()
    return Checkpoint(**{**unsigned.__dict__, "signature": sig})


def hashes_of(db: str) -> list[str]:
    with AuditLog(db) as log:
        return [e.entry_hash for e in log.entries()]


@pytest.fixture
def db(tmp_path: Path) -> str:
    location = str(tmp_path / "audit.db")
    filled(location).close()
    return location


# -- 1. anchoring on a key kept outside the database ----------------------------------------------------------


def test_key_creation_writes_public_half(isolated_log: Path, project) -> None:
    result = project.run(f"keys init --key {isolated_log / 'k.pem'}")
    assert result.exit_code == 0
    pem = public_path(isolated_log / "k.pem").read_bytes()
    assert pem == load_key(isolated_log / "k.pem").public_pem()


def test_log_rebuilt_under_another_key_fails_default_verify(db: str, tmp_path: Path, project) -> None:
    """A writer without the key rebuilds the whole log under a key of their own: the pinned .pub catches it."""
    forged = str(tmp_path / "forged.db")
    rogue = tmp_path / "rogue.pem"
    create_key(rogue)
    with AuditLog(forged, key_path=rogue) as log:
        log.append("test.event", "model-0@1.0", {"i": 0, "note": "forged history"})
    Path(db).unlink()
    Path(forged).rename(db)
    result = project.run(f"log verify --db {db}")
    assert result.exit_code == 1
    assert "signed by unknown key" in result.stderr and "trusted" in result.stderr


def test_verify_says_loudly_when_unanchored(db: str, tmp_path: Path, project, monkeypatch) -> None:
    monkeypatch.setenv("GOVKIT_KEY", str(tmp_path / "nowhere.pem"))  # no key, no .pub outside the database
    result = project.run(f"log verify --db {db}")
    assert result.exit_code == 0 and result.stdout.startswith("ok (UNANCHORED: verified against keys found only")
    strict = project.run(f"log verify --db {db} --require-anchor")
    assert strict.exit_code == 1 and "--require-anchor" in strict.stderr


def test_verify_anchored_by_default_and_by_trusted_key(db: str, isolated_log: Path, project) -> None:
    result = project.run(f"log verify --db {db}")
    assert result.exit_code == 0 and "anchored on" in result.stdout and "UNANCHORED" not in result.stdout
    pinned = project.run(f"log verify --db {db} --require-anchor --trusted-key {isolated_log / 'log-key.pem.pub'}")
    assert pinned.exit_code == 0 and "anchored on" in pinned.stdout


def test_pinning_the_rotated_in_key_anchors_through_its_checkpoint(db: str, tmp_path: Path, project) -> None:
    new = tmp_path / "new.pem"
    assert project.run(f"keys rotate --db {db} --new-key {new}").exit_code == 0
    result = project.run(f"log verify --db {db} --require-anchor --trusted-key {public_path(new)}")
    assert result.exit_code == 0, result.stderr


# -- 2. a rotated key signs nothing after its rotation --------------------------------------------------------


def test_old_key_cannot_sign_after_rotation(db: str, tmp_path: Path) -> None:
    with AuditLog(db) as log:
        old = log.signing_key()
        rotation = log.rotate_key(create_key(tmp_path / "new.pem"))
    with AuditLog(db) as stale, pytest.raises(GovkitError, match="rotated out"):
        stale.append("test.event", "x@1", {})
    seq = forge(db, old, "evaluation.recorded", "model-0@1.0", {"verdict": "pass"})
    with AuditLog(db) as log:
        result = log.verify()
    assert str(result.first) == (
        f"entry {seq}: signed by key {old.key_id} after it was rotated out at entry {rotation.seq}"
    )


def test_old_key_checkpoint_beyond_rotation_fails(db: str, tmp_path: Path) -> None:
    with AuditLog(db) as log:
        old = log.signing_key()
        log.rotate_key(create_key(tmp_path / "new.pem"))
        log.append("test.event", "x@1", {})
        origin = f"govkit.local/log/{log.store.log_id()}"
    late = signed_checkpoint(old, origin, hashes_of(db))
    with AuditLog(db) as log:
        result = log.verify(known_checkpoint=late)
    assert not result.ok and "rotated out" in str(result.first)


# -- 3. the log's identity ---------------------------------------------------------------------------------------


def test_edited_log_id_is_caught(db: str) -> None:
    raw_for(db).execute("UPDATE meta SET value = 'feedfacefeedface' WHERE key = 'log_id'")
    with AuditLog(db) as log:
        result = log.verify()
    assert not result.ok and "log identity edited" in str(result.first)


def test_checkpoint_of_another_log_is_refused(db: str) -> None:
    with AuditLog(db) as log:
        key = log.signing_key()
    foreign = signed_checkpoint(key, "govkit.local/log/0123456789abcdef", hashes_of(db))
    with AuditLog(db) as log:
        result = log.verify(known_checkpoint=foreign)
    assert not result.ok and "is not this log" in str(result.first)


def test_log_from_before_the_binding_says_so(tmp_path: Path, project) -> None:
    location = str(tmp_path / "old.db")
    with AuditLog(location) as log:  # schema only; the first entry is written as older govkit wrote it
        key = log.signing_key()
    forge(
        location,
        key,
        "key.added",
        f"key:{key.key_id}",
        {"algorithm": "Ed25519", "key_id": key.key_id, "public_key": key.public_raw.hex()},
    )
    with AuditLog(location) as log:
        log.append("test.event", "model-0@1.0", {"i": 1})
    result = project.run(f"log verify --db {location}")
    assert result.exit_code == 0 and "note: this log's identity is not bound in its first entry" in result.stderr


# -- 4. malformed rows are FAILED lines, never a crash ------------------------------------------------------------


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("UPDATE entries SET entry_hash = 'zz-not-hex' WHERE seq = 4", "entry 4: entry hash is not 64 hex digits"),
        ("UPDATE entries SET action = 'log.redacted', subject = 'seq:abc' WHERE seq = 5", "entry 5: "),
        ("UPDATE entries SET signature = 'not hex' WHERE seq = 6", "entry 6: signature does not verify"),
        ("UPDATE payloads SET body = x'ff00' WHERE seq = 1", "entry 1: "),
    ],
)
def test_malformed_entry_rows_fail_cleanly(db: str, project, sql: str, expected: str) -> None:
    raw_for(db).execute(sql)
    result = project.run(f"log verify --db {db}")
    assert result.exit_code == 1 and f"FAILED: {expected}" in result.stderr
    assert project.run(f"log show --db {db}").exit_code == 0
    assert project.run(f"log checkpoint --db {db}").exit_code == 1  # refuses to sign what does not verify


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        location = str(tmp_path / "audit.db")
    else:
        location = PostgresBackend(request.getfixturevalue("pg_base")).new_location()
    filled(location).close()
    return location


@pytest.mark.parametrize(
    "note",
    [
        "garbage",
        "govkit.local/log/x\n-1\nAAAA\nhead x\ntime t\nkey k\n\n\u2014 x AAAA\n",
        "o\n5\n!!!\nhead " + "0" * 64 + "\ntime t\nkey k\n\n\u2014 o QUJD\n",
    ],
)
def test_garbage_checkpoint_row_from_a_writer_fails_cleanly(any_db: str, project, note: str) -> None:
    """The writer role may INSERT into checkpoints: a garbage row is one FAILED line, and checkpoints go on."""
    backend = PostgresBackend(any_db.rsplit("/", 1)[0]) if "://" in any_db else SqliteBackend(Path(any_db).parent)
    backend.guarded(any_db).execute("INSERT INTO checkpoints (size, root, head, note) VALUES (1, 'r', 'h', ?)", [note])
    result = project.run(["log", "verify", "--db", any_db])
    assert result.exit_code == 1 and "FAILED: stored checkpoint #1: not a govkit checkpoint note" in result.stderr
    assert project.run(["log", "checkpoint", "--db", any_db]).exit_code == 0


# -- 5. read-only commands never create or alter a database ----------------------------------------------------


def test_verify_of_empty_or_foreign_file_writes_nothing(tmp_path: Path, project) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = foreign.read_bytes()
    for path in (empty, foreign):
        for command in ("log verify", "log show", "log checkpoint"):
            result = project.run(f"{command} --db {path}")
            assert result.exit_code == 2 and result.stderr.startswith("error: ") and str(path) in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1
    assert empty.stat().st_size == 0 and foreign.read_bytes() == before
    missing = project.run(f"log show --db {tmp_path / 'missing.db'}")
    assert missing.exit_code == 2 and not (tmp_path / "missing.db").exists()


# -- 6. key entries cannot be redacted -------------------------------------------------------------------------------


def test_redacting_a_key_entry_is_refused(db: str, tmp_path: Path, project) -> None:
    result = project.run(f"log redact 1 --db {db} --reason 'erasure'")
    assert result.exit_code == 2 and "cannot be redacted" in result.stderr
    with AuditLog(db) as log:
        rotation = log.rotate_key(create_key(tmp_path / "new.pem"))
    assert project.run(f"log redact {rotation.seq} --db {db} --reason 'erasure'").exit_code == 2
    assert project.run(f"log verify --db {db}").exit_code == 0


# -- 7. PostgreSQL: TRUNCATE is refused like DELETE ----------------------------------------------------------------


@pytest.mark.parametrize("table", ["payloads", "checkpoints", "meta"])
def test_postgres_truncate_is_refused_for_the_owner(pg_base: str, table: str) -> None:
    import psycopg

    backend = PostgresBackend(pg_base)
    location = backend.new_location()
    with filled(location, 3) as log:
        log.checkpoint()
    conn = backend.guarded(location)
    with pytest.raises(psycopg.Error, match="append-only"):
        conn.execute(f"TRUNCATE {table} CASCADE")
    conn.conn.close()
    with AuditLog(location) as log:
        assert log.verify().ok


# -- 8. witnessed signed notes ---------------------------------------------------------------------------------------


def test_checkpoint_with_a_witness_line_first_verifies(db: str, tmp_path: Path, project) -> None:
    with AuditLog(db) as log:
        note = log.checkpoint().note()
    witness = create_key(tmp_path / "witness.pem")
    body, _, own = note.partition("\n\n")
    sig = base64.b64encode(
        note_key_id("witness.example/w1", witness.public_raw) + witness.sign((body + "\n").encode())
    ).decode()
    cosigned = tmp_path / "cosigned.txt"
    cosigned.write_text(f"{body}\n\n\u2014 witness.example/w1 {sig}\n{own}")
    result = project.run(f"log verify --db {db} --known-checkpoint {cosigned}")
    assert result.exit_code == 0, result.stderr
    parsed = Checkpoint.parse(cosigned.read_text())
    assert parsed.others == (("witness.example/w1", sig),) and parsed.note().count("\u2014") == 2


# -- 9. verify what you read -------------------------------------------------------------------------------------------


def test_tampered_evaluation_is_not_trusted(project) -> None:
    assert project.check().exit_code == 0
    with AuditLog() as log:  # the log `check` wrote to (GOVKIT_DB)
        entry, payload = find_evaluation(log, model="scorer")
        location = log.location
    forged = json.dumps({**payload, "evaluation": {**payload["evaluation"], "verdict": "pass"}}).encode()
    raw_for(location).execute("UPDATE payloads SET body = ? WHERE seq = ?", [forged, entry.seq])
    with AuditLog(location) as log, pytest.raises(LogIntegrityError, match="payload does not match its digest"):
        find_evaluation(log, model="scorer")
    result = project.run(f"report --latest scorer --db {location} --html --out {project.root / 'r.html'}")
    assert result.exit_code == 1 and f"audit log entry {entry.seq}" in result.stderr


def test_forged_rendering_row_does_not_vouch_for_a_pdf(db: str, tmp_path: Path, project) -> None:
    pdf = tmp_path / "fake.pdf"
    pdf.write_bytes(b"%PDF-1.7 not really\n")
    sha = hashlib.sha256(pdf.read_bytes()).hexdigest()
    conn = raw_for(db)
    last = conn.execute("SELECT * FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    cols = [d[0] for d in conn.execute("SELECT * FROM entries LIMIT 1").description]
    rec = dict(zip(cols, last, strict=True))
    body = canonical_bytes({"sha256": sha, "evaluation_digest": "0" * 64})
    forged = {
        **rec,
        "seq": rec["seq"] + 1,
        "action": "report.rendered",
        "prev_hash": rec["entry_hash"],
        "payload_digest": hashlib.sha256(body).hexdigest(),
    }
    forged["entry_hash"] = entry_hash(forged)
    conn.execute(
        f"INSERT INTO entries ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", [forged[c] for c in cols]
    )
    conn.execute("INSERT INTO payloads (seq, body) VALUES (?, ?)", [forged["seq"], body])
    with AuditLog(db) as log, pytest.raises(LogIntegrityError, match="signature does not verify"):
        find_by_file_digest(log, sha)
    result = project.run(f"verify-pdf {pdf} --db {db}")
    assert result.exit_code == 1 and "matches audit log entry" not in result.stdout
    assert f"audit log entry {forged['seq']}" in result.stderr


def test_verified_read_accepts_entries_before_and_after_checkpoints(db: str) -> None:
    with AuditLog(db) as log:
        log.checkpoint()
        log.append("test.event", "model-0@1.0", {"late": True})
        entries = log.entries()
        assert log.read_verified(entries[2]) == log.payload(entries[2].seq)
        assert log.read_verified(entries[-1]) == {"late": True}


# -- 10. the checkpoint fast path is sound, and checkpoints resume -----------------------------------------------


def test_default_verify_checks_only_signatures_above_the_newest_checkpoint(db: str) -> None:
    with AuditLog(db) as log:
        log.checkpoint()
        log.append("test.event", "model-0@1.0", {"late": True})
        fast, full = log.verify(), log.verify(full=True)
    assert fast.ok and full.ok
    assert fast.covered == 13 and fast.signatures_checked == 2  # the key.added entry and the one above
    assert full.signatures_checked == 14


def test_checkpoint_refuses_to_vouch_for_a_forged_entry(db: str, tmp_path: Path) -> None:
    """Else the fast path would launder it: a later checkpoint would cover an entry nobody signed."""
    seq = forge(db, create_key(tmp_path / "rogue.pem"), "evaluation.recorded", "model-0@1.0", {"verdict": "pass"})
    with AuditLog(db) as log, pytest.raises(LogIntegrityError, match=f"entry {seq}: signed by unknown key"):
        log.checkpoint()


def test_checkpoint_resumes_from_its_frontier_and_skips_forged_ones(db: str) -> None:
    with AuditLog(db) as log:
        first = log.checkpoint()
        note, frontier = log.store.latest_checkpoints(1)[0]
        assert MerkleAccumulator.resume(first.size, frontier).root().hex() == first.root
        other = MerkleAccumulator()
        for i in range(first.size):
            other.append(bytes([i]) * 32)
    conn = sqlite3.connect(db, isolation_level=None)  # a writer copies a genuine note beside a forged frontier
    conn.execute(
        "INSERT INTO checkpoints (size, root, head, note, frontier) VALUES (?, ?, ?, ?, ?)",
        [first.size, first.root, first.head, note, other.frontier()],
    )
    conn.close()
    with AuditLog(db) as log:
        log.append("test.event", "model-0@1.0", {"late": True})
        second = log.checkpoint()
    assert second.root == merkle_root([bytes.fromhex(h) for h in hashes_of(db)]).hex()
