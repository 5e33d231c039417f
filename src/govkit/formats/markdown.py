"""A compact Markdown summary for $GITHUB_STEP_SUMMARY and merge-request comments.

Link-free and readable as plain text: tables of what fails and what is waived, and waivers
that expire soon.
"""

from __future__ import annotations

import re

from govkit.evaluation import Evaluation, Finding
from govkit.formats.common import detail, order, printable, tally
from govkit.formats.interface import Formatter
from govkit.vocab import ATTENTION, WAIVER_APPLIED

# Inline Markdown that user text could start: emphasis, code, links/images, tables, strikethrough,
# headings; backslash-escaped. HTML is entity-escaped (GitHub would render <img>, <details>...).
_MARKDOWN = re.compile(r"([\\`*_\[\]()!|~#{}])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _md(text: object) -> str:
    """User text as inert inline Markdown on one line (safe in headings, lists and table cells)."""
    escaped = _MARKDOWN.sub(r"\\\1", printable(text))
    return "".join(_HTML.get(c, c) for c in escaped)


class MarkdownFormatter(Formatter):
    name = "markdown"
    suffix = ".md"

    def render(self, evaluation: Evaluation, *, digest: str | None = None, color: bool = False) -> str:
        sections = [_header(evaluation, digest or evaluation.digest)]
        sections += [part(evaluation) for part in (_failing, _waived, _baselined, _expiring, _not_applied)]
        return "\n".join(line for section in sections for line in section)


# Each section is a list of lines ending with a blank one, or empty when it has nothing to say.


def _header(evaluation: Evaluation, digest: str) -> list[str]:
    m = evaluation.model
    return [
        f"### govkit: {evaluation.verdict.upper()} - {_md(m['name'])} {_md(m['version'])} "
        f"(team {_md(evaluation.team)})",
        "",
        f"Policy {_md(evaluation.policy['name'])} {_md(evaluation.policy['version'])}, blocking at severity "
        f"{evaluation.fail_on} and above. Evaluation `{digest[:16]}`.",
        "",
        f"Result: {tally(evaluation.counts)}.",
        "",
    ]


def _failing(evaluation: Evaluation) -> list[str]:
    failing = [f for f in sorted(evaluation.findings, key=order) if f.status in ATTENTION]
    if not failing:
        return []
    tagged = any(f.controls for f in failing)  # the column only when some rule cites controls
    return [
        "#### Failing rules",
        "",
        "| Status | Severity | Rule | Subject | Finding |" + (" Controls |" if tagged else ""),
        "|---|---|---|---|---|" + ("---|" if tagged else ""),
        *(_row(f, tagged) for f in failing),
        "",
    ]


def _row(f: Finding, tagged: bool = False) -> str:
    status = f.status.upper() + (" (blocking)" if f.blocking else "")
    controls = f" {_md(', '.join(f.controls))} |" if tagged else ""
    return f"| {status} | {f.severity} | {_md(f.rule_id)} | {_md(f.subject)} | {_md(detail(f))} |{controls}"


def _waived(evaluation: Evaluation) -> list[str]:
    waived = [f for f in evaluation.findings if f.status == "waived"]
    if not waived:
        return []
    by_id = {w.id: w for w in evaluation.waivers}
    lines = ["#### Waived", "", "| Rule | Subject | Waiver | Expires | Ticket | Reason |", "|---|---|---|---|---|---|"]
    for f in waived:
        w = by_id.get(f.waiver_id or "")
        cells = (w.expires, w.ticket, w.reason) if w else ("", "", "")
        lines.append("| " + " | ".join(_md(c) for c in (f.rule_id, f.subject, f.waiver_id, *cells)) + " |")
    return [*lines, ""]


def _baselined(evaluation: Evaluation) -> list[str]:
    baselined = [f for f in evaluation.findings if f.status == "baselined"]
    return [f"{len(baselined)} known finding(s) are in the baseline and do not block.", ""] if baselined else []


def _expiring(evaluation: Evaluation) -> list[str]:
    expiring = [w for w in evaluation.waivers if w.expiring_soon]
    if not expiring:
        return []
    items = [f"- {_md(w.id)} ({_md(w.rule)}) expires {_md(w.expires)}, ticket {_md(w.ticket)}" for w in expiring]
    return ["#### Waivers expiring soon", "", *items, ""]


def _not_applied(evaluation: Evaluation) -> list[str]:
    problems = [w for w in evaluation.waivers if w.status not in WAIVER_APPLIED]
    if not problems:
        return []
    items = [f"- {_md(w.id)} ({_md(w.rule)}): {w.status}, {_md(w.detail)}" for w in problems]
    return ["#### Waivers that did not apply", "", *items, ""]
