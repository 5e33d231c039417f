"""YAML loading that remembers where each key is, for error messages and SARIF regions.

Every govkit YAML file (manifest, policies, waivers) comes through here, so this is where hostile
input is bounded: a size cap, a cap on the number of values, no aliases or merge keys (govkit's
files never need them, and aliases are how a 400-byte "billion laughs" file expands to
gigabytes), a nesting limit, integers within +-2^53
(what JSON and the audit log's canonical form carry exactly), and no duplicate keys (a later
`locked: false` must not silently win over `locked: true`). The document is composed once; the
data and the line index both come from that one node tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent

from govkit.errors import GovkitError

KeyPath = tuple[str | int, ...]

MAX_FILE_BYTES = 512 * 1024  # hand-written configuration, never data
MAX_DEPTH = 64
MAX_NODES = 20_000  # a 200-rule policy or a 5,000-feature manifest is far below; bounds time and memory
MAX_INT = 2**53
_MAX_INT_CHARS = 80  # longest spelling of an int within range (binary with underscores); int() never sees more


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that govkit refuses; its problem text is the whole message."""


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


class GovkitLoader(yaml.SafeLoader):
    """SafeLoader with govkit's limits: no aliases, bounded nesting, exact integers, unique keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise _Refused(
                problem="aliases (*name) are not allowed in govkit files; write the value out",
                problem_mark=event.start_mark,
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(
                problem=f"more than {MAX_NODES:,} values; govkit files are configuration",
                problem_mark=self.peek_event().start_mark,
            )
        is_collection = self.check_event(CollectionStartEvent)
        if is_collection:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    problem=f"nesting deeper than {MAX_DEPTH} levels", problem_mark=self.peek_event().start_mark
                )
        try:
            return super().compose_node(parent, index)
        finally:
            if is_collection:
                self._depth -= 1

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        too_big = _Refused(
            problem=f"integer {node.value[:24]}{'...' if len(node.value) > 24 else ''} is outside +-2^53",
            problem_mark=node.start_mark,
        )
        if len(node.value) > _MAX_INT_CHARS:
            raise too_big
        value: int = super().construct_yaml_int(node)
        if abs(value) > MAX_INT:
            raise too_big
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<:` would let a later key silently win
                raise _Refused(
                    problem="merge keys (<<) are not allowed in govkit files", problem_mark=key_node.start_mark
                )
            key = self.construct_object(key_node, deep=True)
            try:
                line = first_line.get(key)
            except TypeError:
                continue  # an unhashable key: the base constructor reports it
            if line is not None:
                raise _Refused(
                    problem=f"duplicate key {key!r} (first on line {line})", problem_mark=key_node.start_mark
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _refuse_tag(loader: GovkitLoader, node: yaml.Node) -> Any:
    raise _Refused(
        problem=f"YAML tag {node.tag.rsplit(':', 1)[-1]!r} is not allowed in govkit files", problem_mark=node.start_mark
    )


GovkitLoader.add_constructor("tag:yaml.org,2002:int", GovkitLoader.construct_yaml_int)
for _tag in ("binary", "set", "omap", "pairs"):  # nothing govkit reads is one of these
    GovkitLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)


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


def read_bounded(
    path: Path,
    *,
    limit: int,
    error: type[GovkitError],
    expected: str = "a file",
    too_large: str = "refused",
) -> bytes:
    """The bytes of a small input file, never more than `limit` read; any problem is a one-line `error`."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        raise error("file not found", file=path) from None
    except IsADirectoryError:
        raise error(f"is a directory, expected {expected}", file=path) from None
    except OSError as exc:
        raise error(f"cannot read file ({exc.strerror})", file=path) from None
    if len(raw) > limit:
        raise error(f"file is larger than {limit:,} bytes; {too_large}", file=path)
    return raw


def _read(path: Path, error: type[GovkitError]) -> bytes:
    return read_bounded(
        path,
        limit=MAX_FILE_BYTES,
        error=error,
        expected="a YAML file",
        too_large="govkit YAML files are configuration",
    )


def load_yaml(path: Path, *, error: type[GovkitError] = GovkitError) -> YamlDocument:
    """Read and parse one YAML file; any problem becomes a one-line `error`."""
    return parse_yaml(_read(path, error), path, error=error)


def parse_yaml(raw: bytes, path: Path, *, error: type[GovkitError] = GovkitError) -> YamlDocument:
    """Parse YAML read from `path` by other means (a model card's front matter), with the same limits."""
    if len(raw) > MAX_FILE_BYTES:
        raise error(f"YAML larger than {MAX_FILE_BYTES:,} bytes; govkit YAML is configuration", file=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("not UTF-8 text", file=path) from None
    loader = GovkitLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _Refused as exc:
        mark = exc.problem_mark
        raise error(str(exc.problem), file=path, line=mark.line + 1 if mark else None) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise error(f"YAML syntax error: {exc.problem}", file=path, line=line) from None
    except yaml.YAMLError as exc:
        raise error(f"YAML syntax error: {exc}", file=path) from None
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    texts: dict[KeyPath, str] = {}
    if node is not None:
        _index_lines(node, (), lines, texts)
    return YamlDocument(path=path, data=data, raw=raw, lines=lines, texts=texts)
