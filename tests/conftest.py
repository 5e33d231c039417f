"""Shared fixtures: small real projects on disk (manifest, CSV data, policies, an environment)."""

from __future__ import annotations

import ast
import copy
import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

import evaluations
from govkit.cli import cli
from govkit.evaluation import Evaluation

BASE_MANIFEST: dict[str, Any] = {
    "apiVersion": "govkit/v1",
    "kind": "ModelManifest",
    "model": {
        "name": "scorer",
        "version": "1.4.0",
        "team": "alpha",
        "owner": "owner@example.com",
        "risk_tier": "high",
        "task": "binary-classification",
        "license": "Apache-2.0",
        "intended_use": "tests",
    },
    "datasets": {
        "training": {"path": "data/train.csv", "license": "CC-BY-4.0"},
        "evaluation": {
            "path": "data/eval.csv",
            "license": "MIT",
            "label": "y",
            "prediction": "yhat",
            "score": "score",
            "features": ["f1", "f2"],
        },
    },
    "sensitive_features": ["sex"],
    "dependencies": {"environment": "env"},
}

BASE_POLICY: dict[str, Any] = {
    "apiVersion": "govkit/v1",
    "kind": "PolicySet",
    "name": "base",
    "version": "1.0",
    "rules": [
        {
            "id": "T-LIC-001",
            "title": "model licence",
            "check": "license.model",
            "params": {"deny_traits": ["non-commercial"]},
            "severity": "high",
        },
        {
            "id": "T-LIC-002",
            "title": "data licences",
            "check": "license.datasets",
            "params": {"deny_traits": ["non-commercial"]},
            "severity": "medium",
            "allow_relax": True,
        },
        {
            "id": "T-LIC-003",
            "title": "dependency licences",
            "check": "license.dependencies",
            "params": {"deny_traits": ["strong-copyleft"], "unknown": "warn"},
            "severity": "high",
        },
    ],
}

CSV = "y,yhat,score,f1,f2,sex\n1,1,0.9,0.5,3,F\n0,0,0.2,0.1,2,M\n1,0,0.4,0.3,1,F\n0,1,0.7,0.9,5,M\n"


def fake_distribution(env: Path, name: str, version: str = "1.0", **fields: str | list[str]) -> None:
    """A real .dist-info folder that importlib.metadata reads like any installed package."""
    info = env / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}"]
    for key, value in fields.items():
        header = key.replace("_", "-")
        for v in value if isinstance(value, list) else [value]:
            lines.append(f"{header}: {v}")
    (info / "METADATA").write_text("\n".join(lines) + "\n")


@dataclass
class Project:
    root: Path
    runner: CliRunner

    @property
    def manifest_path(self) -> Path:
        return self.root / "govkit.yaml"

    def write(self, rel: str, content: Any) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text)
        return path

    def manifest(self, mutate: Callable[[dict[str, Any]], None] | None = None) -> Path:
        data = copy.deepcopy(BASE_MANIFEST)
        if mutate:
            mutate(data)
        return self.write("govkit.yaml", data)

    def policy(self, mutate: Callable[[dict[str, Any]], None] | None = None, rel: str = "policies/base.yaml") -> Path:
        data = copy.deepcopy(BASE_POLICY)
        if mutate:
            mutate(data)
        return self.write(rel, data)

    def run(self, args: str | list[str]) -> Result:
        argv = shlex.split(args) if isinstance(args, str) else args
        return self.runner.invoke(cli, argv, catch_exceptions=False)

    def check(self, extra: str = "") -> Result:
        return self.run(f"check {self.manifest_path} --policy {self.root / 'policies'} {extra}")

    def check_json(self, *extra: str, log: bool = False) -> tuple[int, dict[str, Any]]:
        """`check --format json`: its exit code, which must be a verdict (0 or 1, never 2 or 3), and the
        evaluation parsed. Each `extra` is split like a shell line. Not recorded unless `log`."""
        argv = ["check", str(self.manifest_path), "--policy", str(self.root / "policies"), "--format", "json"]
        argv += [] if log else ["--no-log"]
        argv += [word for words in extra for word in shlex.split(words)]
        result = self.run(argv)
        assert result.exit_code in (0, 1), result.output
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture(autouse=True)
def isolated_log(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own audit database and signing key, never the user's."""
    home = tmp_path_factory.mktemp("govkit-home")
    monkeypatch.setenv("GOVKIT_DB", str(home / "govkit.db"))
    monkeypatch.setenv("GOVKIT_KEY", str(home / "log-key.pem"))
    monkeypatch.setenv("GOVKIT_ACTOR", "tester@example.com")
    return home


def new_project(root: Path) -> Project:
    """A model folder with data, a fake installed environment, a manifest and a policy."""
    p = Project(root, CliRunner())
    p.write("data/train.csv", CSV)
    p.write("data/eval.csv", CSV)
    env = root / "env"
    fake_distribution(env, "numpy", "2.0", License_Expression="BSD-3-Clause")
    fake_distribution(env, "oldlib", "0.3", Classifier="License :: OSI Approved :: MIT License")
    p.manifest()
    p.policy()
    return p


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return new_project(tmp_path)


@pytest.fixture
def sample_evaluation() -> Evaluation:
    """A hand-built evaluation with every status, waivers and hostile strings (tests/evaluations.py)."""
    return evaluations.sample_evaluation()


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's data and model, built once per test session (read-only: copy before changing)."""
    from govkit.demo.data import build
    from govkit.demo.run import prepare

    folder = tmp_path_factory.mktemp("demo")
    manifest, _ = prepare(folder)
    build(folder)
    return manifest.parent


@pytest.fixture(scope="session")
def pg_base() -> Iterator[str]:
    """A real PostgreSQL server on loopback for this test session (started on first use)."""
    from postgres_server import postgres_server

    with postgres_server() as base:
        yield base


def fresh_cli(args: list[str], watched: tuple[str, ...]) -> tuple[str, object, list[str]]:
    """`govkit ARGS` in a new interpreter: its stdout, exit code, and which `watched` modules it imported
    (what a user pays for at start-up, which an in-process CliRunner cannot show)."""
    code = (
        "import sys; from govkit.cli import main; sys.argv = ['govkit', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    print('EXIT', e.code)\n"
        f"print('HEAVY', sorted(m for m in {watched!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True).stdout
    body, _, tail = out.rpartition("EXIT ")
    code_text, _, heavy = tail.partition("\nHEAVY ")
    return body, code_text.strip(), ast.literal_eval(heavy)


@pytest.fixture(scope="session")
def recorded_demo(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The demo checked once and recorded in its own log: {"db", "key", "digest"} (for `govkit bom` / `card`)."""
    from govkit.demo.run import asset_root

    home = tmp_path_factory.mktemp("recorded-demo")
    env = {"GOVKIT_DB": str(home / "govkit.db"), "GOVKIT_KEY": str(home / "log.pem"), "NO_COLOR": "1", "CI": ""}
    argv = ["check", str(demo_source / "govkit.yaml"), "--policy", str(asset_root() / "policies"), "--format", "json"]
    result = CliRunner(env=env).invoke(cli, argv, catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return {"db": env["GOVKIT_DB"], "key": env["GOVKIT_KEY"], "digest": json.loads(result.stdout)["evaluation_digest"]}
