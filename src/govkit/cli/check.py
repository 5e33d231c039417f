"""`govkit check` (the policy gate) and `govkit baseline` (known findings that do not block)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from govkit.checks.fairness.engines.registry import DEFAULT_DUCKDB_ABOVE, ENGINE_CHOICES, parse_size
from govkit.cli.base import (
    FORMAT_CHOICE,
    POLICY_OPTION,
    POLICY_SET_OPTION,
    SEVERITY_CHOICE,
    PairedOutputCommand,
    color,
    in_ci,
    parse_date,
    plan_outputs,
    progress,
)
from govkit.errors import GovkitError

if TYPE_CHECKING:
    from govkit.api import CheckRequest
    from govkit.evaluation import Evaluation


def evaluation_options(func: Any) -> Any:
    """The inputs of an evaluation, shared by `check` and `baseline`."""
    options = [
        click.argument("manifest", type=click.Path(path_type=Path), default="govkit.yaml"),
        POLICY_OPTION,
        click.option(
            "--team",
            envvar="GOVKIT_TEAM",
            help="Team whose overlay applies (default: the manifest's model.team). CI should set it.",
        ),
        click.option(
            "--require-team",
            is_flag=True,
            envvar="GOVKIT_REQUIRE_TEAM",
            help="Refuse a manifest whose model.team is not --team / GOVKIT_TEAM.",
        ),
        POLICY_SET_OPTION,
        click.option(
            "--waivers",
            "waivers_path",
            type=click.Path(path_type=Path),
            help="Waivers file (default: waivers.yaml beside the manifest, if present).",
        ),
        click.option("--no-waivers", is_flag=True, help="Evaluate as if no waiver existed."),
        click.option(
            "--fail-on",
            type=SEVERITY_CHOICE,
            default="high",
            show_default=True,
            help="Lowest severity of a failed rule that blocks (exit 1).",
        ),
        click.option("--as-of", callback=parse_date, help="Judge waiver expiry as of this date (YYYY-MM-DD)."),
        click.option("--full-scan", is_flag=True, help="Check every value for PII, not a 10,000-value sample."),
        click.option(
            "--trust-model",
            is_flag=True,
            help="Allow loading a pickle/joblib model artifact (it can run code: only for trusted files).",
        ),
        click.option(
            "--allow-outside",
            type=click.Path(path_type=Path),
            multiple=True,
            metavar="FOLDER",
            help="Let the manifest point into this folder outside its own (recorded); repeatable.",
        ),
        click.option(
            "--engine",
            type=click.Choice(ENGINE_CHOICES),
            envvar="GOVKIT_ENGINE",
            default="auto",
            show_default=True,
            help="Where cohort counts run: pandas in memory, DuckDB out of core, or Spark. auto = pandas, "
            "or DuckDB above --duckdb-above.",
        ),
        click.option(
            "--duckdb-above",
            envvar="GOVKIT_DUCKDB_ABOVE",
            default=DEFAULT_DUCKDB_ABOVE,
            show_default=True,
            metavar="SIZE",
            help="With --engine auto, evaluation data over this size on disk goes to DuckDB.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


# the click parameters `evaluation_options` adds, which `check_request` turns into a CheckRequest
EVALUATION_PARAMS = (
    "manifest",
    "policy_path",
    "team",
    "require_team",
    "policy_set",
    "waivers_path",
    "no_waivers",
    "fail_on",
    "as_of",
    "full_scan",
    "trust_model",
    "allow_outside",
    "engine",
    "duckdb_above",
)


def check_request(params: dict[str, Any], *, baseline: Path | None = None) -> CheckRequest:
    """The one place where command-line values become a CheckRequest; `params` loses the options it uses."""
    from govkit.api import CheckRequest

    values = {name: params.pop(name) for name in EVALUATION_PARAMS}
    if values["require_team"] and not values["team"]:
        raise click.UsageError("--require-team needs --team or GOVKIT_TEAM")
    ctx = click.get_current_context()
    from_env = ctx.get_parameter_source("team") == click.core.ParameterSource.ENVIRONMENT
    return CheckRequest(
        manifest_path=values["manifest"],
        policy_path=values["policy_path"],
        team=values["team"],
        team_source="GOVKIT_TEAM" if from_env else "--team",
        require_team=values["require_team"],
        policy_set=values["policy_set"],
        waivers_path=values["waivers_path"],
        use_waivers=not values["no_waivers"],
        fail_on=values["fail_on"],
        as_of=values["as_of"],
        full_scan=values["full_scan"],
        trust_model=values["trust_model"],
        engine=values["engine"],
        duckdb_above=parse_size(values["duckdb_above"]),
        baseline_path=baseline,
        allow_outside=values["allow_outside"],
        # `govkit monitor` runs `check` with purpose "monitor" and the profiles the log vouches for
        purpose=ctx.meta.get("govkit.purpose", "gate"),
        extra=ctx.meta.get("govkit.extra") or {},
    )


def run_request(request: CheckRequest) -> Evaluation:
    from govkit.api import evaluate_request

    return evaluate_request(request, progress=progress)


@click.command(
    cls=PairedOutputCommand,
    epilog="""\b
Examples:
  govkit check examples/credit-scoring/govkit.yaml --policy policies/
  govkit check govkit.yaml --team research --format json --output result.json
  govkit check govkit.yaml --format sarif -o govkit.sarif --format junit -o govkit.xml --format github
  govkit check govkit.yaml --output-dir reports/ --format json --format markdown --baseline .govkit-baseline.json
  govkit check govkit.yaml --engine duckdb      # evaluation set: a big Parquet folder or glob
""",
)
@evaluation_options
@click.option(
    "--format",
    "formats",
    type=FORMAT_CHOICE,
    multiple=True,
    help="text (default), json, junit, sarif, markdown, github; repeatable.",
)
@click.option(
    "--output",
    "-o",
    "outputs",
    type=click.Path(path_type=Path),
    multiple=True,
    help="File for the matching --format (in order); repeatable.",
)
@click.option("--output-dir", type=click.Path(path_type=Path), help="Write every format without --output here.")
@click.option("--baseline", type=click.Path(path_type=Path), help="Known findings that do not block.")
@click.option("--soft-fail", is_flag=True, help="Report blocking findings but exit 0.")
@click.option(
    "--warn-exit-code",
    type=click.IntRange(0, 255),
    help="Exit with this code when nothing blocks but something warns or fails below --fail-on.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line (default in CI on success).")
@click.option("--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database.")
@click.option("--no-log", is_flag=True, help="Do not record the evaluation in the audit log.")
@click.option("--actor", help="Who runs the check (default: GOVKIT_ACTOR, the CI user, or user@host).")
@click.pass_context
def check(
    ctx: click.Context,
    formats: tuple[str, ...],
    outputs: tuple[Path, ...],
    output_dir: Path | None,
    baseline: Path | None,
    soft_fail: bool,
    warn_exit_code: int | None,
    quiet: bool,
    db: str,
    no_log: bool,
    actor: str | None,
    **params: Any,
) -> None:
    """Check a model against the policies, record the evaluation, exit 1 if anything blocks."""
    from govkit.api import gate_exit_code
    from govkit.formats.common import printable, tally
    from govkit.formats.interface import get_formatter

    plan = plan_outputs(ctx, output_dir)
    request = check_request(params, baseline=baseline)
    evaluation = run_request(request)
    digest = evaluation.digest
    silent = quiet or (in_ci() and evaluation.verdict == "pass")
    verdict_line = (
        f"govkit: {evaluation.verdict.upper()} {printable(evaluation.model['name'])} "
        f"{printable(evaluation.model['version'])} ({tally(evaluation.counts)})"
    )
    # rendered before recording, so a format that fails leaves no recorded evaluation without its outputs
    files = [(path, get_formatter(fmt).render(evaluation, digest=digest)) for fmt, path in plan if path is not None]
    to_stdout = next((fmt for fmt, path in plan if path is None), None)
    if to_stdout == "text" and silent:
        shown = verdict_line + "\n"
    elif to_stdout is not None:
        shown = get_formatter(to_stdout).render(evaluation, digest=digest, color=color(sys.stdout))
    else:
        shown = verdict_line + "\n" if not silent or evaluation.verdict == "fail" else ""
    if not no_log:
        from govkit.audit.log import AuditLog
        from govkit.audit.records import record_evaluation
        from govkit.inventory.notify import notify_evaluation

        with AuditLog(db, actor=actor) as log:
            entry = record_evaluation(log, evaluation)
            warn = lambda m: click.echo(m, err=True)  # noqa: E731
            notify_evaluation(log, request.policy_path, request.policy_set, evaluation, warn=warn)
        if not quiet and not in_ci():
            click.echo(f"recorded evaluation {digest[:16]} as entry {entry.seq} in {db}", err=True)
    for path, text in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    click.echo(shown, nl=False)
    sys.exit(gate_exit_code(evaluation, soft_fail=soft_fail, warn_exit_code=warn_exit_code))


@click.group(
    epilog="""\b
Examples:
  govkit baseline create govkit.yaml --policy policies/ --output .govkit-baseline.json
  govkit check govkit.yaml --baseline .govkit-baseline.json
  govkit baseline prune govkit.yaml --output .govkit-baseline.json"""
)
def baseline() -> None:
    """Record today's known findings so that only new ones fail."""


def _baseline_command(name: str, doc: str) -> Any:
    def decorate(func: Any) -> Any:
        func.__doc__ = doc
        func = click.option(
            "--output",
            "-o",
            "output",
            type=click.Path(path_type=Path),
            default=".govkit-baseline.json",
            show_default=True,
        )(func)
        func = evaluation_options(func)
        return baseline.command(name, epilog=f"Example:\n\n  govkit baseline {name} govkit.yaml --policy policies/")(
            func
        )

    return decorate


def _open_findings(**inputs: Any) -> Any:
    from govkit.baseline import open_findings

    evaluation = run_request(check_request(inputs))
    return open_findings([f.to_dict() for f in evaluation.findings], evaluation.model["name"])


@_baseline_command("create", "Write a new baseline from the findings that fail or warn now.")
def baseline_create(output: Path, **inputs: Any) -> None:
    from govkit.baseline import write_baseline

    if output.exists():
        raise GovkitError("baseline already exists; use `govkit baseline update` or `prune`", file=output)
    entries = _open_findings(**inputs)
    write_baseline(output, entries)
    click.echo(f"baseline {output}: {len(entries)} finding(s)")


@_baseline_command("update", "Add the findings that fail or warn now to the baseline (nothing is removed).")
def baseline_update(output: Path, **inputs: Any) -> None:
    from govkit.baseline import load_baseline, write_baseline

    existing = load_baseline(output).entries if output.exists() else {}
    current = _open_findings(**inputs)
    merged = {**current, **existing}  # keep first_seen of entries already there
    write_baseline(output, merged)
    click.echo(f"baseline {output}: {len(merged)} finding(s), {len(merged) - len(existing)} added")


@_baseline_command("prune", "Remove baseline entries that no longer fail (the baseline only shrinks).")
def baseline_prune(output: Path, **inputs: Any) -> None:
    from govkit.baseline import load_baseline, write_baseline

    existing = load_baseline(output).entries
    current = _open_findings(**inputs)
    kept = {fp: e for fp, e in existing.items() if fp in current}
    write_baseline(output, kept)
    click.echo(f"baseline {output}: {len(kept)} finding(s), {len(existing) - len(kept)} pruned")
