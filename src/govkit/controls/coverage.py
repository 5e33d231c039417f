"""Coverage: for each control, the rules that evidence it and their latest result per model.

The rules come from the policy as resolved now (a control no enabled rule cites is "not
covered"); the results come from the audit log, each evaluation read through
`AuditLog.read_verified`, so a forged row can never show up as evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from govkit.audit.log import AuditLog
from govkit.audit.records import EVALUATION_RECORDED
from govkit.controls.catalogue import Catalogues
from govkit.policy.loader import ResolvedPolicy

Result = Literal["pass", "fail", "waived", "not evaluated", "not covered"]
# a finding's status -> what it says about the control; baselined findings still fail it
_RESULT_OF = {"fail": "fail", "error": "fail", "baselined": "fail", "waived": "waived", "warn": "pass", "pass": "pass"}
_WORST_FIRST: tuple[Result, ...] = ("fail", "waived", "pass")


@dataclass(frozen=True)
class EvaluatedModel:
    name: str
    subject: str  # name@version of the latest evaluation
    digest: str
    created_at: str
    statuses: Mapping[str, tuple[str, ...]]  # rule id -> the statuses of its findings
    monitoring: str | None = None  # digest of the `govkit monitor` run whose results are merged in


@dataclass(frozen=True)
class Row:
    control: str
    title: str
    rules: tuple[str, ...]
    results: tuple[Result, ...]  # one per model, in Coverage.models order


@dataclass(frozen=True)
class Coverage:
    policy: str
    team: str | None
    frameworks: tuple[str, ...]
    models: tuple[EvaluatedModel, ...]
    rows: tuple[Row, ...]

    def uncovered(self, framework: str) -> list[str]:
        return [r.control for r in self.rows if not r.rules and r.control.startswith(framework + ":")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "team": self.team,
            "frameworks": list(self.frameworks),
            "models": [
                {
                    "name": m.name,
                    "subject": m.subject,
                    "evaluation_digest": m.digest,
                    "created_at": m.created_at,
                    **({"monitoring_evaluation_digest": m.monitoring} if m.monitoring else {}),
                }
                for m in self.models
            ],
            "controls": [
                {
                    "control": r.control,
                    "title": r.title,
                    "rules": list(r.rules),
                    "results": {m.name: res for m, res in zip(self.models, r.results, strict=True)},
                }
                for r in self.rows
            ],
        }


def _purpose(evaluation: Mapping[str, Any]) -> str:
    return str(evaluation.get("options", {}).get("purpose", "gate"))


def _merged(gate: EvaluatedModel | None, monitor: EvaluatedModel | None) -> EvaluatedModel:
    """The gate run's column with the monitoring rules' results of the newest `govkit monitor` run.

    A monitor run judges only the monitoring rules and a gate run never does, so "the latest
    result" of a rule comes from the latest run that judges it; the newer run wins a shared rule.
    """
    if gate is None or monitor is None:
        found = gate or monitor
        assert found is not None
        return found
    older, newer = sorted((gate, monitor), key=lambda m: m.created_at)
    return replace(gate, statuses={**older.statuses, **newer.statuses}, monitoring=monitor.digest)


def latest_evaluations(log: AuditLog, *, team: str | None, models: Sequence[str] = ()) -> list[EvaluatedModel]:
    """For each model (by name) of `team`, its newest gate evaluation merged with its newest
    monitoring run (see `_merged`); every evaluation used is verified first."""
    found: dict[tuple[str, str], EvaluatedModel] = {}
    wanted = set(models)
    entries = log.entries(action=EVALUATION_RECORDED, model=models[0] if len(models) == 1 else None)
    for entry in reversed(entries):
        stored = (log.payload(entry.seq) or {}).get("evaluation")  # unverified: only to choose what to verify
        if not isinstance(stored, dict) or (team is not None and stored.get("team") != team):
            continue
        name = str(stored.get("model", {}).get("name"))
        if (name, _purpose(stored)) in found or (wanted and name not in wanted):
            continue
        payload = log.read_verified(entry)
        evaluation = payload["evaluation"]
        if (team is not None and evaluation["team"] != team) or evaluation["model"]["name"] != name:
            continue
        found[(name, _purpose(evaluation))] = evaluated(evaluation, payload["evaluation_digest"])
    names = sorted({name for name, _ in found})
    return [_merged(found.get((name, "gate")), found.get((name, "monitor"))) for name in names]


def _result(rules: Sequence[str], model: EvaluatedModel) -> Result:
    """A control fails if any of its rules fails, is waived if any is waived, passes if one passes."""
    if not rules:
        return "not covered"
    seen = {_RESULT_OF[s] for rule in rules for s in model.statuses.get(rule, ()) if s in _RESULT_OF}
    return next((r for r in _WORST_FIRST if r in seen), "not evaluated")


def evaluated(evaluation: Mapping[str, Any], digest: str) -> EvaluatedModel:
    """One recorded evaluation (already verified by the caller) as a coverage column."""
    statuses: dict[str, tuple[str, ...]] = {}
    for finding in evaluation["findings"]:
        statuses[finding["rule_id"]] = (*statuses.get(finding["rule_id"], ()), finding["status"])
    model = evaluation["model"]
    return EvaluatedModel(
        name=str(model["name"]),
        subject=f"{model['name']}@{model['version']}",
        digest=digest,
        created_at=evaluation["created_at"],
        statuses=statuses,
    )


def build(
    policy: ResolvedPolicy, catalogues: Catalogues, models: Sequence[EvaluatedModel], frameworks: Sequence[str] = ()
) -> Coverage:
    rules = [(rule.id, rule.controls) for rule in policy.rules if rule.enabled]
    return build_from_rules(f"{policy.name} {policy.version}", policy.team, rules, catalogues, models, frameworks)


def build_from_rules(
    policy: str,
    team: str | None,
    rules: Sequence[tuple[str, Sequence[str]]],
    catalogues: Catalogues,
    models: Sequence[EvaluatedModel],
    frameworks: Sequence[str] = (),
) -> Coverage:
    """The matrix from (rule id, its controls) pairs: a policy's enabled rules, or an evaluation's findings."""
    chosen = tuple(frameworks) or tuple(catalogues.frameworks)
    rules_of: dict[str, list[str]] = {}
    for rule_id, controls in rules:
        for ref in controls:
            if rule_id not in rules_of.setdefault(ref, []):
                rules_of[ref].append(rule_id)
    rows = []
    for framework in chosen:
        for ref in catalogues.refs(framework):
            control = catalogues.find(ref)
            assert control is not None
            citing = tuple(rules_of.get(ref, ()))
            rows.append(
                Row(control=ref, title=control.title, rules=citing, results=tuple(_result(citing, m) for m in models))
            )
    return Coverage(
        policy=policy,
        team=team,
        frameworks=chosen,
        models=tuple(models),
        rows=tuple(rows),
    )
