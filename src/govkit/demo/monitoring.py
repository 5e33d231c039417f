"""The demo's production months: applications scored by the demo model, drifting from month 5.

From month 5 a new partner channel brings applicants with 40 % higher incomes (feature drift),
and approved applicants aged 18-24 start to default far more often (their accuracy decays; the
model, trained before, cannot know). `govkit demo` profiles the evaluation data, writes these
months to production/, and runs `govkit monitor`, which fails on both.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from govkit.demo.data import APPROVAL_THRESHOLD, FEATURES, SEED, synthetic_applicants
from govkit.engine import Progress

MONTHS = 8
SHIFT_FROM = 5
ROWS_PER_MONTH = 1500
YEAR = 2026


def build_production(directory: Path, model: Any, *, months: int = MONTHS, rows: int = ROWS_PER_MONTH) -> Path:
    """Write production/2026-MM.parquet, one file per month, with scores, decisions and (late) labels."""
    import numpy as np

    folder = directory / "production"
    folder.mkdir(parents=True, exist_ok=True)
    for month in range(1, months + 1):
        rng = np.random.default_rng(SEED + 100 + month)
        frame = synthetic_applicants(rows, SEED + 100 + month)
        shifted = month >= SHIFT_FROM
        if shifted:
            frame["income"] = (frame["income"] * 1.4).round(2)
        score = model.predict_proba(frame[FEATURES])[:, 1]
        frame["repayment_score"] = score.round(6)
        frame["approved"] = (score >= APPROVAL_THRESHOLD).astype(int)
        if shifted:
            defaults = (frame["age_band"] == "18-24") & (frame["approved"] == 1) & (rng.random(rows) < 0.6)
            frame.loc[defaults, "repaid"] = 0
        seconds = np.sort(rng.integers(0, 28 * 86400, rows))
        start = np.datetime64(f"{YEAR}-{month:02d}-01T00:00:00")
        frame.insert(0, "scored_at", start + seconds.astype("timedelta64[s]"))
        frame.to_parquet(folder / f"{YEAR}-{month:02d}.parquet", index=False)
    return folder


def run_monitoring(
    manifest: Path, policies: Path, log: Any, *, echo: Callable[..., None], color: bool, progress: Progress
) -> tuple[str, str]:
    """Profile the evaluation data, write the production months, monitor them; return verdict and digest."""
    from govkit.api import run_check
    from govkit.audit.records import record_evaluation
    from govkit.checks.explainability.loading import load_model
    from govkit.formats.interface import get_formatter
    from govkit.manifest import load_manifest
    from govkit.monitoring.measure import TRUSTED_PROFILES, profile_path
    from govkit.monitoring.profile import build_profile, write_profile
    from govkit.monitoring.records import record_profile, recorded_profiles

    loaded = load_manifest(manifest)
    target = profile_path(loaded)
    assert target is not None
    with progress("the reference profile"):
        profile = build_profile(loaded, "evaluation")
        sha256 = write_profile(profile, target)
        entry = record_profile(log, profile, target, sha256)
    echo(f"── govkit profile create {manifest} --dataset evaluation")
    echo(
        f"profile {target.name} ({profile['rows']} rows) sha256 {sha256[:16]} recorded as audit log entry {entry.seq}\n"
    )
    model = load_model(loaded, trust_model=False).model  # scikit-learn and NumPy types only
    with progress("production months"):
        build_production(manifest.parent, model)
    evaluation = run_check(
        manifest, policies, progress=progress, purpose="monitor", extra={TRUSTED_PROFILES: recorded_profiles(log)}
    )
    entry = record_evaluation(log, evaluation)
    echo(f"── govkit monitor {manifest} --policy {policies}")
    echo(get_formatter("text").render(evaluation, color=color), nl=False)
    echo(f"recorded as audit log entry {entry.seq}\n")
    return evaluation.verdict, evaluation.digest
