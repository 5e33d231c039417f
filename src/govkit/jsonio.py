"""JSON that govkit did not just write itself (a file, a cache on disk, a log row), parsed within bounds.

`json.loads` has no limit of its own: a 200 kB file of `[` raises RecursionError, which is no
ValueError, so a caller that caught only ValueError ended with a traceback and exit 3. Every such
parse comes through here: the text is capped in size, and every way it can fail to parse (syntax,
encoding, nesting) becomes one line of the caller's own error type, naming the file and field.
YAML has its own bounded loader (`govkit.yamlio`); this module does not import it until a file is read,
so reading the inventory stays free of PyYAML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from govkit.errors import GovkitError


def parse_json(
    raw: bytes | str,
    *,
    limit: int,
    error: type[GovkitError] = GovkitError,
    file: str | Path | None = None,
    field: str | None = None,
) -> Any:
    """The value of `raw`; larger than `limit` bytes, not JSON or nested too deeply is one `error`."""
    if len(raw) > limit:
        raise error(f"JSON larger than {limit:,} bytes; refused", file=file, field=field)
    try:
        return json.loads(raw)
    except RecursionError:
        raise error("JSON nested too deeply", file=file, field=field) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both are
        raise error(f"not JSON ({exc})", file=file, field=field) from None


def load_json(
    path: Path,
    *,
    limit: int,
    error: type[GovkitError] = GovkitError,
    expected: str = "a JSON file",
    too_large: str = "refused",
) -> tuple[Any, bytes]:
    """The value of the JSON file `path` and the bytes read (for a digest), never more than `limit` read."""
    from govkit.yamlio import read_bounded

    raw = read_bounded(path, limit=limit, error=error, expected=expected, too_large=too_large)
    return parse_json(raw, limit=limit, error=error, file=path), raw
