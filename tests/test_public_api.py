"""The declared Python API: `from govkit import *` gives every name in `govkit.__all__`, each the object
its home module defines and lists in its own `__all__`, while `import govkit` itself stays cheap."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import govkit

HEAVY = ("pandas", "numpy", "sklearn", "pydantic", "yaml", "rich", "govkit.engine", "govkit.audit.log")


def test_star_import_binds_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from govkit import *", namespace)  # a fixed statement: the star import under test
    missing = [name for name in govkit.__all__ if name not in namespace]
    assert not missing
    assert namespace["__version__"] == govkit.__version__


@pytest.mark.parametrize("name", sorted(set(govkit.__all__) - {"__version__"}))
def test_each_public_name_comes_from_a_module_that_declares_it(name: str) -> None:
    home = importlib.import_module(govkit._HOME[name])
    assert getattr(govkit, name) is getattr(home, name)
    assert name in home.__all__, f"{home.__name__}.__all__ lacks {name}"


def test_the_lazy_table_and_all_agree() -> None:
    assert set(govkit.__all__) == {*govkit._HOME, "__version__"}
    assert set(govkit.__all__) <= set(dir(govkit))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = govkit.not_a_name


def test_import_govkit_loads_nothing_heavy() -> None:
    code = f"import sys, govkit; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
