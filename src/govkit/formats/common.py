"""Small pieces every format needs: value formatting and the measured-vs-threshold sentence."""

from __future__ import annotations

from govkit.evaluation import STATUSES, Finding

REPORTED = ("fail", "error", "warn", "waived", "baselined")  # statuses a CI surface shows
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def value(v: object) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}={value(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def detail(f: Finding) -> str:
    """The finding's message, plus measured value and threshold when they say something."""
    if f.threshold in (None, {}, []) or f.status not in ("fail", "warn", "baselined", "waived"):
        return f.message
    return f"{f.message} (measured {value(f.measured)}; threshold {value(f.threshold)})"


def order(f: Finding) -> tuple[int, int, str, str]:
    """Blocking first, then by status severity, then rule and subject: stable across runs."""
    return (0 if f.blocking else 1, STATUSES.index(f.status), f.rule_id, f.subject)


def tally(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no rules"
