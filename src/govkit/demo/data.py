"""Deterministic synthetic credit data and a model trained on it (no network, fixed seeds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

FEATURES = [
    "income",
    "debt_ratio",
    "credit_history_years",
    "num_accounts",
    "late_payments",
    "loan_amount",
    "employment_years",
]
SEED = 20261125
APPROVAL_THRESHOLD = 0.8  # approve when the predicted chance of repayment is at least 80 %


@dataclass(frozen=True)
class Release:
    """One build of the demo model: what it learns from and how its score becomes a decision."""

    version: str
    features: tuple[str, ...]
    threshold: float  # approve when the predicted chance of repayment is at least this
    dropped: tuple[str, ...] = ()  # personal-data columns left out of the training extract
    suffix: str = ""  # its files: data/train{suffix}.csv, data/eval{suffix}.csv, model{suffix}.skops


FIRST_RELEASE = Release("2.1.0", tuple(FEATURES), APPROVAL_THRESHOLD)
# The remediated build (examples/credit-scoring/govkit-2.2.0.yaml): no `phone` column in the training
# extract, and an affordability score without the credit-file features (income, credit history, late
# payments) that carried 2.1.0's gap against applicants aged 18-24; see govkit.demo.remediation.
REMEDIATED = Release(
    "2.2.0",
    ("debt_ratio", "num_accounts", "loan_amount", "employment_years"),
    0.7,
    dropped=("phone",),
    suffix="-2.2.0",
)


def synthetic_applicants(n: int, seed: int) -> pd.DataFrame:
    """Applicants whose default risk depends on finances; income differs by group, as in life."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], size=n, p=[0.48, 0.52])
    age_band = rng.choice(["18-24", "25-39", "40-59", "60+"], size=n, p=[0.12, 0.38, 0.35, 0.15])
    ethnicity = rng.choice(
        ["group_a", "group_b", "group_c", "group_d", "group_e"], size=n, p=[0.55, 0.18, 0.14, 0.09, 0.04]
    )
    income_shift = np.select([sex == "female", ethnicity == "group_d"], [-0.12, -0.18], 0.0)
    youth = np.where(age_band == "18-24", -0.25, 0.0)
    income = np.exp(rng.normal(10.7 + income_shift + youth, 0.45))
    history = np.clip(rng.gamma(2.0, 4.0, n) + np.where(age_band == "18-24", -4, 0), 0, 45)
    accounts = rng.poisson(4, n)
    late = rng.poisson(np.where(history < 3, 1.2, 0.5), n)
    loan = np.exp(rng.normal(9.4, 0.6, n))
    debt_ratio = np.clip(rng.beta(2, 5, n) + loan / (income * 4), 0, 1.5)
    employment = np.clip(rng.gamma(2.0, 3.0, n), 0, 40)
    logit = -2.1 + 2.4 * debt_ratio - 0.35 * np.log(income / 40000) + 0.45 * late - 0.05 * history - 0.03 * employment
    repaid = (rng.random(n) >= 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "applicant_id": [f"A{seed % 1000:03d}{i:07d}" for i in range(n)],
            "income": income.round(2),
            "debt_ratio": debt_ratio.round(4),
            "credit_history_years": history.round(1),
            "num_accounts": accounts,
            "late_payments": late,
            "loan_amount": loan.round(2),
            "employment_years": employment.round(1),
            "sex": sex,
            "age_band": age_band,
            "ethnicity": ethnicity,
            "repaid": repaid,
        }
    )


FIRST = [
    "Ana",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elif",
    "Farah",
    "Goran",
    "Hana",
    "Ivan",
    "Jia",
    "Kofi",
    "Lena",
    "Marta",
    "Nikhil",
    "Olu",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
]
LAST = [
    "Alvarez",
    "Brennan",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Rossi",
    "Santos",
    "Tanaka",
    "Weber",
]


def applicant_pii(n: int, seed: int) -> pd.DataFrame:
    """Synthetic personal data for the training set (the kind a privacy check must notice)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    first = rng.choice(FIRST, n)
    last = rng.choice(LAST, n)
    ids = np.arange(n)
    area = rng.integers(201, 990, n)
    born = np.datetime64("1946-01-01") + rng.integers(0, 365 * 58, n).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "full_name": [f"{a} {b}" for a, b in zip(first, last, strict=True)],
            "email": [f"{a.lower()}.{b.lower()}{i}@example.com" for a, b, i in zip(first, last, ids, strict=True)],
            "phone": [f"({a}) {rng.integers(200, 999)}-{rng.integers(1000, 9999)}" for a in area],
            "ssn": [f"{rng.integers(1, 665):03d}-{rng.integers(1, 99):02d}-{rng.integers(1, 9999):04d}" for _ in ids],
            "date_of_birth": np.datetime_as_string(born, unit="D"),
            "zip3": [f"{z:03d}" for z in rng.choice([21, 100, 606, 750, 941, 981, 303, 481, 554, 802], n)],
        }
    )


def build(
    directory: Path, *, train_rows: int = 20_000, eval_rows: int = 10_000, release: Release = FIRST_RELEASE
) -> dict[str, Path]:
    """Write data/train.csv, data/eval.csv (with predictions and scores) and model.skops (names with the
    release's suffix): the same applicants for every release, so releases differ only in their build."""
    import pandas as pd
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingClassifier

    data_dir = directory / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    train = synthetic_applicants(train_rows, SEED)
    train = pd.concat([applicant_pii(train_rows, SEED + 7).drop(columns=list(release.dropped)), train], axis=1)
    evaluation = synthetic_applicants(eval_rows, SEED + 1)
    model = HistGradientBoostingClassifier(
        max_iter=120, learning_rate=0.08, max_leaf_nodes=15, early_stopping=False, random_state=0
    )
    features = list(release.features)
    model.fit(train[features], train["repaid"])
    score = model.predict_proba(evaluation[features])[:, 1]
    evaluation["repayment_score"] = score.round(6)
    evaluation["approved"] = (score >= release.threshold).astype(int)
    paths = {
        "train": data_dir / f"train{release.suffix}.csv",
        "eval": data_dir / f"eval{release.suffix}.csv",
        "model": directory / f"model{release.suffix}.skops",
    }
    train.to_csv(paths["train"], index=False)
    evaluation.to_csv(paths["eval"], index=False)
    sio.dump(model, paths["model"])
    return paths
