"""`govkit serve` on a large log: server-side time of the portfolio page and a model page.

Target (issue #17, scale): on the log of benchmarks/inventory.py (1,000 models x 10 versions x 20
evaluations, 200,000 entries, built once into benchmarks/.cache), the portfolio page and a model
page in under 300 ms server side (medians). The requests go through the whole ASGI application
(security middleware, routing, inventory, templates) in one process with Starlette's TestClient,
so the time is the server's, without a network. The first request at a log position builds the
verified inventory (the chain walk); later requests reuse it until the log moves, so the table
shows both, beside `build_inventory` alone (what a page would cost without that cache).

Usage: python benchmarks/web.py [--models N] [--db PATH]  (PATH: a log built by benchmarks/inventory.py)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from starlette.testclient import TestClient

from govkit.audit.log import AuditLog
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--db", type=Path, help="an existing benchmark log (its key beside it, KEY.pem)")
    args = parser.parse_args()
    if args.db is None:
        sys.path.insert(0, str(Path(__file__).parent))
        from inventory import cached  # the same cached 200k-entry log as the inventory benchmark

        path = cached(args.models)
    else:
        path = args.db
    key = path.with_suffix(".pem")
    with AuditLog(path, key_path=key, create=False) as log:
        start = time.perf_counter()
        inventory = build_inventory(log)
        uncached = time.perf_counter() - start
    model = inventory.models[len(inventory.models) // 2].name
    source = LogSource(ViewerLog(str(path), key_path=key, trusted_key=None))
    app = Guard(create_app(source, Settings((path.parent,), str(path))), token=None, loopback=True)
    rows = []
    with TestClient(app, base_url="http://127.0.0.1") as client:
        start = time.perf_counter()
        assert client.get("/").status_code == 200
        rows.append(("first request at this log position (builds the inventory)", time.perf_counter() - start))
        portfolio = median_get(client, "/")
        filtered = median_get(client, "/?team=lending&q=model-00")
        first_model = time.perf_counter()
        assert client.get(f"/models/{model}").status_code == 200
        rows.append((f"first model page ({model}: reads its 200 evaluations)", time.perf_counter() - first_model))
        model_page = median_get(client, f"/models/{model}")
    source.close()
    size = inventory.log_position.size
    print(f"{'measure (' + format(size, ',') + ' entries, ' + str(len(inventory.models)) + ' models)':<64} {'ms':>8}")
    print(f"{'build_inventory alone (no cache)':<64} {uncached * 1000:>8.0f}")
    for label, seconds in rows:
        print(f"{label:<64} {seconds * 1000:>8.0f}")
    print(f"{f'portfolio page, median of {RUNS}':<64} {portfolio * 1000:>8.0f}   {uncached / portfolio:.0f}x faster")
    print(f"{f'portfolio page filtered by team and search, median of {RUNS}':<64} {filtered * 1000:>8.0f}")
    print(f"{f'model page, median of {RUNS}':<64} {model_page * 1000:>8.0f}")
    ok = max(portfolio, filtered, model_page) < TARGET
    print(f"target: pages < {TARGET * 1000:.0f} ms server side: {'OK' if ok else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
