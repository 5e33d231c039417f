"""A Hugging Face-style model card: YAML front matter (license, base_model, model-index) and Markdown.

The front matter is what `huggingface_hub.ModelCard` parses (model-index in the shape of its
`eval_results_to_model_index`); the Markdown body escapes every user string with the Markdown
formatter's escaper, and the YAML is written by `yaml.safe_dump` (a value cannot end the front matter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from govkit.intake.bom import GROUP_METRICS, _slice
from govkit.licensing.expressions import UNKNOWN

TASK = "tabular-classification"  # the Hub's name for govkit's binary-classification on tables
COHORT_METRICS = ("accuracy", "selection_rate")


@dataclass(frozen=True)
class CardModel:
    name: str
    version: str
    license: str
    intended_use: str
    base_models: tuple[tuple[str, str], ...] = ()  # (name, licence)
    team: str | None = None
    owner: str | None = None


def hub_licence(expression: str) -> dict[str, str]:
    """One SPDX licence as the Hub's lower-case id; anything else as `other` with its expression as the name."""
    from govkit.licensing.expressions import parse, spdx_key

    parsed = parse(expression) if expression.strip().upper() != UNKNOWN else None
    single = parsed is not None and parsed.licence is not None and parsed.exception is None
    if parsed is not None and single and spdx_key(parsed.render()) == parsed.render():
        return {"license": parsed.render().lower()}
    return {"license": "other", "license_name": expression}


def model_index(model: CardModel, fairness: dict[str, Any], dataset: str) -> list[dict[str, Any]]:
    overall = fairness.get("overall") or {}
    metrics = [
        {"type": k, "value": round(float(overall[k]), 6), "name": f"{k} (overall)"}
        for k in GROUP_METRICS
        if overall.get(k) is not None
    ]
    for table in fairness.get("tables") or []:
        for group in table.get("groups") or []:
            where = _slice(group.get("key") or {table.get("feature", "group"): group.get("group")})
            metrics += [
                {"type": k, "value": round(float(group[k]), 6), "name": f"{k} ({where})"}
                for k in COHORT_METRICS
                if group.get(k) is not None
            ]
    if not metrics:
        return []
    return [
        {
            "name": model.name,
            "results": [
                {"task": {"type": TASK}, "dataset": {"name": dataset, "type": "evaluation"}, "metrics": metrics}
            ],
        }
    ]


def render_card(model: CardModel, evaluation: dict[str, Any] | None = None, digest: str | None = None) -> str:
    from govkit.formats.markdown import _md

    fairness = ((evaluation or {}).get("measurements") or {}).get("fairness") or {}
    files = ((evaluation or {}).get("inputs") or {}).get("files") or {}
    dataset = (files.get("dataset:evaluation") or {}).get("path") or "evaluation"
    meta: dict[str, Any] = {"model_name": model.name, **hub_licence(model.license)}
    if model.base_models:
        meta["base_model"] = [name for name, _ in model.base_models]
    meta["tags"] = ["govkit", TASK]
    if index := model_index(model, fairness, dataset):
        meta["model-index"] = index
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=10_000).rstrip("\n"),
        "---",
        "",
        f"# {_md(model.name)} {_md(model.version)}",
        "",
        f"**Intended use:** {_md(model.intended_use)}",
        "",
        f"**Licence:** {_md(model.license)}" + (f" · **Team:** {_md(model.team)}" if model.team else ""),
        "",
    ]
    if model.base_models:
        lines += ["## Base models", "", "| model | licence |", "| --- | --- |"]
        lines += [f"| {_md(n)} | {_md(lic)} |" for n, lic in model.base_models]
        lines.append("")
    if evaluation is not None:
        lines += [
            "## Evaluation results",
            "",
            f"govkit evaluation `{digest}` on {_md(dataset)}: verdict **{_md(evaluation.get('verdict'))}** "
            f"under policy {_md((evaluation.get('policy') or {}).get('name'))}.",
            "",
        ]
        if index := model_index(model, fairness, dataset):
            lines += ["| metric | value |", "| --- | --- |"]
            lines += [f"| {_md(m['name'])} | {m['value']:.4f} |" for m in index[0]["results"][0]["metrics"]]
            lines.append("")
        findings = [f for f in evaluation.get("findings") or [] if f["status"] in ("fail", "warn", "waived", "error")]
        if findings:
            lines += ["## Findings", "", "| status | rule | subject | finding |", "| --- | --- | --- | --- |"]
            lines += [
                f"| {_md(f['status'])} | {_md(f['rule_id'])} | {_md(f['subject'])} | {_md(f['message'])} |"
                for f in findings
            ]
            lines.append("")
    return "\n".join(lines)


def from_evaluation(evaluation: dict[str, Any]) -> CardModel:
    model = evaluation["model"]
    components = ((evaluation.get("measurements") or {}).get("license") or {}).get("components") or []
    bases = tuple((c["name"], c.get("expression") or UNKNOWN) for c in components if c["kind"] == "base_model")
    return CardModel(
        name=model["name"],
        version=str(model["version"]),
        license=model.get("license") or UNKNOWN,
        intended_use=model.get("intended_use") or "",
        base_models=bases,
        team=model.get("team"),
        owner=model.get("owner"),
    )


def from_manifest(spec: Any) -> CardModel:
    m = spec.model
    return CardModel(
        name=m.name,
        version=m.version,
        license=m.license,
        intended_use=m.intended_use,
        base_models=tuple((b.name, b.license) for b in m.base_models),
        team=m.team,
        owner=m.owner,
    )
