"""Model intake under attack: crafted skops files never run code, malformed LightGBM files are a
clean exit 2, and the skops allow-list is regenerated here from the estimators govkit supports."""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from conftest import Project
from govkit.checks.explainability.loading import SKOPS_TRUSTED_TYPES
from test_explainability import RULES, data, setup


def supported_estimators() -> dict[str, BaseEstimator]:
    """Every estimator and pipeline shape govkit explains, fitted on a small mixed frame."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import RidgeClassifier, SGDClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler
    from sklearn.svm import SVC, LinearSVC
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300), "c": rng.choice(["x", "y"], 300)})
    y = (frame["a"] + rng.normal(0, 0.5, 300) > 0).astype(int)
    numeric = frame[["a", "b"]]
    plain: list[BaseEstimator] = [
        LogisticRegression(),
        SGDClassifier(loss="log_loss"),
        RidgeClassifier(),
        LinearSVC(),
        DecisionTreeClassifier(max_depth=3),
        RandomForestClassifier(n_estimators=3),
        ExtraTreesClassifier(n_estimators=3),
        GradientBoostingClassifier(n_estimators=3),
        HistGradientBoostingClassifier(max_iter=3),
        SVC(),
    ]
    plain += [
        KNeighborsClassifier(algorithm=algorithm, metric=metric)
        for algorithm in ("kd_tree", "ball_tree", "brute")
        for metric in ("euclidean", "manhattan", "minkowski")
    ]
    models = {type(m).__name__ + str(i): m.fit(numeric, y) for i, m in enumerate(plain)}
    pre = ColumnTransformer(
        [
            ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), ["a"]),
            ("minmax", MinMaxScaler(), ["b"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"]),
        ]
    )
    models["pipeline-linear"] = Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(frame, y)
    ordinal = ColumnTransformer([("cat", OrdinalEncoder(), ["c"])], remainder="passthrough")
    models["pipeline-hgb"] = Pipeline([("pre", ordinal), ("clf", HistGradientBoostingClassifier(max_iter=3))]).fit(
        frame, y
    )
    return models


def test_allow_list_covers_every_supported_estimator() -> None:
    """Regenerates the allow-list: what skops reports untrusted for each supported model must be in it."""
    needed: dict[str, set[str]] = {}
    for name, model in supported_estimators().items():
        for type_name in sio.get_untrusted_types(data=sio.dumps(model)):
            needed.setdefault(type_name, set()).add(name)
    missing = {t: sorted(who) for t, who in needed.items() if t not in SKOPS_TRUSTED_TYPES}
    assert not missing, f"add to SKOPS_TRUSTED_TYPES: {missing}"
    assert needed, "the supported models need some non-default type (trees, k-NN): the probe is broken"


def test_allow_list_names_only_classes_never_modules_or_functions() -> None:
    for name in SKOPS_TRUSTED_TYPES:
        module, _, attr = name.rpartition(".")
        obj = getattr(importlib.import_module(module), attr)
        assert isinstance(obj, type), f"{name} is not a class"
        assert not name.endswith("."), name


def crafted_skops(path: Path, code: str) -> None:
    """A real fitted model whose schema.json also holds a ConstructorFromReduceNode that skops would
    call as numpy.testing's runstring(code, {}) -- i.e. exec -- while loading."""

    class Payload:
        def __init__(self, source: str) -> None:
            self.source = source

        def __reduce__(self) -> tuple[Any, ...]:
            return (Payload, (self.source, {}))

    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    model.payload = Payload(code)  # type: ignore[attr-defined]
    original = zipfile.ZipFile(io.BytesIO(sio.dumps(model)))
    schema = json.loads(original.read("schema.json"))
    node = schema["content"]["content"]["payload"]
    assert node["__loader__"] == "ConstructorFromReduceNode"
    node["__class__"], node["__module__"] = "runstring", "numpy.testing._private.utils"
    with zipfile.ZipFile(path, "w") as out:
        for name in original.namelist():
            out.writestr(name, json.dumps(schema) if name == "schema.json" else original.read(name))


def test_crafted_skops_calling_a_numpy_function_is_refused_and_never_runs(project: Project) -> None:
    frame = data(n=300)
    features = ["income", "debt", "tenure"]
    setup(project, LogisticRegression().fit(frame[features], frame["y"]), frame, features)
    marker = project.root / "pwned.txt"
    crafted_skops(project.root / "model.skops", f"open({str(marker)!r}, 'w').write('pwned')")
    result = project.check()
    assert not marker.exists(), "the crafted model ran code"
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "model.artifact" in line and "numpy.testing._private.utils.runstring" in line and "--trust-model" in line
    shown = project.run("log show --format json")
    assert not [e for e in json.loads(shown.stdout or "[]") if e["action"] == "evaluation.recorded"]


def test_default_trusted_types_still_load(project: Project) -> None:
    """A tree model (needs sklearn.tree._tree.Tree from the allow-list) loads without --trust-model."""
    from sklearn.ensemble import RandomForestClassifier

    frame = data(n=300)
    features = ["income", "debt", "tenure"]
    setup(
        project,
        RandomForestClassifier(n_estimators=5, random_state=0).fit(frame[features], frame["y"]),
        frame,
        features,
        rules=[RULES[0]],
    )
    result = project.check("--format json --no-log")
    assert result.exit_code == 0, result.output
    model = json.loads(result.stdout)["measurements"]["explainability"]["model"]
    assert model["trusted_by_flag"] is False and model["loaded_with"].startswith("skops")


def lightgbm_project(project: Project) -> str:
    import lightgbm

    frame = data(n=400)
    features = ["income", "debt", "tenure"]
    model = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1, random_state=0).fit(frame[features], frame["y"])
    setup(project, model, frame, features, rules=[RULES[0]])
    model.booster_.save_model(str(project.root / "model.lgb"))
    project.manifest(
        lambda m: (
            m["model"].update(artifact="model.lgb"),
            m["datasets"]["evaluation"].update(features=features, label="y", prediction="yhat", score="score"),
            m.update(sensitive_features=["sex"]),
        )
    )
    return (project.root / "model.lgb").read_text()


def garble(text: str, how: str) -> str:
    if how == "tree-header":  # LightGBM's parser calls std::terminate on this (SIGABRT)
        return text.replace("Tree=1", "Treex=1", 1)
    if how == "cut-mid-tree":
        return text[: text.index("Tree=1") + 40]
    if how == "nul-byte":  # makes LightGBM's parser spin forever
        return text[:200] + "\x00" + text[200:]
    if how == "no-label":  # LightGBM raises its own error type
        return "tree\nversion=v4\nnum_class=1\n"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["tree-header", "cut-mid-tree", "nul-byte", "no-label"])
def test_malformed_lightgbm_file_is_exit_2_not_a_crash(project: Project, isolated_log: Path, how: str) -> None:
    text = lightgbm_project(project)
    (project.root / "model.lgb").write_text(garble(text, how))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "govkit",
            "check",
            str(project.manifest_path),
            "--policy",
            str(project.root / "policies"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    (line,) = result.stderr.strip().splitlines()
    assert "model.artifact" in line and "LightGBM" in line
    shown = project.run("log show --format json")
    assert not [e for e in json.loads(shown.stdout or "[]") if e["action"] == "evaluation.recorded"]


def test_valid_lightgbm_file_still_loads(project: Project) -> None:
    lightgbm_project(project)
    result = project.check("--format json --no-log")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["measurements"]["explainability"]["model"]["loaded_with"] == "lightgbm"


def corrupt_tree_links(path: Path, model: BaseEstimator, field: str) -> None:
    """The model saved by skops, with its first tree's root pointing far outside the node array --
    scikit-learn follows such links without checking (a segfault when it predicts)."""

    def first_nodes(node: Any) -> dict[str, Any] | None:
        if isinstance(node, dict):
            if isinstance(node.get("nodes"), dict):
                return node["nodes"]
            children = node.values()
        else:
            children = node if isinstance(node, list) else []
        return next(filter(None, (first_nodes(c) for c in children)), None)

    original = zipfile.ZipFile(io.BytesIO(sio.dumps(model)))
    nodes = first_nodes(json.loads(original.read("schema.json")))
    assert nodes is not None
    array = np.load(io.BytesIO(original.read(nodes["file"])), allow_pickle=False)
    array[field][0] = array[field.replace("left", "right")][0] = 10**7
    buffer = io.BytesIO()
    np.save(buffer, array)
    with zipfile.ZipFile(path, "w") as out:
        for name in original.namelist():
            out.writestr(name, buffer.getvalue() if name == nodes["file"] else original.read(name))


@pytest.mark.parametrize("kind", ["forest", "hist"])
def test_tree_with_links_outside_its_nodes_is_refused_not_a_segfault(project: Project, kind: str) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    frame = data(n=300)
    features = ["income", "debt", "tenure"]
    model = (
        RandomForestClassifier(n_estimators=3, random_state=0)
        if kind == "forest"
        else HistGradientBoostingClassifier(max_iter=5)
    ).fit(frame[features], frame["y"])
    setup(project, model, frame, features, rules=[RULES[0]])
    corrupt_tree_links(project.root / "model.skops", model, "left_child" if kind == "forest" else "left")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(  # in a child: before the fix this killed the process
        [
            sys.executable,
            "-m",
            "govkit",
            "check",
            str(project.manifest_path),
            "--policy",
            str(project.root / "policies"),
            "--no-log",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    (line,) = result.stderr.strip().splitlines()
    assert "model.artifact" in line and "malformed tree" in line and "child outside the tree" in line
