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


def fit(text: str, room: float, size: float) -> str:
    """`text` cut (with an ellipsis) to what fits `room` pixels at font `size`: chart labels cannot wrap,
    and the full text is always in the table next to the chart. Wide (CJK, emoji) characters count
    one em, others 0.62 em (DejaVu Sans' widest common glyphs)."""
    from unicodedata import east_asian_width

    used = 0.0
    for i, ch in enumerate(text):
        used += size * (1.0 if east_asian_width(ch) in "WF" or ord(ch) > 0xFFFF else 0.62)
        if used > room:
            return text[: max(i - 1, 0)] + "…"
    return text


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    reference: float | None = None,
    reference_label: str = "",
    width: int = 620,
    scale_max: float | None = None,
) -> Markup:
    """Horizontal bars with interval whiskers and an optional reference line."""
    row, left, right, top = 20, 170, 60, 26
    plot = width - left - right
    height = top + row * len(bars) + 24
    values = [b.high if b.high is not None else b.value for b in bars if b.value is not None]
    vmax = scale_max or max([*values, reference or 0, 1e-9])

    def x(v: float) -> float:
        return left + plot * min(max(v, 0.0), vmax) / vmax

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)}>',
        f'<text x="0" y="14" font-size="10" font-weight="bold" font-family="DejaVu Sans">'
        f"{escape(fit(title, width, 10))}</text>",
    ]
    for i, bar in enumerate(bars):
        y = top + i * row
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="8" font-family="DejaVu Sans">'
            f"{escape(fit(bar.label, left - 8, 8))}</text>"
        )
        if bar.value is None:
            parts.append(f'<text x="{left + 4}" y="{y + 13}" font-size="8" font-family="DejaVu Sans">undefined</text>')
            continue
        fill = "#b8c2cc" if bar.muted else "#2f5d8a"
        parts.append(
            f'<rect x="{left}" y="{y + 3}" width="{x(bar.value) - left:.2f}" height="{row - 6}" fill="{fill}"/>'
        )
        if bar.low is not None and bar.high is not None:
            mid = y + row / 2
            parts.append(
                f'<line x1="{x(bar.low):.2f}" y1="{mid}" x2="{x(bar.high):.2f}" y2="{mid}" '
                f'stroke="#111" stroke-width="1.2"/>'
            )
            for edge in (bar.low, bar.high):
                parts.append(
                    f'<line x1="{x(edge):.2f}" y1="{mid - 4}" x2="{x(edge):.2f}" y2="{mid + 4}" '
                    f'stroke="#111" stroke-width="1.2"/>'
                )
        parts.append(
            f'<text x="{x(bar.high if bar.high is not None else bar.value) + 4:.2f}" y="{y + 13}" '
            f'font-size="8" font-family="DejaVu Sans">{bar.value:.3f}</text>'
        )
    if reference is not None:
        rx = x(reference)
        bottom = top + row * len(bars)
        parts.append(
            f'<line x1="{rx:.2f}" y1="{top - 4}" x2="{rx:.2f}" y2="{bottom + 2}" stroke="#b3261e" '
            f'stroke-dasharray="4 3" stroke-width="1.2"/>'
        )
        parts.append(
            f'<text x="{rx:.2f}" y="{bottom + 16}" text-anchor="middle" {SMALL_RED}>{escape(reference_label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above is escaped


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]  # one per window; None: not measured there


# Okabe-Ito colours (distinguishable with colour-vision deficiencies), and a marker shape per series
# so that the legend never relies on colour alone.
PALETTE = ("#000000", "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f6000")
FAILED_FILL = "#f6d5d2"
FAILED_MARK = "\u2717 FAIL"


def _marker(shape: int, x: float, y: float, colour: str) -> str:
    fill = colour if shape < 4 else "#fff"
    kind = shape % 4
    if kind == 0:
        return f'<circle cx="{x:.2f}" cy="{y:.2f}" r="2.6" fill="{fill}" stroke="{colour}" stroke-width="1"/>'
    if kind == 1:
        return (
            f'<rect x="{x - 2.4:.2f}" y="{y - 2.4:.2f}" width="4.8" height="4.8" fill="{fill}" '
            f'stroke="{colour}" stroke-width="1"/>'
        )
    points = (
        ((x, y - 3.2), (x + 3, y + 2.4), (x - 3, y + 2.4))
        if kind == 2
        else ((x, y - 3.4), (x + 3.2, y), (x, y + 3.4), (x - 3.2, y))
    )
    joined = " ".join(f"{px:.2f},{py:.2f}" for px, py in points)
    return f'<polygon points="{joined}" fill="{fill}" stroke="{colour}" stroke-width="1"/>'


def _nice(top: float) -> float:
    """The smallest 4 x (1, 2, 2.5 or 5 x 10^k) at or above top, so the four gridlines have round values."""
    from math import floor, log10

    raw = top / 4
    magnitude: float = 10.0 ** floor(log10(raw))
    return 4 * magnitude * next(m for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-12))


def line_chart(
    windows: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    failed: Sequence[bool] = (),
    threshold: float | None = None,
    threshold_label: str = "",
    scale_max: float | None = None,
    width: int = 620,
) -> Markup:
    """Values per window, one line per series; failed windows get a shaded column and a text mark.

    At most len(PALETTE) series (the caller keeps the rest for its table); a None value breaks its line.
    """
    series = list(series)[: len(PALETTE)]
    left, right, plot_h = 46, 14, 150
    per_row = 4
    legend_rows = (len(series) + per_row - 1) // per_row
    top = 24 + 14 * legend_rows + 6
    bottom = top + plot_h
    height = bottom + 34
    plot_w = width - left - right
    values = [v for s in series for v in s.values if v is not None]
    vmax = scale_max or _nice(max([*values, threshold or 0.0, 1e-9]) * 1.05)
    n = max(len(windows), 1)
    slot = plot_w / n
    step = max(1, -(-n // 12))  # at most 12 window labels

    def x(i: int) -> float:
        return left + slot * (i + 0.5)

    def y(v: float) -> float:
        return bottom - plot_h * min(max(v, 0.0), vmax) / vmax

    font = 'font-family="DejaVu Sans"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)}>',
        f'<text x="0" y="14" font-size="10" font-weight="bold" {font}>{escape(fit(title, width, 10))}</text>',
    ]
    for i, s in enumerate(series):
        lx, ly = (i % per_row) * (width // per_row), 28 + 14 * (i // per_row)
        colour = PALETTE[i]
        parts.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 18}" y2="{ly}" stroke="{colour}" stroke-width="1.4"/>')
        parts.append(_marker(i, lx + 9, ly, colour))
        parts.append(f'<text x="{lx + 22}" y="{ly + 3}" font-size="8" {font}>{escape(fit(s.label, 150, 8))}</text>')
    for i, bad in enumerate(failed):
        if bad:
            parts.append(
                f'<rect x="{left + slot * i:.2f}" y="{top}" width="{slot:.2f}" height="{plot_h}" fill="{FAILED_FILL}"/>'
            )
    for k in range(5):
        tick = vmax * k / 4
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.2f}" x2="{width - right}" y2="{y(tick):.2f}" '
            f'stroke="#ddd" stroke-width="0.6"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y(tick) + 3:.2f}" text-anchor="end" font-size="7" {font}>{tick:.4g}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{bottom}" x2="{width - right}" y2="{bottom}" stroke="#111" stroke-width="0.8"/>'
    )
    for i, name in enumerate(windows):
        if i % step == 0:
            parts.append(
                f'<text x="{x(i):.2f}" y="{bottom + 11}" text-anchor="middle" font-size="7" {font}>'
                f"{escape(fit(name, 60, 7))}</text>"
            )
        if i < len(failed) and failed[i]:
            parts.append(
                f'<text x="{x(i):.2f}" y="{bottom + 22}" text-anchor="middle" {SMALL_RED} '
                f'font-weight="bold">{FAILED_MARK if n <= 16 else FAILED_MARK[0]}</text>'
            )
    if threshold is not None:
        ty = y(threshold)
        parts.append(
            f'<line x1="{left}" y1="{ty:.2f}" x2="{width - right}" y2="{ty:.2f}" stroke="#b3261e" '
            f'stroke-dasharray="4 3" stroke-width="1.2"/>'
        )
        parts.append(
            f'<text x="{width - right}" y="{ty - 3:.2f}" text-anchor="end" {SMALL_RED}>{escape(threshold_label)}</text>'
        )
    for i, s in enumerate(series):
        colour = PALETTE[i]
        runs: list[list[tuple[float, float]]] = [[]]
        for j, v in enumerate(s.values[:n]):
            if v is None:
                runs.append([])
            else:
                runs[-1].append((x(j), y(v)))
        for run in runs:
            if len(run) > 1:
                joined = " ".join(f"{px:.2f},{py:.2f}" for px, py in run)
                parts.append(f'<polyline points="{joined}" fill="none" stroke="{colour}" stroke-width="1.4"/>')
            parts.extend(_marker(i, px, py, colour) for px, py in run)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above is escaped
