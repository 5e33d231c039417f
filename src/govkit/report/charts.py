"""Small, deterministic SVG charts (no random ids, fixed number formatting) for the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    muted: bool = False  # e.g. a group too small to judge


SMALL_RED = 'font-size="7" fill="#b3261e" font-family="DejaVu Sans"'


def bar_chart(bars: Sequence[Bar], *, title: str, reference: float | None = None, reference_label: str = "",
              width: int = 620, scale_max: float | None = None) -> Markup:
    """Horizontal bars with interval whiskers and an optional reference line."""
    row, left, right, top = 20, 170, 60, 26
    plot = width - left - right
    height = top + row * len(bars) + 24
    values = [b.high if b.high is not None else b.value for b in bars if b.value is not None]
    vmax = scale_max or max([*values, reference or 0, 1e-9])

    def x(v: float) -> float:
        return left + plot * min(max(v, 0.0), vmax) / vmax

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)}>',
             f'<text x="0" y="14" font-size="10" font-weight="bold" font-family="DejaVu Sans">{escape(title)}</text>']
    for i, bar in enumerate(bars):
        y = top + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="8" font-family="DejaVu Sans">'
                     f'{escape(bar.label[:28])}</text>')
        if bar.value is None:
            parts.append(f'<text x="{left + 4}" y="{y + 13}" font-size="8" font-family="DejaVu Sans">undefined</text>')
            continue
        fill = "#b8c2cc" if bar.muted else "#2f5d8a"
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{x(bar.value) - left:.2f}" height="{row - 6}" '
                     f'fill="{fill}"/>')
        if bar.low is not None and bar.high is not None:
            mid = y + row / 2
            parts.append(f'<line x1="{x(bar.low):.2f}" y1="{mid}" x2="{x(bar.high):.2f}" y2="{mid}" '
                         f'stroke="#111" stroke-width="1.2"/>')
            for edge in (bar.low, bar.high):
                parts.append(f'<line x1="{x(edge):.2f}" y1="{mid - 4}" x2="{x(edge):.2f}" y2="{mid + 4}" '
                             f'stroke="#111" stroke-width="1.2"/>')
        parts.append(f'<text x="{x(bar.high if bar.high is not None else bar.value) + 4:.2f}" y="{y + 13}" '
                     f'font-size="8" font-family="DejaVu Sans">{bar.value:.3f}</text>')
    if reference is not None:
        rx = x(reference)
        bottom = top + row * len(bars)
        parts.append(f'<line x1="{rx:.2f}" y1="{top - 4}" x2="{rx:.2f}" y2="{bottom + 2}" stroke="#b3261e" '
                     f'stroke-dasharray="4 3" stroke-width="1.2"/>')
        parts.append(f'<text x="{rx:.2f}" y="{bottom + 16}" text-anchor="middle" {SMALL_RED}>'
                     f'{escape(reference_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above is escaped
