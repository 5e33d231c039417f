"""Baselines: adopt govkit on a model with known problems, and fail only on new ones.

A fingerprint names a finding by rule, model and subject (dataset, dependency, cohort), never
by the measured value, so a metric that drifts does not churn the baseline. A baseline never
carries a reason or an approver: what should stay accepted for good belongs in a waiver.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from govkit.canonical import digest, sha256_hex
from govkit.errors import GovkitError
from govkit.jsonio import load_json
from govkit.vocab import BASELINE_OPEN

BASELINE_VERSION = 1
MAX_BASELINE_BYTES = 64 << 20  # one short line per accepted finding: ~200,000 of them
OPEN_STATUSES = BASELINE_OPEN


def fingerprint(rule_id: str, model: str, subject: str) -> str:
    return digest(["govkit-finding/v1", rule_id, model, subject])[:32]


@dataclass(frozen=True)
class Baseline:
    path: Path | None
    sha256: str | None
    entries: dict[str, dict[str, Any]]  # fingerprint -> {rule_id, model, subject, first_seen}

    def __contains__(self, fp: str) -> bool:
        return fp in self.entries


def load_baseline(path: Path) -> Baseline:
    data, raw = load_json(path, limit=MAX_BASELINE_BYTES, too_large="not a govkit baseline")
    if (
        not isinstance(data, dict)
        or data.get("version") != BASELINE_VERSION
        or not isinstance(data.get("findings"), list)
    ):
        raise GovkitError(f"not a govkit baseline (expected version {BASELINE_VERSION} and 'findings')", file=path)
    entries = {}
    for i, item in enumerate(data["findings"]):
        if not isinstance(item, dict) or not isinstance(item.get("fingerprint"), str):
            raise GovkitError("entry has no fingerprint", file=path, field=f"findings[{i}]")
        entries[item["fingerprint"]] = item
    return Baseline(path=path, sha256=sha256_hex(raw), entries=entries)


def open_findings(evaluation_findings: list[dict[str, Any]], model: str) -> dict[str, dict[str, Any]]:
    today = datetime.now(UTC).date().isoformat()
    return {
        f["fingerprint"]: {
            "fingerprint": f["fingerprint"],
            "rule_id": f["rule_id"],
            "model": model,
            "subject": f["subject"],
            "first_seen": today,
        }
        for f in evaluation_findings
        if f["status"] in OPEN_STATUSES
    }


def write_baseline(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    doc = {
        "version": BASELINE_VERSION,
        "findings": sorted(entries.values(), key=lambda e: (e["rule_id"], e["model"], e["subject"])),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
