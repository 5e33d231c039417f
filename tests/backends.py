"""The audit stores under test, with the raw access an attacker with write access would have."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SQLITE_TRIGGERS = [
    "entries_no_update",
    "entries_no_delete",
    "entries_dense",
    "payloads_no_update",
    "payloads_redact_only",
    "checkpoints_no_update",
    "checkpoints_no_delete",
]


@dataclass
class Raw:
    """SQL with `?` placeholders against a store whose guard triggers were switched off."""

    conn: Any
    style: str

    def execute(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> Any:
        if self.style == "postgres":
            sql = sql.replace("?", "%s")
        return self.conn.execute(sql, params)


class SqliteBackend:
    name = "sqlite"
    guard_error: type[Exception] = sqlite3.DatabaseError

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.count = 0

    def new_location(self) -> str:
        self.count += 1
        return str(self.tmp / f"audit{self.count}.db")

    def guarded(self, location: str) -> Raw:
        return Raw(sqlite3.connect(location, isolation_level=None), "sqlite")

    def raw(self, location: str) -> Raw:
        conn = sqlite3.connect(location, isolation_level=None)
        for name in SQLITE_TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        return Raw(conn, "sqlite")


class PostgresBackend:
    name = "postgres"

    def __init__(self, base: str) -> None:
        import psycopg

        self.base = base
        self.guard_error = psycopg.Error

    def new_location(self) -> str:
        from postgres_server import new_database

        return new_database(self.base)

    def guarded(self, location: str) -> Raw:
        import psycopg

        conn = psycopg.connect(location, autocommit=True)
        conn.execute("SET search_path TO govkit")
        return Raw(conn, "postgres")

    def raw(self, location: str) -> Raw:
        raw = self.guarded(location)
        for table in ("entries", "payloads", "checkpoints"):
            raw.conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        raw.conn.execute("ALTER TABLE payloads DROP CONSTRAINT IF EXISTS payloads_seq_fkey")
        return raw
