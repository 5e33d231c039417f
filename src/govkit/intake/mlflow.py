"""MLflow intake, offline: a model directory's `MLmodel` file, or a local tracking database (`mlflow.db`).

No `mlflow` import: `MLmodel` is YAML (read through govkit.yamlio, with its limits) and the tracking
store is SQLite, read-only with bound parameters. Which tag fills which manifest field is a fixed
convention (TAG_FIELDS; docs/intake.md): a `govkit.<field>` tag wins over a bare `<field>` tag, and
a model version's tags over the registered model's, over the run's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from govkit.errors import IntakeError
from govkit.intake.interface import MAX_INTAKE_BYTES, BaseModelFact, ModelFacts
from govkit.jsonio import parse_json
from govkit.yamlio import load_yaml

# manifest field -> tag keys that fill it, most specific first
TAG_FIELDS = {
    "team": ("govkit.team", "team"),
    "owner": ("govkit.owner", "owner"),
    "risk_tier": ("govkit.risk_tier", "risk_tier"),
    "license": ("govkit.license", "license"),
    "intended_use": ("govkit.intended_use", "intended_use"),
}
BASE_MODEL_TAG = "govkit.base_models"  # JSON list of {"name": ..., "license": ...}, or "name=licence,name=licence"
# flavour -> the key of its flavour block that names the saved model file
MODEL_FILE_KEYS = ("pickled_model", "model_path", "data", "model_data", "xgb_model", "lgb_model", "onnx_model")


def read_mlmodel(folder: Path) -> ModelFacts:
    """Facts from `<folder>/MLmodel`: features from the signature, the saved file from the flavours."""
    path = folder / "MLmodel" if folder.is_dir() else folder
    folder = path.parent
    doc = load_yaml(path, error=IntakeError)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
        raise IntakeError("not an MLflow MLmodel file (no 'flavors' mapping)", file=path, field="flavors")
    signature = data.get("signature")
    if not isinstance(signature, dict) or not signature.get("inputs"):
        raise IntakeError(
            "the model has no signature, so its features are unknown; log it with a signature "
            "(mlflow.models.infer_signature)",
            file=path,
            field="signature",
        )
    features = _signature_names(signature["inputs"], path)
    metadata = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
    notes = [f"MLflow model {path}: flavours {', '.join(sorted(map(str, data['flavors'])))}"]
    for key in ("model_uuid", "run_id", "model_id", "artifact_path", "utc_time_created", "mlflow_version"):
        if data.get(key):
            notes.append(f"MLmodel {key}: {data[key]}")
    tags = {str(k): str(v) for k, v in metadata.items() if isinstance(v, str | int | float)}
    return _from_tags(
        ModelFacts(artifact=_model_file(data["flavors"], folder), features=features, notes=tuple(notes)),
        [tags],
        path,
    )


def _signature_names(inputs: Any, path: Path) -> tuple[str, ...]:
    """Column names of a column-based signature (MLflow stores the schema as a JSON string)."""
    if isinstance(inputs, str):  # a JSON string within the YAML, outside yamlio's limits
        inputs = parse_json(inputs, limit=MAX_INTAKE_BYTES, error=IntakeError, file=path, field="signature.inputs")
    if not isinstance(inputs, list) or not all(isinstance(c, dict) for c in inputs):
        raise IntakeError("signature inputs are not a list of columns", file=path, field="signature.inputs")
    names = tuple(str(c["name"]) for c in inputs if c.get("name"))
    if not names:
        raise IntakeError(
            "signature inputs name no columns (a tensor signature); list the features by hand",
            file=path,
            field="signature.inputs",
        )
    return names


def _model_file(flavors: dict[str, Any], folder: Path) -> str | None:
    for _, block in sorted(flavors.items(), key=lambda kv: kv[0] == "python_function"):  # pyfunc last
        if not isinstance(block, dict):
            continue
        for key in MODEL_FILE_KEYS:
            name = block.get(key)
            if isinstance(name, str) and (folder / name).exists():
                return str(folder / name)
    return None


def _from_tags(facts: ModelFacts, layers: list[dict[str, str]], source: Path) -> ModelFacts:
    """Apply TAG_FIELDS over tag layers, most specific layer first."""
    found: dict[str, Any] = {}
    for field, keys in TAG_FIELDS.items():
        for key in keys:
            value = next((layer[key] for layer in layers if layer.get(key)), None)
            if value:
                found[field] = value.strip()
                break
    raw = next((layer[BASE_MODEL_TAG] for layer in layers if layer.get(BASE_MODEL_TAG)), None)
    if raw:
        found["base_models"] = _base_models(raw, source)
    return facts.merged(ModelFacts(**found))


def _base_models(raw: str, source: Path) -> tuple[BaseModelFact, ...]:
    if raw.lstrip().startswith(("[", "{")):
        items = parse_json(raw, limit=MAX_INTAKE_BYTES, error=IntakeError, file=source, field=BASE_MODEL_TAG)
    else:
        items = [dict(zip(("name", "license"), part.split("=", 1), strict=False)) for part in raw.split(",")]
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("name") for i in items):
        raise IntakeError(
            "neither a JSON list of {name, license} nor name=licence,...", file=source, field=BASE_MODEL_TAG
        )
    return tuple(
        BaseModelFact(str(i["name"]).strip(), str(i["license"]).strip() if i.get("license") else None) for i in items
    )


def _connect(db: Path) -> sqlite3.Connection:
    if not db.is_file():
        raise IntakeError("file not found", file=db)
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        con.execute("select 1 from model_versions limit 1")
    except sqlite3.DatabaseError as exc:
        raise IntakeError(f"not an MLflow tracking database ({exc})", file=db) from None
    return con


def read_registry(db: Path, model: str, version: str | None = None, alias: str | None = None) -> ModelFacts:
    """Facts about one registered model version in a local MLflow tracking database."""
    if (version is None) == (alias is None):
        raise IntakeError("give the registered model's version or its alias (one of them)", file=db)
    with _connect(db) as con:
        if alias is not None:
            row = con.execute(
                "select version from registered_model_aliases where name = ? and alias = ?", (model, alias)
            ).fetchone()
            if row is None:
                raise IntakeError(f"model {model!r} has no alias {alias!r}", file=db, field="registered_model_aliases")
            version = str(row[0])
        found = con.execute(
            "select v.version, v.description, v.run_id, v.source, v.storage_location, m.description "
            "from model_versions v join registered_models m on m.name = v.name where v.name = ? and v.version = ?",
            (model, version),
        ).fetchone()
        if found is None:
            raise IntakeError(f"no version {version} of registered model {model!r}", file=db, field="model_versions")
        number, v_description, run_id, source, location, m_description = found
        version_tags = dict(
            con.execute("select key, value from model_version_tags where name = ? and version = ?", (model, number))
        )
        model_tags = dict(con.execute("select key, value from registered_model_tags where name = ?", (model,)))
        run_tags = dict(con.execute("select key, value from tags where run_uuid = ?", (run_id,))) if run_id else {}
    notes = [f"MLflow registry {db}: model {model} version {number}" + (f" (alias {alias})" if alias else "")]
    if run_id:
        notes.append(f"MLflow run id: {run_id}")
    facts = ModelFacts(
        name=model,
        version=str(number),
        intended_use=(v_description or m_description or None),
        notes=tuple(notes),
    )
    folder = _local_folder(location) or _local_folder(source)
    if folder is not None and (folder / "MLmodel").is_file():
        facts = read_mlmodel(folder).merged(facts)
    else:
        facts = facts.merged(ModelFacts(notes=(f"model files not found locally ({source}); features not read",)))
    return _from_tags(facts, [version_tags, model_tags, run_tags], db)


def _local_folder(uri: str | None) -> Path | None:
    """A local artifact location (`/path` or `file:///path`); remote stores (s3://, models:/) are not read."""
    if not uri:
        return None
    if uri.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(uri).path))
    if "://" in uri or uri.startswith("models:/"):
        return None
    return Path(uri)
