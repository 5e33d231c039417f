"""Control catalogues, control tags on rules, coverage from the audit log, the LL144 summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from govkit.controls.catalogue import bundled_dir, load_catalogues
from govkit.errors import ControlError

# counts from the primary sources, kept here independently of the catalogue files
NIST_COUNTS = {"GOVERN": 19, "MAP": 18, "MEASURE": 22, "MANAGE": 13}
NIST_CATEGORIES = {"GOVERN": [7, 3, 2, 3, 2, 2], "MAP": [6, 3, 5, 2, 2], "MEASURE": [3, 13, 3, 3],
                   "MANAGE": [4, 4, 2, 3]}
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
    expected = [f"{fn}-{cat}.{sub}" for fn, sizes in NIST_CATEGORIES.items()
                for cat, n in enumerate(sizes, 1) for sub in range(1, n + 1)]
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
    for must in ("art-10-2-f", "art-10-2-g", "art-10-5", "art-13-3-b-v", "art-14-4-d", "art-17-1-d",
                 "art-26-6", "art-72-1", "art-73-1", *(f"annex-iv-{n}" for n in range(1, 10)),
                 *(f"annex-iv-2-{p}" for p in "abcdefgh"), *(f"art-17-1-{p}" for p in "abcdefghijklm")):
        assert must in ids, must
    assert "art-10-2-i" not in ids and "annex-iv-10" not in ids


def _catalogue(framework: str, *ids: str) -> dict:
    return {"apiVersion": "govkit/v1", "kind": "ControlCatalogue", "framework": framework, "title": "t",
            "version": "1", "source": "internal", "controls": [{"id": i, "title": "t", "source": "s"} for i in ids]}


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


def test_the_wheel_ships_the_catalogue() -> None:
    text = (bundled_dir().parent / "pyproject.toml").read_text()
    assert '"controls" = "govkit/_controls"' in text
