"""`govkit serve` on a large log: server-side time of the portfolio page and a model page.

Target (issue #17, scale): on the log of benchmarks/inventory.py (1,000 models x 10 versions x 20
evaluations, built once into benchmarks/.cache), the portfolio page and a model page in under
300 ms server side (medians), on SQLite and PostgreSQL. The requests go through the whole ASGI
application (security middleware, routing, inventory, templates) in one process with Starlette's
TestClient, so the time is the server's, without a network.

The first request at a log position builds the verified inventory (from the inventory's signed
cache when there is one); later requests reuse it until the log moves (`web/source.py` keys it by
the log's size and head hash), and the first request after an append walks and folds only what is
new, from the folded index the server keeps. Measured 2026-12-01 evening on the 2-core development
machine, quiet, 210,101 entries, medians of 15 (SQLite / PostgreSQL): portfolio page 19 / 19 ms,
filtered 6 / 6 ms, model page 23 / 34 ms; the first request at a log position 1.2 / 1.8 s, the first
after an append 0.92 / 1.27 s (before the server kept its folded index: 3.5-3.8 / 5.2-6.2 s), the
first request for a model 82 / 179 ms.

Usage: python benchmarks/web.py [--models N] [--db PATH] [--postgres]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from govkit.audit.log import AuditLog
from govkit.audit.records import EVALUATION_RECORDED
from govkit.inventory.interface import build_inventory
from govkit.web.app import Settings, create_app
from govkit.web.security import Guard
from govkit.web.source import LogSource, ViewerLog

RUNS = 15
TARGET = 0.300


def median_get(client: TestClient, path: str) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return statistics.median(times)


def measure(location: str, key: Path, store: str) -> bool:
    """Print the table for the log at `location`; whether every page median met the target."""
    with AuditLog(location, key_path=key, create=False) as log:
        start = time.perf_counter()
        inventory = build_inventory(log)
        uncached = time.perf_counter() - start
    model = inventory.models[len(inventory.models) // 2].name
    source = LogSource(ViewerLog(location, key_path=key, trusted_key=None))
    app = Guard(create_app(source, Settings((), location)), token=None, loopback=True)
    rows = [("build_inventory alone (what a page would cost without the page cache)", uncached)]
    with TestClient(app, base_url="http://127.0.0.1") as client:
        start = time.perf_counter()
        assert client.get("/").status_code == 200
        rows.append(("first request at this log position (builds the inventory)", time.perf_counter() - start))
        portfolio = median_get(client, "/")
        filtered = median_get(client, "/?team=lending&q=model-00")
        start = time.perf_counter()
        assert client.get(f"/models/{model}").status_code == 200
        rows.append((f"first request for {model} (reads its evaluations)", time.perf_counter() - start))
        model_page = median_get(client, f"/models/{model}")
        with AuditLog(location, key_path=key, create=False) as writer:  # a new run of one version
            newest = writer.entries(model=model, action=EVALUATION_RECORDED)[-1]
            writer.append(EVALUATION_RECORDED, newest.subject, writer.read_verified(newest))
        start = time.perf_counter()
        assert client.get("/").status_code == 200
        rows.append(("first request after an append (walks and folds what is new)", time.perf_counter() - start))
    source.close()
    rows += [
        (f"portfolio page, median of {RUNS}", portfolio),
        (f"portfolio page filtered by team and search, median of {RUNS}", filtered),
        (f"model page, median of {RUNS}", model_page),
    ]
    size = inventory.log_position.size
    print(f"{f'{store}: {size:,} entries, {len(inventory.models)} models':<70} {'ms':>8}")
    for label, seconds in rows:
        print(f"  {label:<68} {seconds * 1000:>8.0f}")
    print(f"  {'portfolio page vs build_inventory':<68} {uncached / portfolio:>7.0f}x")
    return max(portfolio, filtered, model_page) < TARGET


def on_postgres(path: Path, key: Path) -> bool:
    """The same log copied into a fresh PostgreSQL database (entries exactly as they are), measured."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from postgres_server import new_database, postgres_server

    with postgres_server() as base:
        location = new_database(base)
        with AuditLog(path, key_path=key, create=False) as src, AuditLog(location, key_path=key) as dst:
            dst.store.copy_in(src.store.log_id() or "", src.store.scan(), src.stored_checkpoints()[0])
        return measure(location, key, "PostgreSQL")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--db", type=Path, help="an existing benchmark log (its key beside it, NAME.pem)")
    parser.add_argument("--postgres", action="store_true", help="also copy the log into PostgreSQL and measure")
    args = parser.parse_args()
    if args.db is None:
        sys.path.insert(0, str(Path(__file__).parent))
        from inventory import cached  # the same cached log as the inventory benchmark

        path = cached(args.models)
    else:
        path = args.db
    key = path.with_suffix(".pem")
    with tempfile.TemporaryDirectory() as scratch:  # the measurement appends: not to the cached log
        copy = Path(scratch) / path.name
        for suffix in ("", ".inventory-cache.json"):
            if Path(f"{path}{suffix}").exists():
                shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
        ok = measure(str(copy), key, "SQLite")
    if args.postgres:
        ok = on_postgres(path, key) and ok
    print(f"target: pages < {TARGET * 1000:.0f} ms server side: {'OK' if ok else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
