"""A compact Markdown summary for $GITHUB_STEP_SUMMARY and merge-request comments.

Link-free and readable as plain text: tables of what fails and what is waived, and waivers
that expire soon.
"""

from __future__ import annotations

from govkit.evaluation import Evaluation, Finding
from govkit.formats.common import detail, order, tally
from govkit.formats.interface import Formatter


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class MarkdownFormatter(Formatter):
    name = "markdown"
    suffix = ".md"

    def render(self, evaluation: Evaluation, *, digest: str | None = None, color: bool = False) -> str:
        m = evaluation.model
        digest = digest or evaluation.digest
        lines = [
            f"### govkit: {evaluation.verdict.upper()} - {m['name']} {m['version']} (team {evaluation.team})",
            "",
            f"Policy {evaluation.policy['name']} {evaluation.policy['version']}, blocking at severity "
            f"{evaluation.fail_on} and above. Evaluation `{digest[:16]}`.",
            "",
            f"Result: {tally(evaluation.counts)}.",
            "",
        ]
        failing = [f for f in sorted(evaluation.findings, key=order) if f.status in ("fail", "error", "warn")]
        if failing:
            lines += ["#### Failing rules", "", "| Status | Severity | Rule | Subject | Finding |",
                      "|---|---|---|---|---|"]
            lines += [self._row(f) for f in failing]
            lines.append("")
        waived = [f for f in evaluation.findings if f.status == "waived"]
        if waived:
            by_id = {w.id: w for w in evaluation.waivers}
            lines += ["#### Waived", "", "| Rule | Subject | Waiver | Expires | Ticket | Reason |",
                      "|---|---|---|---|---|---|"]
            for f in waived:
                w = by_id.get(f.waiver_id or "")
                lines.append(f"| {f.rule_id} | {_cell(f.subject)} | {f.waiver_id} | {w.expires if w else ''} | "
                             f"{_cell(w.ticket) if w else ''} | {_cell(w.reason) if w else ''} |")
            lines.append("")
        baselined = [f for f in evaluation.findings if f.status == "baselined"]
        if baselined:
            lines += [f"{len(baselined)} known finding(s) are in the baseline and do not block.", ""]
        expiring = [w for w in evaluation.waivers if w.expiring_soon]
        if expiring:
            lines += ["#### Waivers expiring soon", ""]
            lines += [f"- {w.id} ({w.rule}) expires {w.expires}, ticket {w.ticket}" for w in expiring]
            lines.append("")
        problems = [w for w in evaluation.waivers if w.status not in ("used", "unused")]
        if problems:
            lines += ["#### Waivers that did not apply", ""]
            lines += [f"- {w.id} ({w.rule}): {w.status}, {w.detail}" for w in problems]
            lines.append("")
        return "\n".join(lines)

    @staticmethod
    def _row(f: Finding) -> str:
        status = f.status.upper() + (" (blocking)" if f.blocking else "")
        return f"| {status} | {f.severity} | {f.rule_id} | {_cell(f.subject)} | {_cell(detail(f))} |"
