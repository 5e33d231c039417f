"""The Python API behind the CLI: load inputs, evaluate, return the Evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from govkit.baseline import load_baseline
from govkit.engine import EvaluationOptions, Progress, evaluate, no_progress
from govkit.errors import ManifestError
from govkit.evaluation import Evaluation
from govkit.manifest import load_manifest
from govkit.policy.loader import load_policy
from govkit.policy.waivers import WaiverSet, load_waivers

__all__ = ["DEFAULT_WAIVERS", "run_check"]

DEFAULT_WAIVERS = "waivers.yaml"


def run_check(
    manifest_path: Path,
    policy_path: Path,
    *,
    team: str | None = None,
    team_source: str = "--team",
    require_team: bool = False,
    policy_set: str | None = None,
    waivers_path: Path | None = None,
    use_waivers: bool = True,
    fail_on: str = "high",
    as_of: date | None = None,
    full_scan: bool = False,
    trust_model: bool = False,
    engine: str = "auto",
    duckdb_above: int = 10**9,
    baseline_path: Path | None = None,
    allow_outside: tuple[Path, ...] = (),
    progress: Progress = no_progress,
    purpose: str = "gate",
    extra: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Evaluate one manifest. The team (which overlay applies) is `team` when the caller gives one
    (the CLI: --team or GOVKIT_TEAM), else the manifest's own model.team; with `require_team` a
    manifest whose model.team differs is refused, so a model's author cannot pick a laxer overlay.
    """
    manifest = load_manifest(manifest_path, allow_outside=allow_outside)
    declared = manifest.spec.model.team
    if require_team and team != declared:
        raise ManifestError(
            f"model.team is {declared!r}, but this run is pinned to team {team!r} ({team_source})",
            file=manifest.path,
            field="model.team",
            line=manifest.doc.line_of(("model", "team")),
        )
    if not team:
        team, team_source = declared, "model.team"
    resolved = load_policy(policy_path, team=team, policy_set=policy_set)
    if waivers_path is None and (manifest.folder / DEFAULT_WAIVERS).is_file():
        waivers_path = manifest.folder / DEFAULT_WAIVERS
    waivers = load_waivers(waivers_path) if waivers_path else WaiverSet.empty()
    options = EvaluationOptions(
        fail_on=fail_on,
        as_of=as_of,
        use_waivers=use_waivers,
        full_scan=full_scan,
        trust_model=trust_model,
        engine=engine,
        duckdb_above=duckdb_above,
        team=team,
        team_source=team_source,
        team_pinned=require_team,
        baseline=load_baseline(baseline_path) if baseline_path else None,
        purpose=purpose,
        extra=extra or {},
    )
    return evaluate(manifest, resolved, waivers, options, progress=progress)
