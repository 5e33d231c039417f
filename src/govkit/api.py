"""The Python API behind the CLI: load inputs, evaluate, return the Evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from govkit.baseline import load_baseline
from govkit.engine import EvaluationOptions, Progress, evaluate, no_progress
from govkit.errors import EXIT_BLOCKING, EXIT_OK, ManifestError
from govkit.evaluation import Evaluation
from govkit.manifest import confine_found, load_manifest
from govkit.policy.loader import load_policy
from govkit.policy.waivers import WaiverSet, load_waivers

__all__ = ["DEFAULT_WAIVERS", "CheckRequest", "evaluate_request", "gate_exit_code", "run_check"]

DEFAULT_WAIVERS = "waivers.yaml"


@dataclass(frozen=True)
class CheckRequest:
    """Everything one evaluation needs, built once: by the CLI from its options, or by a Python caller.

    A new run-wide option is one field here, one click option in `govkit.cli.check`, and its use in
    `engine.EvaluationOptions`; nothing is passed along by position.
    """

    manifest_path: Path
    policy_path: Path = Path("policies")
    team: str | None = None
    team_source: str = "--team"  # where `team` came from: --team, GOVKIT_TEAM (model.team when None)
    require_team: bool = False
    policy_set: str | None = None
    waivers_path: Path | None = None
    use_waivers: bool = True
    fail_on: str = "high"
    as_of: date | None = None
    full_scan: bool = False
    trust_model: bool = False
    engine: str = "auto"
    duckdb_above: int = 10**9
    baseline_path: Path | None = None
    allow_outside: tuple[Path, ...] = ()
    purpose: str = "gate"  # "monitor" for `govkit monitor`: only that purpose's rules are judged
    extra: Mapping[str, Any] = field(default_factory=dict)


def run_check(
    manifest_path: Path, policy_path: Path, *, progress: Progress = no_progress, **options: Any
) -> Evaluation:
    """Evaluate one manifest; `options` are the fields of `CheckRequest`."""
    return evaluate_request(CheckRequest(Path(manifest_path), Path(policy_path), **options), progress=progress)


def evaluate_request(request: CheckRequest, *, progress: Progress = no_progress) -> Evaluation:
    """The team (which overlay applies) is `request.team` when the caller gives one (the CLI: --team or
    GOVKIT_TEAM), else the manifest's own model.team; with `require_team` a manifest whose model.team
    differs is refused, so a model's author cannot pick a laxer overlay.
    """
    manifest = load_manifest(request.manifest_path, allow_outside=request.allow_outside)
    declared = manifest.spec.model.team
    team, team_source = request.team, request.team_source
    if request.require_team and team != declared:
        raise ManifestError(
            f"model.team is {declared!r}, but this run is pinned to team {team!r} ({team_source})",
            file=manifest.path,
            field="model.team",
            line=manifest.doc.line_of(("model", "team")),
        )
    if not team:
        team, team_source = declared, "model.team"
    resolved = load_policy(request.policy_path, team=team, policy_set=request.policy_set)
    waivers_path = request.waivers_path
    if waivers_path is None and (manifest.folder / DEFAULT_WAIVERS).is_file():
        waivers_path = manifest.folder / DEFAULT_WAIVERS
        confine_found(manifest, waivers_path)
    waivers = load_waivers(waivers_path) if waivers_path else WaiverSet.empty()
    options = EvaluationOptions(
        fail_on=request.fail_on,
        as_of=request.as_of,
        use_waivers=request.use_waivers,
        full_scan=request.full_scan,
        trust_model=request.trust_model,
        engine=request.engine,
        duckdb_above=request.duckdb_above,
        team=team,
        team_source=team_source,
        team_pinned=request.require_team,
        baseline=load_baseline(request.baseline_path) if request.baseline_path else None,
        purpose=request.purpose,
        extra=request.extra,
    )
    return evaluate(manifest, resolved, waivers, options, progress=progress)


def gate_exit_code(evaluation: Evaluation, *, soft_fail: bool = False, warn_exit_code: int | None = None) -> int:
    """The gate's decision as a process exit code: 1 when something blocks (0 with `soft_fail`), else
    `warn_exit_code` when something warns or fails below the blocking severity, else 0."""
    if evaluation.verdict == "fail" and not soft_fail:
        return EXIT_BLOCKING
    warned = any(f.status == "warn" or (f.status == "fail" and not f.blocking) for f in evaluation.findings)
    return warn_exit_code if warn_exit_code is not None and warned else EXIT_OK
