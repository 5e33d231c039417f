"""`govkit diff`: what changed between two recorded evaluations (both read verified from the log)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(
    "diff",
    epilog="""\b
Examples:
  govkit diff 3f2a9c1e 7b41d0aa
  govkit diff --since-approval credit-scorer --format markdown -o changes.md""",
)
@click.argument("evaluation_a", required=False)
@click.argument("evaluation_b", required=False)
@click.option(
    "--since-approval",
    "model",
    help="Compare MODEL's latest evaluation with its last approved (signed-off) one instead.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to this file instead of stdout.")
@click.option("--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database.")
def diff_command(
    evaluation_a: str | None, evaluation_b: str | None, model: str | None, fmt: str, output: Path | None, db: str
) -> None:
    """Compare two recorded evaluations (digests or unique 8+ character prefixes, earlier first):
    verdict, new / resolved / changed findings, cohort metric changes with their significance,
    policy and overlay changes, data and model digests."""
    from govkit.audit.log import AuditLog
    from govkit.audit.records import find_evaluation
    from govkit.errors import GovkitError
    from govkit.review.approval import last_approved
    from govkit.review.diff import compare
    from govkit.review.render import render

    if model is None and (evaluation_a is None or evaluation_b is None):
        raise click.UsageError("give EVALUATION_A and EVALUATION_B, or --since-approval MODEL")
    if model is not None and (evaluation_a or evaluation_b):
        raise click.UsageError("--since-approval takes no evaluation digests")
    with AuditLog(db, create=False) as log:
        if model is not None:
            _, latest = find_evaluation(log, model=model)
            approved = last_approved(log, latest["evaluation"], latest["evaluation_digest"])
            if approved is None:
                raise GovkitError(f"no approved evaluation of {model} before the latest one in {log.location}")
            before, before_digest = approved.evaluation, approved.digest
            after, after_digest = latest["evaluation"], latest["evaluation_digest"]
        else:
            _, first = find_evaluation(log, digest=evaluation_a)
            _, second = find_evaluation(log, digest=evaluation_b)
            before, before_digest = first["evaluation"], first["evaluation_digest"]
            after, after_digest = second["evaluation"], second["evaluation_digest"]
    text = render(compare(before, before_digest, after, after_digest), fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
