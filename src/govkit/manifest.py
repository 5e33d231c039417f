"""The model manifest (`govkit.yaml`): what the model is, what data it saw, what it depends on."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from govkit.audit.events import model_name_problem
from govkit.canonical import file_sha256
from govkit.datasets import dataset_files, is_pattern, pattern_root, read_columns
from govkit.errors import DataError, ManifestError
from govkit.licensing.expressions import check_expression_syntax
from govkit.validation import StrictModel, dotted, validate_document
from govkit.yamlio import KeyPath, YamlDocument, load_yaml

__all__ = ["LoadedManifest", "Manifest", "confine", "confine_found", "load_manifest"]

RiskTier = Literal["low", "medium", "high"]
Task = Literal["binary-classification", "multiclass-classification", "regression"]
ClassLabel = str | int | bool
Name = Field(min_length=1, max_length=200)


def _license(value: str) -> str:
    check_expression_syntax(value)
    return value


class BaseModelRef(StrictModel):
    name: str = Name
    license: str = Field(description="SPDX expression or Hugging Face licence id")

    _check_license = field_validator("license")(_license)


class ModelInfo(StrictModel):
    name: str = Name
    version: str = Field(min_length=1)
    team: str = Name
    owner: str = Name
    risk_tier: RiskTier
    task: Task
    license: str = Field(description="SPDX expression or Hugging Face licence id")
    base_models: tuple[BaseModelRef, ...] = ()
    artifact: str | None = Field(default=None, description="path to the saved model")
    intended_use: str = Field(min_length=1)

    _check_license = field_validator("license")(_license)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if problem := model_name_problem(value):
            raise ValueError(problem)
        return value


OneCharacter = Field(default=None, min_length=1, max_length=1)


class CsvFormatSpec(StrictModel):
    """How a CSV is written, where detection should not guess (docs/your-data.md); absent fields are detected."""

    delimiter: str | None = OneCharacter
    quote: str | None = OneCharacter
    escape: str | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="the quote itself for RFC 4180 doubled quotes, or a backslash",
    )
    decimal: Literal[".", ","] | None = None
    encoding: Literal["utf-8", "latin-1"] | None = None
    missing: tuple[str, ...] | None = Field(default=None, description="field values that mean missing (default: empty)")


class DatasetSpec(StrictModel):
    path: str = Field(description="CSV or Parquet file, a folder of Parquet files, or a glob; relative to the manifest")
    license: str
    format: CsvFormatSpec | None = None
    pii: tuple[str, ...] = Field(default=(), description="columns declared to hold PII")
    quasi_identifiers: tuple[str, ...] = ()

    _check_license = field_validator("license")(_license)


class OutcomeThreshold(StrictModel):
    """Regression: a value passing the threshold is the favourable outcome (`credit_limit >= 5000` is an approval)."""

    operator: Literal[">=", ">", "<=", "<"] = ">="
    value: float


class EvaluationDatasetSpec(DatasetSpec):
    label: str = Field(description="the true class, or the regression target")
    prediction: str
    score: str | None = None
    positive_label: ClassLabel = 1
    features: tuple[str, ...] = Field(min_length=1)
    classes: tuple[ClassLabel, ...] | None = Field(
        default=None,
        min_length=2,
        max_length=50,
        description="multiclass-classification: every class the label and prediction may hold",
    )
    favourable_classes: tuple[ClassLabel, ...] = Field(
        default=(), description="multiclass-classification: classes that are the favourable outcome"
    )
    favourable_outcome: OutcomeThreshold | None = Field(
        default=None,
        description="regression: which predictions (and targets) are the favourable outcome; enables selection rates",
    )


class Datasets(StrictModel):
    training: DatasetSpec | None = None
    evaluation: EvaluationDatasetSpec | None = None


class Dependencies(StrictModel):
    requirements: str | None = Field(default=None, description="requirements file to audit")
    environment: str | None = Field(
        default=None,
        description="'current' for the running interpreter, or a site-packages folder",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Dependencies:
        if self.requirements is None and self.environment is None:
            raise ValueError("give 'requirements' or 'environment'")
        return self


class WindowRows(StrictModel):
    rows: int = Field(ge=1, description="windows of at least this many rows, in timestamp order")


class MonitoringReference(StrictModel):
    profile: str | None = Field(default=None, description="a profile file from `govkit profile create`")
    dataset: Literal["training", "evaluation"] | None = None

    @model_validator(mode="after")
    def _one(self) -> MonitoringReference:
        if (self.profile is None) == (self.dataset is None):
            raise ValueError("give either 'profile' or 'dataset'")
        return self


class MonitoringSpec(StrictModel):
    """Post-market monitoring (docs/monitoring.md): production data judged window by window."""

    production: str = Field(description="CSV or Parquet file, a folder of Parquet files, or a glob")
    timestamp: str = Field(min_length=1, description="column with each row's time")
    window: Literal["day", "week", "month", "quarter"] | WindowRows = "month"
    reference: MonitoringReference
    features: tuple[str, ...] = Field(
        default=(), description="columns to watch; default: the evaluation features, else every reference column"
    )
    label: str | None = Field(default=None, description="label column; may be empty until labels arrive")
    prediction: str | None = None
    score: str | None = None
    positive_label: str | int | bool = 1
    min_rows: int = Field(default=100, ge=1, description="windows with fewer rows are skipped, with a warning")


class DocumentRef(StrictModel):
    """A human-written document (e.g. instructions for use, EU AI Act Annex IV parts) the evaluation
    vouches for by digest: a changed file fails the manifest check instead of being cited silently."""

    title: str = Field(min_length=1, max_length=200)
    path: str = Field(min_length=1, description="the document, relative to the manifest")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file (sha256sum FILE)")
    controls: tuple[str, ...] = Field(
        default=(),
        max_length=200,
        description="controls it documents, as framework:id, e.g. eu-ai-act:annex-iv-1-h",
    )

    @field_validator("controls")
    @classmethod
    def _control_refs(cls, refs: tuple[str, ...]) -> tuple[str, ...]:
        from govkit.controls.catalogue import CONTROL_REF

        bad = [r for r in refs if not re.fullmatch(CONTROL_REF, r)]
        if bad:
            raise ValueError(f"not a framework:id control reference: {bad[0]!r}")
        return refs


class Manifest(StrictModel):
    apiVersion: Literal["govkit/v1"]
    kind: Literal["ModelManifest"]
    model: ModelInfo
    datasets: Datasets = Datasets()
    sensitive_features: tuple[str, ...] = ()
    dependencies: Dependencies | None = None
    monitoring: MonitoringSpec | None = None
    documents: tuple[DocumentRef, ...] = Field(
        default=(), max_length=500, description="human-written documents the evaluation cites by path and digest"
    )


@dataclass(frozen=True)
class LoadedManifest:
    """A validated manifest with its source document, so errors and SARIF can cite lines.

    Every path it names lies inside its folder tree, or inside a place the user running govkit
    allowed (`allowed_outside`); `outside` maps the keys that use such a place to the real path.
    """

    doc: YamlDocument
    spec: Manifest
    allowed_outside: tuple[Path, ...] = ()
    outside: Mapping[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.doc.path

    @property
    def folder(self) -> Path:
        return self.doc.path.parent

    def resolve(self, relative: str) -> Path:
        return (self.folder / relative).resolve()

    def error(self, message: str, key: KeyPath) -> ManifestError:
        return ManifestError(message, file=self.path, field=dotted(key), line=self.doc.line_of(key))

    def dataset_path(self, name: str) -> Path:
        spec = getattr(self.spec.datasets, name)
        if spec is None:
            raise self.error("required by the policy but not declared", ("datasets", name))
        return self.resolve(spec.path)


class _Confinement:
    """Checks that what a manifest points at (symlinks resolved) stays in its folder tree.

    A manifest cannot allow itself out: only the user running govkit can (--allow-outside), so a
    change to govkit.yaml in a merge request cannot make the gate read /etc or a home folder.
    """

    def __init__(self, m: LoadedManifest, allowed: Sequence[Path]) -> None:
        self.m = m
        self.home = m.folder.resolve()
        self.allowed = tuple(a.resolve() for a in allowed)
        self.outside: dict[str, str] = {}

    def refusal(self, path: Path, key: str) -> str | None:
        """Why `path` may not be read, or None; an allowed place outside is noted under `key`."""
        real = path.resolve()
        if real.is_relative_to(self.home):
            return None
        if any(real.is_relative_to(a) for a in self.allowed):
            self.outside.setdefault(key, real.as_posix())
            return None
        shown = str(real) if real == path else f"{path} (-> {real})"
        return (
            f"{shown} is outside the manifest's folder {self.home}; refused (pass "
            "--allow-outside FOLDER to read from there)"
        )

    def check(self, path: Path, key: KeyPath) -> None:
        if why := self.refusal(path, dotted(key)):
            raise self.m.error(why, key)


def confine(m: LoadedManifest, path: Path, key: KeyPath) -> None:
    """What a check reads on behalf of the manifest's `key` (e.g. each entry of its environment folder)
    stays in the manifest's folder or a place the user allowed; ManifestError naming `key` otherwise."""
    _Confinement(m, m.allowed_outside).check(path, key)


def confine_found(m: LoadedManifest, path: Path) -> None:
    """A file govkit picks up beside the manifest by name (waivers.yaml) is confined like the paths the
    manifest names, so a symlink out of the folder is refused, naming the file. A file the user names
    on the command line is the user's choice and is not checked."""
    if why := _Confinement(m, m.allowed_outside).refusal(path, path.name):
        raise ManifestError(why, file=path)


def _check_files_and_columns(m: LoadedManifest, allowed: Sequence[Path] = ()) -> dict[str, str]:
    """Validates every path and column the manifest names; returns the allowed paths outside its folder."""
    spec = m.spec
    confine = _Confinement(m, allowed)
    if spec.model.artifact is not None:
        confine.check(m.resolve(spec.model.artifact), ("model", "artifact"))
        if not m.resolve(spec.model.artifact).exists():
            raise m.error("file not found", ("model", "artifact"))
    deps = spec.dependencies
    if deps and deps.requirements:
        confine.check(m.resolve(deps.requirements), ("dependencies", "requirements"))
        if not m.resolve(deps.requirements).is_file():
            raise m.error("file not found", ("dependencies", "requirements"))
    if deps and deps.environment not in (None, "current"):
        confine.check(m.resolve(deps.environment), ("dependencies", "environment"))
        if not m.resolve(deps.environment).is_dir():
            raise m.error("not 'current' and not a folder", ("dependencies", "environment"))
    for i, document in enumerate(spec.documents):
        path = m.resolve(document.path)
        confine.check(path, ("documents", i, "path"))
        if not path.is_file():
            raise m.error("file not found", ("documents", i, "path"))
        if (found := file_sha256(path)) != document.sha256:
            raise m.error(
                f"the file's SHA-256 is {found}: the document changed since it was cited", ("documents", i, "sha256")
            )
    if spec.monitoring is not None:
        _confine_monitoring(m, spec.monitoring, confine)
    for name in ("training", "evaluation"):
        ds = getattr(spec.datasets, name)
        if ds is None:
            continue
        path_key: KeyPath = ("datasets", name, "path")
        path = m.resolve(ds.path)
        try:
            _confine_data(path, path_key, confine)
        except DataError as exc:
            raise m.error(f"{exc.message}: {path}", path_key) from None
        columns = set(read_columns(path, ds.format))
        wanted: list[tuple[str, KeyPath]] = [(c, ("datasets", name, "pii", i)) for i, c in enumerate(ds.pii)]
        wanted += [(c, ("datasets", name, "quasi_identifiers", i)) for i, c in enumerate(ds.quasi_identifiers)]
        if isinstance(ds, EvaluationDatasetSpec):
            wanted += [(ds.label, ("datasets", name, "label")), (ds.prediction, ("datasets", name, "prediction"))]
            if ds.score:
                wanted.append((ds.score, ("datasets", name, "score")))
            wanted += [(c, ("datasets", name, "features", i)) for i, c in enumerate(ds.features)]
            wanted += [(c, ("sensitive_features", i)) for i, c in enumerate(spec.sensitive_features)]
        for column, key in wanted:
            if column not in columns:
                raise m.error(f"column {json.dumps(column)} not in {path.name}", key)
    return confine.outside


def _confine_data(path: Path, key: KeyPath, confine: _Confinement) -> None:
    """A dataset (file, folder or glob) and every file it holds: a symlink among them may point out."""
    confine.check(pattern_root(path) if is_pattern(path) else path, key)
    for file in dataset_files(path):
        confine.check(file, key)


def _confine_monitoring(m: LoadedManifest, spec: MonitoringSpec, confine: _Confinement) -> None:
    """Production data and the reference profile stay inside too. They need not exist yet (`govkit check`
    does not read them; `govkit monitor` says what is missing), but what exists is checked."""
    with contextlib.suppress(DataError):
        _confine_data(m.resolve(spec.production), ("monitoring", "production"), confine)
    if spec.reference.profile is not None:
        confine.check(m.resolve(spec.reference.profile), ("monitoring", "reference", "profile"))


def _check_task(m: LoadedManifest) -> None:
    """The evaluation fields that only one task uses are refused on the others, naming the field."""
    ds = m.spec.datasets.evaluation
    if ds is None:
        return
    task = m.spec.model.task
    written = ds.model_fields_set
    only: dict[str, str] = {
        "classes": "multiclass-classification",
        "favourable_classes": "multiclass-classification",
        "favourable_outcome": "regression",
        "score": "binary-classification",
        "positive_label": "binary-classification",
    }
    for name, wanted in only.items():
        if name in written and task != wanted:
            raise m.error(f"only for task {wanted} (model.task is {task})", ("datasets", "evaluation", name))
    if task == "multiclass-classification":
        if ds.classes is None:
            raise m.error("a multiclass-classification model lists its classes", ("datasets", "evaluation"))
        tokens = class_tokens(m)
        if len(set(tokens)) != len(tokens):
            raise m.error("a class is listed twice", ("datasets", "evaluation", "classes"))
        for i, token in enumerate(class_tokens(m, "favourable_classes")):
            if token not in tokens:
                raise m.error(
                    f"{token!r} is not one of the classes", ("datasets", "evaluation", "favourable_classes", i)
                )


def class_tokens(m: LoadedManifest, field_name: str = "classes") -> list[str]:
    """The classes as written in the YAML (`yes` is the text "yes"), as positive_label is read."""
    ds = m.spec.datasets.evaluation
    assert ds is not None
    values = getattr(ds, field_name) or ()
    return [m.doc.texts.get(("datasets", "evaluation", field_name, i), str(v)) for i, v in enumerate(values)]


def load_manifest(path: Path, *, allow_outside: Sequence[Path] = ()) -> LoadedManifest:
    """Load and validate; paths outside the manifest's folder only inside `allow_outside` folders."""
    if not path.exists():
        raise ManifestError(
            f"model manifest not found (looked for {path.resolve()}): expected a ModelManifest YAML file; "
            "pass its path (`govkit check path/to/govkit.yaml`), or start from the example project "
            "(`govkit demo --dir DIR && cd DIR && govkit check govkit.yaml`)",
            file=path,
        )
    doc = load_yaml(path, error=ManifestError)
    if not isinstance(doc.data, dict):
        raise ManifestError("expected a mapping at the top level", file=path)
    spec = validate_document(Manifest, doc.data, doc=doc, error=ManifestError)
    loaded = LoadedManifest(doc=doc, spec=spec, allowed_outside=tuple(a.resolve() for a in allow_outside))
    _check_task(loaded)
    return replace(loaded, outside=_check_files_and_columns(loaded, loaded.allowed_outside))
