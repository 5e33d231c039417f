"""The pre-commit hooks, run by pre-commit itself on a sample repository.

The sample's .pre-commit-config.yaml points `repo:` at a committed copy of this repository, so
pre-commit clones it and installs govkit into its own virtualenv exactly as for a user
(`language: python`). Only the dependencies come from this environment instead of the index
(tests/installed.py): pip is told --no-deps/--no-index through its environment variables, and
PYTHONPATH shows the hook's interpreter the installed libraries, without govkit.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import new_project
from installed import OFFLINE_PIP, ROOT, clean_env, dependencies_without_govkit, govkit_location

# what building govkit needs (the wheel's force-include lists the demo files)
# what the wheel build reads: the package, its metadata files, and whatever pyproject force-includes
SHIPPED = [
    "pyproject.toml",
    "README.md",
    "LICENSE",
    ".pre-commit-hooks.yaml",
    "src",
    *tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"][
        "force-include"
    ],
]
HOOKS = ["govkit-policy-validate", "govkit-manifest-validate", "govkit-waivers-validate", "govkit-check"]


def _git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "HOME": str(cwd),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A committed copy of this repository's package and hooks file: what `repo:` + `rev:` name."""
    repo = tmp_path_factory.mktemp("hooks") / "govkit"
    for rel in SHIPPED:
        source, target = ROOT / rel, repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, target)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "govkit")
    return repo, _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def sample(tmp_path: Path, hooks_repo: tuple[Path, str]) -> Path:
    """A model repository with a manifest, data, waivers and policies, using every govkit hook."""
    project = new_project(tmp_path / "sample")
    project.write("waivers.yaml", {"apiVersion": "govkit/v1", "kind": "Waivers", "waivers": []})
    repo, rev = hooks_repo
    hooks = [{"id": hook} for hook in HOOKS[:3]]
    hooks.append({"id": "govkit-check", "args": ["govkit.yaml", "--policy", "policies"]})
    project.write(".pre-commit-config.yaml", {"repos": [{"repo": str(repo), "rev": rev, "hooks": hooks}]})
    _git(project.root, "init", "-q")
    return project.root


def _pre_commit(sample: Path, home: Path) -> subprocess.CompletedProcess[str]:
    _git(sample, "add", "-A")
    links = dependencies_without_govkit(home.parent / "dependencies")
    env = (
        clean_env(sample)
        | OFFLINE_PIP
        | {"PRE_COMMIT_HOME": str(home), "PYTHONPATH": str(links), "PRE_COMMIT_COLOR": "never"}
    )
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=sample,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _status(output: str) -> dict[str, str]:
    """{hook name: Passed | Failed | (no files to check)Skipped} from pre-commit's report."""
    names = {h["name"]: h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    found = {}
    for line in output.splitlines():
        for name, hook in names.items():
            if line.startswith(name + "."):
                found[hook] = line.rsplit(".", 1)[-1].strip()
    return found


def test_hooks_pass_on_a_valid_repository_with_govkit_installed_by_pre_commit(
    sample: Path, pre_commit_home: Path
) -> None:
    done = _pre_commit(sample, pre_commit_home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _status(done.stdout) == dict.fromkeys(HOOKS, "Passed"), done.stdout
    hook_python = next(pre_commit_home.glob("repo*/py_env-*/bin/python"))
    env = clean_env(sample) | {"PYTHONPATH": str(pre_commit_home.parent / "dependencies")}
    assert govkit_location(hook_python, env, sample).is_relative_to(hook_python.parents[2])


def test_hooks_name_the_bad_file_and_field(sample: Path, pre_commit_home: Path) -> None:
    manifest = yaml.safe_load((sample / "govkit.yaml").read_text())
    (sample / "govkit.yaml").write_text(yaml.safe_dump({**manifest, "colour": "blue"}))
    policy = yaml.safe_load((sample / "policies" / "base.yaml").read_text())
    policy["rules"][0]["severity"] = "catastrophic"
    (sample / "policies" / "base.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    (sample / "waivers.yaml").write_text("apiVersion: govkit/v1\nkind: Waivers\nwaivers: [{id: W-1}]\n")
    done = _pre_commit(sample, pre_commit_home)
    assert done.returncode == 1
    assert _status(done.stdout) == dict.fromkeys(HOOKS, "Failed"), done.stdout
    assert re.search(r"^error: govkit\.yaml:\d+: colour: ", done.stdout, re.MULTILINE), done.stdout
    assert "base.yaml" in done.stdout and "rules[0].severity" in done.stdout
    assert "waivers.yaml" in done.stdout and "waivers[0]" in done.stdout
    assert "Traceback" not in done.stdout


def test_gate_hook_blocks_a_failing_model(sample: Path, pre_commit_home: Path) -> None:
    manifest = yaml.safe_load((sample / "govkit.yaml").read_text())
    manifest["model"]["license"] = "CC-BY-NC-4.0"
    (sample / "govkit.yaml").write_text(yaml.safe_dump(manifest))
    done = _pre_commit(sample, pre_commit_home)
    assert done.returncode == 1
    status = _status(done.stdout)
    assert status["govkit-check"] == "Failed" and status["govkit-manifest-validate"] == "Passed", done.stdout
    assert "FAIL" in done.stdout and "T-LIC-001" in done.stdout
    assert not (sample / "govkit.db").exists()  # the hook never writes the audit log
