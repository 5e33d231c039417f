"""CycloneDX ML-BOM as input: the machine-learning-model component, its licences and its base models.

The model is `metadata.component` when that is a model, else the only model among `components`.
Its base models are the models it depends on (`dependencies`) or descends from (`pedigree.ancestors`).
Only spec versions with ML-BOM support (1.5, 1.6) are read; JSON only, bounded in size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from govkit.errors import IntakeError
from govkit.intake.interface import MAX_INTAKE_BYTES, BaseModelFact, ModelFacts
from govkit.jsonio import load_json

SPEC_VERSIONS = ("1.5", "1.6")
MODEL_TYPE = "machine-learning-model"


def load_bom(path: Path) -> dict[str, Any]:
    bom, _ = load_json(path, limit=MAX_INTAKE_BYTES, error=IntakeError)
    if not isinstance(bom, dict) or bom.get("bomFormat") != "CycloneDX":
        raise IntakeError("not a CycloneDX JSON BOM", file=path, field="bomFormat")
    if bom.get("specVersion") not in SPEC_VERSIONS:
        raise IntakeError(
            f"CycloneDX {bom.get('specVersion')!r} is not read; ML-BOMs need spec version {' or '.join(SPEC_VERSIONS)}",
            file=path,
            field="specVersion",
        )
    return bom


def licence_expression(component: dict[str, Any], path: Path, where: str) -> str | None:
    """A component's `licenses` as one expression: an `expression`, or the ids / names joined with AND."""
    entries = component.get("licenses") or []
    if not isinstance(entries, list):
        raise IntakeError("licenses is not a list", file=path, field=f"{where}.licenses")
    parts = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise IntakeError("licence entry is not an object", file=path, field=f"{where}.licenses")
        if entry.get("expression"):
            parts.append(str(entry["expression"]))
            continue
        lic = entry.get("license") or {}
        value = lic.get("id") or lic.get("name") if isinstance(lic, dict) else None
        if not value:
            raise IntakeError("licence entry has no id, name or expression", file=path, field=f"{where}.licenses")
        parts.append(str(value) if lic.get("id") else "LicenseRef-" + "-".join(str(value).split()))
    if not parts:
        return None
    expression = parts[0] if len(parts) == 1 else " AND ".join(f"({p})" for p in parts)
    from govkit.licensing.expressions import check_expression_syntax

    try:
        check_expression_syntax(expression)
    except ValueError as exc:
        raise IntakeError(str(exc), file=path, field=f"{where}.licenses") from None
    return expression


def _models(bom: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    meta = (bom.get("metadata") or {}).get("component")
    if isinstance(meta, dict):
        found.append(("metadata.component", meta))
    for i, c in enumerate(bom.get("components") or []):
        if isinstance(c, dict):
            found.append((f"components[{i}]", c))
    return [(w, c) for w, c in found if c.get("type") == MODEL_TYPE]


def read_bom(path: Path) -> ModelFacts:
    bom = load_bom(path)
    models = _models(bom)
    if not models:
        raise IntakeError(f"no component of type {MODEL_TYPE}", file=path, field="components")
    where, model = models[0]
    if where != "metadata.component" and len(models) > 1:
        depended = {
            ref for d in bom.get("dependencies") or [] if isinstance(d, dict) for ref in d.get("dependsOn") or []
        }
        roots = [(w, c) for w, c in models if c.get("bom-ref") not in depended]
        if len(roots) != 1:
            raise IntakeError(
                "several machine-learning-model components, none of them metadata.component: which is the model?",
                file=path,
                field="components",
            )
        where, model = roots[0]
    if not model.get("name"):
        raise IntakeError("the model component has no name", file=path, field=f"{where}.name")
    by_ref = {c.get("bom-ref"): (w, c) for w, c in _models(bom) if c.get("bom-ref")}
    base_refs = [
        ref
        for d in bom.get("dependencies") or []
        if isinstance(d, dict) and model.get("bom-ref") and d.get("ref") == model.get("bom-ref")
        for ref in d.get("dependsOn") or []
        if ref in by_ref
    ]
    bases = [by_ref[r] for r in base_refs]
    ancestors = (model.get("pedigree") or {}).get("ancestors") or []
    bases += [(f"{where}.pedigree.ancestors[{i}]", a) for i, a in enumerate(ancestors) if isinstance(a, dict)]
    seen: dict[str, BaseModelFact] = {}
    for w, base in bases:
        if base.get("name"):
            seen.setdefault(str(base["name"]), BaseModelFact(str(base["name"]), licence_expression(base, path, w)))
    card = model.get("modelCard") or {}
    task = ((card.get("modelParameters") or {}).get("task")) if isinstance(card, dict) else None
    notes = [
        f"CycloneDX {bom['specVersion']} BOM {path}" + (f" ({bom['serialNumber']})" if bom.get("serialNumber") else "")
    ]
    if task:
        notes.append(f"BOM model task: {task}")
    return ModelFacts(
        name=str(model["name"]),
        version=str(model["version"]) if model.get("version") else None,
        license=licence_expression(model, path, where),
        intended_use=str(model["description"]) if model.get("description") else None,
        base_models=tuple(seen.values()),
        notes=tuple(notes),
    )
