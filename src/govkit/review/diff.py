"""Compare two recorded evaluations: what an officer re-approving a model needs to see changed.

Per-cohort rates are compared from the confusion counts each evaluation stores, with the same
two-proportion test the fairness check uses for gaps (`gap_significance`: a pooled z-test, or
Fisher's exact test when an expected cell is under 5). Summary metrics (parity ratios and
differences) have no counts of their own; their change is called significant when the two
stored 95% bootstrap intervals do not overlap, a conservative test that says so in the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

ALPHA = 0.05
COHORT_RATES = ("selection_rate", "tpr", "fpr", "accuracy")
# (numerator cells, denominator cells) of each rate, from the stored tn/fp/fn/tp
_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "selection_rate": (("fp", "tp"), ("tn", "fp", "fn", "tp")),
    "tpr": (("tp",), ("fn", "tp")),
    "fpr": (("fp",), ("tn", "fp")),
    "accuracy": (("tn", "tp"), ("tn", "fp", "fn", "tp")),
}
_OK = ("pass", "skipped")  # statuses that are not a finding an officer must look at
Kind = Literal["new", "resolved", "changed"]


@dataclass(frozen=True)
class FindingChange:
    kind: Kind
    rule_id: str
    subject: str
    title: str
    before: str | None  # status in the earlier evaluation (None: no such finding)
    after: str | None
    measured_before: Any
    measured_after: Any
    message: str  # the later message (the earlier one for a resolved finding)


@dataclass(frozen=True)
class RateChange:
    """One rate of one cohort in both evaluations."""

    feature: str
    group: str
    metric: str
    before: float | None
    after: float | None
    counts_before: tuple[int, int]  # (successes, trials)
    counts_after: tuple[int, int]
    delta: float | None
    p_value: float | None
    test: str | None  # "z-test" | "fisher" | None when a side has no trials
    significant: bool


@dataclass(frozen=True)
class SummaryChange:
    feature: str
    metric: str
    before: float | None
    after: float | None
    ci_before: tuple[float | None, float | None] | None
    ci_after: tuple[float | None, float | None] | None
    delta: float | None
    significant: bool  # the 95% intervals do not overlap


@dataclass(frozen=True)
class ValueChange:
    what: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Comparison:
    before: Mapping[str, Any]  # {"digest", "model", "version", "created_at", "verdict"}
    after: Mapping[str, Any]
    verdict_changed: bool
    findings: tuple[FindingChange, ...]
    rates: tuple[RateChange, ...]
    summaries: tuple[SummaryChange, ...]
    cohorts_added: tuple[str, ...]  # "feature: group" only in the later evaluation
    cohorts_removed: tuple[str, ...]
    policy: tuple[ValueChange, ...]
    inputs: tuple[ValueChange, ...]  # data, model artifact, manifest, requirements digests

    @property
    def significant_rates(self) -> list[RateChange]:
        return [r for r in self.rates if r.significant]

    @property
    def unchanged(self) -> bool:
        return not (
            self.verdict_changed
            or self.findings
            or self.significant_rates
            or any(s.significant for s in self.summaries)
            or self.cohorts_added
            or self.cohorts_removed
            or self.policy
            or self.inputs
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": dict(self.before),
            "after": dict(self.after),
            "verdict_changed": self.verdict_changed,
            "unchanged": self.unchanged,
            "significance": {
                "alpha": ALPHA,
                "cohort_rates": "two-sided two-proportion test on the stored counts "
                "(pooled z-test; Fisher's exact test when an expected cell is under 5), "
                "each rate tested on its own (no multiple-comparison correction)",
                "summary_metrics": "the 95% bootstrap intervals of the two evaluations do not overlap",
            },
            "findings": [asdict(f) for f in self.findings],
            "cohort_rates": [asdict(r) for r in self.rates],
            "summary_metrics": [asdict(s) for s in self.summaries],
            "cohorts_added": list(self.cohorts_added),
            "cohorts_removed": list(self.cohorts_removed),
            "policy": [asdict(c) for c in self.policy],
            "inputs": [asdict(c) for c in self.inputs],
        }


def _identity(evaluation: Mapping[str, Any], digest: str) -> dict[str, Any]:
    model = evaluation["model"]
    return {
        "digest": digest,
        "model": model["name"],
        "version": model["version"],
        "team": evaluation["team"],
        "created_at": evaluation["created_at"],
        "verdict": evaluation["verdict"],
        "policy": f"{evaluation['policy']['name']} {evaluation['policy']['version']}",
    }


def _findings(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> list[FindingChange]:
    """Findings matched by rule and subject; a finding that passes (or was skipped) is no finding."""
    before = {(f["rule_id"], f["subject"]): f for f in a}
    after = {(f["rule_id"], f["subject"]): f for f in b}
    out = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        old_problem = old is not None and old["status"] not in _OK
        new_problem = new is not None and new["status"] not in _OK
        if new_problem and not old_problem:
            kind: Kind = "new"
        elif old_problem and not new_problem:
            kind = "resolved"
        elif old_problem and new_problem and old is not None and new is not None:
            if old["status"] == new["status"] and old.get("measured") == new.get("measured"):
                continue
            kind = "changed"
        else:
            continue
        shown = new if new is not None and kind != "resolved" else old
        assert shown is not None
        out.append(
            FindingChange(
                kind=kind,
                rule_id=key[0],
                subject=key[1],
                title=str(shown.get("title", "")),
                before=old["status"] if old else None,
                after=new["status"] if new else None,
                measured_before=old.get("measured") if old else None,
                measured_after=new.get("measured") if new else None,
                message=str(shown.get("message", "")),
            )
        )
    return out


def _parts(group: Mapping[str, Any], metric: str) -> tuple[int, int]:
    num, den = _PARTS[metric]
    return sum(int(group[c]) for c in num), sum(int(group[c]) for c in den)


def _rate_change(feature: str, label: str, metric: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> RateChange:
    from govkit.checks.fairness.metrics import gap_significance

    k1, n1 = _parts(old, metric)
    k2, n2 = _parts(new, metric)
    before = k1 / n1 if n1 else None
    after = k2 / n2 if n2 else None
    test = gap_significance(k1, n1, k2, n2)
    return RateChange(
        feature=feature,
        group=label,
        metric=metric,
        before=before,
        after=after,
        counts_before=(k1, n1),
        counts_after=(k2, n2),
        delta=after - before if before is not None and after is not None else None,
        p_value=test.p_value if test else None,
        test=test.test if test else None,
        significant=bool(test and test.p_value < ALPHA),
    )


def _overlap(a: Sequence[float | None] | None, b: Sequence[float | None] | None) -> bool | None:
    if not a or not b or None in (*a, *b):
        return None
    lo1, hi1, lo2, hi2 = (float(x) for x in (*a, *b) if x is not None)
    return lo1 <= hi2 and lo2 <= hi1


def _tables(evaluation: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    fairness = evaluation.get("measurements", {}).get("fairness") or {}
    return {t["feature"]: t for t in fairness.get("tables", ())}


def _cohorts(
    a: Mapping[str, Any], b: Mapping[str, Any]
) -> tuple[list[RateChange], list[SummaryChange], list[str], list[str]]:
    rates: list[RateChange] = []
    summaries: list[SummaryChange] = []
    added: list[str] = []
    removed: list[str] = []
    old_tables, new_tables = _tables(a), _tables(b)
    for feature in [f for f in old_tables if f not in new_tables]:
        removed += [f"{feature}: {g['group']}" for g in old_tables[feature]["groups"]]
    for feature, new_table in new_tables.items():
        old_table = old_tables.get(feature)
        if old_table is None:
            added += [f"{feature}: {g['group']}" for g in new_table["groups"]]
            continue
        old_groups = {g["group"]: g for g in old_table["groups"]}
        new_groups = {g["group"]: g for g in new_table["groups"]}
        removed += [f"{feature}: {label}" for label in old_groups if label not in new_groups]
        added += [f"{feature}: {label}" for label in new_groups if label not in old_groups]
        for label, group in new_groups.items():
            if label in old_groups:
                rates += [_rate_change(feature, label, m, old_groups[label], group) for m in COHORT_RATES]
        old_summary, new_summary = old_table.get("summary", {}), new_table.get("summary", {})
        for metric, new_value in new_summary.items():
            old_value = old_summary.get(metric)
            if not (isinstance(new_value, dict) and isinstance(old_value, dict) and "value" in new_value):
                continue
            before, after = old_value.get("value"), new_value.get("value")
            overlap = _overlap(old_value.get("ci"), new_value.get("ci"))
            summaries.append(
                SummaryChange(
                    feature=feature,
                    metric=metric,
                    before=before,
                    after=after,
                    ci_before=tuple(old_value["ci"]) if old_value.get("ci") else None,
                    ci_after=tuple(new_value["ci"]) if new_value.get("ci") else None,
                    delta=after - before if before is not None and after is not None else None,
                    significant=overlap is False,
                )
            )
    return rates, summaries, added, removed


def _changes(pairs: Iterable[tuple[str, Any, Any]]) -> list[ValueChange]:
    return [ValueChange(what, old, new) for what, old, new in pairs if old != new]


def _policy(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[ValueChange]:
    pa, pb = a["policy"], b["policy"]
    files_a = {s["path"]: s["sha256"] for s in pa.get("sources", ())}
    files_b = {s["path"]: s["sha256"] for s in pb.get("sources", ())}
    pairs = [
        ("policy", f"{pa['name']} {pa['version']}", f"{pb['name']} {pb['version']}"),
        ("policy digest", pa.get("digest"), pb.get("digest")),
        ("overlays", list(pa.get("layers", ())), list(pb.get("layers", ()))),
        ("team", a["team"], b["team"]),
        ("fail on", a.get("fail_on"), b.get("fail_on")),
    ]
    pairs += [(f"policy file {p}", files_a.get(p), files_b.get(p)) for p in sorted(files_a.keys() | files_b.keys())]
    return _changes(pairs)


def _inputs(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[ValueChange]:
    files_a, files_b = a["inputs"].get("files", {}), b["inputs"].get("files", {})
    pairs = [("model version", a["model"]["version"], b["model"]["version"])]
    for name in sorted(files_a.keys() | files_b.keys()):
        old, new = files_a.get(name) or {}, files_b.get(name) or {}
        pairs.append((f"{name} sha256", old.get("sha256"), new.get("sha256")))
        pairs.append((f"{name} path", old.get("path"), new.get("path")))
    waivers_a, waivers_b = a["inputs"].get("waivers") or {}, b["inputs"].get("waivers") or {}
    pairs.append(("waivers sha256", waivers_a.get("sha256"), waivers_b.get("sha256")))
    return _changes(pairs)


def compare(a: Mapping[str, Any], digest_a: str, b: Mapping[str, Any], digest_b: str) -> Comparison:
    """What changed from evaluation `a` (earlier, e.g. the last approved) to `b` (recorded dicts)."""
    rates, summaries, added, removed = _cohorts(a, b)
    return Comparison(
        before=_identity(a, digest_a),
        after=_identity(b, digest_b),
        verdict_changed=a["verdict"] != b["verdict"],
        findings=tuple(_findings(a["findings"], b["findings"])),
        rates=tuple(rates),
        summaries=tuple(summaries),
        cohorts_added=tuple(added),
        cohorts_removed=tuple(removed),
        policy=tuple(_policy(a, b)),
        inputs=tuple(_inputs(a, b)),
    )
