"""Find checks: built-ins and third-party ones from the `govkit.checks` entry-point group."""

from __future__ import annotations

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


def _load(target: str) -> type[Check]:
    from importlib import import_module

    module_name, _, attr = target.partition(":")
    obj = getattr(import_module(module_name), attr)
    if not (isinstance(obj, type) and issubclass(obj, Check)):
        raise GovkitError(f"entry point {target!r} is not a govkit Check subclass")
    return obj


@cache
def available_checks() -> dict[str, type[Check]]:
    """All checks by name; a plug-in may not shadow a built-in."""
    found = {name: _load(target) for name, target in BUILTIN.items()}
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


def rule_kinds() -> dict[str, tuple[type[Check], type[RuleParams]]]:
    """Every judgeable rule kind (`license.model`, ...) with its check and parameter model."""
    kinds: dict[str, tuple[type[Check], type[RuleParams]]] = {}
    for cls in available_checks().values():
        for kind, params in cls.rule_kinds.items():
            kinds[kind] = (cls, params)
    return kinds
