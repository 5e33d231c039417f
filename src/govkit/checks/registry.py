"""Find checks: built-ins and third-party ones from the `govkit.checks` entry-point group."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from importlib.metadata import entry_points

from govkit.checks.interface import Check, RuleParams
from govkit.errors import GovkitError

ENTRY_POINT_GROUP = "govkit.checks"

# Built-ins are listed here too, so govkit works from a source tree without installed metadata.
BUILTIN = {
    "license": "govkit.checks.license:LicenseCheck",
    "fairness": "govkit.checks.fairness.check:FairnessCheck",
    "privacy": "govkit.checks.privacy.check:PrivacyCheck",
    "explainability": "govkit.checks.explainability.check:ExplainabilityCheck",
    "monitoring": "govkit.checks.monitoring:MonitoringCheck",
}
# rule-kind families that are not a check's own name (`drift.feature` is the monitoring check's)
FAMILIES = {"drift": "monitoring"}


def _load(target: str) -> type[Check]:
    from importlib import import_module

    module_name, _, attr = target.partition(":")
    obj = getattr(import_module(module_name), attr)
    if not (isinstance(obj, type) and issubclass(obj, Check)):
        raise GovkitError(f"entry point {target!r} is not a govkit Check subclass")
    return obj


@cache
def _builtin(name: str) -> type[Check]:
    return _load(BUILTIN[name])


@cache
def available_checks() -> dict[str, type[Check]]:
    """All checks by name; a plug-in may not shadow a built-in."""
    found = {name: _builtin(name) for name in BUILTIN}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue
        try:
            cls = ep.load()
        except Exception as exc:
            raise GovkitError(f"cannot load check plug-in {ep.name!r} ({ep.value}): {exc}") from None
        if not (isinstance(cls, type) and issubclass(cls, Check)):
            raise GovkitError(f"check plug-in {ep.name!r} ({ep.value}) is not a govkit Check")
        found[ep.name] = cls
    return found


def _every_kind() -> dict[str, tuple[type[Check], type[RuleParams]]]:
    kinds: dict[str, tuple[type[Check], type[RuleParams]]] = {}
    for cls in available_checks().values():
        for kind, params in cls.rule_kinds.items():
            kinds[kind] = (cls, params)
    return kinds


class RuleKinds(Mapping[str, tuple[type[Check], type[RuleParams]]]):
    """Every judgeable rule kind (`license.model`, ...) with its check and parameter model.

    Looking up one kind imports only the built-in check its family names (`fairness.*` ->
    the fairness check), so a gate whose policy judges fairness alone never imports pandas-heavy
    privacy code or SHAP. Anything else (plug-ins, listing every kind) loads every check.
    """

    def __getitem__(self, kind: str) -> tuple[type[Check], type[RuleParams]]:
        family = kind.split(".", 1)[0]
        family = FAMILIES.get(family, family)
        if family in BUILTIN:
            cls = _builtin(family)
            if kind in cls.rule_kinds:
                return cls, cls.rule_kinds[kind]
        return _every_kind()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(_every_kind())

    def __len__(self) -> int:
        return len(_every_kind())


def rule_kinds() -> RuleKinds:
    return RuleKinds()
