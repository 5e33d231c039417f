"""`govkit controls coverage|ll144`: coverage of regulatory controls by the policy and the audit log."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from govkit.cli.base import POLICY_OPTION, POLICY_SET_OPTION, color
from govkit.errors import EXIT_BLOCKING

CONTROLS_OPTION = click.option(
    "--controls",
    "controls_dir",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_CONTROLS",
    help="Folder of extra control catalogues (or GOVKIT_CONTROLS).",
)


@click.group("controls")
def controls_group() -> None:
    """Regulatory control catalogues and which rules (and results) evidence each control."""


@controls_group.command(
    "coverage",
    epilog="""\b
Examples:
  govkit controls coverage --policy policies/ --team lending --framework eu-ai-act
  govkit controls coverage --team lending --require nist-ai-rmf --format markdown""",
)
@POLICY_OPTION
@click.option("--team", help="Team whose overlay to apply (and whose evaluations to read).")
@POLICY_SET_OPTION
@click.option("--framework", "frameworks", multiple=True, help="Only this framework (repeatable).")
@click.option("--model", "models", multiple=True, help="Only this model name (repeatable).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table", show_default=True
)
@click.option(
    "--require",
    "required",
    multiple=True,
    help="Exit 1 when a control of this framework is cited by no rule (repeatable).",
)
@CONTROLS_OPTION
@click.option("--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database.")
@click.option("--no-log", is_flag=True, help="Rules only, no results: for a CI job that keeps the policy complete.")
def coverage(
    policy_path: Path,
    team: str | None,
    policy_set: str | None,
    frameworks: tuple[str, ...],
    models: tuple[str, ...],
    fmt: str,
    required: tuple[str, ...],
    controls_dir: Path | None,
    db: str,
    no_log: bool,
) -> None:
    """Matrix control -> rules -> latest result per model: pass, fail, waived, not evaluated, not covered."""
    from govkit.audit.log import AuditLog
    from govkit.controls.catalogue import load_catalogues
    from govkit.controls.coverage import build, latest_evaluations
    from govkit.controls.render import render
    from govkit.policy.loader import load_policy

    catalogues = load_catalogues(controls_dir)
    for name in (*frameworks, *required):
        catalogues.refs(name)  # an unknown framework is an input error, not an empty matrix
    policy = load_policy(policy_path, team=team, policy_set=policy_set, controls=controls_dir)
    evaluated = []
    if not no_log:
        with AuditLog(db, create=False) as log:
            evaluated = latest_evaluations(log, team=team, models=models)
    matrix = build(policy, catalogues, evaluated, frameworks)
    click.echo(render(matrix, fmt, color=color(sys.stdout)), nl=False)
    # --require judges the whole framework, whatever --framework shows
    gaps = {name: build(policy, catalogues, (), (name,)).uncovered(name) for name in required}
    missing = {name: refs for name, refs in gaps.items() if refs}
    for name, refs in missing.items():
        click.echo(f"{name}: {len(refs)} control(s) not covered by any rule: {', '.join(refs)}", err=True)
    if missing:
        sys.exit(EXIT_BLOCKING)


@controls_group.command(
    "ll144",
    epilog="""\b
Examples:
  govkit controls ll144 --latest credit-scorer --sex sex --race race
  govkit controls ll144 3f2a9c1e --sex gender --race ethnicity --exclude-small --format csv""",
)
@click.argument("evaluation_digest", required=False)
@click.option("--latest", "model", help="The latest recorded evaluation of this model instead of a digest.")
@click.option("--sex", required=True, help="The sensitive-feature column that holds sex.")
@click.option("--race", required=True, help="The sensitive-feature column that holds race/ethnicity.")
@click.option(
    "--rate",
    type=click.Choice(["selection", "scoring"]),
    default="selection",
    show_default=True,
    help="scoring: share above the sample median, for tools that output a continuous score.",
)
@click.option("--exclude-small", is_flag=True, help="Leave categories under 2% of the data out of the impact ratios.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json", "csv"]), default="markdown", show_default=True)
@click.option("--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database.")
def ll144(
    evaluation_digest: str | None,
    model: str | None,
    sex: str,
    race: str,
    rate: str,
    exclude_small: bool,
    fmt: str,
    db: str,
) -> None:
    """NYC Local Law 144 bias audit summary of a recorded evaluation (read verified from the log)."""
    from govkit.audit.log import AuditLog
    from govkit.audit.records import find_evaluation
    from govkit.controls.ll144 import render, summarise

    if (evaluation_digest is None) == (model is None):
        raise click.UsageError("give an EVALUATION_DIGEST or --latest MODEL (one of them)")
    with AuditLog(db, create=False) as log:
        _, payload = find_evaluation(log, digest=evaluation_digest, model=model)
    summary = summarise(
        payload["evaluation"],
        payload["evaluation_digest"],
        sex=sex,
        race=race,
        rate="scoring" if rate == "scoring" else "selection",
        exclude_small=exclude_small,
    )
    click.echo(render(summary, fmt), nl=False)
