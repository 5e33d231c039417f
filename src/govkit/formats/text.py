"""A terminal table grouped by area, blocking findings first, with a tally and the verdict.

User strings enter rich only as `Text` objects made by `_text`, never as markup: a `[/bold]` in
a model name is shown, not parsed, and an ANSI escape in it is shown as `\\x1b`, not obeyed.
"""

from __future__ import annotations

import io
from typing import Any

from govkit.evaluation import AREA_TITLES, Evaluation, Finding
from govkit.formats.common import detail, order, printable, tally
from govkit.formats.interface import Formatter

STATUS_STYLE = {
    "fail": "bold red",
    "error": "bold magenta",
    "warn": "yellow",
    "waived": "cyan",
    "baselined": "blue",
    "pass": "green",
    "skipped": "dim",
}


def _text(text: object, style: str = "") -> Any:
    from rich.text import Text

    return Text(printable(text), style=style)


class TextFormatter(Formatter):
    name = "text"
    suffix = ".txt"

    def render(self, evaluation: Evaluation, *, digest: str | None = None, color: bool = False) -> str:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        out = io.StringIO()
        console = Console(file=out, force_terminal=color, no_color=not color, width=120, highlight=False)
        m = evaluation.model
        console.print(
            Text.assemble(
                _text(f"{m['name']} {m['version']}", "bold"),
                "  team ",
                _text(evaluation.team),
                "  risk tier ",
                _text(m["risk_tier"]),
                "  policy ",
                _text(f"{evaluation.policy['name']} {evaluation.policy['version']}"),
            )
        )
        areas: dict[str, list[Finding]] = {}
        for f in evaluation.findings:
            areas.setdefault(f.area, []).append(f)
        for area, findings in areas.items():
            table = Table(title=_text(AREA_TITLES.get(area, area)), title_justify="left", expand=True, show_lines=False)
            table.add_column("status", no_wrap=True)
            table.add_column("severity", no_wrap=True)
            table.add_column("rule", no_wrap=True)
            table.add_column("subject", overflow="fold", max_width=28)
            table.add_column("finding", overflow="fold", ratio=1)
            for f in sorted(findings, key=order):
                label = f.status.upper() + ("*" if f.blocking else "")
                table.add_row(
                    Text(label, style=STATUS_STYLE[f.status]),
                    f.severity,
                    _text(f.rule_id),
                    _text(f.subject),
                    _text(detail(f)),
                )
            console.print(table)
        for notice in evaluation.notices:
            console.print(Text.assemble(("notice:", "yellow"), " ", _text(notice)))
        counts = tally(evaluation.counts)
        verdict = evaluation.verdict.upper()
        style = "bold green" if evaluation.verdict == "pass" else "bold red"
        console.print(f"{counts}  (* blocks at --fail-on {evaluation.fail_on})")
        console.print(f"verdict: [{style}]{verdict}[/{style}]  evaluation {(digest or evaluation.digest)[:16]}")
        return out.getvalue()
