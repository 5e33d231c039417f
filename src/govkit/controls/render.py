"""Coverage matrix as a terminal table, JSON, CSV or Markdown; every user string escaped for its format."""

from __future__ import annotations

import csv
import io
import json

from govkit.controls.coverage import Coverage
from govkit.formats.common import csv_cell, printable
from govkit.formats.markdown import _md

FORMATS = ("table", "json", "csv", "markdown")


def _header(cov: Coverage) -> list[str]:
    return ["control", "title", "rules", *(m.subject for m in cov.models)]


def _cells(cov: Coverage) -> list[list[str]]:
    return [[r.control, r.title, " ".join(r.rules), *r.results] for r in cov.rows]


def render(cov: Coverage, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return json.dumps(cov.to_dict(), indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in [_header(cov), *_cells(cov)]:
            writer.writerow([csv_cell(c) for c in row])
        return out.getvalue()
    covered = sum(1 for r in cov.rows if r.rules)
    summary = (
        f"{covered} of {len(cov.rows)} controls covered by a rule; policy {cov.policy}, "
        f"team {cov.team or '-'}, {len(cov.models)} model(s) with a recorded evaluation"
    )
    if fmt == "markdown":
        lines = [
            f"### Control coverage: {_md(', '.join(cov.frameworks))}",
            "",
            _md(summary),
            "",
            "| " + " | ".join(_md(h) for h in _header(cov)) + " |",
            "|" + "---|" * len(_header(cov)),
        ]
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in _cells(cov)]
        return "\n".join(lines) + "\n"
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = io.StringIO()
    console = Console(file=out, force_terminal=color, no_color=not color, width=160, highlight=False)
    table = Table(expand=True)
    for i, name in enumerate(_header(cov)):
        table.add_column(escape(printable(name)), ratio=2 if i == 1 else None, overflow="fold")
    for row in _cells(cov):
        table.add_row(*(escape(printable(c)) for c in row))
    console.print(table)
    console.print(escape(summary))
    return out.getvalue()
