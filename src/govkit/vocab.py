"""govkit's shared words, each defined once: severities, finding statuses and the groups of them
that formats, the baseline and the engine act on.

Light on purpose (standard library only): the CLI builds its choices from it at start-up, and
policy schemas, the evaluation, formats and the baseline import the same tuples.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "ATTENTION",
    "BASELINE_OPEN",
    "REPORTED",
    "SEVERITIES",
    "STATUSES",
    "WAIVABLE",
    "WAIVER_APPLIED",
    "WITH_THRESHOLD",
    "Severity",
    "Status",
]

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")  # lowest first

Status = Literal["pass", "fail", "warn", "waived", "baselined", "error", "skipped"]
STATUSES: tuple[Status, ...] = ("fail", "error", "warn", "waived", "baselined", "pass", "skipped")  # display order

ATTENTION: tuple[Status, ...] = ("fail", "error", "warn")  # what a summary lists as needing a reader
WAIVABLE: tuple[Status, ...] = ("fail", "warn")  # what a waiver or a baseline entry can absorb
BASELINE_OPEN: tuple[Status, ...] = ("fail", "warn", "baselined")  # what `govkit baseline` records
REPORTED: tuple[Status, ...] = ("fail", "error", "warn", "waived", "baselined")  # statuses a CI surface shows
WITH_THRESHOLD: tuple[Status, ...] = ("fail", "warn", "baselined", "waived")  # findings shown with their threshold

WAIVER_APPLIED = ("used", "unused")  # waiver statuses that are not a problem with the waiver itself
