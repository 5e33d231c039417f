"""The second demo: a credit-limit regression that under-grants one group, checked by its own policy.

Historical limits were cut by about 600 for applicants in `group_d`; a model trained on them learns
the cut through the features that travel with the group (income, history), so on an evaluation set
labelled with fair limits its error is biased against that group. Deterministic: fixed seeds, no
network; the model is a HistGradientBoostingRegressor saved with skops (allow-listed types only).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from govkit.engine import Progress

if TYPE_CHECKING:
    import pandas as pd

EXAMPLE = Path("examples") / "credit-limit"
COPIED = ("govkit.yaml", "requirements.txt", "policy/credit-limit.yaml")
SEED = 20261201
HISTORICAL_CUT = 600.0  # what past underwriters took off group_d's limits


FEATURES = ["income", "debt_ratio", "credit_history_years", "late_payments", "employment_years", "postcode_area"]


def fair_limit(applicants: pd.DataFrame) -> pd.Series:
    """The limit an applicant's finances justify: income-driven, lowered by debt and late payments."""
    limit = (
        0.09 * applicants["income"]
        - 2600 * applicants["debt_ratio"]
        - 350 * applicants["late_payments"]
        + 60 * applicants["credit_history_years"]
    )
    return limit.clip(500, 20000)


def applicants_with_limits(n: int, seed: int) -> pd.DataFrame:
    """The demo's applicants, a postcode area that travels with ethnicity (most of group_d live in area 7)
    and the limit their finances justify, with noise."""
    import numpy as np

    from govkit.demo.data import synthetic_applicants

    rng = np.random.default_rng(seed + 3)
    frame = synthetic_applicants(n, seed).drop(columns=["repaid", "applicant_id"])
    area = rng.integers(0, 10, n)
    frame["postcode_area"] = np.where((frame["ethnicity"] == "group_d") & (rng.random(n) < 0.8), 7, area)
    frame["credit_limit"] = (fair_limit(frame) + rng.normal(0, 250, n)).clip(500, 20000).round(-1)
    return frame


def build_regression(directory: Path, *, train_rows: int = 20_000, eval_rows: int = 8_000) -> dict[str, Path]:
    """Write data/train.csv (historical limits, cut for group_d), data/eval.csv (fair limits and the
    model's predictions) and model.skops."""
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingRegressor

    data_dir = directory / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    train = applicants_with_limits(train_rows, SEED)
    train.loc[train["ethnicity"] == "group_d", "credit_limit"] -= HISTORICAL_CUT
    evaluation = applicants_with_limits(eval_rows, SEED + 1)
    model = HistGradientBoostingRegressor(max_iter=150, learning_rate=0.08, early_stopping=False, random_state=0)
    model.fit(train[FEATURES], train["credit_limit"])
    evaluation["predicted_limit"] = model.predict(evaluation[FEATURES]).round(2)
    paths = {"train": data_dir / "train.csv", "eval": data_dir / "eval.csv", "model": directory / "model.skops"}
    train.to_csv(paths["train"], index=False)
    evaluation.to_csv(paths["eval"], index=False)
    sio.dump(model, paths["model"])
    return paths


def prepare_regression(root: Path, directory: Path | None) -> Path:
    """The example's manifest, copied (with its policy) next to the main demo when that is built elsewhere."""
    import shutil

    source = root / EXAMPLE
    target = directory.resolve() / "credit-limit" if directory else source
    if target != source:
        for name in COPIED:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, target / name)
    return target / "govkit.yaml"


def run_regression_demo(
    root: Path, directory: Path | None, log: object, *, echo: Callable[..., None], color: bool, progress: Progress
) -> tuple[str, str]:
    """Build and check the credit-limit model; record the evaluation. Returns (verdict, digest)."""
    from govkit.api import run_check
    from govkit.audit.log import AuditLog
    from govkit.audit.records import record_evaluation
    from govkit.formats.interface import get_formatter

    assert isinstance(log, AuditLog)
    manifest = prepare_regression(root, directory)
    with progress("credit-limit regression data and model"):
        build_regression(manifest.parent)
    evaluation = run_check(manifest, manifest.parent / "policy", progress=progress)
    entry = record_evaluation(log, evaluation)
    echo(f"── govkit check {manifest} --policy {manifest.parent / 'policy'}  (a regression: credit limits)")
    echo(get_formatter("text").render(evaluation, color=color), nl=False)
    echo(f"recorded as audit log entry {entry.seq}\n")
    return evaluation.verdict, evaluation.digest
