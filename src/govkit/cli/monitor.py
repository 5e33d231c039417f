"""`govkit profile create` and `govkit monitor`: post-market monitoring (docs/monitoring.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from govkit.cli.base import (
    PairedOutputCommand,
)
from govkit.cli.check import check


@click.group(
    epilog="""\b
Examples:
  govkit profile create govkit.yaml --output profile.json
  govkit monitor govkit.yaml --policy policies/"""
)
def profile() -> None:
    """Reference profiles for monitoring: built once from training or evaluation data."""


@profile.command(
    "create",
    epilog="""\b
Examples:
  govkit profile create govkit.yaml
  govkit profile create govkit.yaml --dataset evaluation --output profiles/credit-scorer-2.1.json""",
)
@click.argument("manifest", type=click.Path(path_type=Path), default="govkit.yaml")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="Profile file (default: monitoring.reference.profile of the manifest, else profile.json).",
)
@click.option(
    "--dataset",
    type=click.Choice(["training", "evaluation"]),
    help="Data to profile (default: monitoring.reference.dataset, else training if declared).",
)
@click.option("--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database.")
@click.option("--actor", help="Who creates the profile.")
def profile_create(manifest: Path, output: Path | None, dataset: str | None, db: str, actor: str | None) -> None:
    """Profile the reference data and record the profile's digest in the audit log."""
    from govkit.audit.log import AuditLog
    from govkit.manifest import load_manifest
    from govkit.monitoring.measure import profile_path, spec_of
    from govkit.monitoring.profile import build_profile, write_profile
    from govkit.monitoring.records import record_profile

    loaded = load_manifest(manifest)
    spec = spec_of(loaded)
    dataset = dataset or spec.reference.dataset or ("training" if loaded.spec.datasets.training else "evaluation")
    output = output or profile_path(loaded) or Path("profile.json")
    data = build_profile(loaded, dataset)
    sha256 = write_profile(data, output)
    with AuditLog(db, actor=actor) as log:
        entry = record_profile(log, data, output, sha256)
    click.echo(
        f"profile of {dataset} ({data['rows']} rows, {len(data['columns'])} columns) written to {output}, "
        f"sha256 {sha256[:16]}, recorded as entry {entry.seq} in {db}"
    )


@click.command(
    cls=PairedOutputCommand,
    epilog="""\b
Examples:
  govkit monitor govkit.yaml --policy policies/
  govkit monitor govkit.yaml --engine duckdb --format sarif -o monitor.sarif --format github""",
)
@click.pass_context
def monitor(ctx: click.Context, **kwargs: Any) -> None:
    """Judge the policy's monitoring rules on production data, window by window; exit 1 if anything blocks."""
    from govkit.audit.log import AuditLog
    from govkit.manifest import load_manifest
    from govkit.monitoring.measure import TRUSTED_PROFILES, profile_path
    from govkit.monitoring.records import recorded_profiles

    extra: dict[str, Any] = {}
    loaded = load_manifest(kwargs["manifest"], allow_outside=kwargs["allow_outside"])
    if loaded.spec.monitoring is not None and profile_path(loaded) is not None:
        with AuditLog(kwargs["db"]) as log:
            extra[TRUSTED_PROFILES] = recorded_profiles(log)
    ctx.meta["govkit.purpose"] = "monitor"
    ctx.meta["govkit.extra"] = extra
    check.callback(**kwargs)  # type: ignore[misc]  # same options, output and exit codes as check


monitor.params = list(check.params)  # every option of check, nothing else
