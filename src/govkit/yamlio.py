"""YAML loading that remembers where each key is, for error messages and SARIF regions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from govkit.errors import GovkitError

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML plus a map from key path to 1-based line number."""

    path: Path
    data: Any
    raw: bytes
    lines: dict[KeyPath, int] = field(default_factory=dict)
    texts: dict[KeyPath, str] = field(default_factory=dict)  # each scalar as written (`yes`, not True)

    def line_of(self, key_path: Iterable[str | int]) -> int | None:
        """Line of the deepest existing prefix of `key_path` (None if not even the root)."""
        parts = tuple(key_path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return None


def _index_lines(node: yaml.Node, prefix: KeyPath, out: dict[KeyPath, int], texts: dict[KeyPath, str]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*prefix, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*prefix, key), out, texts)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*prefix, i)] = item.start_mark.line + 1
            _index_lines(item, (*prefix, i), out, texts)
    elif isinstance(node, yaml.ScalarNode):
        texts[prefix] = node.value


def load_yaml(path: Path, *, error: type[GovkitError] = GovkitError) -> YamlDocument:
    """Read and parse one YAML file; any problem becomes a one-line `error`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error("file not found", file=path) from None
    except IsADirectoryError:
        raise error("is a directory, expected a YAML file", file=path) from None
    except OSError as exc:
        raise error(f"cannot read file ({exc.strerror})", file=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("not UTF-8 text", file=path) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise error(f"YAML syntax error: {exc.problem}", file=path, line=line) from None
    except yaml.YAMLError as exc:
        raise error(f"YAML syntax error: {exc}", file=path) from None
    lines: dict[KeyPath, int] = {}
    texts: dict[KeyPath, str] = {}
    if node is not None:
        _index_lines(node, (), lines, texts)
    return YamlDocument(path=path, data=data, raw=raw, lines=lines, texts=texts)
