"""Export and verify an evidence bundle for a log of 100,000 entries.

Target (issue: auditor evidence export): exporting a 100,000-entry log in under 30 s. The
reference beside it is the floor for any exporter: reading the same rows from SQLite and
zipping the same bytes with the standard library.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import zipfile
from pathlib import Path

from govkit.audit.log import AuditLog
from govkit.evidence.export import Scope, export_bundle
from govkit.evidence.verify import verify

ENTRIES = 100_000
BATCH = 2_000


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    os.environ.setdefault("GOVKIT_KEY", str(folder / "key.pem"))
    db = folder / "big.db"
    start = time.perf_counter()
    with AuditLog(db) as log:
        for b in range(ENTRIES // BATCH):
            log.append_many(
                [
                    (
                        "evaluation.note",
                        f"model-{(b * BATCH + i) % 50}@1.0",
                        {"i": b * BATCH + i, "verdict": "pass", "note": "x" * 120},
                    )
                    for i in range(BATCH)
                ]
            )
        build = time.perf_counter() - start
        start = time.perf_counter()
        result = export_bundle(log, Scope(), folder / "bundle.zip", [])
        export_s = time.perf_counter() - start
    start = time.perf_counter()
    lines = verify(folder / "bundle.zip")
    verify_s = time.perf_counter() - start
    start = time.perf_counter()
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT e.*, p.body FROM entries e LEFT JOIN payloads p USING (seq)").fetchall()
    with zipfile.ZipFile(folder / "floor.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("rows.txt", "\n".join(repr(r) for r in rows))
        for r in rows:
            z.writestr(f"p/{r[0]}.json", r[-1])
    floor = time.perf_counter() - start
    size = (folder / "bundle.zip").stat().st_size
    print(f"{'step':<52} {'seconds':>8}")
    print(f"{'build the log (' + format(result.entries - 1, ',') + ' entries, batches of 2,000)':<52} {build:>8.2f}")
    print(f"{'govkit export (whole log, BagIt zip, signed)':<52} {export_s:>8.2f}")
    print(f"{'verify.py on the bundle':<52} {verify_s:>8.2f}")
    print(f"{'floor: read rows + zip the same payloads (stdlib)':<52} {floor:>8.2f}")
    print(
        f"export / floor: {export_s / floor:.2f}x; bundle {size / 1e6:.1f} MB; {len(lines)} checks passed; "
        f"target < 30 s: {'OK' if export_s < 30 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
