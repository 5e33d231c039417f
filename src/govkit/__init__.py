"""govkit: ML governance and compliance audits.

The stable Python API is what `__all__` lists: `from govkit import run_check, AuditLog`. Each name is
imported on first use (PEP 562 `__getattr__`), so `import govkit`, and with it `govkit --help`, stays
fast; the modules behind them declare the same names in their own `__all__`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_HOME = {
    "run_check": "govkit.api",
    "CheckRequest": "govkit.api",
    "evaluate_request": "govkit.api",
    "gate_exit_code": "govkit.api",
    "evaluate": "govkit.engine",
    "EvaluationOptions": "govkit.engine",
    "Evaluation": "govkit.evaluation",
    "Finding": "govkit.evaluation",
    "WaiverUse": "govkit.evaluation",
    "load_manifest": "govkit.manifest",
    "load_policy": "govkit.policy.loader",
    "AuditLog": "govkit.audit.log",
    "LogIntegrityError": "govkit.audit.log",
    "GovkitError": "govkit.errors",
    "ManifestError": "govkit.errors",
    "PolicyError": "govkit.errors",
    "DataError": "govkit.errors",
    "Check": "govkit.checks.interface",
    "CheckContext": "govkit.checks.interface",
    "RuleParams": "govkit.checks.interface",
    "Measurement": "govkit.checks.interface",
    "Outcome": "govkit.checks.interface",
    "Formatter": "govkit.formats.interface",
    "get_formatter": "govkit.formats.interface",
}

__all__ = [
    "AuditLog",
    "Check",
    "CheckContext",
    "CheckRequest",
    "DataError",
    "Evaluation",
    "EvaluationOptions",
    "Finding",
    "Formatter",
    "GovkitError",
    "LogIntegrityError",
    "ManifestError",
    "Measurement",
    "Outcome",
    "PolicyError",
    "RuleParams",
    "WaiverUse",
    "__version__",
    "evaluate",
    "evaluate_request",
    "gate_exit_code",
    "get_formatter",
    "load_manifest",
    "load_policy",
    "run_check",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports each on first use
    from govkit.api import CheckRequest, evaluate_request, gate_exit_code, run_check
    from govkit.audit.log import AuditLog, LogIntegrityError
    from govkit.checks.interface import Check, CheckContext, Measurement, Outcome, RuleParams
    from govkit.engine import EvaluationOptions, evaluate
    from govkit.errors import DataError, GovkitError, ManifestError, PolicyError
    from govkit.evaluation import Evaluation, Finding, WaiverUse
    from govkit.formats.interface import Formatter, get_formatter
    from govkit.manifest import load_manifest
    from govkit.policy.loader import load_policy


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'govkit' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
