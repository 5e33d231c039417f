"""Versions of the libraries whose behaviour decides govkit's results, read from package metadata.

`govkit --version` prints them and every evaluation records them, so a verdict can be tied to
the numbers code that produced it. Metadata only: nothing heavy is imported.
"""

from __future__ import annotations

import platform
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# numbers (numpy, pandas, scipy, scikit-learn), data reading (pyarrow), models and attributions
# (skops, shap), cohort engines (duckdb, pyspark), the report and its signatures (weasyprint, pyHanko).
# fairlearn is only the reference in govkit's tests: the fairness metrics are govkit's own.
RESULT_LIBRARIES = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "pyarrow",
    "skops",
    "shap",
    "duckdb",
    "pyspark",
    "weasyprint",
    "pyHanko",
)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _installed_folders() -> dict[str, str]:
    """Versions from the `NAME-VERSION.dist-info` folder names on sys.path (first one wins, as for imports).

    One directory listing per path entry instead of a metadata search per library: every
    evaluation records these, and eleven searches cost the gate 50 ms.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = [item.name for item in Path(entry or ".").iterdir()]
        except OSError:
            continue
        for folder in names:
            if folder.endswith(".dist-info") and "-" in folder:
                name, _, rest = folder[: -len(".dist-info")].partition("-")
                found.setdefault(_normal(name), rest)
    return found


def library_versions() -> dict[str, str | None]:
    """Python's version and each library's installed version (None when it is not installed)."""
    folders = _installed_folders()
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in RESULT_LIBRARIES:
        if _normal(name) in folders:
            found[name] = folders[_normal(name)]
            continue
        try:
            found[name] = version(name)  # an egg-info or zipped install
        except PackageNotFoundError:
            found[name] = None
    return found
