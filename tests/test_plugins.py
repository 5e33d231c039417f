"""A team ships its own check in another package, found through the govkit.checks entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Project
from govkit.checks import registry

PLUGIN = """
from typing import ClassVar
from pydantic import Field
from govkit.checks.interface import Check, Measurement, Outcome, RuleParams

class CardParams(RuleParams):
    min_words: int = Field(default=5, json_schema_extra={"stricter": "higher"})

class ModelCardCheck(Check):
    name = "modelcard"
    title = "Model card"
    rule_kinds: ClassVar = {"modelcard.intended_use": CardParams}

    def measure(self, ctx):
        return Measurement(self.name, {"words": len(ctx.manifest.spec.model.intended_use.split())})

    def judge(self, kind, params, measurement):
        words = measurement.data["words"]
        ok = words >= params.min_words
        return [Outcome("model", "pass" if ok else "fail", f"intended_use has {words} words",
                        measured=words, threshold=params.min_words)]
"""


@pytest.fixture
def plugin_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    site = tmp_path / "site"
    (site / "acme_checks").mkdir(parents=True)
    (site / "acme_checks" / "__init__.py").write_text(PLUGIN)
    info = site / "acme_checks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[govkit.checks]\nmodelcard = acme_checks:ModelCardCheck\n")
    monkeypatch.syspath_prepend(str(site))
    registry.available_checks.cache_clear()
    yield
    registry.available_checks.cache_clear()
    sys.modules.pop("acme_checks", None)


def test_entry_point_check_runs_in_the_gate(project: Project, plugin_installed: None) -> None:
    project.policy(
        lambda p: p["rules"].append(
            {
                "id": "ACME-CARD-001",
                "title": "intended use is described",
                "check": "modelcard.intended_use",
                "params": {"min_words": 3},
                "severity": "high",
            }
        )
    )
    result = project.check("--format json")
    assert result.exit_code == 1  # "tests" is one word
    data = json.loads(result.stdout)
    finding = next(f for f in data["findings"] if f["rule_id"] == "ACME-CARD-001")
    assert finding["status"] == "fail" and finding["measured"] == 1
    assert data["measurements"]["modelcard"] == {"words": 1}


def test_unknown_check_without_plugin_is_an_error(project: Project) -> None:
    registry.available_checks.cache_clear()
    project.policy(
        lambda p: p["rules"].append(
            {"id": "ACME-CARD-001", "title": "t", "check": "modelcard.intended_use", "severity": "high"}
        )
    )
    result = project.check()
    assert result.exit_code == 2 and "unknown check 'modelcard.intended_use'" in result.stderr


def test_a_rule_kind_imports_only_its_own_check() -> None:
    """The gate imports the checks its policy names: a fairness rule never imports SHAP or privacy code."""
    code = (
        "import sys; from govkit.checks.registry import rule_kinds\n"
        "kinds = rule_kinds()\n"
        "assert kinds['fairness.demographic_parity_ratio'][0].name == 'fairness'\n"
        "assert kinds['drift.feature'][0].name == 'monitoring'\n"
        "print(sorted(m for m in ('govkit.checks.privacy.check', 'govkit.checks.explainability.check', 'shap',"
        " 'scipy.stats', 'govkit.checks.license') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
