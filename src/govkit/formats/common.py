"""Small pieces every format needs: value formatting, the measured-vs-threshold sentence, and
`printable`, the first step of every format's escaping of user strings.

Model names, versions, rule titles, waiver fields and data values are user input. Each format
escapes them in one place (markdown._md, github._data/_prop, text._text, junit._xml, sarif._text);
all of them start from `printable`, so a control character never reaches a terminal, a CI log
or an XML parser as itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

from govkit.evaluation import STATUSES, Finding
from govkit.vocab import WITH_THRESHOLD

# C0/C1 controls (newlines, ESC of ANSI sequences, NUL), Unicode line/paragraph separators,
# invisible format characters (Unicode category Cf: zero-width spaces and joiners, bidi marks,
# overrides and isolates, which hide or reorder what a reader sees, tag characters), and code
# points XML 1.0 forbids.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891"
    "\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\ufff9-\ufffb\ud800-\udfff\ufffe\uffff\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)

SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def printable(text: object) -> str:
    """One line of inert text: every control character shown as its escape (`\\n`, `\\x1b`)."""
    return _UNPRINTABLE.sub(_show, "" if text is None else str(text))


def json_text(data: object, **options: Any) -> str:
    """`json.dumps(data, ensure_ascii=False)`, with every character `printable` escapes written as a
    `\\uXXXX` escape: still readable UTF-8 and the same strings when parsed, but a CSI or a bidi
    override in a model name reaches a terminal as text. (json escapes C0 controls in strings itself;
    the raw ones left are the layout's own newlines.)"""
    text = json.dumps(data, ensure_ascii=False, **options)
    if text.isascii() and "\x7f" not in text:  # the usual case, answered at C speed (the regex costs 30 ms/MB)
        return text
    return _UNPRINTABLE.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char < " ":
        return char
    return json.dumps(char)[1:-1]  # ensure_ascii: \uXXXX, a surrogate pair beyond the BMP


def csv_cell(text: str) -> str:
    """Spreadsheets run a cell that starts with = + - @ as a formula: quote it as text."""
    text = printable(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _show(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape", "backslashreplace").decode("ascii")


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
    if f.threshold in (None, {}, []) or f.status not in WITH_THRESHOLD:
        return f.message
    return f"{f.message} (measured {value(f.measured)}; threshold {value(f.threshold)})"


def order(f: Finding) -> tuple[int, int, str, str]:
    """Blocking first, then by status severity, then rule and subject: stable across runs."""
    return (0 if f.blocking else 1, STATUSES.index(f.status), f.rule_id, f.subject)


def tally(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no rules"
