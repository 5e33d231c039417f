"""The GitHub Action and the GitLab CI template, run as their runners would run them, on the demo project.

The action's `run:` steps execute with bash the way the runner does (`bash --noprofile --norc -eo
pipefail`, `${{ }}` expressions substituted in `env:`, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files);
`uses:` steps cannot run here, so they are checked for what they are. The install step really
installs govkit from the action's path, into a fresh virtualenv standing in for setup-python's
(dependencies from this environment: see tests/installed.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from installed import OFFLINE_PIP, ROOT, clean_env, fresh_venv, govkit_location

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@pytest.fixture(scope="module")
def setup_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What actions/setup-python leaves behind: a Python with pip and no govkit."""
    return fresh_venv(tmp_path_factory.mktemp("runner") / "python", with_pip=True)


@pytest.fixture
def workspace(demo_source: Path, tmp_path: Path) -> Path:
    """A checked-out repository holding the demo model and the policies."""
    repo = tmp_path / "repo"
    # the demo folder carries its policies (`govkit demo` copies them)
    shutil.copytree(demo_source, repo, ignore=shutil.ignore_patterns("govkit.db*", ".govkit", "reports"))
    return repo


def _substitute(text: str, context: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        assert match.group(1) in context, f"unexpected expression {match.group(0)}"
        return context[match.group(1)]

    return EXPRESSION.sub(value, text)


def run_action(inputs: dict[str, str], workspace: Path, python: Path) -> tuple[int, Path, dict[str, str]]:
    """Run action.yml's steps; returns (exit code of the first failing step or 0, runner temp, outputs)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    given = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(inputs) - set(given)
    assert not unknown, unknown
    given.update(inputs)
    context = {f"inputs.{k}": v for k, v in given.items()} | {"github.action_path": str(ROOT)}
    temp = workspace.parent / "runner-temp"
    temp.mkdir()
    summary, output = temp / "step-summary.md", temp / "gate-output"
    outputs: dict[str, str] = {}
    for step in action["runs"]["steps"]:
        if "uses" in step:
            continue
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], "inputs must reach scripts through env:, never pasted into them"
        env = clean_env(temp, path_first=python / "bin") | OFFLINE_PIP
        env |= {k: _substitute(str(v), context) for k, v in step.get("env", {}).items()}
        env |= {
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_WORKSPACE": str(workspace),
            "GOVKIT_DB": str(temp / "govkit.db"),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        step["result"] = done
        if step.get("id") and output.exists():
            outputs.update(line.split("=", 1) for line in output.read_text().splitlines())
        if done.returncode != 0:
            return done.returncode, temp, outputs | {"stdout": done.stdout, "stderr": done.stderr}
    return 0, temp, outputs


def test_action_declares_the_inputs_and_the_steps_it_needs() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert {
        "manifest",
        "policy",
        "team",
        "formats",
        "fail-on",
        "baseline",
        "python-version",
        "extras",
        "upload-sarif",
    } <= set(action["inputs"])
    uses = [s for s in action["runs"]["steps"] if "uses" in s]
    assert [s["uses"] for s in uses] == ["actions/setup-python@v5", "github/codeql-action/upload-sarif@v3"]
    assert uses[0]["with"]["python-version"] == "${{ inputs.python-version }}"
    upload = uses[1]
    assert upload["with"]["sarif_file"] == "${{ steps.gate.outputs.sarif }}"
    assert "inputs.upload-sarif == 'true'" in upload["if"] and "always()" in upload["if"]
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.gate.outputs.exit-code }}"


def test_action_runs_the_gate_writes_summary_and_sarif_and_fails_with_it(workspace: Path, setup_python: Path) -> None:
    code, temp, outputs = run_action(
        {"team": "lending", "formats": "json junit", "upload-sarif": "true"}, workspace, setup_python
    )
    assert govkit_location(setup_python / "bin" / "python", clean_env(temp), temp).is_relative_to(setup_python)
    assert code == 1, outputs  # the lending overlay blocks the demo model
    assert outputs["exit-code"] == "1"
    sarif = workspace / outputs["sarif"]
    assert sarif == workspace / "govkit-reports" / "govkit.sarif"
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert any(r["ruleId"] == "GK-LIC-002" and r["level"] == "error" for r in results)
    summary = (temp / "step-summary.md").read_text()
    assert summary == (workspace / "govkit-reports" / "govkit.md").read_text()
    assert "FAIL" in summary and "GK-LIC-002" in summary
    assert "::error file=" in outputs["stdout"]  # annotations
    assert json.loads((workspace / "govkit-reports" / "govkit.json").read_text())["verdict"] == "fail"
    ET.parse(workspace / "govkit-reports" / "govkit.junit.xml")


def test_action_passes_when_the_gate_passes_and_refuses_a_bad_format(workspace: Path, setup_python: Path) -> None:
    code, temp, outputs = run_action(
        {"team": "research", "formats": "", "args": "--no-log --quiet"}, workspace, setup_python
    )
    assert code == 0 and outputs["exit-code"] == "0", outputs
    assert "PASS" in (temp / "step-summary.md").read_text()
    assert not (temp / "govkit.db").exists()  # args reached govkit check
    shutil.rmtree(temp)
    code, temp, outputs = run_action({"formats": "html"}, workspace, setup_python)
    assert code == 2 and "unknown format" in outputs["stdout"]


def _gitlab_job() -> dict[str, Any]:
    template = yaml.safe_load((ROOT / "ci" / "gitlab" / "govkit.gitlab-ci.yml").read_text())
    job = template["govkit"]
    assert job["extends"] == ".govkit-check"
    return {**template[".govkit-check"], **{k: v for k, v in job.items() if k != "extends"}}


def test_gitlab_template_runs_the_gate_and_keeps_junit(workspace: Path, setup_python: Path) -> None:
    job = _gitlab_job()
    variables = {
        **job["variables"],
        "GOVKIT_PACKAGE": str(ROOT),
        "GOVKIT_SYSTEM_PACKAGES": "",
        "GOVKIT_TEAM": "lending",
    }
    env = clean_env(workspace.parent, path_first=setup_python / "bin") | OFFLINE_PIP | variables
    env |= {"GOVKIT_DB": str(workspace.parent / "govkit.db"), "CI": "true", "GITLAB_CI": "true"}

    def shell(lines: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", "\n".join(lines)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    main = shell(job["before_script"] + job["script"])
    after = shell(job["after_script"])
    assert main.returncode == 1, main.stdout + main.stderr  # the gate's exit code fails the job
    out = workspace / "govkit-reports"
    assert job["artifacts"]["reports"]["junit"] == "$GOVKIT_OUTPUT_DIR/govkit.junit.xml"
    assert job["artifacts"]["when"] == "always"
    cases = ET.parse(out / "govkit.junit.xml").getroot().iter("testcase")
    assert any(c.get("classname", "").endswith(".GK-LIC-002") and c.find("failure") is not None for c in cases)
    assert after.stdout == (out / "govkit.md").read_text()
    assert json.loads((out / "govkit.sarif").read_text())["version"] == "2.1.0"


class _GitLabLoader(yaml.SafeLoader):
    """GitLab's `!reference [job, key]` tag, read as the list it names."""


_GitLabLoader.add_constructor("!reference", lambda loader, node: loader.construct_sequence(node))


def test_ci_examples_use_the_action_and_the_template() -> None:
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "github-actions.yml").read_text())
    steps = workflow["jobs"]["policy-gate"]["steps"]
    gate = next(s for s in steps if s.get("name") == "Policy gate")
    assert re.fullmatch(r"[\w-]+/govkit@v[\d.]+", gate["uses"])
    action_inputs = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])
    assert set(gate["with"]) <= action_inputs
    pipeline = yaml.load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text(), Loader=_GitLabLoader)
    assert pipeline["include"][0]["file"] == "ci/gitlab/govkit.gitlab-ci.yml"
    template = _gitlab_job()
    assert set(pipeline["govkit"]["variables"]) - {"GOVKIT_DB", "GOVKIT_KEY"} <= set(template["variables"])
    assert pipeline["govkit"]["before_script"][0] == [".govkit-check", "before_script"]
