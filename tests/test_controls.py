"""Control catalogues, control tags on rules, coverage from the audit log, the LL144 summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import Project
from govkit.controls.catalogue import load_catalogues
from govkit.errors import ControlError

# counts from the primary sources, kept here independently of the catalogue files
NIST_COUNTS = {"GOVERN": 19, "MAP": 18, "MEASURE": 22, "MANAGE": 13}
NIST_CATEGORIES = {
    "GOVERN": [7, 3, 2, 3, 2, 2],
    "MAP": [6, 3, 5, 2, 2],
    "MEASURE": [3, 13, 3, 3],
    "MANAGE": [4, 4, 2, 3],
}
ISO_PER_CLAUSE = {"A.2": 3, "A.3": 2, "A.4": 5, "A.5": 4, "A.6": 9, "A.7": 5, "A.8": 4, "A.9": 3, "A.10": 3}
ID_FORMATS = {
    "nist-ai-rmf": r"(GOVERN|MAP|MEASURE|MANAGE)-[1-6]\.[1-9][0-9]?",
    "iso-42001": r"A\.([2-9]|10)\.[1-9](\.[1-9])?",
    "eu-ai-act": r"art-(9|1[0-5]|17|26|7[23])-[1-9][0-9]?(-[a-m](-(i|ii|iii|iv|v|vi|vii))?)?|annex-iv-[1-9](-[a-h])?",
    "nyc-ll144": r"admin-code-20-87[0-4]|rcny-5-30[0-4]",
    "us-ugesp": r"1607\.4-D",
}


def _ids(framework: str) -> list[str]:
    return [c.id for c in load_catalogues().frameworks[framework].spec.controls]


def test_every_bundled_framework_has_a_format_and_every_id_matches_it() -> None:
    frameworks = load_catalogues().frameworks
    assert set(frameworks) == set(ID_FORMATS)
    for name, loaded in frameworks.items():
        bad = [c.id for c in loaded.spec.controls if not re.fullmatch(ID_FORMATS[name], c.id)]
        assert not bad, (name, bad)
        assert all(c.title and c.source for c in loaded.spec.controls)


def test_nist_ai_rmf_has_exactly_the_72_subcategories() -> None:
    ids = _ids("nist-ai-rmf")
    expected = [
        f"{fn}-{cat}.{sub}"
        for fn, sizes in NIST_CATEGORIES.items()
        for cat, n in enumerate(sizes, 1)
        for sub in range(1, n + 1)
    ]
    assert ids == expected
    assert len(ids) == 72
    assert {fn: sum(i.startswith(fn + "-") for i in ids) for fn in NIST_COUNTS} == NIST_COUNTS


def test_iso_42001_annex_a_has_exactly_38_controls_a2_to_a10() -> None:
    ids = _ids("iso-42001")
    assert len(ids) == len(set(ids)) == 38
    per_clause = {k: sum(1 for i in ids if re.match(re.escape(k) + r"\.", i)) for k in ISO_PER_CLAUSE}
    assert per_clause == ISO_PER_CLAUSE
    assert ids[0] == "A.2.2" and ids[-1] == "A.10.4"
    assert "A.6.10" not in ids and not any(i.startswith("A.11") for i in ids)  # crosswalk folklore


def test_eu_ai_act_holds_the_high_risk_provisions() -> None:
    ids = set(_ids("eu-ai-act"))
    for must in (
        "art-10-2-f",
        "art-10-2-g",
        "art-10-5",
        "art-13-3-b-v",
        "art-14-4-d",
        "art-17-1-d",
        "art-26-6",
        "art-72-1",
        "art-73-1",
        *(f"annex-iv-{n}" for n in range(1, 10)),
        *(f"annex-iv-2-{p}" for p in "abcdefgh"),
        *(f"art-17-1-{p}" for p in "abcdefghijklm"),
    ):
        assert must in ids, must
    assert "art-10-2-i" not in ids and "annex-iv-10" not in ids


def _catalogue(framework: str, *ids: str) -> dict:
    return {
        "apiVersion": "govkit/v1",
        "kind": "ControlCatalogue",
        "framework": framework,
        "title": "t",
        "version": "1",
        "source": "internal",
        "controls": [{"id": i, "title": "t", "source": "s"} for i in ids],
    }


def test_an_organisation_adds_its_own_framework(tmp_path: Path) -> None:
    import yaml

    (tmp_path / "acme.yaml").write_text(yaml.safe_dump(_catalogue("acme-mrm", "MRM-01", "MRM-02")))
    catalogues = load_catalogues(tmp_path)
    assert catalogues.find("acme-mrm:MRM-02") is not None
    assert catalogues.find("nist-ai-rmf:MEASURE-2.11") is not None  # the bundled ones stay
    assert catalogues.find("acme-mrm:MRM-03") is None


def test_a_catalogue_with_a_duplicate_id_is_refused_with_its_line(tmp_path: Path) -> None:
    import yaml

    (tmp_path / "acme.yaml").write_text(yaml.safe_dump(_catalogue("acme-mrm", "MRM-01", "MRM-01")))
    with pytest.raises(ControlError, match=r"acme\.yaml:\d+: controls\[1\]\.id: duplicate control id"):
        load_catalogues(tmp_path)


# --- rules carry controls ---------------------------------------------------------------------

TAGS = {"T-LIC-001": ["nist-ai-rmf:GOVERN-6.1", "iso-42001:A.10.3"], "T-LIC-002": ["iso-42001:A.7.3"]}


def _tag(policy: dict) -> None:
    for rule in policy["rules"]:
        if rule["id"] in TAGS:
            rule["controls"] = TAGS[rule["id"]]


def test_policy_validate_rejects_an_unknown_control_with_file_and_line(project: Project) -> None:
    def bad(policy: dict) -> None:
        _tag(policy)
        policy["rules"][1]["controls"] = ["iso-42001:A.7.3", "iso-42001:A.6.10"]  # A.6.10 does not exist

    path = project.policy(bad)
    result = project.run(f"policy validate {project.root / 'policies'}")
    assert result.exit_code == 2
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "A.6.10" in text)
    assert f"base.yaml:{line}: rules[1].controls[1]: unknown control 'iso-42001:A.6.10'" in result.output
    assert "Traceback" not in result.output


def test_policy_validate_names_the_known_frameworks_for_an_unknown_one(project: Project) -> None:
    project.policy(lambda p: p["rules"][0].__setitem__("controls", ["nist-rmf:MAP-1.1"]))
    result = project.run(f"policy validate {project.root / 'policies'}")
    assert result.exit_code == 2
    assert "no framework 'nist-rmf'; known: eu-ai-act, iso-42001, nist-ai-rmf" in result.output


def test_an_internal_framework_validates_with_controls_option_and_env(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    folder = tmp_path / "internal"
    folder.mkdir()
    (folder / "acme.yaml").write_text(yaml.safe_dump(_catalogue("acme-mrm", "MRM-07")))
    project.policy(lambda p: p["rules"][0].__setitem__("controls", ["acme-mrm:MRM-07"]))
    policies = project.root / "policies"
    assert project.run(f"policy validate {policies}").exit_code == 2
    assert project.run(f"policy validate {policies} --controls {folder}").exit_code == 0
    monkeypatch.setenv("GOVKIT_CONTROLS", str(folder))
    assert project.run(f"policy validate {policies}").exit_code == 0


def _overlay(project: Project, overrides: dict) -> None:
    project.write(
        "policies/team.yaml",
        {
            "apiVersion": "govkit/v1",
            "kind": "PolicyOverlay",
            "name": "alpha",
            "extends": "base",
            "team": "alpha",
            "overrides": overrides,
        },
    )


def test_an_overlay_adds_controls_and_cannot_remove_one(project: Project) -> None:
    from govkit.policy.loader import load_policy

    project.policy(_tag)
    # the overlay lists one old and one new control: the result keeps both old ones and adds the new
    _overlay(
        project,
        {"T-LIC-001": {"controls": ["iso-42001:A.10.3", "eu-ai-act:art-17-1-e"]}, "T-LIC-002": {"controls": []}},
    )
    resolved = load_policy(project.root / "policies", team="alpha")
    rule = resolved.rule("T-LIC-001")
    assert rule is not None and rule.controls == ("nist-ai-rmf:GOVERN-6.1", "iso-42001:A.10.3", "eu-ai-act:art-17-1-e")
    assert rule.provenance["controls"].startswith("team.yaml")
    lic2 = resolved.rule("T-LIC-002")
    assert lic2 is not None and lic2.controls == ("iso-42001:A.7.3",)  # an empty list removes nothing
    untagged = load_policy(project.root / "policies", team="nobody")
    assert untagged.rule("T-LIC-001").controls == ("nist-ai-rmf:GOVERN-6.1", "iso-42001:A.10.3")  # type: ignore


def test_an_overlay_citing_an_unknown_control_is_refused(project: Project) -> None:
    project.policy(_tag)
    _overlay(project, {"T-LIC-001": {"controls": ["eu-ai-act:art-99-1"]}})
    result = project.run(f"policy validate {project.root / 'policies'}")
    assert result.exit_code == 2
    assert "team.yaml:" in result.output and "overrides.T-LIC-001.controls[0]: unknown control" in result.output


def test_untagged_policies_keep_their_digest(project: Project) -> None:
    from govkit.policy.loader import load_policy

    resolved = load_policy(project.root / "policies")
    assert all("controls" not in r.to_dict() for r in resolved.rules)
    project.policy(_tag)
    assert load_policy(project.root / "policies").digest != resolved.digest


def test_findings_carry_controls_in_every_output(project: Project) -> None:
    import json
    import xml.etree.ElementTree as ET

    project.policy(_tag)
    project.manifest(lambda m: m["datasets"]["training"].__setitem__("license", "CC-BY-NC-4.0"))  # T-LIC-002 fails
    out = project.root / "out"
    result = project.check(
        f"--no-log --soft-fail --format json -o {out}/e.json --format sarif -o {out}/e.sarif "
        f"--format junit -o {out}/e.xml --format markdown -o {out}/e.md"
    )
    assert result.exit_code == 0, result.output
    findings = json.loads((out / "e.json").read_text())["findings"]
    by_rule = {f["rule_id"]: f for f in findings}
    assert by_rule["T-LIC-001"]["controls"] == TAGS["T-LIC-001"]
    assert "controls" not in by_rule["T-LIC-003"]  # untagged rule: key absent, as before
    sarif = json.loads((out / "e.sarif").read_text())
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert set(TAGS["T-LIC-001"]) <= set(rules["T-LIC-001"]["properties"]["tags"])
    cases = ET.parse(out / "e.xml").getroot().iter("testcase")
    props = {
        c.get("classname"): [p.get("value") for p in c.iter("property") if p.get("name") == "control"] for c in cases
    }
    assert props["govkit.license.T-LIC-002"] == TAGS["T-LIC-002"]
    md = (out / "e.md").read_text()
    assert "| Finding | Controls |" in md
    row = next(line for line in md.splitlines() if "| T-LIC-002 |" in line)
    assert row.endswith("| iso-42001:A.7.3 |")


# --- coverage ---------------------------------------------------------------------------------

ACME = {"T-LIC-001": ["acme:C-1"], "T-LIC-002": ["acme:C-2", "acme:C-1"]}


@pytest.fixture
def covered(project: Project, tmp_path: Path) -> tuple[Project, Path]:
    """Two models evaluated under a policy citing an internal framework acme (C-1..C-4)."""
    import yaml

    folder = tmp_path / "catalogues"
    folder.mkdir()
    (folder / "acme.yaml").write_text(yaml.safe_dump(_catalogue("acme", "C-1", "C-2", "C-3", "C-4")))

    def tag(policy: dict) -> None:
        for rule in policy["rules"]:
            rule["controls"] = ACME.get(rule["id"], [])

    project.policy(tag)
    return project, folder


def _checks(project: Project, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVKIT_CONTROLS", str(folder))
    assert project.check("--team alpha").exit_code == 0
    project.manifest(
        lambda m: (
            m["model"].__setitem__("name", "other"),
            m["datasets"]["training"].__setitem__("license", "CC-BY-NC-4.0"),
        )
    )
    assert project.check("--team alpha --soft-fail").exit_code == 0
    project.manifest(lambda m: m["model"].__setitem__("name", "other"))
    assert project.check("--team beta").exit_code == 0  # another team's newer (passing) run is not alpha's evidence

    def later(policy: dict) -> None:  # a rule added after the runs: its control is not evaluated yet
        for rule in policy["rules"]:
            rule["controls"] = ACME.get(rule["id"], [])
        policy["rules"].append(
            {"id": "T-LIC-004", "title": "x", "check": "license.model", "severity": "low", "controls": ["acme:C-4"]}
        )

    project.policy(later)


EXPECTED = {
    "acme:C-1": {"other": "fail", "scorer": "pass"},
    "acme:C-2": {"other": "fail", "scorer": "pass"},
    "acme:C-3": {"other": "not covered", "scorer": "not covered"},
    "acme:C-4": {"other": "not evaluated", "scorer": "not evaluated"},
}


def test_coverage_matrix_in_every_format(covered: tuple[Project, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import csv
    import io
    import json

    project, folder = covered
    _checks(project, folder, monkeypatch)
    base = f"controls coverage --policy {project.root / 'policies'} --team alpha --framework acme --format"
    result = project.run(f"{base} json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [m["name"] for m in doc["models"]] == ["other", "scorer"]
    assert {r["control"]: r["results"] for r in doc["controls"]} == EXPECTED
    assert {r["control"]: r["rules"] for r in doc["controls"]}["acme:C-1"] == ["T-LIC-001", "T-LIC-002"]
    rows = list(csv.reader(io.StringIO(project.run(f"{base} csv").stdout)))
    assert rows[0] == ["control", "title", "rules", "other@1.4.0", "scorer@1.4.0"]
    assert {r[0]: {"other": r[3], "scorer": r[4]} for r in rows[1:]} == EXPECTED
    md = project.run(f"{base} markdown").stdout
    assert "| acme:C-2 | t | T-LIC-002 | fail | pass |" in md
    assert "3 of 4 controls covered" in md
    table = project.run(f"{base} table").stdout
    assert "acme:C-3" in table and "not covered" in table and "not evaluated" in table


def test_coverage_require_exits_1_on_an_uncovered_control(covered: tuple[Project, Path]) -> None:
    project, folder = covered
    base = f"controls coverage --policy {project.root / 'policies'} --controls {folder} --no-log --format csv"
    missing = project.run(f"{base} --require acme")
    assert missing.exit_code == 1
    assert "acme: 2 control(s) not covered by any rule: acme:C-3, acme:C-4" in missing.stderr
    project.policy(lambda p: p["rules"][0].__setitem__("controls", ["acme:C-1", "acme:C-2", "acme:C-3", "acme:C-4"]))
    assert project.run(f"{base} --require acme").exit_code == 0
    unknown = project.run(f"{base} --require acme-typo")
    assert unknown.exit_code == 2 and "unknown framework 'acme-typo'" in unknown.stderr


def test_coverage_of_the_demo_policies_covers_what_they_cite(project: Project) -> None:
    import json

    policies = Path(__file__).resolve().parents[1] / "policies"
    result = project.run(f"controls coverage --policy {policies} --team lending --no-log --format json")
    assert result.exit_code == 0, result.output
    rows = {r["control"]: r["rules"] for r in json.loads(result.stdout)["controls"]}
    assert len(rows) == 123 + 72 + 38 + 10 + 1
    assert rows["eu-ai-act:art-10-2-f"] == ["GK-FAIR-001", "GK-FAIR-002", "GK-PRIV-004"]
    assert "GK-FAIR-002" in rows["nist-ai-rmf:MAP-1.1"]  # added by the lending overlay
    assert rows["nist-ai-rmf:GOVERN-1.6"] == []


def test_coverage_trusts_only_evaluations_that_verify(
    covered: tuple[Project, Path], monkeypatch: pytest.MonkeyPatch, isolated_log: Path
) -> None:
    import json
    import os

    from backends import SqliteBackend

    project, folder = covered
    _checks(project, folder, monkeypatch)
    db = os.environ["GOVKIT_DB"]
    raw = SqliteBackend(Path(db).parent).raw(db)
    seq, body = raw.execute(
        "SELECT p.seq, p.body FROM payloads p JOIN entries e ON e.seq = p.seq "
        "WHERE e.action = 'evaluation.recorded' AND e.subject LIKE 'other@%' "
        "ORDER BY p.seq LIMIT 1"
    ).fetchone()
    forged = json.loads(body)
    for finding in forged["evaluation"]["findings"]:
        finding["status"] = "pass"  # the failing result rewritten as a pass
    raw.execute("UPDATE payloads SET body = ? WHERE seq = ?", [json.dumps(forged).encode(), seq])
    result = project.run(f"controls coverage --policy {project.root / 'policies'} --team alpha --framework acme")
    assert result.exit_code == 1  # verification failed
    assert "does not verify" in result.stderr and "pass" not in result.stdout


# --- NYC LL144 bias audit summary -------------------------------------------------------------


def _ll144_project(project: Project) -> Path:
    rows = ["y,yhat,score,f1,f2,sex,race"]
    for i in range(300):
        sex = "" if i % 50 == 7 else ("F" if i % 2 else "M")  # 6 with unknown sex
        race = "D" if i % 75 == 3 else "ABC"[i % 3]  # D: 4 of 300, under 2%
        yhat = int((i * 7) % 10 < (6 if sex == "M" else 4) + (race == "B"))
        rows.append(f"{i % 2},{yhat},{(i * 37 % 100) / 100},{i % 5},{i % 3},{sex},{race}")
    project.write("data/eval.csv", "\n".join(rows) + "\n")
    project.manifest(lambda m: m.__setitem__("sensitive_features", ["sex", "race"]))
    project.policy(
        lambda p: p["rules"].append(
            {
                "id": "T-FAIR-001",
                "title": "selection rates",
                "check": "fairness.demographic_parity_ratio",
                "params": {"min": 0.0, "min_group_size": 1},
                "severity": "low",
            }
        )
    )
    out = project.root / "e.json"
    assert project.check(f"--format json -o {out}").exit_code == 0
    return out


def test_ll144_summary_is_recomputed_independently_from_the_evaluation_json(project: Project) -> None:
    import json

    evaluation = json.loads(_ll144_project(project).read_text())
    result = project.run("controls ll144 --latest scorer --sex sex --race race --exclude-small --format json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    fairness = evaluation["measurements"]["fairness"]
    assessed = fairness["overall"]["n"]
    assert summary["individuals_assessed"] == assessed == 300
    for section, features in zip(summary["sections"], (["sex"], ["race"], ["sex", "race"]), strict=True):
        table = next(t for t in fairness["tables"] if sorted(t["features"]) == sorted(features))
        known = [g for g in table["groups"] if "Unknown" not in g["key"].values()]
        rate = {tuple(g["key"][f] for f in features): (g["fp"] + g["tp"]) / g["n"] for g in known}
        n = {tuple(g["key"][f] for f in features): g["n"] for g in known}
        small = {k for k, v in n.items() if v / assessed < 0.02}
        top = max(v for k, v in rate.items() if k not in small)
        got = {tuple(c["category"]): c for c in section["categories"]}
        assert set(got) == set(rate)
        for key, c in got.items():
            assert c["n"] == n[key] and c["rate"] == pytest.approx(rate[key])
            assert c["excluded"] == (key in small)
            assert c["impact_ratio"] == (None if key in small else pytest.approx(rate[key] / top))
        assert section["unknown_count"] == table["unknown_count"]
        assert sum(n.values()) + section["unknown_count"] == assessed
    sex_unknown = summary["sections"][0]["unknown_count"]
    assert sex_unknown == 6
    assert any(c["excluded"] for c in summary["sections"][1]["categories"])  # race D is under 2%


def test_ll144_markdown_states_the_exclusion_and_scoring_rates_come_from_the_json(project: Project) -> None:
    import json

    evaluation = json.loads(_ll144_project(project).read_text())
    md = project.run("controls ll144 --latest scorer --sex sex --race race --exclude-small").stdout
    assert "Number of individuals assessed: 300" in md
    assert "left out of the impact ratios (" in md and "D (n=4), F & D (n=2)" in md and "excluded (under 2%)" in md
    assert "Individuals with an unknown category: 6" in md
    digest = evaluation["evaluation_digest"]
    scoring = json.loads(
        project.run(f"controls ll144 {digest[:12]} --sex sex --race race --rate scoring --format json").stdout
    )
    table = next(t for t in evaluation["measurements"]["fairness"]["tables"] if t["features"] == ["sex"])
    expected = {g["key"]["sex"]: g["scoring_rate"] for g in table["groups"] if g["key"]["sex"] != "Unknown"}
    assert {c["category"][0]: c["rate"] for c in scoring["sections"][0]["categories"]} == expected
    assert scoring["evaluation_digest"] == digest
    csv_out = project.run("controls ll144 --latest scorer --sex sex --race race --format csv").stdout
    assert csv_out.splitlines()[0] == "section,category,individuals,selection_rate,impact_ratio,excluded"


def test_ll144_needs_the_columns_in_the_evaluation(project: Project) -> None:
    _ll144_project(project)
    result = project.run("controls ll144 --latest scorer --sex sex --race ethnicity")
    assert result.exit_code == 2 and "no cohort table for ethnicity" in result.stderr
    assert project.run("controls ll144 --sex sex --race race").exit_code == 2


def test_coverage_escapes_model_names_in_every_format(
    covered: tuple[Project, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv
    import io

    project, folder = covered
    monkeypatch.setenv("GOVKIT_CONTROLS", str(folder))
    project.manifest(lambda m: m["model"].update(name="=HYPERLINK(1) | ### <b>[bold]x", version="1.0@evil\n::x"))
    assert project.check("--team alpha").exit_code == 0
    base = f"controls coverage --policy {project.root / 'policies'} --team alpha --framework acme --format"
    header = next(csv.reader(io.StringIO(project.run(f"{base} csv").stdout)))
    assert header[3].startswith("'=HYPERLINK(1)")
    md = project.run(f"{base} markdown").stdout
    assert "<b>" not in md and "&lt;b&gt;" in md and "\\| \\#\\#\\#" in md
    table = project.run(f"{base} table").stdout
    assert "[bold]x" in table and "\n::x" not in table
    json_out = project.run(f"{base} json").stdout
    assert '"=HYPERLINK(1) | ### <b>[bold]x"' in json_out  # the model was found despite the @ in its version
