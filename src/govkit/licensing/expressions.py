"""Parse and normalise licence expressions (SPDX, Hugging Face ids, LicenseRef-)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class LicenceInfo:
    """One licence after normalisation: its id, whether govkit knows it, and its traits."""

    id: str
    known: bool
    traits: tuple[str, ...]
    name: str | None = None


@dataclass(frozen=True)
class Catalogue:
    licences: dict[str, LicenceInfo]
    families: tuple[tuple[str, tuple[str, ...]], ...]
    aliases: dict[str, str]
    classifiers: dict[str, str]


@cache
def catalogue() -> Catalogue:
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("govkit.licensing").joinpath("catalogue.yaml").read_text("utf-8")
    )
    licences = {}
    for key, value in raw["licenses"].items():
        traits, name = (value, None) if isinstance(value, list) else (value["traits"], value["name"])
        licences[key.lower()] = LicenceInfo(id=key, known=True, traits=tuple(traits), name=name)
    families = tuple((f["prefix"].lower(), tuple(f["traits"])) for f in raw["families"])
    aliases = {k.lower(): v for k, v in raw["aliases"].items()}
    return Catalogue(licences, families, aliases, dict(raw["classifiers"]))


@cache
def _licensing() -> Any:
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def check_expression_syntax(expression: str) -> None:
    """Raise ValueError when `expression` is not a syntactically valid licence expression."""
    from license_expression import ExpressionError

    if not expression or not expression.strip():
        raise ValueError("empty licence expression")
    try:
        _licensing().parse(_alias_safe(expression), validate=False, strict=True)
    except ExpressionError as exc:
        raise ValueError(f"invalid licence expression {expression!r}: {exc}") from None


def _alias_safe(expression: str) -> str:
    """HF ids such as `openrail++` or `apache 2.0` are not SPDX tokens: map a whole-string alias."""
    alias = catalogue().aliases.get(expression.strip().lower())
    return alias if alias else expression


def describe(licence_id: str) -> LicenceInfo:
    """Resolve one licence key (case-insensitive) to its catalogued id and traits."""
    cat = catalogue()
    key = licence_id.strip()
    aliased = cat.aliases.get(key.lower())
    if aliased:
        key = aliased
    if key.upper() == UNKNOWN or key.lower() in ("other", "unknown", "noassertion", "none"):
        return LicenceInfo(id=UNKNOWN, known=False, traits=())
    hit = cat.licences.get(key.lower())
    if hit:
        return hit
    spdx_id = spdx_key(key)
    if spdx_id is None:
        return LicenceInfo(id=key, known=False, traits=())
    for prefix, traits in cat.families:
        if spdx_id.lower().startswith(prefix):
            return LicenceInfo(id=spdx_id, known=True, traits=traits)
    return LicenceInfo(id=spdx_id, known=True, traits=())


def spdx_key(key: str) -> str | None:
    symbol = _licensing().known_symbols.get(key) or _licensing().known_symbols_lowercase.get(key.lower())
    return symbol.key if symbol is not None else None


@dataclass(frozen=True)
class Parsed:
    """A parsed expression as a small tree: ("licence", info) | ("and"/"or", children)."""

    op: str
    licence: LicenceInfo | None = None
    children: tuple[Parsed, ...] = ()
    exception: str | None = None

    def render(self) -> str:
        if self.licence is not None:
            return f"{self.licence.id} WITH {self.exception}" if self.exception else self.licence.id
        inner = f" {self.op.upper()} ".join(
            f"({c.render()})" if c.licence is None else c.render() for c in self.children
        )
        return inner

    def licences(self) -> list[LicenceInfo]:
        if self.licence is not None:
            return [self.licence]
        return [lic for child in self.children for lic in child.licences()]


def parse(expression: str) -> Parsed:
    """Parse an expression; `X WITH exception` is judged as its base licence X."""
    from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol

    tree = _licensing().parse(_alias_safe(expression), validate=False, strict=True)

    def walk(node: Any) -> Parsed:
        if isinstance(node, LicenseWithExceptionSymbol):
            return Parsed("licence", describe(node.license_symbol.key), exception=node.exception_symbol.key)
        if isinstance(node, LicenseSymbol):
            return Parsed("licence", describe(node.key))
        if isinstance(node, AND | OR):
            return Parsed("and" if isinstance(node, AND) else "or", None, tuple(walk(a) for a in node.args))
        raise ValueError(f"unsupported licence expression node {node!r}")

    return walk(tree)


def normalise_free_text(value: str) -> str | None:
    """Map a distribution's free-text `License:` field to an expression, or None if we can't."""
    text = value.strip()
    if not text or "\n" in text or len(text) > 120:
        return None
    alias = catalogue().aliases.get(text.lower())
    if alias:
        return alias
    try:
        parsed = parse(text)
    except Exception:
        return None
    return parsed.render() if all(lic.known for lic in parsed.licences()) else None
