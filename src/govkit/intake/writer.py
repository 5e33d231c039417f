"""Write a manifest as YAML a person can finish: every open question is a `# TODO:` comment on its line.

PyYAML cannot write comments, so this emits the small subset a manifest needs by hand: mappings,
lists and scalars. Every scalar is written as a JSON string or number (valid YAML, and no user
string can become a YAML tag, anchor or multi-line value; invisible characters are escaped); comments are
passed through `printable`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from govkit.formats.common import _UNPRINTABLE, printable
from govkit.yamlio import KeyPath

INDENT = "  "


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return _UNPRINTABLE.sub(_escape, json.dumps(str(value), ensure_ascii=False))


def _escape(match: re.Match[str]) -> str:
    """An invisible or reordering character (a bidi override in a column name) as a YAML escape, so the file
    shows what it holds."""
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _comment(text: str | None) -> str:
    return f"  # {printable(text)}" if text else ""


def _flat(items: list[Any] | tuple[Any, ...]) -> bool:
    return all(not isinstance(i, Mapping | list | tuple) for i in items)


def _emit(value: Any, path: KeyPath, depth: int, comments: Mapping[KeyPath, str], out: list[str]) -> None:
    pad = INDENT * depth
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = (*path, key)
            note = _comment(comments.get(here))
            head = f"{pad}{scalar(key) if not str(key).isidentifier() else key}:"
            if (isinstance(item, Mapping) and item) or (isinstance(item, list | tuple) and item and not _flat(item)):
                out.append(head + note)
                _emit(item, here, depth + 1, comments, out)
            elif isinstance(item, list | tuple):
                out.append(f"{head} [{', '.join(scalar(i) for i in item)}]{note}")
            elif isinstance(item, Mapping):
                out.append(f"{head} {{}}{note}")
            else:
                out.append(f"{head} {scalar(item)}{note}")
        return
    for i, item in enumerate(value):
        lines: list[str] = []
        _emit(item, (*path, i), depth + 1, comments, lines)
        first = lines[0][len(INDENT * (depth + 1)) :]
        out.append(f"{pad}- {first}{_comment(comments.get((*path, i)))}")
        out.extend(lines[1:])


def render(document: Mapping[str, Any], comments: Mapping[KeyPath, str], header: list[str]) -> str:
    """YAML text of `document`; `comments[key path]` is written at the end of that key's line."""
    out = [f"# {printable(line)}" if line else "#" for line in header]
    _emit(document, (), 0, comments, out)
    return "\n".join(out) + "\n"
