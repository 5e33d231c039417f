"""evaluate(manifest, policy, waivers) -> Evaluation: measure each check once, judge every rule."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from govkit import __version__
from govkit.baseline import Baseline, fingerprint
from govkit.canonical import file_sha256
from govkit.checks.interface import Check, CheckContext, CheckOptions, Measurement, Outcome, RuleParams
from govkit.checks.registry import rule_kinds
from govkit.datasets import dataset_sha256
from govkit.errors import CheckError, PolicyError
from govkit.evaluation import Evaluation, Finding, WaiverUse
from govkit.manifest import LoadedManifest
from govkit.policy.loader import ResolvedPolicy, ResolvedRule
from govkit.policy.schema import severity_rank
from govkit.policy.waivers import EXPIRING_SOON_DAYS, Waiver, WaiverSet, decide
from govkit.validation import dotted
from govkit.versions import library_versions

__all__ = ["EvaluationOptions", "Progress", "evaluate", "no_progress"]

Progress = Callable[[str], AbstractContextManager[None]]


@contextmanager
def no_progress(_: str) -> Iterator[None]:
    yield


@dataclass(frozen=True)
class EvaluationOptions:
    fail_on: str = "high"
    as_of: date | None = None
    use_waivers: bool = True
    full_scan: bool = False
    trust_model: bool = False
    engine: str = "auto"
    duckdb_above: int = 10**9
    team: str | None = None
    team_source: str = "--team"  # where `team` came from; "model.team" when it is None
    team_pinned: bool = False
    baseline: Baseline | None = None
    purpose: str = "gate"  # judge only the rules of checks with this purpose (gate: `check`, monitor: `monitor`)
    extra: Mapping[str, Any] = field(default_factory=dict)  # passed to checks as CheckOptions.extra


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it (what CI tools expect), else absolute."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _location(manifest: LoadedManifest, rule: ResolvedRule, key: tuple[str | int, ...] | None) -> dict[str, Any]:
    if key is not None:
        return {"file": display_path(manifest.path), "line": manifest.doc.line_of(key), "key": dotted(key)}
    return {
        "file": display_path(Path(rule.source_path)) if rule.source_path else None,
        "line": rule.source_line,
        "key": f"rule {rule.id}",
    }


def _out_of_scope(rule: ResolvedRule, manifest: LoadedManifest, team: str) -> str | None:
    scope, model = rule.applies_to, manifest.spec.model
    if scope.risk_tiers and model.risk_tier not in scope.risk_tiers:
        return f"risk tier {model.risk_tier} not in {', '.join(scope.risk_tiers)}"
    if scope.tasks and model.task not in scope.tasks:
        return f"task {model.task} not in {', '.join(scope.tasks)}"
    if scope.teams and team not in scope.teams:
        return f"team {team} not in {', '.join(scope.teams)}"
    return None


def _input_digests(manifest: LoadedManifest) -> dict[str, Any]:
    spec = manifest.spec
    files: dict[str, Any] = {"manifest": {"path": manifest.path.name, "sha256": file_sha256(manifest.path)}}
    for name in ("training", "evaluation"):
        ds = getattr(spec.datasets, name)
        if ds is not None:
            files[f"dataset:{name}"] = {"path": ds.path, "sha256": dataset_sha256(manifest.resolve(ds.path))}
    if spec.model.artifact:
        files["model_artifact"] = {
            "path": spec.model.artifact,
            "sha256": file_sha256(manifest.resolve(spec.model.artifact)),
        }
    if spec.dependencies and spec.dependencies.requirements:
        req = spec.dependencies.requirements
        files["requirements"] = {"path": req, "sha256": file_sha256(manifest.resolve(req))}
    for doc in spec.documents:  # digests checked when the manifest loaded; absent when none (older digests hold)
        files[f"document:{doc.path}"] = {
            "path": doc.path,
            "sha256": doc.sha256,
            "title": doc.title,
            "controls": list(doc.controls),
        }
    return files


class _WaiverBook:
    """Applies waivers to findings and remembers what became of each waiver."""

    def __init__(
        self, waivers: WaiverSet, manifest: LoadedManifest, as_of: date, *, today: date, max_days: int | None
    ) -> None:
        self.waivers = waivers.waivers
        self.model = manifest.spec.model
        self.as_of = as_of
        self.today = today
        self.max_days = max_days
        self.used: dict[str, str] = {}
        self.refused: dict[str, tuple[str, str]] = {}  # id -> (status, detail)

    def apply(self, finding: Finding, rule: ResolvedRule) -> Finding:
        if finding.status not in ("fail", "warn"):
            return finding
        for waiver in self.waivers:
            d = decide(
                waiver,
                rule_id=rule.id,
                waivable=rule.waivable,
                locked=rule.locked,
                model=self.model.name,
                version=self.model.version,
                subject=finding.subject,
                as_of=self.as_of,
                max_days=self.max_days,
                today=self.today,
            )
            if d.applies:
                self.used[waiver.id] = d.detail + self._revived(waiver)
                return replace(
                    finding,
                    status="waived",
                    blocking=False,
                    waiver_id=waiver.id,
                    message=f"{finding.message} [waived by {waiver.id} until {waiver.expires}]",
                )
            if d.decision in ("expired", "self-approved", "not-waivable", "too-long"):
                self.refused[waiver.id] = (d.decision, d.detail)
        return finding

    def _revived(self, waiver: Waiver) -> str:
        """Said of a waiver that applies only because --as-of lies before its expiry and today after it."""
        if waiver.expires >= self.today:
            return ""
        return f" (judged as of {self.as_of.isoformat()}; expired before today, {self.today.isoformat()})"

    def notices(self, report: tuple[WaiverUse, ...]) -> list[str]:
        out = []
        if self.as_of < self.today and self.waivers:
            out.append(
                f"--as-of {self.as_of.isoformat()} is before today ({self.today.isoformat()}): "
                "waivers were judged as of that date"
            )
        for w in report:
            if w.status == "used" and date.fromisoformat(w.expires) < self.today:
                out.append(
                    f"waiver {w.id} ({w.rule}) applied as of {self.as_of.isoformat()} but expired on "
                    f"{w.expires} and would not apply today"
                )
            elif w.status != "used":
                out.append(f"waiver {w.id} ({w.rule}) {w.status}: {w.detail}")
            if w.expiring_soon:
                out.append(f"waiver {w.id} expires soon ({w.expires})")
        return out

    def report(self) -> tuple[WaiverUse, ...]:
        out = []
        soon = self.as_of + timedelta(days=EXPIRING_SOON_DAYS)
        for w in self.waivers:
            if w.id in self.used:
                status, detail = "used", self.used[w.id]
            elif w.id in self.refused:
                status, detail = self.refused[w.id]
            else:
                status, detail = "unused", "matched no failing finding"
            out.append(_waiver_use(w, status, detail, expiring_soon=status == "used" and w.expires <= soon))
        return tuple(out)


def _waiver_use(w: Waiver, status: Any, detail: str, *, expiring_soon: bool) -> WaiverUse:
    return WaiverUse(
        id=w.id,
        rule=w.rule,
        status=status,
        detail=detail,
        expires=w.expires.isoformat(),
        expiring_soon=expiring_soon,
        reason=w.reason,
        ticket=w.ticket,
        approved_by=w.approved_by,
    )


def _apply_baseline(finding: Finding, baseline: Baseline | None) -> Finding:
    if baseline is None or finding.status not in ("fail", "warn") or finding.fingerprint not in baseline:
        return finding
    return replace(finding, status="baselined", blocking=False, message=f"{finding.message} [baselined]")


def _finding(rule: ResolvedRule, outcome: Outcome, fail_on: str, model: str, location: dict[str, Any]) -> Finding:
    blocking = outcome.status == "error" or (
        outcome.status == "fail" and severity_rank(rule.severity) >= severity_rank(fail_on)
    )
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        check=rule.check,
        severity=rule.severity,
        status=outcome.status,
        message=outcome.message,
        subject=outcome.subject,
        measured=outcome.measured,
        threshold=outcome.threshold,
        guideline=rule.guideline,
        controls=rule.controls,
        blocking=blocking,
        fingerprint=fingerprint(rule.id, model, outcome.subject),
        location=location,
    )


def _measure_all(
    active: list[ResolvedRule],
    params: dict[str, RuleParams],
    manifest: LoadedManifest,
    options: CheckOptions,
    progress: Progress,
) -> tuple[dict[str, Measurement], dict[str, str], dict[str, Check]]:
    kinds = rule_kinds()
    measurements: dict[str, Measurement] = {}
    errors: dict[str, str] = {}
    instances: dict[str, Check] = {}
    by_check: dict[str, list[ResolvedRule]] = {}
    for rule in active:
        by_check.setdefault(kinds[rule.check][0].name, []).append(rule)
    for name, rules in by_check.items():
        check = kinds[rules[0].check][0]()
        instances[name] = check
        ctx = CheckContext(
            manifest=manifest,
            options=options,
            kinds=frozenset(r.check for r in rules),
            params=tuple((r.check, params[r.id]) for r in rules),
        )
        with progress(check.title):
            try:
                measurements[name] = check.measure(ctx)
            except CheckError as exc:
                errors[name] = str(exc)
    return measurements, errors, instances


def evaluate(
    manifest: LoadedManifest,
    policy: ResolvedPolicy,
    waivers: WaiverSet | None = None,
    options: EvaluationOptions | None = None,
    progress: Progress = no_progress,
) -> Evaluation:
    options = options or EvaluationOptions()
    now = datetime.now(UTC).replace(microsecond=0)
    as_of = options.as_of or now.date()
    team = options.team or manifest.spec.model.team
    team_source = options.team_source if options.team else "model.team"
    kinds = rule_kinds()
    in_play = waivers if (waivers and options.use_waivers) else WaiverSet.empty()
    # a waiver of a rule the other command judges is not this run's business (`check` vs `monitor`)
    check_of = {r.id: r.check for r in policy.rules}
    in_play = replace(
        in_play,
        waivers=tuple(
            w
            for w in in_play.waivers
            if w.rule not in check_of or kinds[check_of[w.rule]][0].purpose == options.purpose
        ),
    )
    book = _WaiverBook(in_play, manifest, as_of, today=now.date(), max_days=policy.waiver_max_days)

    findings: list[Finding] = []
    active: list[ResolvedRule] = []
    if options.purpose != "gate" and not any(kinds[r.check][0].purpose == options.purpose for r in policy.rules):
        raise PolicyError(f"policy {policy.name} has no {options.purpose} rules", file=policy.root)
    for rule in policy.rules:
        if kinds[rule.check][0].purpose != options.purpose:
            continue
        if not rule.enabled:
            findings.append(_skipped(rule, f"disabled by {rule.disabled_by}: {rule.justification}"))
        elif reason := _out_of_scope(rule, manifest, team):
            findings.append(_skipped(rule, f"not applicable: {reason}"))
        else:
            active.append(rule)

    check_options = CheckOptions(
        as_of=as_of,
        full_scan=options.full_scan,
        trust_model=options.trust_model,
        engine=options.engine,
        duckdb_above=options.duckdb_above,
        extra=options.extra,
    )
    # validated once: the checks see these while measuring, and judge with the same objects
    params = {r.id: kinds[r.check][1].model_validate(dict(r.params)) for r in active}
    measurements, errors, instances = _measure_all(active, params, manifest, check_options, progress)

    for rule in active:
        check_name = kinds[rule.check][0].name
        if check_name in errors:
            outcomes = [
                Outcome(
                    subject=manifest.spec.model.name,
                    status="error",
                    message=f"check {check_name} could not run: {errors[check_name]}",
                )
            ]
        else:
            outcomes = instances[check_name].judge(rule.check, params[rule.id], measurements[check_name])
        for outcome in outcomes:
            location = _location(manifest, rule, instances[check_name].locate(rule.check, outcome.subject))
            finding = _finding(rule, outcome, options.fail_on, manifest.spec.model.name, location)
            findings.append(_apply_baseline(book.apply(finding, rule), options.baseline))

    waiver_report = book.report()
    notices = (
        []
        if team == manifest.spec.model.team
        else [f"team {team} (from {team_source}) is used, not the manifest's model.team {manifest.spec.model.team}"]
    )
    notices += book.notices(waiver_report)
    if options.baseline is not None:
        stale = set(options.baseline.entries) - {f.fingerprint for f in findings if f.status == "baselined"}
        if stale:
            notices.append(f"{len(stale)} baseline entries no longer fail; run `govkit baseline prune`")
    model = manifest.spec.model
    return Evaluation(
        govkit_version=__version__,
        created_at=now.isoformat().replace("+00:00", "Z"),
        as_of=as_of.isoformat(),
        model={
            "name": model.name,
            "version": model.version,
            "team": model.team,
            "owner": model.owner,
            "risk_tier": model.risk_tier,
            "task": model.task,
            "license": model.license,
            "intended_use": model.intended_use,
        },
        team=team,
        policy={
            "name": policy.name,
            "version": policy.version,
            "digest": policy.digest,
            "layers": list(policy.layers),
            "sources": [{"path": s.path, "sha256": s.sha256} for s in policy.sources],
        },
        inputs={
            "files": _input_digests(manifest),
            **({"outside_manifest_folder": dict(manifest.outside)} if manifest.outside else {}),
            "policy_root": display_path(policy.root),
            "waivers": {"sha256": waivers.sha256, "used": options.use_waivers, "path": display_path(waivers.path)}
            if waivers and waivers.path
            else None,
            "baseline": {"sha256": options.baseline.sha256} if options.baseline else None,
        },
        options={
            "full_scan": options.full_scan,
            "trust_model": options.trust_model,
            "team": {"name": team, "source": team_source, "pinned": options.team_pinned},
            "libraries": library_versions(),
            **({"allow_outside": [a.as_posix() for a in manifest.allowed_outside]} if manifest.allowed_outside else {}),
            **({"purpose": options.purpose} if options.purpose != "gate" else {}),
        },
        fail_on=options.fail_on,
        findings=tuple(findings),
        measurements={name: dict(m.data) for name, m in measurements.items()},
        waivers=waiver_report,
        notices=tuple(notices),
    )


def _skipped(rule: ResolvedRule, message: str) -> Finding:
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        check=rule.check,
        severity=rule.severity,
        status="skipped",
        message=message,
        subject="-",
        guideline=rule.guideline,
        controls=rule.controls,
    )
