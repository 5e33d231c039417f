"""The inventory and its due list as a terminal table, JSON, CSV or Markdown.

Model names, versions, teams, owners, rule ids and reasons are user input: each format escapes
them with the helper that format already uses elsewhere (rich markup + `printable` for the
terminal, `_md` for Markdown, `csv_cell` against formula injection in CSV; JSON is data).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from govkit.controls.render import csv_cell
from govkit.formats.common import printable
from govkit.formats.markdown import _md
from govkit.inventory.interface import DueItem, Inventory

FORMATS = ("table", "json", "csv", "markdown")
COLUMNS = (
    "model",
    "version",
    "team",
    "owner",
    "risk",
    "state",
    "evaluation",
    "sign-off",
    "open findings",
    "waivers",
    "monitoring",
    "next review",
)
DUE_COLUMNS = ("when", "kind", "model", "version", "team", "detail")


def inventory_rows(inventory: Inventory) -> list[list[str]]:
    rows = []
    for m in inventory.models:
        for v in m.versions:
            ev = v.latest_evaluation
            so = v.latest_signoff
            rows.append(
                [
                    m.name,
                    v.version,
                    m.team,
                    m.owner,
                    m.risk_tier,
                    v.state,
                    f"{ev.verdict} {ev.recorded_at[:10]} ({v.evaluations})" if ev else "none",
                    f"{so.decision} {so.at[:10]}" if so else "none",
                    str(len(v.open_findings)),
                    str(len(v.waivers)),
                    v.monitoring.status,
                    v.next_review_due.isoformat() if v.next_review_due else "",
                ]
            )
    return rows


def due_rows(items: Sequence[DueItem]) -> list[list[str]]:
    return [
        [
            ("OVERDUE " if i.overdue else "") + (i.due.isoformat() if i.due else "now"),
            i.kind,
            i.model,
            i.version,
            i.team,
            i.detail,
        ]
        for i in items
    ]


def _table(header: Sequence[str], rows: list[list[str]], summary: str, *, color: bool) -> str:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = io.StringIO()
    console = Console(file=out, force_terminal=color, no_color=not color, width=200, highlight=False)
    table = Table(expand=False)
    for name in header:
        table.add_column(escape(name), overflow="fold")
    for row in rows:
        table.add_row(*(escape(printable(c)) for c in row))
    console.print(table)
    console.print(escape(printable(summary)))
    return out.getvalue()


def _render(header: Sequence[str], rows: list[list[str]], data: object, summary: str, fmt: str, color: bool) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in [list(header), *rows]:
            writer.writerow([csv_cell(c) for c in row])
        return out.getvalue()
    if fmt == "markdown":
        lines = [
            "| " + " | ".join(_md(h) for h in header) + " |",
            "|" + "---|" * len(header),
            *("| " + " | ".join(_md(c) for c in row) + " |" for row in rows),
            "",
            _md(summary),
        ]
        return "\n".join(lines) + "\n"
    return _table(header, rows, summary, color=color)


def render_inventory(inventory: Inventory, fmt: str, *, color: bool = False) -> str:
    versions = sum(len(m.versions) for m in inventory.models)
    summary = (
        f"{len(inventory.models)} model(s), {versions} version(s); "
        f"audit log {inventory.location} at entry {inventory.log_position.size}"
    )
    return _render(COLUMNS, inventory_rows(inventory), inventory.to_dict(), summary, fmt, color)


def render_due(items: Sequence[DueItem], fmt: str, *, color: bool = False) -> str:
    overdue = sum(1 for i in items if i.overdue)
    summary = f"{len(items)} item(s) due, {overdue} overdue"
    return _render(DUE_COLUMNS, due_rows(items), [i.to_dict() for i in items], summary, fmt, color)
