"""`govkit init`: merge what the sources say, what the flags say and what a person answers into a manifest.

Precedence, highest first: a flag, a prompt answer, the model source (MLflow, card, BOM), what the
dataset suggests. What nobody said is written as a placeholder with a `# TODO:` comment; a licence
nobody gave is `UNKNOWN`, which the licence rules judge as unknown (a failure by default) until filled in.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from govkit.audit.events import model_name_problem
from govkit.errors import GovkitError, IntakeError
from govkit.intake.dataset import DatasetFacts
from govkit.intake.interface import BaseModelFact, ModelFacts
from govkit.intake.writer import render
from govkit.licensing.expressions import UNKNOWN
from govkit.yamlio import KeyPath

RISK_TIERS = ("low", "medium", "high")
TODO = "TODO"

# (question, default, choices) -> answer; the non-interactive asker returns the default
Ask = Callable[[str, str | None, Sequence[str] | None], str | None]


def no_questions(question: str, default: str | None, choices: Sequence[str] | None) -> str | None:
    return default


@dataclass(frozen=True)
class Answers:
    """Every answer `govkit init` can take as a flag (None: not given)."""

    name: str | None = None
    version: str | None = None
    team: str | None = None
    owner: str | None = None
    risk_tier: str | None = None
    intended_use: str | None = None
    license: str | None = None
    data_license: str | None = None
    label: str | None = None
    prediction: str | None = None
    score: str | None = None
    positive_label: str | None = None
    sensitive: tuple[str, ...] | None = None
    pii: tuple[str, ...] | None = None
    features: tuple[str, ...] | None = None
    model_file: Path | None = None
    base_licences: dict[str, str] = field(default_factory=dict)


@dataclass
class Draft:
    """The document being built and the TODO comment of each key path."""

    document: dict[str, Any] = field(default_factory=dict)
    comments: dict[KeyPath, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # for the header

    def todo(self, path: KeyPath, text: str) -> None:
        self.comments[path] = f"TODO: {text}"


def _licence(value: str | None, where: str) -> str:
    if not value:
        return UNKNOWN
    from govkit.licensing.expressions import check_expression_syntax

    try:
        check_expression_syntax(value)
    except ValueError as exc:
        raise GovkitError(str(exc), field=where) from None
    return value


def _relative(target: Path, folder: Path) -> str:
    return Path(os.path.relpath(target.resolve(), folder.resolve())).as_posix()


def _model_block(draft: Draft, facts: ModelFacts, answers: Answers, ask: Ask, folder: Path) -> None:
    def pick(key: str, question: str, fallback: str | None = None, choices: Sequence[str] | None = None) -> str | None:
        flagged = getattr(answers, key)
        if flagged is not None:
            return str(flagged)
        return ask(question, getattr(facts, key) or fallback, choices)

    name = pick("name", "Model name", folder.resolve().name or "model")
    if name is not None and (problem := model_name_problem(name)):
        raise GovkitError(f"model name {name!r} {problem}; give another with --name", field="model.name")
    version = pick("version", "Model version", "0.1.0")
    team = pick("team", "Team that owns the model")
    owner = pick("owner", "Accountable owner (a person or a mailbox)")
    tier = pick("risk_tier", "Risk tier", None, RISK_TIERS)
    tier = tier.strip().lower() if tier else None  # an MLflow tag may say "High"
    if tier is not None and tier not in RISK_TIERS:
        raise GovkitError(f"risk tier {tier!r} is not one of {', '.join(RISK_TIERS)}", field="model.risk_tier")
    licence = pick("license", "Model licence (SPDX expression; empty for UNKNOWN)")
    use = pick("intended_use", "Intended use, in one sentence")
    model: dict[str, Any] = {
        "name": name,
        "version": version,
        "team": team or TODO,
        "owner": owner or TODO,
        "risk_tier": tier or "high",
        "task": "binary-classification",
        "license": _licence(licence, "model.license"),
    }
    draft.document["model"] = model
    m = ("model",)
    asked = ask is not no_questions  # a person saw the default and kept or changed it
    if not facts.name and answers.name is None and not asked:
        draft.todo((*m, "name"), "the model's name in your registry (taken from the folder name)")
    if not facts.version and answers.version is None and not asked:
        draft.todo((*m, "version"), "the version this manifest audits")
    if not team:
        draft.todo((*m, "team"), "the team whose policy overlay applies (policies/teams/<team>.yaml)")
    if not owner:
        draft.todo((*m, "owner"), "who answers for this model")
    if not tier:
        draft.todo((*m, "risk_tier"), "low, medium or high; 'high' until someone decides (the strictest)")
    draft.comments.setdefault((*m, "task"), "the task govkit audits")
    if model["license"] == UNKNOWN:
        draft.todo((*m, "license"), "an SPDX expression; UNKNOWN fails the licence rules until then")
    bases = [BaseModelFact(b.name, answers.base_licences.get(b.name) or b.license) for b in facts.base_models]
    bases += [BaseModelFact(n, lic) for n, lic in answers.base_licences.items() if n not in {b.name for b in bases}]
    if bases:
        model["base_models"] = [{"name": b.name, "license": _licence(b.license, "model.base_models")} for b in bases]
        for i, b in enumerate(bases):
            if not b.license:
                draft.todo((*m, "base_models", i, "license"), "the base model's licence (--base-model-license)")
    artifact = answers.model_file or (Path(facts.artifact) if facts.artifact else None)
    if artifact is not None:
        if not artifact.exists():
            raise GovkitError("file not found", file=artifact, field="model.artifact")
        if answers.model_file is None and not artifact.resolve().is_relative_to(folder.resolve()):
            draft.notes.append(
                f"TODO: the model file {artifact} is outside this folder; copy it in, set model.artifact"
            )
        else:
            model["artifact"] = _relative(artifact, folder)
    model["intended_use"] = use or f"{TODO}: what the model decides, for whom, and who reviews it"
    if not use:
        draft.todo((*m, "intended_use"), "one sentence; the report and the card quote it")


def _dataset_block(
    draft: Draft, data: DatasetFacts, facts: ModelFacts, answers: Answers, ask: Ask, folder: Path
) -> None:
    columns = list(data.columns)

    def column(key: str, question: str, suggested: str | None, candidates: Sequence[str]) -> str | None:
        flagged = getattr(answers, key)
        value = flagged if flagged is not None else ask(question, suggested, list(candidates) or None)
        if value and value not in columns:
            raise GovkitError(f"column {value!r} not in {data.path.name}", field=f"datasets.evaluation.{key}")
        return value or None

    others = [c for c in data.binary if c not in data.sensitive]
    label = column("label", "Label column (the true outcome)", data.label, others)
    prediction = column(
        "prediction", "Prediction column (the model's decision)", data.prediction, [c for c in others if c != label]
    )
    score = column("score", "Score column (probability; empty for none)", data.score, ())
    licence = answers.data_license
    if licence is None:
        licence = ask("Dataset licence (SPDX expression; empty for UNKNOWN)", None, None)
    pii = answers.pii if answers.pii is not None else data.pii
    sensitive = answers.sensitive if answers.sensitive is not None else data.sensitive
    for key, names in (("pii", pii), ("sensitive_features", sensitive)):
        missing = [n for n in names if n not in columns]
        if missing:
            raise GovkitError(f"column {missing[0]!r} not in {data.path.name}", field=key)
    role = "evaluation" if label and prediction else "training"
    where: KeyPath = ("datasets", role)
    spec: dict[str, Any] = {
        "path": _relative(data.path, folder),
        "license": _licence(licence, f"datasets.{role}.license"),
    }
    if spec["license"] == UNKNOWN:
        draft.todo((*where, "license"), "the data's licence or terms of use; UNKNOWN fails the licence rules")
    spec["pii"] = list(pii)
    draft.comments[(*where, "pii")] = (
        "proposed by govkit's PII detectors; check them" if answers.pii is None else "as given"
    )
    draft.document["datasets"] = {role: spec}
    if role == "training":
        draft.comments[where] = (
            "TODO: no label and prediction columns were identified (--label, --prediction); "
            "fairness rules need an `evaluation` dataset"
        )
    else:
        assert label is not None and prediction is not None
        spec["label"] = label
        spec["prediction"] = prediction
        if score:
            spec["score"] = score
        spec["positive_label"] = _positive_label(draft, data, label, answers, ask, (*where, "positive_label"))
        used = {label, prediction, score, *pii, *sensitive}
        if answers.features is not None:
            features = list(answers.features)
        elif facts.features:
            absent = [f for f in facts.features if f not in columns]
            if absent:
                raise IntakeError(
                    f"the model's feature {absent[0]!r} is not a column of {data.path.name}", field="signature.inputs"
                )
            features = list(facts.features)
            draft.comments[(*where, "features")] = "the model's own input names"
        else:
            features = [c for c in columns if c not in used]
            draft.todo(
                (*where, "features"), "the model's inputs: every column not used otherwise; remove what it never sees"
            )
        if not features:
            raise GovkitError("no feature columns left; give them with --feature", field="datasets.evaluation.features")
        bad = [f for f in features if f not in columns]
        if bad:
            raise GovkitError(f"column {bad[0]!r} not in {data.path.name}", field="datasets.evaluation.features")
        spec["features"] = features
    draft.document["sensitive_features"] = list(sensitive)
    draft.comments[("sensitive_features",)] = (
        "proposed from the column names; add every protected attribute the data holds"
        if answers.sensitive is None
        else "as given"
    )


def _positive_label(
    draft: Draft, data: DatasetFacts, label: str, answers: Answers, ask: Ask, where: KeyPath
) -> str | int | bool:
    """Flag, else the answer to a question whose default is the value that says "favourable" (1, true, yes)."""
    if answers.positive_label is not None:
        return _positive(answers.positive_label)
    suggested = data.positive_label(label)
    shown = None if suggested is None else str(suggested).lower() if isinstance(suggested, bool) else str(suggested)
    answer = ask("Favourable label value", shown, [str(v) for v in data.binary.get(label, ())] or None)
    if answer is not None:
        return suggested if suggested is not None and answer == shown else _positive(answer)
    draft.todo(where, "the label value that is the favourable outcome (the larger value, unchecked)")
    return _positive(max((str(v) for v in data.binary.get(label, ("1",))), key=str))


def _positive(value: Any) -> str | int | bool:
    if isinstance(value, bool | int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return text


def build(
    folder: Path,
    facts: ModelFacts,
    data: DatasetFacts | None,
    answers: Answers,
    ask: Ask = no_questions,
    sources: Sequence[str] = (),
) -> str:
    """The YAML text of a manifest for a file in `folder`."""
    draft = Draft(document={"apiVersion": "govkit/v1", "kind": "ModelManifest"})
    _model_block(draft, facts, answers, ask, folder)
    if data is not None:
        _dataset_block(draft, data, facts, answers, ask, folder)
    header = [
        f"Model manifest written by `govkit init` on {date.today().isoformat()}"
        + (f" from {', '.join(sources)}" if sources else "")
        + ".",
        "Lines marked TODO need a person. `govkit validate` checks the shape; `govkit check` the rest.",
        "Reference: docs/policy-reference.md (the manifest) and docs/intake.md (this command).",
        *facts.notes,
        *draft.notes,
        *(["The model source names datasets: " + ", ".join(facts.datasets)] if facts.datasets else []),
        "",
    ]
    return render(draft.document, draft.comments, header)
