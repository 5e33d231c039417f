"""Audit log throughput beside raw sqlite3 doing the same durable per-entry commits.

Targets (issue: audit log): >= 1,500 durable appends/s with one writer; >= 10,000 entries/s verified
(default verify, which checks one by one only the signatures above the newest verified checkpoint;
`--full` checks all); `log checkpoint` costs the entries since the last one, not the log's size.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

from govkit.audit.log import AuditLog

SINGLE = 3000
PER_WRITER = 750
WRITERS = 4
VERIFY_N = 30_000
CHECKPOINT_AT = (1_000, 10_000, VERIFY_N)
TAIL = 100  # entries appended after the newest checkpoint before verifying
PG_SINGLE = 2000
PG_PER_WRITER = 250
PAYLOAD = {"model": "credit-scorer", "verdict": "pass", "counts": {"pass": 12, "fail": 0}, "note": "x" * 200}


def raw_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY, h TEXT, body BLOB)")
    return conn


def raw_appends(path: str, n: int) -> None:
    conn = raw_connect(Path(path))
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (h, body) VALUES (?, ?)", [secrets.token_hex(32), b"x" * 300])
        conn.execute("COMMIT")
    conn.close()


def govkit_appends(path: str, n: int) -> None:
    with AuditLog(path) as log:
        for i in range(n):
            log.append("bench.event", "credit-scorer@2.1.0", {**PAYLOAD, "i": i})


def timed_parallel(fn, path: Path | str, writers: int, per_writer: int) -> float:
    ctx = get_context("spawn")
    procs = [ctx.Process(target=fn, args=(str(path), per_writer)) for _ in range(writers)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    return writers * per_writer / (time.perf_counter() - start)


def postgres_rates(tmp: Path) -> tuple[float, float]:
    """appends/s on a throwaway PostgreSQL server on loopback: 1 writer, then 8."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from postgres_server import new_database, postgres_server

    with postgres_server() as base:
        one, eight = new_database(base), new_database(base)
        for url in (one, eight):
            with AuditLog(url) as log:
                log.append("bench.start", "x@1", {})
        start = time.perf_counter()
        govkit_appends(one, PG_SINGLE)
        single = PG_SINGLE / (time.perf_counter() - start)
        multi = timed_parallel(govkit_appends, eight, 8, PG_PER_WRITER)  # type: ignore[arg-type]
    return single, multi


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    os.environ.setdefault("GOVKIT_KEY", str(tmp / "bench-key.pem"))
    raw_connect(tmp / "raw1.db").close()
    with AuditLog(tmp / "gk1.db") as log:
        log.append("bench.start", "x@1", {})  # key registration outside the timing
    with AuditLog(tmp / "gk4.db") as log:
        log.append("bench.start", "x@1", {})
    raw_connect(tmp / "raw4.db").close()

    rows = []
    start = time.perf_counter()
    raw_appends(str(tmp / "raw1.db"), SINGLE)
    raw1 = SINGLE / (time.perf_counter() - start)
    start = time.perf_counter()
    govkit_appends(str(tmp / "gk1.db"), SINGLE)
    gk1 = SINGLE / (time.perf_counter() - start)
    rows.append(("durable appends/s, 1 writer", gk1, raw1))
    raw4 = timed_parallel(raw_appends, tmp / "raw4.db", WRITERS, PER_WRITER)
    gk4 = timed_parallel(govkit_appends, tmp / "gk4.db", WRITERS, PER_WRITER)
    rows.append((f"durable appends/s, {WRITERS} writers", gk4, raw4))

    checkpoint_ms = []
    with AuditLog(tmp / "verify.db") as log:
        batch = [("bench.event", "credit-scorer@2.1.0", PAYLOAD)] * 1000
        for target in CHECKPOINT_AT:
            while log.store.size() < target:
                log.append_many(batch)
            log.checkpoint()  # verifies and covers the entries since the previous checkpoint
            log.append("bench.event", "credit-scorer@2.1.0", PAYLOAD)
            start = time.perf_counter()
            log.checkpoint()
            checkpoint_ms.append((log.store.size(), (time.perf_counter() - start) * 1000))
        log.append_many(batch[:TAIL])
        start = time.perf_counter()
        result = log.verify()
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        full = log.verify(full=True)
        elapsed_full = time.perf_counter() - start
        assert result.ok and full.ok
    # reference for verify: raw sqlite3 reading the same rows (the floor for any verifier)
    conn = sqlite3.connect(tmp / "verify.db")
    start = time.perf_counter()
    count = sum(1 for _ in conn.execute("SELECT e.*, p.body FROM entries e LEFT JOIN payloads p USING (seq)"))
    read = count / (time.perf_counter() - start)
    rows.append((f"entries/s verified, default ({result.signatures_checked} sigs)", result.size / elapsed, read))
    rows.append((f"entries/s verified, --full ({full.signatures_checked} sigs)", full.size / elapsed_full, read))

    pg1, pg8 = postgres_rates(tmp)
    print(f"{'measure':<40} {'govkit':>10} {'raw sqlite3':>12} {'ratio':>7}")
    for name, ours, ref in rows:
        print(f"{name:<40} {ours:>10,.0f} {ref:>12,.0f} {ours / ref:>7.2f}")
    print(f"{'PostgreSQL store, appends/s, 1 writer':<40} {pg1:>10,.0f}")
    print(f"{'PostgreSQL store, appends/s, 8 writers':<40} {pg8:>10,.0f}")
    for size, ms in checkpoint_ms:
        print(f"{f'checkpoint after 1 append, {size:,} entries':<40} {ms:>8,.1f} ms")
    print(
        "(raw sqlite3: same WAL + synchronous=FULL + BEGIN IMMEDIATE per entry, no hashing or signing;"
        " for verify, just reading the rows)"
    )
    ok1 = gk1 >= 1500
    okv = result.size / elapsed >= 10_000
    print(
        f"targets: >= 1,500 appends/s: {'OK' if ok1 else 'MISSED'};"
        f" >= 10,000 verified/s (default): {'OK' if okv else 'MISSED'}"
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
