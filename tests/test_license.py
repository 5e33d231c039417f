"""Licence check: SPDX semantics, Hugging Face ids, lineage, dependency metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import Project, fake_distribution
from govkit.checks.license import LicenseParams, judge_component, licence_component
from govkit.checks.license_measurement import LicenseMeasurement
from shapes import assert_shape


def verdict(expression: str, **params: Any) -> str:
    return judge_component(licence_component("model", "m", expression, "test"), LicenseParams(**params))[0]


def findings(project: Project, extra: str = "") -> list[dict[str, Any]]:
    return project.check_json(extra, log=True)[1]["findings"]


def by_rule(items: list[dict[str, Any]], rule: str) -> list[dict[str, Any]]:
    return [f for f in items if f["rule_id"] == rule]


def test_non_commercial_model_fails_deny_traits(project: Project) -> None:
    project.manifest(lambda m: m["model"].update(license="cc-by-nc-4.0"))
    (finding,) = by_rule(findings(project), "T-LIC-001")
    assert finding["status"] == "fail"
    assert finding["measured"] == "CC-BY-NC-4.0"
    assert "non-commercial" in finding["message"] and "cc-by-nc-4.0" in finding["message"]


def test_or_is_the_licensees_choice() -> None:
    assert verdict("Apache-2.0 OR GPL-3.0-only", allow=("Apache-2.0",)) == "pass"
    assert verdict("GPL-3.0-only", allow=("Apache-2.0",)) == "fail"


def test_and_needs_every_part() -> None:
    assert verdict("Apache-2.0 AND GPL-3.0-only", allow=("Apache-2.0",)) == "fail"
    assert verdict("Apache-2.0 AND MIT", allow=("Apache-2.0", "MIT")) == "pass"


def test_with_is_judged_by_its_base_licence() -> None:
    expr = "GPL-2.0-or-later WITH Classpath-exception-2.0"
    assert verdict(expr, deny_traits=("strong-copyleft",)) == "fail"
    assert verdict(expr, allow=("GPL-2.0-or-later",)) == "pass"


def test_unknown_licence_is_never_a_pass() -> None:
    assert verdict("Foo-Proprietary-1.0") == "unknown"
    assert verdict("MIT OR Foo-1.0", deny_traits=("non-commercial",)) == "pass"
    assert verdict("MIT AND Foo-1.0", deny_traits=("non-commercial",)) == "unknown"
    # an explicitly allowed LicenseRef is a decision, not an unknown
    assert verdict("LicenseRef-acme-internal", allow=("LicenseRef-acme-*",)) == "pass"


def test_deny_list_beats_allow_list() -> None:
    assert verdict("MIT", allow=("*",), deny=("MIT",)) == "fail"


@pytest.mark.parametrize(
    ("hf_id", "trait"),
    [
        ("llama2", "use-restricted"),
        ("openrail++", "use-restricted"),
        ("cc-by-nc-sa-4.0", "non-commercial"),
        ("agpl-3.0", "network-copyleft"),
        ("cc-by-nd-4.0", "no-derivatives"),
        ("gpl-3.0", "strong-copyleft"),
    ],
)
def test_hugging_face_ids_map_to_traits(hf_id: str, trait: str) -> None:
    assert verdict(hf_id, deny_traits=(trait,)) == "fail"
    assert verdict(hf_id) == "pass"


def test_base_model_licence_propagates(project: Project) -> None:
    def mutate(m: dict[str, Any]) -> None:
        m["model"]["base_models"] = [{"name": "meta-llama/Llama-2-7b-hf", "license": "llama2"}]

    project.manifest(mutate)
    project.policy(lambda p: p["rules"][0]["params"].update(deny_traits=["use-restricted"]))
    (finding,) = by_rule(findings(project), "T-LIC-001")
    assert finding["status"] == "fail"
    assert finding["subject"] == "model:scorer"
    assert "meta-llama/Llama-2-7b-hf" in finding["message"]
    assert "LicenseRef-llama2" in finding["message"]


def test_unknown_dependency_licence_is_a_finding(project: Project) -> None:
    fake_distribution(project.root / "env", "mystery", "0.1")  # no licence metadata at all
    items = by_rule(findings(project), "T-LIC-003")
    mystery = [f for f in items if f["subject"] == "dependency:mystery==0.1"]
    assert mystery and mystery[0]["status"] == "warn"
    assert mystery[0]["measured"] == "UNKNOWN"
    summary = [f for f in items if f["subject"] == "dependencies"]
    assert summary[0]["measured"] == 2  # numpy (License-Expression) and oldlib (classifier)


def test_dependency_licence_sources_in_order(project: Project) -> None:
    env = project.root / "env"
    fake_distribution(env, "both", "1.0", License_Expression="GPL-3.0-only", License="MIT")
    fake_distribution(env, "textual", "1.0", License="Apache License 2.0")
    fake_distribution(
        env, "gplclass", "1.0", Classifier="License :: OSI Approved :: GNU General Public License v3 (GPLv3)"
    )
    result = project.check("--format json")
    data = json.loads(result.stdout)
    assert_shape(data["measurements"]["license"], LicenseMeasurement)
    comps = {c["name"]: c for c in data["measurements"]["license"]["components"]}
    assert comps["both==1.0"]["source"] == "License-Expression"
    assert comps["textual==1.0"]["expression"] == "Apache-2.0"
    assert comps["gplclass==1.0"]["expression"] == "GPL-3.0-only"
    failing = {f["subject"] for f in by_rule(data["findings"], "T-LIC-003") if f["status"] == "fail"}
    assert failing == {"dependency:both==1.0", "dependency:gplclass==1.0"}
    assert result.exit_code == 1


def test_requirements_file_not_installed_is_unknown(project: Project) -> None:
    project.write("requirements.txt", "numpy>=1.0  # numerics\n-r other.txt\nnot-installed-pkg==1.2\n")
    project.manifest(lambda m: m["dependencies"].update(requirements="requirements.txt"))
    items = by_rule(findings(project), "T-LIC-003")
    subjects = {f["subject"]: f for f in items}
    assert subjects["dependency:not-installed-pkg"]["status"] == "warn"
    assert "not installed" in subjects["dependency:not-installed-pkg"]["message"]
    assert subjects["dependencies"]["measured"] == 1


def test_dataset_findings_name_the_dataset(project: Project) -> None:
    project.manifest(lambda m: m["datasets"]["training"].update(license="CC-BY-NC-SA-4.0"))
    items = {f["subject"]: f for f in by_rule(findings(project), "T-LIC-002")}
    assert items["dataset:training"]["status"] == "fail"
    assert items["dataset:evaluation"]["status"] == "pass"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\xff\xfe binary", "not a UTF-8 text file"),
        (b"numpy\n" * 200_000, "larger than 1 MiB"),
    ],
)
def test_requirements_that_are_not_a_requirements_file_are_exit_2(
    project: Project, content: bytes, message: str
) -> None:
    (project.root / "requirements.txt").write_bytes(content)
    project.manifest(lambda m: m["dependencies"].update(requirements="requirements.txt"))
    result = project.check()
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "requirements.txt" in line and message in line


def _outside_distribution(folder: Path) -> Path:
    fake_distribution(folder, "secretpkg", "1.0", License="hunter2-secret")
    return folder / "secretpkg-1.0.dist-info"


@pytest.mark.parametrize("link", ["dist-info", "METADATA", "egg-info file"])
def test_environment_entries_symlinked_out_of_the_folder_are_refused(
    project: Project, tmp_path_factory: pytest.TempPathFactory, link: str
) -> None:
    """dependencies.environment is confined, and so is every *.dist-info / *.egg-info in it and its
    metadata file (symlinks resolved): importlib.metadata follows them wherever they point."""
    outside = tmp_path_factory.mktemp("outside")
    info = _outside_distribution(outside)
    env = project.root / "env"
    if link == "dist-info":
        (env / info.name).symlink_to(info)
    elif link == "METADATA":
        (env / info.name).mkdir()
        (env / info.name / "METADATA").symlink_to(info / "METADATA")
    else:
        (env / "secretpkg-1.0.egg-info").symlink_to(info / "METADATA")
    result = project.check("--format json")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "dependencies.environment" in line and "outside" in line and "--allow-outside" in line
    assert "secretpkg" in line and "hunter2" not in result.output
    _, data = project.check_json(f"--allow-outside {outside}")  # the user allowed it: read, and judged
    components = data["measurements"]["license"]["components"]
    assert "secretpkg==1.0" in {c["name"] for c in components}


def test_environment_entries_linked_within_the_project_are_read(project: Project) -> None:
    info = _outside_distribution(project.root / "vendored")
    (project.root / "env" / info.name).symlink_to(info)
    _, data = project.check_json()
    components = {c["name"] for c in data["measurements"]["license"]["components"]}
    assert {"numpy==2.0", "oldlib==0.3", "secretpkg==1.0"} <= components
