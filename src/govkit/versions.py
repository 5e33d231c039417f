"""Versions of the libraries whose behaviour decides govkit's results, read from package metadata.

`govkit --version` prints them and every evaluation records them, so a verdict can be tied to
the numbers code that produced it. Metadata only: nothing heavy is imported.
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

# numbers (numpy, pandas, scipy, scikit-learn), data reading (pyarrow), models and attributions
# (skops, shap), cohort engines (duckdb, pyspark), the report and its signatures (weasyprint, pyHanko).
# fairlearn is only the reference in govkit's tests: the fairness metrics are govkit's own.
RESULT_LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "pyarrow", "skops", "shap", "duckdb", "pyspark",
                    "weasyprint", "pyHanko")


def library_versions() -> dict[str, str | None]:
    """Python's version and each library's installed version (None when it is not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in RESULT_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found
