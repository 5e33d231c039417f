"""What every area chapter shows first: its findings, worst first, each as a sentence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govkit.evaluation import STATUSES
from govkit.formats.sentences import finding_sentence
from govkit.report.rules import RulesInForce

ATTENTION = frozenset({"fail", "error", "warn"})


def area_findings(evaluation: Mapping[str, Any], area: str, rules: RulesInForce) -> list[dict[str, Any]]:
    items = [f for f in evaluation["findings"] if f["area"] == area]
    items.sort(key=lambda f: (not f["blocking"], STATUSES.index(f["status"]), f["rule_id"], f["subject"]))
    return [{**f, "sentence": finding_sentence(f, evaluation["measurements"], rules.params_of(f))} for f in items]


def has_area(evaluation: Mapping[str, Any], area: str) -> bool:
    return area in evaluation["measurements"] or any(f["area"] == area for f in evaluation["findings"])
