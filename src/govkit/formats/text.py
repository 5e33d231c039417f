"""A terminal table grouped by area, blocking findings first, with a tally and the verdict."""

from __future__ import annotations

import io

from govkit.evaluation import AREA_TITLES, Evaluation, Finding
from govkit.formats.common import detail, order, tally
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
            f"[bold]{m['name']} {m['version']}[/bold]  team {evaluation.team}  risk tier {m['risk_tier']}  "
            f"policy {evaluation.policy['name']} {evaluation.policy['version']}"
        )
        areas: dict[str, list[Finding]] = {}
        for f in evaluation.findings:
            areas.setdefault(f.area, []).append(f)
        for area, findings in areas.items():
            table = Table(title=AREA_TITLES.get(area, area), title_justify="left", expand=True, show_lines=False)
            table.add_column("status", no_wrap=True)
            table.add_column("severity", no_wrap=True)
            table.add_column("rule", no_wrap=True)
            table.add_column("subject", overflow="fold", max_width=28)
            table.add_column("finding", overflow="fold", ratio=1)
            for f in sorted(findings, key=order):
                label = f.status.upper() + ("*" if f.blocking else "")
                table.add_row(Text(label, style=STATUS_STYLE[f.status]), f.severity, f.rule_id, f.subject, detail(f))
            console.print(table)
        for notice in evaluation.notices:
            console.print(f"[yellow]notice:[/yellow] {notice}")
        counts = tally(evaluation.counts)
        verdict = evaluation.verdict.upper()
        style = "bold green" if evaluation.verdict == "pass" else "bold red"
        console.print(f"{counts}  (* blocks at --fail-on {evaluation.fail_on})")
        console.print(f"verdict: [{style}]{verdict}[/{style}]  evaluation {(digest or evaluation.digest)[:16]}")
        return out.getvalue()
