"""SQLite audit store through sqlite-utils: WAL, synchronous=FULL, BEGIN IMMEDIATE appends.

Triggers refuse UPDATE and DELETE and reject a seq that is not the next one. They guard against
bugs and careless hands, not against someone who can drop them: the hash chain, signatures and
checkpoints are what make tampering evident.
"""

from __future__ import annotations

import importlib
import json
import secrets
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

from govkit.audit.chain import Checkpoint
from govkit.audit.interface import ENTRY_COLUMNS, Entry, EntryFilter, Sealer, SerialStore, filter_terms
from govkit.errors import GovkitError


def _import_sqlite_utils() -> ModuleType:
    """sqlite-utils imports pandas and numpy when they are installed (0.6 s of every command that opens
    a log), only to accept their values in inserts; the log writes str and bytes. So those not yet
    loaded are hidden while sqlite-utils is imported (a later `import pandas` works as usual)."""
    hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
    if "sqlite_utils" in sys.modules or not hidden:
        return importlib.import_module("sqlite_utils")
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        return importlib.import_module("sqlite_utils")
    finally:
        for name in hidden:
            del sys.modules[name]


sqlite_utils = _import_sqlite_utils()

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_MS = 60_000

INSERT_ENTRY = (
    "INSERT INTO entries (seq, entry_id, recorded_at, actor, action, subject, payload_digest, prev_hash, key_id,"
    " entry_hash, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SCAN = (
    "SELECT e.seq, e.entry_id, e.recorded_at, e.actor, e.action, e.subject, e.payload_digest, e.prev_hash,"
    " e.key_id, e.entry_hash, e.signature, p.body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq"
    " WHERE e.seq >= ? ORDER BY e.seq"
)
READ = (
    "SELECT e.seq, e.entry_id, e.recorded_at, e.actor, e.action, e.subject, e.payload_digest, e.prev_hash,"
    " e.key_id, e.entry_hash, e.signature, p.body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq"
    " WHERE e.seq = ?"
)
READ_MANY = (
    "SELECT e.seq, e.entry_id, e.recorded_at, e.actor, e.action, e.subject, e.payload_digest, e.prev_hash,"
    " e.key_id, e.entry_hash, e.signature, p.body FROM entries e LEFT JOIN payloads p ON p.seq = e.seq"
    " WHERE e.seq IN (SELECT value FROM json_each(?))"
)
READ_BATCH = 5000

TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_dense BEFORE INSERT ON entries
WHEN NEW.seq != (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries)
BEGIN SELECT RAISE(ABORT, 'audit log seq must be dense'); END;
CREATE TRIGGER IF NOT EXISTS payloads_no_update BEFORE UPDATE ON payloads
BEGIN SELECT RAISE(ABORT, 'audit payloads are append-only'); END;
CREATE TRIGGER IF NOT EXISTS payloads_redact_only BEFORE DELETE ON payloads
WHEN NOT EXISTS (SELECT 1 FROM entries WHERE action = 'log.redacted' AND subject = 'seq:' || OLD.seq)
BEGIN SELECT RAISE(ABORT, 'a payload is removed only by a logged redaction'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
"""


GOVKIT_TABLES = {"meta", "entries", "payloads", "checkpoints"}


class SQLiteStore(SerialStore):
    def __init__(self, path: Path, *, create: bool = True, read_only: bool = False) -> None:
        """Open the log; only with `create` may a missing or empty file become one (readers never write).

        `read_only` sets `query_only`, so this connection refuses every write whatever runs on it.
        """
        self.path = path
        if path.parent and not path.parent.exists():
            raise GovkitError("folder for the audit database does not exist", file=path)
        if not create and not path.is_file():
            raise GovkitError("audit database not found", file=path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise GovkitError(f"not an audit database: {exc}", file=path) from None
        if not tables >= GOVKIT_TABLES and (tables or not create):
            conn.close()
            raise GovkitError("not a govkit audit database (no govkit tables in it)", file=path)
        try:
            if create:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            raise GovkitError(f"not an audit database: {exc}", file=path) from None
        if read_only:
            conn.execute("PRAGMA query_only = ON")
        self.db = sqlite_utils.Database(conn)
        if create:
            self._ensure_schema()
        self._frontier = "frontier" in {c.name for c in self.db["checkpoints"].columns}

    # -- schema ---------------------------------------------------------------------------
    def _ensure_schema(self) -> None:
        if "entries" in self.db.table_names():
            return
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if "entries" not in self.db.table_names():  # another process may have won the race
                self.db.table("meta").create({"key": str, "value": str}, pk="key", strict=True)
                self.db.table("entries").create(
                    {c: (int if c == "seq" else str) for c in ENTRY_COLUMNS},
                    pk="seq",
                    not_null=set(ENTRY_COLUMNS),
                    strict=True,
                )
                self.db.table("entries").create_index(["action"])
                self.db.table("entries").create_index(["subject"])
                self.db.table("payloads").create(
                    {"seq": int, "body": bytes},
                    pk="seq",
                    not_null={"body"},
                    foreign_keys=[("seq", "entries", "seq")],
                    strict=True,
                )
                self.db.table("checkpoints").create(
                    {"id": int, "size": int, "root": str, "head": str, "note": str, "frontier": str},
                    pk="id",
                    not_null={"size", "root", "head", "note"},
                    strict=True,
                )
                for statement in TRIGGERS.split("END;"):
                    if statement.strip():
                        conn.execute(statement + "END;")
                self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ["schema_version", SCHEMA_VERSION])
                self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ["log_id", secrets.token_hex(8)])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def log_id(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", ["log_id"]).fetchone()
        return row[0] if row else None

    # -- writes ---------------------------------------------------------------------------
    def _head(self) -> tuple[int, str]:
        row = self.db.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, "0" * 64)

    def _write(self, entry: Entry, body: bytes | None) -> None:
        self.db.execute(INSERT_ENTRY, [getattr(entry, c) for c in ENTRY_COLUMNS])
        if body is not None:
            self.db.execute("INSERT INTO payloads (seq, body) VALUES (?, ?)", [entry.seq, body])

    def _take_append_lock(self) -> None:
        """Nothing to do: every write transaction here starts with BEGIN IMMEDIATE."""

    def append(self, seal: Sealer) -> list[Entry]:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            entries = self._insert(seal)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return entries

    def redact(self, seal: Sealer, seq: int) -> Entry:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            (entry,) = self._insert(seal)
            self.db.execute("DELETE FROM payloads WHERE seq = ?", [seq])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return entry

    def add_checkpoint(self, checkpoint: Checkpoint, frontier: str | None = None) -> None:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not self._frontier:  # a log from before checkpoints kept their frontier (re-read: under the lock)
                if "frontier" not in {c.name for c in self.db["checkpoints"].columns}:
                    conn.execute("ALTER TABLE checkpoints ADD COLUMN frontier TEXT")
                self._frontier = True
            self.db.execute(
                "INSERT INTO checkpoints (size, root, head, note, frontier) VALUES (?, ?, ?, ?, ?)",
                [checkpoint.size, checkpoint.root, checkpoint.head, checkpoint.note(), frontier],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def copy_in(self, log_id: str, rows: Iterable[tuple[Entry, bytes | None]], checkpoints: list[Checkpoint]) -> int:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if self._head()[0]:
                raise GovkitError("the destination audit log is not empty", file=self.path)
            count = 0
            for entry, body in rows:
                self._write(entry, body)
                count += 1
            for cp in checkpoints:
                self.db.execute(
                    "INSERT INTO checkpoints (size, root, head, note) VALUES (?, ?, ?, ?)",
                    [cp.size, cp.root, cp.head, cp.note()],
                )
            self.db.execute("DELETE FROM meta WHERE key = ?", ["log_id"])
            self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ["log_id", log_id])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return count

    # -- reads ----------------------------------------------------------------------------
    def size(self) -> int:
        return self._head()[0]

    def scan(self, start: int = 1) -> Iterator[tuple[Entry, bytes | None]]:
        for row in self.db.execute(SCAN, [start]):
            yield Entry(*row[:-1]), row[-1]

    def read(self, seq: int) -> tuple[Entry, bytes | None] | None:
        row = self.db.execute(READ, [seq]).fetchone()
        return (Entry(*row[:-1]), row[-1]) if row else None

    def read_many(self, seqs: Sequence[int]) -> dict[int, tuple[Entry, bytes | None]]:
        found: dict[int, tuple[Entry, bytes | None]] = {}
        for i in range(0, len(seqs), READ_BATCH):
            batch = json.dumps([int(s) for s in seqs[i : i + READ_BATCH]])
            for row in self.db.execute(READ_MANY, [batch]):
                found[row[0]] = (Entry(*row[:-1]), row[-1])
        return found

    def find(self, flt: EntryFilter, limit: int | None = None) -> list[Entry]:
        # `model@` <= subject < `modelA` ('A' follows '@'): exactly the subjects starting `model@`, compared
        # byte by byte (BINARY collation, case included) and answered from the subject index
        model = flt.model or ""
        where, params = filter_terms(
            flt, mark="?", model_prefix="(subject >= ? AND subject < ?)", prefix_values=(model + "@", model + "A")
        )
        rows = self.db["entries"].rows_where(" AND ".join(where) or None, params, order_by="seq", limit=limit)
        return [Entry(**{c: r[c] for c in ENTRY_COLUMNS}) for r in rows]

    def payload(self, seq: int) -> bytes | None:
        row = self.db.execute("SELECT body FROM payloads WHERE seq = ?", [seq]).fetchone()
        return row[0] if row else None

    def checkpoint_notes(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT note FROM checkpoints ORDER BY id")]

    def latest_checkpoints(self, limit: int) -> list[tuple[str, str | None]]:
        if not self._frontier:
            return []
        return list(self.db.execute("SELECT note, frontier FROM checkpoints ORDER BY id DESC LIMIT ?", [limit]))

    def close(self) -> None:
        self.db.conn.close()
