"""`govkit init`, `govkit bom` and `govkit card`: start from what a team has, hand back what others read."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from govkit.errors import GovkitError


def _pairs(_: Any, __: Any, values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, licence = value.partition("=")
        if not sep or not name.strip() or not licence.strip():
            raise click.BadParameter(f"expected NAME=LICENCE, got {value!r}")
        out[name.strip()] = licence.strip()
    return out


def _prompt(question: str, default: str | None, choices: Sequence[str] | None) -> str | None:
    from govkit.formats.common import printable

    shown = question + (f" [{', '.join(printable(c) for c in choices)}]" if choices else "")
    answer: str = click.prompt(printable(shown), default=default or "", show_default=bool(default))
    return answer.strip() or None


@click.command(
    "init",
    epilog="""\b
Examples:
  govkit init data/eval.csv --model-file model.skops --team lending --owner ml@example.com
  govkit init data/eval.csv --from-mlflow mlruns/0/models/m-1a2b/artifacts
  govkit init data/eval.csv --from-mlflow mlflow.db --model credit-scorer --alias champion
  govkit init --from-hf README.md --base-model-license bert-base-uncased=Apache-2.0 --no-input
  govkit init data/eval.csv --from-cyclonedx bom.json -o models/credit/govkit.yaml --force""",
)
@click.argument("dataset", type=click.Path(path_type=Path), required=False)
@click.option("--output", "-o", type=click.Path(path_type=Path), default="govkit.yaml", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing manifest.")
@click.option("--no-input", is_flag=True, help="Never prompt (the default when stdin is not a terminal).")
@click.option("--from-mlflow", type=click.Path(path_type=Path), help="An MLflow model folder (MLmodel) or mlflow.db.")
@click.option("--model", "registered", help="Registered model name in mlflow.db.")
@click.option("--model-version", help="Version in mlflow.db (and the manifest's model.version otherwise).")
@click.option("--alias", help="Alias of the registered model version in mlflow.db (e.g. champion).")
@click.option("--from-hf", type=click.Path(path_type=Path), help="A Hugging Face model card (README.md).")
@click.option("--from-cyclonedx", type=click.Path(path_type=Path), help="A CycloneDX 1.5/1.6 JSON ML-BOM.")
@click.option("--model-file", type=click.Path(path_type=Path), help="The saved model (model.artifact).")
@click.option("--name", help="model.name")
@click.option("--team", help="model.team")
@click.option("--owner", help="model.owner")
@click.option("--risk-tier", type=click.Choice(["low", "medium", "high"]), help="model.risk_tier")
@click.option("--intended-use", help="model.intended_use")
@click.option("--license", "licence", help="The model's licence (SPDX expression).")
@click.option(
    "--base-model-license",
    "base_licences",
    multiple=True,
    callback=_pairs,
    help="NAME=LICENCE of a base model (repeatable).",
)
@click.option("--data-license", help="The dataset's licence (SPDX expression).")
@click.option("--label", help="Label column.")
@click.option("--prediction", help="Prediction column.")
@click.option("--score", help="Score column.")
@click.option("--positive-label", help="The favourable label value.")
@click.option("--sensitive", multiple=True, help="A sensitive-attribute column (repeatable; replaces the proposal).")
@click.option("--no-sensitive", is_flag=True, help="Propose no sensitive attributes.")
@click.option("--pii", multiple=True, help="A PII column (repeatable; replaces the proposal).")
@click.option("--no-pii", is_flag=True, help="Declare no PII columns.")
@click.option("--feature", "features", multiple=True, help="A model input column (repeatable).")
def init(
    dataset: Path | None,
    output: Path,
    force: bool,
    no_input: bool,
    from_mlflow: Path | None,
    registered: str | None,
    model_version: str | None,
    alias: str | None,
    from_hf: Path | None,
    from_cyclonedx: Path | None,
    base_licences: dict[str, str],
    sensitive: tuple[str, ...],
    no_sensitive: bool,
    pii: tuple[str, ...],
    no_pii: bool,
    features: tuple[str, ...],
    model_file: Path | None,
    licence: str | None,
    **answers: Any,
) -> None:
    """Write a govkit.yaml from a dataset and what you have about the model (asks what it cannot tell)."""
    from govkit.intake.init import Answers, build, no_questions
    from govkit.intake.interface import ModelFacts
    from govkit.manifest import load_manifest

    if output.exists() and not force:
        raise GovkitError("already exists; pass --force to overwrite it", file=output)
    facts, sources = ModelFacts(), []
    if from_mlflow is not None:
        from govkit.intake import mlflow

        if from_mlflow.is_file() and from_mlflow.name != "MLmodel":
            if not registered:
                raise click.UsageError("--from-mlflow DB needs --model NAME and --model-version N or --alias A")
            facts = facts.merged(mlflow.read_registry(from_mlflow, registered, model_version, alias))
        else:
            facts = facts.merged(mlflow.read_mlmodel(from_mlflow))
        sources.append(f"MLflow {from_mlflow.name}")
    if from_hf is not None:
        from govkit.intake.huggingface import read_card

        facts = facts.merged(read_card(from_hf))
        sources.append(f"model card {from_hf.name}")
    if from_cyclonedx is not None:
        from govkit.intake.cyclonedx import read_bom

        facts = facts.merged(read_bom(from_cyclonedx))
        sources.append(f"CycloneDX BOM {from_cyclonedx.name}")
    data = None
    if dataset is not None:
        from govkit.intake.dataset import inspect_dataset

        data = inspect_dataset(dataset)
        sources.insert(0, f"dataset {dataset.name}")
    given = Answers(
        version=model_version if registered is None or from_mlflow is None else None,
        license=licence,
        model_file=model_file,
        base_licences=base_licences,
        sensitive=() if no_sensitive else (sensitive or None),
        pii=() if no_pii else (pii or None),
        features=features or None,
        **answers,
    )
    interactive = not no_input and sys.stdin.isatty()
    folder = output.parent if str(output.parent) else Path()
    saved = model_file or (Path(facts.artifact) if facts.artifact else None)
    if data is not None and saved is not None and not features and not facts.features:
        names = _model_features(saved)
        if names:  # the saved model knows its inputs: no need to guess them from the columns
            facts = facts.merged(
                ModelFacts(features=names, notes=(f"features: the input names {saved.name} declares",))
            )
    text = build(folder, facts, data, given, _prompt if interactive else no_questions, sources)
    folder.mkdir(parents=True, exist_ok=True)
    staged = output.with_name(f".{output.name}.init")
    try:
        staged.write_text(text, encoding="utf-8")
        load_manifest(staged)  # what init writes must pass validation, files and columns included
    except GovkitError as exc:
        staged.unlink(missing_ok=True)
        if exc.file == str(staged):
            exc.file = str(output)
        raise
    staged.replace(output)
    todos = text.count("# TODO")
    click.echo(f"wrote {output}" + (f" ({todos} TODO{'s' if todos != 1 else ''} left)" if todos else ""))


class _ModelFile:
    """Stands in for a manifest in the model loader's refusals: they name the model file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, message: str, key: Any) -> GovkitError:
        return GovkitError(message, file=self.path, field="model.artifact")


def _model_features(path: Path) -> tuple[str, ...] | None:
    """The input names a saved skops model declares (`feature_names_in_`), loaded with the check's allow-list."""
    if path.suffix.lower() != ".skops" or not path.is_file():
        return None
    from typing import cast

    from govkit.checks.explainability.loading import _skops
    from govkit.manifest import LoadedManifest

    names = getattr(_skops(cast(LoadedManifest, _ModelFile(path)), path, False).model, "feature_names_in_", None)
    return tuple(str(n) for n in names) if names is not None else None


def _recorded(db: str, digest: str | None, model: str | None) -> tuple[Any, dict[str, Any], str | None]:
    """The evaluation entry and payload, read verified from the log, and the log's id."""
    from govkit.audit.log import AuditLog
    from govkit.audit.records import find_evaluation

    if (digest is None) == (model is None):
        raise click.UsageError("give an EVALUATION_DIGEST or --latest MODEL (one of them)")
    with AuditLog(db, create=False) as log:
        entry, payload = find_evaluation(log, digest=digest, model=model)
        return entry, payload, log.store.log_id()


def _write(text: str | bytes, output: Path | None) -> None:
    data = text.encode() if isinstance(text, str) else text
    if output is None:
        click.echo(data.decode(), nl=False)
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output}", err=True)


LATEST = click.option("--latest", "model", help="The latest recorded evaluation of this model instead of a digest.")
DB = click.option("--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database.")
OUTPUT = click.option("--output", "-o", type=click.Path(path_type=Path), help="Write here instead of stdout.")


@click.command(
    "bom",
    epilog="""\b
Examples:
  govkit bom --latest credit-scorer -o credit-scorer.cdx.json
  govkit bom 3f2a9c1e --db postgresql://govkit@db/audit""",
)
@click.argument("evaluation_digest", required=False)
@LATEST
@DB
@OUTPUT
def bom(evaluation_digest: str | None, model: str | None, db: str, output: Path | None) -> None:
    """CycloneDX 1.6 ML-BOM of a recorded evaluation (read verified from the audit log)."""
    from govkit.intake.bom import bom_bytes

    entry, payload, log_id = _recorded(db, evaluation_digest, model)
    _write(bom_bytes(payload["evaluation"], payload["evaluation_digest"], entry, log_id), output)


@click.command(
    "card",
    epilog="""\b
Examples:
  govkit card --latest credit-scorer -o README.md
  govkit card --manifest govkit.yaml""",
)
@click.argument("evaluation_digest", required=False)
@LATEST
@click.option("--manifest", type=click.Path(path_type=Path), help="A card from a manifest alone (no results).")
@DB
@OUTPUT
def card(evaluation_digest: str | None, model: str | None, manifest: Path | None, db: str, output: Path | None) -> None:
    """Hugging Face model card (front matter with model-index, Markdown results) of a recorded evaluation."""
    from govkit.intake.card import from_evaluation, from_manifest, render_card

    if manifest is not None:
        if evaluation_digest or model:
            raise click.UsageError("give --manifest or an evaluation, not both")
        from govkit.manifest import load_manifest

        _write(render_card(from_manifest(load_manifest(manifest).spec)), output)
        return
    _, payload, _ = _recorded(db, evaluation_digest, model)
    evaluation = payload["evaluation"]
    _write(render_card(from_evaluation(evaluation), evaluation, payload["evaluation_digest"]), output)
