"""Cohort engines: pandas, DuckDB and Spark give identical per-group values on the same data.

The data is built to catch the places where engines differ by nature: missing values in text,
integer columns with gaps (floats in pandas, integers in DuckDB), booleans, text labels, tied
scores, empty intersections, and a dataset split over several Parquet files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from conftest import Project, new_project
from govkit.api import run_check
from govkit.checks.fairness.counts import RunningU, count_table, encode, tie_safe_slices
from govkit.checks.fairness.engines.registry import auto_engine, parse_size
from govkit.errors import GovkitError

RULES = [
    {
        "id": "E-DPR",
        "title": "parity",
        "check": "fairness.demographic_parity_ratio",
        "severity": "high",
        "params": {"min": 0.8},
    },
    {
        "id": "E-AUC",
        "title": "auc",
        "check": "fairness.group_metric",
        "severity": "medium",
        "params": {"metric": "auc", "max_difference": 0.05},
    },
    {
        "id": "E-LL144",
        "title": "scoring rate",
        "check": "fairness.group_metric",
        "severity": "low",
        "params": {"metric": "scoring_rate", "min_ratio": 0.8},
    },
]


@pytest.fixture(autouse=True)
def spark_on_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spark tests run in local[2] mode: a real scheduler with parallel tasks, on this machine."""
    monkeypatch.setenv("GOVKIT_SPARK_MASTER", "local[2]")


def awkward_frame(n: int = 4000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male", None], n, p=[0.47, 0.48, 0.05])
    band = rng.choice([1.0, 2.0, 3.0, np.nan], n, p=[0.3, 0.3, 0.3, 0.1])  # an integer column with gaps
    veteran = rng.choice([True, False], n, p=[0.1, 0.9])
    score = rng.integers(0, 200, n) / 199  # many ties
    score[(sex == "male")] = np.clip(score[(sex == "male")] + 0.1, 0, 1)
    frame = pd.DataFrame(
        {
            "outcome": np.where(rng.random(n) < 0.3 + 0.4 * score, "yes", "no"),
            "decision": np.where(score > 0.5, "yes", "no"),
            "score": score,
            "f1": rng.random(n),
            "sex": sex,
            "band": band,
            "veteran": veteran,
        }
    )
    frame.loc[(frame.veteran) & (frame.band == 3.0), "band"] = 1.0  # empty intersections
    return frame


def engine_project(project: Project, frame: pd.DataFrame, layout: str) -> None:
    """Write `frame` as one CSV, a folder of Parquet files, or Parquet parts matched by a glob."""
    data = project.root / "data"
    if layout == "csv":
        frame.to_csv(data / "eval.csv", index=False)
        path = "data/eval.csv"
    else:
        parts = data / "eval-parts"
        parts.mkdir(parents=True, exist_ok=True)
        for i, idx in enumerate(np.array_split(np.arange(len(frame)), 4)):
            frame.iloc[idx].to_parquet(parts / f"part-{i}.parquet", index=False)
        path = "data/eval-parts" if layout == "parquet-folder" else "data/eval-parts/part-*.parquet"

    def mutate(m: dict[str, Any]) -> None:
        m["datasets"]["evaluation"].update(
            {
                "path": path,
                "features": ["f1"],
                "label": "outcome",
                "prediction": "decision",
                "score": "score",
                "positive_label": "yes",
            }
        )
        m["sensitive_features"] = ["sex", "band", "veteran"]

    project.manifest(mutate)
    project.policy(lambda p: p.update(rules=RULES))


def fairness(project: Project, engine: str) -> dict[str, Any]:
    evaluation = run_check(project.manifest_path, project.root / "policies", engine=engine)
    return dict(evaluation.measurements["fairness"])


def without_engine(measurement: dict[str, Any]) -> dict[str, Any]:
    """The numbers; which engine counted, and how a CSV was read (None for Parquet), aside."""
    return {k: v for k, v in measurement.items() if k not in ("engine", "dialect")}


@pytest.fixture(scope="module")
def pandas_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = new_project(tmp_path_factory.mktemp("reference"))
    engine_project(project, awkward_frame(), "csv")
    return fairness(project, "pandas")


def test_reference_has_the_awkward_cases(pandas_reference: dict[str, Any]) -> None:
    tables = {t["feature"]: t for t in pandas_reference["tables"]}
    assert {g["group"] for g in tables["band"]["groups"]} == {"1", "2", "3", "Unknown"}
    assert {g["group"] for g in tables["veteran"]["groups"]} == {"True", "False"}
    assert tables["sex"]["unknown_count"] > 0
    full = tables["sex & band & veteran"]["groups"]
    assert not any(g["key"]["veteran"] == "True" and g["key"]["band"] == "3" for g in full)
    assert all(g["auc"] is not None for g in tables["sex"]["groups"])


# Spark reads the glob's files the same way as the folder's (govkit lists them): left out to keep the suite short
@pytest.mark.parametrize(
    ("engine", "layout"),
    [
        ("pandas", "parquet-folder"),
        ("pandas", "parquet-glob"),
        ("duckdb", "csv"),
        ("duckdb", "parquet-folder"),
        ("duckdb", "parquet-glob"),
        ("spark", "csv"),
        ("spark", "parquet-folder"),
    ],
)
def test_every_engine_gives_identical_values(
    project: Project, pandas_reference: dict[str, Any], engine: str, layout: str
) -> None:
    engine_project(project, awkward_frame(), layout)
    measured = fairness(project, engine)
    assert measured["engine"] == engine
    if engine == "spark":
        from govkit.checks.fairness.engines.spark_engine import spark_session

        assert spark_session().sparkContext.master == "local[2]"
    assert without_engine(measured) == without_engine(pandas_reference)


def test_running_u_is_the_tie_averaged_auc_in_any_batches() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    group = pd.Series(rng.choice(["a", "b", "c"], n))
    scores = rng.integers(0, 30, n) / 29  # heavy ties, so batch cuts must respect them
    labels = (rng.random(n) < 0.2 + 0.6 * scores).astype(np.int64)
    table = count_table([encode("g", group)], labels, labels)
    order = np.argsort(scores, kind="stable")
    codes, sorted_scores, pos = table.codes[order], scores[order], labels[order]
    results = []
    for size in (n, 1, 37, 500):
        running = RunningU(len(table.groups))
        slices = list(tie_safe_slices(sorted_scores, size))
        assert all(sorted_scores[s.stop - 1] != sorted_scores[s.stop] for s in slices[:-1])
        for part in slices:
            running.add(codes[part], sorted_scores[part], pos[part], 1 - pos[part])
        results.append(running.doubled_u.copy())
    assert all((r == results[0]).all() for r in results)
    for i, (name,) in enumerate(table.groups):
        rows = (group == name).to_numpy()
        positives = labels[rows].sum()
        negatives = rows.sum() - positives
        expected = roc_auc_score(labels[rows], scores[rows])
        assert results[0][i] / (2 * positives * negatives) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("path", ["small batches", "one windowed query per table"])
def test_duckdb_streaming_and_fallback_agree(
    project: Project, pandas_reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """The sorted stream cut into many small batches (ties across cuts), and the per-table SQL used when
    a table has too many cells to stream, give the reference values too."""
    from govkit.checks.fairness.engines import duckdb_engine, pandas_engine

    if path == "small batches":
        monkeypatch.setattr(duckdb_engine, "STREAM_BATCH", 64)
        monkeypatch.setattr(pandas_engine, "BATCH_ROWS", 50)
    else:
        monkeypatch.setattr(duckdb_engine, "MAX_STREAMED_CELLS", 1)
    engine_project(project, awkward_frame(), "parquet-folder")
    for engine in ("duckdb", "pandas"):
        assert without_engine(fairness(project, engine)) == without_engine(pandas_reference), engine


def test_auc_and_scoring_rate_in_the_measurement(pandas_reference: dict[str, Any]) -> None:
    frame = awkward_frame()
    y = (frame["outcome"] == "yes").to_numpy()
    above = frame["score"].to_numpy() > np.median(frame["score"])
    assert pandas_reference["median_score"] == float(np.median(frame["score"]))
    tables = {t["feature"]: t for t in pandas_reference["tables"]}
    for group in tables["band"]["groups"]:
        rows = (
            frame["band"].astype("string").fillna("Unknown").str.replace(".0", "", regex=False) == group["group"]
        ).to_numpy()
        assert group["auc"] == pytest.approx(roc_auc_score(y[rows], frame["score"][rows]), abs=1e-12)
        assert group["scoring_rate"] == pytest.approx(above[rows].mean(), abs=1e-12)


def test_engine_option_and_auto_choice(project: Project) -> None:
    engine_project(project, awkward_frame(n=500), "parquet-folder")
    result = project.check("--format json --no-log --duckdb-above 1KB")
    assert json.loads(result.output)["measurements"]["fairness"]["engine"] == "duckdb"
    result = project.check("--format json --no-log")
    assert json.loads(result.output)["measurements"]["fairness"]["engine"] == "pandas"
    result = project.check("--format json --no-log --engine duckdb")
    assert json.loads(result.output)["measurements"]["fairness"]["engine"] == "duckdb"
    bad = project.check("--no-log --duckdb-above lots")
    assert bad.exit_code == 2 and "'lots' is not a size" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_sizes_and_auto_engine() -> None:
    assert parse_size("2GB") == 2 * 10**9
    assert parse_size("1.5 GiB") == int(1.5 * 2**30)
    assert parse_size("512") == 512
    with pytest.raises(GovkitError):
        parse_size("2 parsecs")
    assert auto_engine(10, 100) == "pandas"
    assert auto_engine(1000, 100) == "duckdb"


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.assign(outcome=np.arange(len(f)) % 3), "column 'outcome' of eval.csv is not binary (3 values"),
        (
            lambda f: f.assign(decision=np.where(np.arange(len(f)) < 2, None, f["decision"])),
            "2 missing values in column 'decision'",
        ),
        (lambda f: f.assign(score=f["score"] * 3), "values of 'score' in eval.csv are missing or outside [0, 1]"),
        (lambda f: f.assign(score="high"), "column 'score' of eval.csv is not numeric"),
    ],
)
def test_bad_data_reads_the_same_through_every_engine(project: Project, engine: str, mutate: Any, message: str) -> None:
    engine_project(project, mutate(awkward_frame(n=300)), "csv")
    for name in ("pandas", engine):
        result = project.check(f"--no-log --engine {name}")
        assert result.exit_code == 2, result.output
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, (name, result.stderr)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("data/nothing-*.parquet", "no files match this pattern"),
        ("data/empty-folder", "folder holds no Parquet files"),
    ],
)
def test_dataset_paths_that_hold_nothing(project: Project, path: str, message: str) -> None:
    (project.root / "data/empty-folder").mkdir(parents=True)
    project.manifest(lambda m: m["datasets"]["evaluation"].update(path=path))
    result = project.check("--no-log")
    assert result.exit_code == 2
    assert "datasets.evaluation.path" in result.stderr and message in result.stderr


def test_a_multi_file_dataset_is_digested_file_by_file(project: Project) -> None:
    engine_project(project, awkward_frame(n=400), "parquet-glob")
    first = run_check(project.manifest_path, project.root / "policies").inputs["files"]["dataset:evaluation"]
    part = project.root / "data/eval-parts/part-2.parquet"
    frame = pd.read_parquet(part)
    frame.loc[frame.index[0], "outcome"] = "yes" if frame.iloc[0]["outcome"] == "no" else "no"
    frame.to_parquet(part, index=False)
    second = run_check(project.manifest_path, project.root / "policies").inputs["files"]["dataset:evaluation"]
    assert first["path"] == "data/eval-parts/part-*.parquet"
    assert first["sha256"] != second["sha256"] and len(second["sha256"]) == 64


def test_duckdb_reads_text_booleans_like_pandas(tmp_path: Path) -> None:
    """DuckDB's CSV sniffer takes yes/no for booleans; pandas and Spark read them as text."""
    from govkit.checks.fairness.engines.duckdb_engine import DuckDBSession
    from govkit.checks.fairness.engines.interface import Dataset

    path = tmp_path / "b.csv"
    path.write_text("answer,flag\nyes,true\nno,FALSE\nyes,\n")
    with DuckDBSession(Dataset(path, (path,), "csv"), ["answer", "flag"]) as session:
        assert session.column_kinds() == {"answer": "text", "flag": "bool"}
        assert sorted(v for (v,) in session.query("SELECT answer FROM govkit_cohort_source")) == ["no", "yes", "yes"]


def test_an_engine_that_is_not_installed_is_exit_2(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "duckdb", None)  # as on a machine without the duckdb extra
    engine_project(project, awkward_frame(n=300), "csv")
    result = project.check("--no-log --engine duckdb")
    assert result.exit_code == 2
    assert "--engine: the duckdb engine needs the duckdb package: pip install 'govkit[duckdb]'" in result.stderr


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).random(10_001),  # continuous, odd n
        np.random.default_rng(2).random(10_000) ** 4,  # skewed: most values in the lowest bins
        np.repeat([0.25, 0.5, 0.75], [500, 1, 499]),  # ties, a median bin of one value
        np.full(7, 0.3),  # every value equal
    ],
)
def test_sql_order_statistics_are_exact(tmp_path: Path, values: np.ndarray) -> None:
    from govkit.checks.fairness.engines.duckdb_engine import DuckDBSession
    from govkit.checks.fairness.engines.interface import Dataset

    path = tmp_path / "s.parquet"
    pd.DataFrame({"s": np.random.default_rng(0).permutation(values)}).to_parquet(path)
    ranks = (0, (len(values) - 1) // 2, len(values) // 2, len(values) - 1)
    with DuckDBSession(Dataset(path, (path,), "parquet"), ["s"]) as session:
        assert session.order_statistics("s", ranks) == tuple(float(v) for v in np.sort(values)[list(ranks)])
