"""Every bad input gives one line naming file and key, exit code 2, and no traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conftest import Project

Setup = Callable[[Project], str]


def manifest(mutate: Callable[[dict[str, Any]], None]) -> Setup:
    def setup(p: Project) -> str:
        p.manifest(mutate)
        return ""

    return setup


def policy(mutate: Callable[[dict[str, Any]], None]) -> Setup:
    def setup(p: Project) -> str:
        p.policy(mutate)
        return ""

    return setup


def write(rel: str, content: Any, extra: str = "") -> Setup:
    def setup(p: Project) -> str:
        p.write(rel, content)
        return extra

    return setup


def overlay(**body: Any) -> dict[str, Any]:
    return {
        "apiVersion": "govkit/v1",
        "kind": "PolicyOverlay",
        "name": "alpha",
        "team": "alpha",
        "extends": "base",
        **body,
    }


def waiver(**change: Any) -> dict[str, Any]:
    w = {
        "id": "W-1",
        "rule": "T-LIC-001",
        "reason": "r",
        "ticket": "T-1",
        "requested_by": "a@x",
        "approved_by": ["b@x"],
        "expires": "2030-01-01",
        **change,
    }
    return {"apiVersion": "govkit/v1", "kind": "Waivers", "waivers": [{k: v for k, v in w.items() if v is not None}]}


def set_key(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value

    return mutate


def drop_key(*path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        for key in path[:-1]:
            d = d[key]
        del d[path[-1]]

    return mutate


def cycle(p: Project) -> str:
    p.write("policies/a.yaml", {**overlay(name="a", extends="b"), "team": "alpha"})
    p.write("policies/b.yaml", {**overlay(name="b", extends="a"), "team": None})
    return ""


CASES: list[tuple[str, Setup, list[str]]] = [
    # manifest
    ("yaml-syntax", write("govkit.yaml", "model: [unclosed\n  name: x\n"), ["govkit.yaml:", "YAML syntax error"]),
    ("top-level-list", write("govkit.yaml", "- a\n- b\n"), ["govkit.yaml", "mapping"]),
    ("unknown-top-key", manifest(set_key("colour", value="blue")), ["govkit.yaml:", "colour: unknown key"]),
    ("unknown-model-key", manifest(set_key("model", "licence", value="MIT")), ["model.licence: unknown key"]),
    ("bad-risk-tier", manifest(set_key("model", "risk_tier", value="extreme")), ["model.risk_tier:", "'low'"]),
    ("missing-owner", manifest(drop_key("model", "owner")), ["model.owner: required key is missing"]),
    ("bad-task", manifest(set_key("model", "task", value="clustering")), ["model.task:"]),
    ("wrong-api-version", manifest(set_key("apiVersion", value="govkit/v9")), ["apiVersion:"]),
    ("base-models-not-list", manifest(set_key("model", "base_models", value="bert")), ["model.base_models:"]),
    (
        "invalid-spdx",
        manifest(set_key("model", "license", value="MIT AND (")),
        ["model.license:", "invalid licence expression"],
    ),
    (
        "dataset-missing",
        manifest(set_key("datasets", "evaluation", "path", value="data/nope.csv")),
        ["datasets.evaluation.path:", "file not found"],
    ),
    (
        "label-column-missing",
        manifest(set_key("datasets", "evaluation", "label", value="target")),
        ["datasets.evaluation.label:", '"target" not in eval.csv'],
    ),
    (
        "feature-column-missing",
        manifest(set_key("datasets", "evaluation", "features", value=["f1", "f9"])),
        ["datasets.evaluation.features[1]:", '"f9"'],
    ),
    (
        "sensitive-column-missing",
        manifest(set_key("sensitive_features", value=["race"])),
        ["sensitive_features[0]:", '"race"'],
    ),
    (
        "unsupported-format",
        manifest(set_key("datasets", "training", "path", value="govkit.yaml")),
        ["govkit.yaml", "unsupported data format"],
    ),
    ("empty-csv", write("data/train.csv", ""), ["train.csv", "empty file"]),
    (
        "requirements-missing",
        manifest(set_key("dependencies", value={"requirements": "req.txt"})),
        ["dependencies.requirements:", "file not found"],
    ),
    (
        "bad-requirement-line",
        lambda p: (
            p.write("req.txt", "numpy\n==broken\n"),
            p.manifest(set_key("dependencies", value={"requirements": "req.txt"})),
            "",
        )[-1],
        ["req.txt:2", "invalid requirement"],
    ),
    (
        "manifest-file-missing",
        lambda p: (p.manifest_path.unlink(), "")[-1],
        ["govkit.yaml", "model manifest not found", "govkit demo --dir"],
    ),
    # policies
    ("policy-yaml-syntax", write("policies/base.yaml", "rules:\n  - id: [\n"), ["base.yaml:", "YAML syntax error"]),
    (
        "unknown-check",
        policy(lambda d: d["rules"][0].update(check="license.modle")),
        ["base.yaml:", "rules[0].check:", "unknown check 'license.modle'"],
    ),
    ("bad-rule-id", policy(lambda d: d["rules"][0].update(id="lic1")), ["rules[0].id:"]),
    ("bad-severity", policy(lambda d: d["rules"][1].update(severity="urgent")), ["rules[1].severity:"]),
    (
        "unknown-param",
        policy(lambda d: d["rules"][0]["params"].update(deny_trait=["x"])),
        ["rules[0].params.deny_trait: unknown key"],
    ),
    (
        "bad-param-value",
        policy(lambda d: d["rules"][2]["params"].update(unknown="maybe")),
        ["rules[2].params.unknown:"],
    ),
    (
        "bad-trait",
        policy(lambda d: d["rules"][0]["params"].update(deny_traits=["evil"])),
        ["rules[0].params.deny_traits[0]:"],
    ),
    (
        "duplicate-rule-id",
        policy(lambda d: d["rules"][1].update(id="T-LIC-001")),
        ["rules[1].id:", "duplicate rule id"],
    ),
    (
        "extends-unknown",
        write("policies/alpha.yaml", overlay(extends="nope")),
        ["alpha.yaml:", "extends:", "unknown policy 'nope'"],
    ),
    ("circular-extends", cycle, ["circular extends"]),
    (
        "relax-locked",
        lambda p: (
            p.policy(lambda d: d["rules"][0].update(locked=True)),
            p.write("policies/alpha.yaml", overlay(overrides={"T-LIC-001": {"severity": "low"}})),
            "",
        )[-1],
        ["alpha.yaml:", "overrides.T-LIC-001:", "locked"],
    ),
    (
        "override-unknown-rule",
        write("policies/alpha.yaml", overlay(overrides={"X-1-2": {"severity": "low"}})),
        ["overrides.X-1-2:", "unknown rule"],
    ),
    (
        "short-justification",
        write("policies/alpha.yaml", overlay(disable={"T-LIC-002": {"justification": "no"}})),
        ["disable.T-LIC-002.justification:"],
    ),
    (
        "policy-path-missing",
        lambda p: f"--policy {p.root / 'nowhere'}",
        ["nowhere", "policy folder not found", "--policy FOLDER"],
    ),
    # waivers
    ("waiver-missing-expiry", write("waivers.yaml", waiver(expires=None)), ["waivers[0].expires: required key"]),
    ("waiver-bad-date", write("waivers.yaml", waiver(expires="next tuesday")), ["waivers[0].expires:"]),
    (
        "waiver-bad-version",
        write("waivers.yaml", waiver(target={"version": ">=>1"})),
        ["waivers[0].target.version:", "invalid version specifier"],
    ),
    (
        "waiver-duplicate-key",
        write("waivers.yaml", "apiVersion: govkit/v1\nkind: Waivers\nwaivers: []\nkind: Waivers\n"),
        ["waivers.yaml:4", "duplicate key 'kind'"],
    ),
    (
        "waiver-duplicate-id",
        write("waivers.yaml", {**waiver(), "waivers": waiver()["waivers"] + waiver()["waivers"]}),
        ["waivers.yaml:", "waivers[1].id:", "duplicate waiver id 'W-1'"],
    ),
    (
        "waiver-expiry-timezone",
        write("waivers.yaml", waiver(expires="2026-12-31T23:00:00+05:00")),
        ["waivers[0].expires:", "YYYY-MM-DD"],
    ),
    (
        "waiver-blank-approver",
        write("waivers.yaml", waiver(approved_by=["\u200b"])),
        ["waivers[0].approved_by:", "names no one"],
    ),
    ("policy-alias", write("policies/base.yaml", "a: &x [1]\nb: *x\n"), ["base.yaml:2", "aliases"]),
    (
        "overlay-lengthens-waivers",
        lambda p: (
            p.policy(lambda d: d.update(waivers={"max_days": 30})),
            p.write("policies/alpha.yaml", overlay(waivers={"max_days": 90})),
            "",
        )[-1],
        ["alpha.yaml:", "waivers.max_days:", "only shorten"],
    ),
    ("waiver-file-missing", lambda p: "--waivers missing-waivers.yaml", ["missing-waivers.yaml", "file not found"]),
]


@pytest.mark.parametrize(("setup", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(project: Project, setup: Setup, expected: list[str]) -> None:
    extra = setup(project) or ""
    result = project.check(extra)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in expected:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("args", ["--fail-on urgent", "--as-of yesterday", "--format pdf"])
def test_bad_flags_are_usage_errors(project: Project, args: str) -> None:
    result = project.check(args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_debug_flag_shows_traceback(project: Project) -> None:
    project.manifest(set_key("model", "risk_tier", value="extreme"))
    result = project.run(f"--debug check {project.manifest_path} --policy {project.root / 'policies'}")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr


def test_check_with_no_arguments_says_what_it_expected_and_how_to_start(
    project: Project, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path_factory.mktemp("empty")
    monkeypatch.chdir(empty)
    result = project.run("check")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: govkit.yaml: model manifest not found")
    assert str((empty / "govkit.yaml").resolve()) in line  # where it looked
    assert "govkit check path/to/govkit.yaml" in line and "govkit demo --dir DIR" in line  # what fixes it


def test_check_in_a_folder_without_policies_says_where_it_looked(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.root / "policies").rename(project.root / "elsewhere")
    monkeypatch.chdir(project.root)
    result = project.run("check govkit.yaml")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: policies: policy folder not found")
    assert str((project.root / "policies").resolve()) in line
    assert "--policy FOLDER" in line
    fixed = project.run("check govkit.yaml --policy elsewhere --no-log")
    assert fixed.exit_code in (0, 1), fixed.output
