"""Paths in a manifest stay inside its folder tree (symlinks resolved) unless the user running govkit
allows a place outside with --allow-outside; the evaluation then records it. A requirements line
that is not a requirement is reported by position, never echoed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import CSV, Project, new_project

SECRET = "root:x:0:0:hunter2-secret:/root:/bin/bash\n"


def _monitoring(production: str) -> dict[str, Any]:
    return {"production": production, "timestamp": "ts", "reference": {"dataset": "evaluation"}}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the project, holding what an attacker would like govkit to read."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET)
    (folder / "train.csv").write_text(CSV)
    (folder / "model.skops").write_bytes(b"PK")
    (folder / "site-packages").mkdir()
    return folder


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return new_project(tmp_path / "project")


Case = tuple[str, Callable[[Path], Callable[[dict[str, Any]], None]]]
CASES: list[Case] = [
    ("dependencies.requirements", lambda o: lambda m: m.update(dependencies={"requirements": str(o / "secret.txt")})),
    ("dependencies.requirements", lambda o: lambda m: m.update(dependencies={"requirements": "../outside/secret.txt"})),
    ("dependencies.environment", lambda o: lambda m: m.update(dependencies={"environment": str(o / "site-packages")})),
    ("datasets.training.path", lambda o: lambda m: m["datasets"]["training"].update(path="../outside/train.csv")),
    ("datasets.training.path", lambda o: lambda m: m["datasets"]["training"].update(path=str(o / "*.csv"))),
    ("model.artifact", lambda o: lambda m: m["model"].update(artifact="../outside/model.skops")),
    # monitoring data used to be read from anywhere (found 2026-12-01)
    ("monitoring.production", lambda o: lambda m: m.update(monitoring=_monitoring(str(o / "*.csv")))),
    ("monitoring.production", lambda o: lambda m: m.update(monitoring=_monitoring("../outside/train.csv"))),
    (
        "monitoring.reference.profile",
        lambda o: lambda m: m.update(monitoring={**_monitoring("data/eval.csv"), "reference": {"profile": str(o)}}),
    ),
]


@pytest.mark.parametrize(("key", "change"), CASES)
def test_paths_outside_the_manifest_folder_are_refused(
    proj: Project, outside: Path, key: str, change: Callable[[Path], Any]
) -> None:
    proj.manifest(change(outside))
    result = proj.check("--format json")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert key in line and "outside" in line and "--allow-outside" in line
    assert "hunter2" not in result.output


def test_symlink_out_of_the_project_is_refused(proj: Project, outside: Path) -> None:
    (proj.root / "data" / "linked.csv").symlink_to(outside / "train.csv")
    proj.manifest(lambda m: m["datasets"]["training"].update(path="data/linked.csv"))
    result = proj.check()
    assert result.exit_code == 2 and "datasets.training.path" in result.stderr and "outside" in result.stderr


def test_symlinked_monitoring_file_is_refused(proj: Project, outside: Path) -> None:
    (proj.root / "prod").mkdir()
    (proj.root / "prod" / "2026-01.csv").symlink_to(outside / "train.csv")
    proj.manifest(lambda m: m.update(monitoring=_monitoring("prod/*.csv")))
    result = proj.check()
    assert result.exit_code == 2 and "monitoring.production" in result.stderr and "2026-01.csv" in result.stderr


def test_symlinked_file_inside_a_glob_is_refused(proj: Project, outside: Path) -> None:
    (proj.root / "parts").mkdir()
    (proj.root / "parts" / "a.csv").write_text(CSV)
    (proj.root / "parts" / "b.csv").symlink_to(outside / "train.csv")
    proj.manifest(lambda m: m["datasets"]["training"].update(path="parts/*.csv"))
    result = proj.check()
    assert result.exit_code == 2 and "datasets.training.path" in result.stderr and "b.csv" in result.stderr


def test_allow_outside_accepts_and_records(proj: Project, outside: Path) -> None:
    proj.manifest(lambda m: m["datasets"]["training"].update(path="../outside/train.csv"))
    result = proj.check(f"--format json --allow-outside {outside}")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["options"]["allow_outside"] == [outside.resolve().as_posix()]
    assert data["inputs"]["outside_manifest_folder"] == {
        "datasets.training.path": (outside / "train.csv").resolve().as_posix()
    }
    other = proj.check(f"--format json --allow-outside {proj.root / 'data'}")  # allowing another place is no help
    assert other.exit_code == 2 and "datasets.training.path" in other.stderr


def test_inside_paths_record_nothing_extra(proj: Project) -> None:
    _, data = proj.check_json(log=True)
    assert "allow_outside" not in data["options"] and "outside_manifest_folder" not in data["inputs"]


def test_unparseable_requirement_line_is_not_echoed(proj: Project) -> None:
    proj.write("requirements.txt", "numpy\nDB_PASSWORD=hunter2 do-not-print\n")
    proj.manifest(lambda m: m.update(dependencies={"requirements": "requirements.txt"}))
    result = proj.check()
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "requirements.txt:2" in line and "invalid requirement" in line
    assert "hunter2" not in result.output


WAIVERS = "apiVersion: govkit/v1\nkind: Waivers\nwaivers: []  # hunter2-waivers\n"


def test_default_waivers_file_symlinked_out_of_the_folder_is_refused(proj: Project, outside: Path) -> None:
    """waivers.yaml beside the manifest is picked up by name, not named by the user: it is confined like
    the manifest's paths. Before, a symlink to a file outside was read and its path logged and exported."""
    (outside / "secrets.yaml").write_text(WAIVERS)
    (proj.root / "waivers.yaml").symlink_to(outside / "secrets.yaml")
    result = proj.check("--format json")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "waivers.yaml" in line and "outside" in line and "--allow-outside" in line
    assert "hunter2" not in result.output
    allowed = proj.check(f"--format json --no-log --allow-outside {outside}")
    assert allowed.exit_code == 0, allowed.output
    recorded = json.loads(allowed.stdout)["inputs"]["waivers"]["path"]
    assert recorded == (outside / "secrets.yaml").resolve().as_posix()


def test_waivers_file_named_on_the_command_line_may_lie_anywhere(proj: Project, outside: Path) -> None:
    """--waivers FILE is the user's own choice, like --policy: not confined to the manifest's folder."""
    (outside / "waivers.yaml").write_text(WAIVERS)
    result = proj.check(f"--format json --no-log --waivers {outside / 'waivers.yaml'}")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inputs"]["waivers"]["path"] == (outside / "waivers.yaml").resolve().as_posix()
