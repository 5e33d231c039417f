"""The inventory and its due list as a terminal table, JSON, CSV or Markdown.

Model names, versions, teams, owners, rule ids and reasons are user input: each format escapes
them with the helper that format already uses elsewhere (rich markup + `printable` for the
terminal, `_md` for Markdown, `csv_cell` against formula injection in CSV, `json_text` for JSON).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from govkit.formats.common import csv_cell, json_text, printable
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
    """Aligned columns, drawn directly: rich's Table took 15 s for the 10,000 rows of a large inventory.

    Every cell goes through `printable`, so a name cannot carry a terminal escape; colour is only
    the header's bold, written here, never taken from a cell.
    """
    from rich.cells import cell_len as wide_len

    def cell_len(text: str) -> int:  # columns on screen: CJK and emoji take two
        return len(text) if text.isascii() else wide_len(text)

    cells = [[printable(c) for c in row] for row in rows]
    widths = [max(map(cell_len, column)) for column in zip(header, *cells, strict=True)]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - cell_len(c)) for c, w in zip(row, widths, strict=True)).rstrip()

    bold, plain = ("\x1b[1m", "\x1b[0m") if color else ("", "")
    out = [bold + line(header) + plain, "  ".join("─" * w for w in widths)]
    out += [line(row) for row in cells]
    return "\n".join([*out, "", printable(summary)]) + "\n"


def _render(header: Sequence[str], rows: list[list[str]], summary: str, fmt: str, color: bool) -> str:
    """The three text formats; JSON is written from the records, not from these rows."""
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


def _json(data: object) -> str:
    """One line per model (or due item) inside an indented document: json's C encoder only runs
    without `indent` (with it, 10,000 versions took 6 s); still valid JSON, readable, diff-friendly."""
    if isinstance(data, list):
        return "[\n" + ",\n".join("  " + json_text(item) for item in data) + "\n]" if data else "[]"
    assert isinstance(data, dict)
    return (
        "{\n"
        + ",\n".join(f"  {json_text(k)}: {_json(v) if k == 'models' else json_text(v)}" for k, v in data.items())
        + "\n}"
    )


def render_inventory(inventory: Inventory, fmt: str, *, color: bool = False) -> str:
    versions = sum(len(m.versions) for m in inventory.models)
    summary = (
        f"{len(inventory.models)} model(s), {versions} version(s); "
        f"audit log {inventory.location} at entry {inventory.log_position.size}"
    )
    if fmt == "json":
        return _json(inventory.to_dict()) + "\n"
    return _render(COLUMNS, inventory_rows(inventory), summary, fmt, color)


def render_due(items: Sequence[DueItem], fmt: str, *, color: bool = False) -> str:
    overdue = sum(1 for i in items if i.overdue)
    summary = f"{len(items)} item(s) due, {overdue} overdue"
    if fmt == "json":
        return _json([i.to_dict() for i in items]) + "\n"
    return _render(DUE_COLUMNS, due_rows(items), summary, fmt, color)
