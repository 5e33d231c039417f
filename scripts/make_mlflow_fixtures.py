"""Make real MLflow artefacts for govkit's MLflow intake: a saved model folder and a tracking database.

Uses the real `mlflow` library (mlflow-skinny with sqlalchemy and alembic for the SQLite store;
govkit itself never imports mlflow). tests/test_mlflow_intake.py calls `make()` into a temporary
folder; run it by hand to get the same files for trying `govkit init --from-mlflow`:

    python scripts/make_mlflow_fixtures.py /tmp/mlflow-demo
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

MODEL = "credit-scorer"
FEATURES = ("income", "debt_ratio", "late_payments")


def data(rows: int = 200) -> Any:
    """A small evaluation table: the features, a label, the model's prediction and score, and `sex`."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50_000, 15_000, rows).round(2),
            "debt_ratio": rng.uniform(0, 1, rows).round(4),
            "late_payments": rng.integers(0, 5, rows),
            "sex": rng.choice(["female", "male"], rows),
        }
    )
    frame["repaid"] = ((frame.debt_ratio < 0.6) ^ (rng.uniform(0, 1, rows) < 0.1)).astype(int)
    return frame


def make(folder: Path) -> dict[str, Any]:
    """Writes `model/` (mlflow.sklearn.save_model), `mlflow.db` (a registered model with two versions, tags,
    an alias), `eval.csv`; returns what was written and what the registry says, for the tests to compare."""
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    warnings.filterwarnings("ignore")
    folder.mkdir(parents=True, exist_ok=True)
    frame = data()
    X = frame[list(FEATURES)].astype(float)
    clf = LogisticRegression(max_iter=500).fit(X, frame.repaid)
    frame["approved"] = clf.predict(X)
    frame["approval_score"] = clf.predict_proba(X)[:, 1].round(6)
    frame.to_csv(folder / "eval.csv", index=False)
    signature = infer_signature(X, clf.predict(X))
    mlflow.sklearn.save_model(
        clf,
        str(folder / "model"),
        signature=signature,
        serialization_format="skops",
        metadata={"team": "lending", "license": "MIT"},
    )
    mlflow.sklearn.save_model(clf, str(folder / "unsigned"), serialization_format="skops")
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    experiment = client.create_experiment("credit", artifact_location=(folder / "mlruns").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    runs = []
    for version in (1, 2):
        with mlflow.start_run() as run:
            mlflow.set_tags({"team": "run-team", "owner": "run-owner@example.com"})
            mlflow.sklearn.log_model(
                clf, name="model", signature=signature, serialization_format="skops", registered_model_name=MODEL
            )
            runs.append(run.info.run_id)
        client.update_model_version(MODEL, str(version), description=f"Pre-screening of loans, v{version}.")
    client.set_registered_model_tag(MODEL, "team", "lending")
    client.set_registered_model_tag(MODEL, "risk_tier", "high")
    client.set_registered_model_tag(MODEL, "license", "Apache-2.0")
    client.set_model_version_tag(MODEL, "2", "govkit.owner", "ml-lending@example.com")
    client.set_model_version_tag(MODEL, "2", "license", "MIT")  # a version tag beats the registered model's
    client.set_model_version_tag(
        MODEL, "2", "govkit.base_models", json.dumps([{"name": "acme/tabular-base", "license": "Apache-2.0"}])
    )
    client.set_registered_model_alias(MODEL, "champion", "2")
    return {
        "run_ids": runs,
        "features": list(FEATURES),
        "model_uuid": mlflow.models.Model.load(str(folder / "model")).model_uuid,
    }


if __name__ == "__main__":
    print(json.dumps(make(Path(sys.argv[1] if len(sys.argv) > 1 else "mlflow-fixtures")), indent=2))
