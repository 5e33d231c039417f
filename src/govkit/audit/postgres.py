"""PostgreSQL audit store: one shared, append-only history for many teams and CI runners.

Same entries, hashes and verification as the SQLite store. Appends are serialised with a
transaction-scoped advisory lock, so seq stays dense under any number of concurrent writers.
Triggers refuse UPDATE and DELETE (and any seq but the next); see docs/scaling.md for a writer
role that holds only INSERT and SELECT.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from govkit.audit.chain import Checkpoint
from govkit.audit.interface import ENTRY_COLUMNS, Entry, EntryFilter, Sealer, SerialStore, filter_terms
from govkit.errors import GovkitError

LOCK_KEY = 0x676F766B6974  # "govkit": the advisory lock every writer takes before reading the head
SCHEMA = """
CREATE SCHEMA IF NOT EXISTS govkit;
CREATE TABLE IF NOT EXISTS govkit.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS govkit.entries (
  seq bigint PRIMARY KEY, entry_id text NOT NULL, recorded_at text NOT NULL, actor text NOT NULL,
  action text NOT NULL, subject text NOT NULL, payload_digest text NOT NULL, prev_hash text NOT NULL,
  key_id text NOT NULL, entry_hash text NOT NULL, signature text NOT NULL);
CREATE INDEX IF NOT EXISTS entries_action ON govkit.entries (action);
CREATE INDEX IF NOT EXISTS entries_subject ON govkit.entries (subject);
CREATE TABLE IF NOT EXISTS govkit.payloads (
  seq bigint PRIMARY KEY REFERENCES govkit.entries (seq), body bytea NOT NULL);
CREATE TABLE IF NOT EXISTS govkit.checkpoints (id bigserial PRIMARY KEY, size bigint NOT NULL, root text NOT NULL,
  head text NOT NULL, note text NOT NULL, frontier text);
CREATE OR REPLACE FUNCTION govkit.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'govkit audit log is append-only (% on %)', TG_OP, TG_TABLE_NAME; END $$;
CREATE OR REPLACE FUNCTION govkit.dense() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.seq <> (SELECT COALESCE(MAX(seq), 0) + 1 FROM govkit.entries) THEN
    RAISE EXCEPTION 'govkit audit log seq must be dense (got %)', NEW.seq;
  END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION govkit.redact_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM govkit.entries WHERE action = 'log.redacted' AND subject = 'seq:' || OLD.seq) THEN
    RAISE EXCEPTION 'a payload is removed only by a logged redaction';
  END IF;
  RETURN OLD;
END $$;
DROP TRIGGER IF EXISTS entries_no_change ON govkit.entries;
CREATE TRIGGER entries_no_change BEFORE UPDATE OR DELETE ON govkit.entries
  FOR EACH ROW EXECUTE FUNCTION govkit.refuse();
DROP TRIGGER IF EXISTS entries_no_truncate ON govkit.entries;
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON govkit.entries
  FOR EACH STATEMENT EXECUTE FUNCTION govkit.refuse();
DROP TRIGGER IF EXISTS entries_dense ON govkit.entries;
CREATE TRIGGER entries_dense BEFORE INSERT ON govkit.entries FOR EACH ROW EXECUTE FUNCTION govkit.dense();
DROP TRIGGER IF EXISTS payloads_no_update ON govkit.payloads;
CREATE TRIGGER payloads_no_update BEFORE UPDATE ON govkit.payloads FOR EACH ROW EXECUTE FUNCTION govkit.refuse();
DROP TRIGGER IF EXISTS payloads_redact_only ON govkit.payloads;
CREATE TRIGGER payloads_redact_only BEFORE DELETE ON govkit.payloads FOR EACH ROW EXECUTE FUNCTION govkit.redact_only();
DROP TRIGGER IF EXISTS checkpoints_no_change ON govkit.checkpoints;
CREATE TRIGGER checkpoints_no_change BEFORE UPDATE OR DELETE ON govkit.checkpoints
  FOR EACH ROW EXECUTE FUNCTION govkit.refuse();
"""
# Row triggers do not fire on TRUNCATE, so every table also gets a statement-level guard.
TRUNCATE_GUARDS = """
DROP TRIGGER IF EXISTS payloads_no_truncate ON govkit.payloads;
CREATE TRIGGER payloads_no_truncate BEFORE TRUNCATE ON govkit.payloads
  FOR EACH STATEMENT EXECUTE FUNCTION govkit.refuse();
DROP TRIGGER IF EXISTS checkpoints_no_truncate ON govkit.checkpoints;
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON govkit.checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION govkit.refuse();
DROP TRIGGER IF EXISTS meta_no_truncate ON govkit.meta;
CREATE TRIGGER meta_no_truncate BEFORE TRUNCATE ON govkit.meta
  FOR EACH STATEMENT EXECUTE FUNCTION govkit.refuse();
"""
SCHEMA += TRUNCATE_GUARDS
# Logs created before the guards and the checkpoint frontier get both when a writer who owns the schema opens them.
UPGRADE = "ALTER TABLE govkit.checkpoints ADD COLUMN IF NOT EXISTS frontier text;\n" + TRUNCATE_GUARDS
INSERT_ENTRY = (
    "INSERT INTO govkit.entries (seq, entry_id, recorded_at, actor, action, subject, payload_digest, "
    "prev_hash, key_id, entry_hash, signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
SCAN = (
    "SELECT e.seq, e.entry_id, e.recorded_at, e.actor, e.action, e.subject, e.payload_digest, e.prev_hash, "
    "e.key_id, e.entry_hash, e.signature, p.body FROM govkit.entries e LEFT JOIN govkit.payloads p "
    "ON p.seq = e.seq WHERE e.seq >= %s ORDER BY e.seq"
)
READ = (
    "SELECT e.seq, e.entry_id, e.recorded_at, e.actor, e.action, e.subject, e.payload_digest, e.prev_hash, "
    "e.key_id, e.entry_hash, e.signature, p.body FROM govkit.entries e LEFT JOIN govkit.payloads p "
    "ON p.seq = e.seq WHERE e.seq = %s"
)
READ_MANY = (
    "SELECT e.seq, e.entry_id, e.recorded_at, e.actor, e.action, e.subject, e.payload_digest, e.prev_hash, "
    "e.key_id, e.entry_hash, e.signature, p.body FROM govkit.entries e LEFT JOIN govkit.payloads p "
    "ON p.seq = e.seq WHERE e.seq = ANY(%s)"
)
READ_BATCH = 5000
SELECT_ENTRIES = (
    "SELECT seq, entry_id, recorded_at, actor, action, subject, payload_digest, prev_hash, key_id, "
    "entry_hash, signature FROM govkit.entries"
)


class PostgresStore(SerialStore):
    def __init__(self, url: str, *, create: bool = True, read_only: bool = False) -> None:
        """Connect; only with `create` is the schema made (readers never write).

        `read_only` makes every transaction of this session read-only, so the server refuses writes.
        """
        import psycopg

        self.url = url
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise GovkitError(
                f"cannot connect to the PostgreSQL audit store: {str(exc).strip()}", field="--db"
            ) from None
        if read_only:
            self.conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        if not create:
            if not self._has_schema():
                self.conn.close()
                raise GovkitError("no govkit audit log in this PostgreSQL database", field="--db")
            return
        with self.conn.transaction():
            self._take_append_lock()  # first use by several writers at once: one creates the schema
            if not self._has_schema():
                self.conn.execute(SCHEMA)
                self.conn.execute(
                    "INSERT INTO govkit.meta (key, value) VALUES ('schema_version', '1'), ('log_id', %s)",
                    [secrets.token_hex(8)],
                )
            elif self._needs_upgrade():
                try:
                    with self.conn.transaction():
                        self.conn.execute(UPGRADE)
                except psycopg.errors.InsufficientPrivilege:
                    pass  # a writer role that does not own the schema: the owner's next open upgrades it

    def _scalar(self, query: str) -> Any:
        """The one value of a query that always returns one row (an aggregate or a test)."""
        row = self.conn.execute(query).fetchone()
        assert row is not None, query
        return row[0]

    def _has_schema(self) -> bool:
        return bool(self._scalar("SELECT to_regclass('govkit.entries') IS NOT NULL"))

    def _needs_upgrade(self) -> bool:
        return not self._scalar(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'checkpoints_no_truncate' AND "
            "tgrelid = to_regclass('govkit.checkpoints')"
        )

    def log_id(self) -> str | None:
        row = self.conn.execute("SELECT value FROM govkit.meta WHERE key = 'log_id'").fetchone()
        return row[0] if row else None

    def _head(self) -> tuple[int, str]:
        row = self.conn.execute("SELECT seq, entry_hash FROM govkit.entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, "0" * 64)

    def _write(self, entry: Entry, body: bytes | None) -> None:
        self.conn.execute(INSERT_ENTRY, [getattr(entry, c) for c in ENTRY_COLUMNS])
        if body is not None:
            self.conn.execute("INSERT INTO govkit.payloads (seq, body) VALUES (%s, %s)", [entry.seq, body])

    def _take_append_lock(self) -> None:
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])

    def append(self, seal: Sealer) -> list[Entry]:
        with self.conn.transaction():
            return self._insert(seal)

    def redact(self, seal: Sealer, seq: int) -> Entry:
        with self.conn.transaction():
            (entry,) = self._insert(seal)
            self.conn.execute("DELETE FROM govkit.payloads WHERE seq = %s", [seq])
        return entry

    def add_checkpoint(self, checkpoint: Checkpoint, frontier: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO govkit.checkpoints (size, root, head, note, frontier) VALUES (%s, %s, %s, %s, %s)",
            [checkpoint.size, checkpoint.root, checkpoint.head, checkpoint.note(), frontier],
        )

    def copy_in(self, log_id: str, rows: Iterable[tuple[Entry, bytes | None]], checkpoints: list[Checkpoint]) -> int:
        count = 0
        with self.conn.transaction():
            self._take_append_lock()
            if self._head()[0]:
                raise GovkitError("the destination audit log is not empty", field="--to")
            for entry, body in rows:
                self._write(entry, body)
                count += 1
            for cp in checkpoints:
                self.add_checkpoint(cp)
            self.conn.execute("UPDATE govkit.meta SET value = %s WHERE key = 'log_id'", [log_id])
        return count

    def size(self) -> int:
        return self._head()[0]

    def scan(self, start: int = 1) -> Iterator[tuple[Entry, bytes | None]]:
        with self.conn.transaction(), self.conn.cursor(name="govkit_scan") as cur:
            cur.itersize = 5000
            cur.execute(SCAN, [start])
            for row in cur:
                yield Entry(*row[:-1]), (bytes(row[-1]) if row[-1] is not None else None)

    def read(self, seq: int) -> tuple[Entry, bytes | None] | None:
        row = self.conn.execute(READ, [seq]).fetchone()
        return (Entry(*row[:-1]), bytes(row[-1]) if row[-1] is not None else None) if row else None

    def read_many(self, seqs: Sequence[int]) -> dict[int, tuple[Entry, bytes | None]]:
        found: dict[int, tuple[Entry, bytes | None]] = {}
        for i in range(0, len(seqs), READ_BATCH):
            for row in self.conn.execute(READ_MANY, [list(seqs[i : i + READ_BATCH])]).fetchall():
                found[row[0]] = (Entry(*row[:-1]), bytes(row[-1]) if row[-1] is not None else None)
        return found

    def find(self, flt: EntryFilter, limit: int | None = None) -> list[Entry]:
        where, params = filter_terms(
            flt, mark="%s", model_prefix="starts_with(subject, %s)", prefix_values=(f"{flt.model}@",)
        )
        query = SELECT_ENTRIES + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
        if limit is not None:
            query += " LIMIT %s"
            params.append(limit)
        return [Entry(*row) for row in self.conn.execute(query, params).fetchall()]

    def payload(self, seq: int) -> bytes | None:
        row = self.conn.execute("SELECT body FROM govkit.payloads WHERE seq = %s", [seq]).fetchone()
        return bytes(row[0]) if row else None

    def checkpoint_notes(self) -> list[str]:
        rows: Any = self.conn.execute("SELECT note FROM govkit.checkpoints ORDER BY id").fetchall()
        return [r[0] for r in rows]

    def latest_checkpoints(self, limit: int) -> list[tuple[str, str | None]]:
        import psycopg

        try:
            rows: Any = self.conn.execute(
                "SELECT note, frontier FROM govkit.checkpoints ORDER BY id DESC LIMIT %s", [limit]
            ).fetchall()
        except psycopg.errors.UndefinedColumn:  # not upgraded yet: no frontiers to resume from
            return []
        return [(r[0], r[1]) for r in rows]

    def close(self) -> None:
        self.conn.close()
