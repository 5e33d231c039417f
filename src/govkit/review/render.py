"""A Comparison as plain text, JSON or Markdown; every user string escaped for where it lands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from govkit.formats.common import json_text, printable
from govkit.formats.common import value as fmt_value
from govkit.formats.markdown import _md
from govkit.review.diff import ALPHA, Comparison

FORMATS = ("text", "json", "markdown")
SHOWN_RATES = 30  # text and Markdown list the largest significant changes; JSON has them all


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _signed(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:+.1f} pp"


def _num(v: Any) -> str:
    return "—" if v is None else f"{v:.3f}" if isinstance(v, float) else fmt_value(v)


def _rows(cmp: Comparison) -> dict[str, list[list[str]]]:
    """The sections shared by text and Markdown, as rows of raw (unescaped) strings."""
    significant = sorted(cmp.significant_rates, key=lambda r: -abs(r.delta or 0.0))
    return {
        "findings": [
            [f.kind, f.rule_id, f.subject, f"{f.before or '—'} → {f.after or '—'}", f.message] for f in cmp.findings
        ],
        "rates": [
            [
                f"{r.feature}: {r.group}",
                r.metric,
                f"{_pct(r.before)} ({r.counts_before[0]}/{r.counts_before[1]})",
                f"{_pct(r.after)} ({r.counts_after[0]}/{r.counts_after[1]})",
                _signed(r.delta),
                f"p={r.p_value:.2g} ({r.test})" if r.p_value is not None else "—",
            ]
            for r in significant[:SHOWN_RATES]
        ],
        "summaries": [
            [s.feature, s.metric, _num(s.before), _num(s.after), _num(s.delta), "yes" if s.significant else "no"]
            for s in cmp.summaries
            if s.significant
        ],
        "settings": [[c.what, _num(c.before), _num(c.after)] for c in (*cmp.policy, *cmp.inputs)],
    }


def headline(cmp: Comparison) -> str:
    a, b = cmp.before, cmp.after
    if cmp.unchanged:
        return "No change in verdict, findings, cohort metrics, policy or inputs."
    verdict = f"verdict {a['verdict']} → {b['verdict']}" if cmp.verdict_changed else f"verdict {b['verdict']} (same)"
    counts = {k: sum(1 for f in cmp.findings if f.kind == k) for k in ("new", "resolved", "changed")}
    return (
        f"{verdict}; findings: {counts['new']} new, {counts['resolved']} resolved, {counts['changed']} changed; "
        f"{len(cmp.significant_rates)} of {len(cmp.rates)} cohort rates changed significantly (p < {ALPHA}); "
        f"{len(cmp.policy)} policy and {len(cmp.inputs)} input change(s)."
    )


def _text(cmp: Comparison) -> str:
    a, b = cmp.before, cmp.after
    lines = [
        f"From {a['model']} {a['version']} ({a['digest'][:12]}, {a['created_at']}, {a['verdict']})",
        f"  to {b['model']} {b['version']} ({b['digest'][:12]}, {b['created_at']}, {b['verdict']})",
        headline(cmp),
    ]
    titles = {
        "findings": "Findings (new / resolved / changed)",
        "rates": "Cohort rates that changed significantly",
        "summaries": "Summary metrics whose 95% intervals no longer overlap",
        "settings": "Policy and inputs",
    }
    for key, rows in _rows(cmp).items():
        if rows:
            lines += ["", titles[key] + ":"]
            lines += ["  " + " | ".join(printable(c) for c in row) for row in rows]
        if key == "rates" and len(cmp.significant_rates) > SHOWN_RATES:
            lines.append(f"  ... {len(cmp.significant_rates) - SHOWN_RATES} more in --format json")
    if cmp.cohorts_added or cmp.cohorts_removed:
        lines += ["", f"Cohorts added: {len(cmp.cohorts_added)}, removed: {len(cmp.cohorts_removed)}"]
        lines += [f"  + {printable(c)}" for c in cmp.cohorts_added[:SHOWN_RATES]]
        lines += [f"  - {printable(c)}" for c in cmp.cohorts_removed[:SHOWN_RATES]]
    return "\n".join(lines) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]


def _markdown(cmp: Comparison) -> str:
    a, b = cmp.before, cmp.after
    lines = [
        f"### Changes from {_md(a['model'])} {_md(a['version'])} to {_md(b['version'])}",
        "",
        f"`{a['digest'][:12]}` ({_md(a['created_at'])}, {_md(a['verdict'])}) → "
        f"`{b['digest'][:12]}` ({_md(b['created_at'])}, {_md(b['verdict'])})",
        "",
        _md(headline(cmp)),
    ]
    headers = {
        "findings": ["change", "rule", "subject", "status", "message"],
        "rates": ["cohort", "rate", "before", "after", "change", "test"],
        "summaries": ["feature", "metric", "before", "after", "change", "significant"],
        "settings": ["what", "before", "after"],
    }
    for key, rows in _rows(cmp).items():
        if rows:
            lines += ["", *_table(headers[key], rows)]
        if key == "rates" and len(cmp.significant_rates) > SHOWN_RATES:
            more = len(cmp.significant_rates) - SHOWN_RATES
            lines += ["", f"{more} more significant changes in `govkit diff --format json`."]
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Comparison], str]] = {
    "text": _text,
    "json": lambda cmp: json_text(cmp.to_dict(), indent=2, default=str) + "\n",
    "markdown": _markdown,
}


def render(cmp: Comparison, fmt: str) -> str:
    return RENDERERS[fmt](cmp)
