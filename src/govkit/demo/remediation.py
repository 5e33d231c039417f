"""credit-scorer 2.2.0: the remediated build, checked by the same lending policy that failed 2.1.0.

The fixes are made where the failures came from, in the data and the model (govkit.demo.data,
release REMEDIATED), never in the policy or its waivers: a commercial licence for the same bureau
sample, no `phone` column in the training extract, and an affordability score without the
credit-file features that declined applicants aged 18-24 far more often. Deterministic, like the
rest of the demo: the same applicants and seeds as 2.1.0, so only the build differs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from govkit.engine import Progress

if TYPE_CHECKING:
    from govkit.audit.log import AuditLog
    from govkit.evaluation import Evaluation

MANIFEST = "govkit-2.2.0.yaml"


def fixed_findings(before: Evaluation, after: Evaluation) -> list[tuple[str, str, str, str]]:
    """(rule, subject, status before, status after) for every finding that blocked `before`."""
    now = {(f.rule_id, f.subject): f.status for f in after.findings}
    return [
        (f.rule_id, f.subject, f.status, now.get((f.rule_id, f.subject), "absent"))
        for f in before.findings
        if f.blocking
    ]


def check_remediated(
    folder: Path,
    policies: Path,
    log: AuditLog,
    first: Evaluation,
    *,
    echo: Callable[..., None],
    color: bool,
    progress: Progress,
) -> tuple[Evaluation, Path]:
    """Build 2.2.0 beside 2.1.0, check it under the lending policy, record it and render its report.

    Returns the evaluation and the report (the one the risk officer signs)."""
    from govkit.api import run_check
    from govkit.audit.records import record_evaluation
    from govkit.demo.data import REMEDIATED, build
    from govkit.formats.common import printable
    from govkit.formats.interface import get_formatter
    from govkit.report.workflow import render_report

    manifest = folder / MANIFEST
    with progress("the remediated model (2.2.0)"):
        build(folder, release=REMEDIATED)
    evaluation = run_check(manifest, policies, team="lending", progress=progress)
    entry = record_evaluation(log, evaluation)
    echo(f"── govkit check {manifest} --policy {policies} --team lending   (the remediated build)")
    echo(get_formatter("text").render(evaluation, color=color), nl=False)
    echo(f"recorded as audit log entry {entry.seq}")
    echo("what blocked 2.1.0, in 2.2.0:")
    for rule, subject, before, after in fixed_findings(first, evaluation):
        echo(f"  {rule:<12} {printable(subject):<28} {before} -> {after}")
    echo("")
    with progress("the 2.2.0 compliance report"):
        report, _ = render_report(
            log,
            digest=evaluation.digest,
            model=None,
            out=folder / "reports" / "credit-scorer-2.2.0-lending.pdf",
            paper="a4",
        )
    return evaluation, report
