"""A CycloneDX 1.6 ML-BOM of one recorded evaluation: what auditors' tools read.

Built only from the evaluation as the audit log holds it (read verified by the caller), so the
same evaluation always gives the same BOM, byte for byte: the serial number derives from the
evaluation digest and the timestamp is the evaluation's. The model is `metadata.component`
(type machine-learning-model, with a modelCard); base models, datasets and Python dependencies
are components with their licences; the evaluation digest and the log entry are external references.
"""

from __future__ import annotations

import uuid
from typing import Any

from govkit.audit.interface import Entry
from govkit.formats.common import json_text
from govkit.licensing.expressions import UNKNOWN

SPEC_VERSION = "1.6"
SCHEMA = "http://cyclonedx.org/schema/bom-1.6.schema.json"
GROUP_METRICS = ("accuracy", "selection_rate", "tpr", "fpr", "precision")
MODEL_REF = "model"


def licence_choice(expression: str | None) -> list[dict[str, Any]]:
    """SPDX id for one known licence, an SPDX expression where compound or LicenseRef-, a name for UNKNOWN."""
    if not expression or expression.strip().upper() == UNKNOWN:
        return [{"license": {"name": UNKNOWN}}]
    from govkit.licensing.expressions import parse, spdx_key

    parsed = parse(expression)
    rendered = parsed.render()
    if parsed.licence is not None and parsed.exception is None and spdx_key(rendered) == rendered:
        return [{"license": {"id": rendered}}]
    if not parsed.licences() or any(lic.id == UNKNOWN for lic in parsed.licences()):
        return [{"license": {"name": expression}}]
    return [{"expression": rendered}]


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _slice(key: dict[str, Any]) -> str:
    return " & ".join(f"{k}={v}" for k, v in key.items())


def _metric(kind: str, value: Any, ci: Any = None, slice_: str | None = None) -> dict[str, Any]:
    metric: dict[str, Any] = {"type": kind, "value": _number(value)}
    if slice_ is not None:
        metric["slice"] = slice_
    if isinstance(ci, list | tuple) and len(ci) == 2 and None not in ci:
        metric["confidenceInterval"] = {"lowerBound": _number(ci[0]), "upperBound": _number(ci[1])}
    return metric


def performance_metrics(fairness: dict[str, Any]) -> list[dict[str, Any]]:
    """Overall metrics, then each cohort's with its slice (`sex=female & age_band=18-24`) and interval."""
    overall = fairness.get("overall") or {}
    metrics = [_metric(k, overall[k]) for k in GROUP_METRICS if overall.get(k) is not None]
    for table in fairness.get("tables") or []:
        for group in table.get("groups") or []:
            where = _slice(group.get("key") or {table.get("feature", "group"): group.get("group")})
            metrics += [
                _metric(k, group[k], group.get(f"{k}_ci"), where) for k in GROUP_METRICS if group.get(k) is not None
            ]
    return metrics


def _waived(finding: dict[str, Any]) -> str:
    if finding["status"] == "waived":
        return f"waived by {finding.get('waiver_id')}"
    if finding["status"] == "pass":
        return "none needed (passed)"
    return "blocks release" if finding.get("blocking") else f"{finding['status']}: to be reviewed"


def considerations(findings: list[dict[str, Any]], intended_use: str | None) -> dict[str, Any]:
    fairness = [f for f in findings if f["check"].startswith("fairness.")]
    privacy = [f for f in findings if f["check"].startswith("privacy.")]
    out: dict[str, Any] = {}
    if intended_use:
        out["useCases"] = [intended_use]
    if fairness:
        out["fairnessAssessments"] = [
            {
                "groupAtRisk": f["subject"],
                "benefits" if f["status"] == "pass" else "harms": f"{f['rule_id']} {f['status']}: {f['message']}",
                "mitigationStrategy": _waived(f),
            }
            for f in fairness
        ]
    if privacy:
        out["ethicalConsiderations"] = [
            {"name": f"{f['rule_id']} {f['status']} ({f['subject']}): {f['message']}", "mitigationStrategy": _waived(f)}
            for f in privacy
        ]
    return out


def _hashes(files: dict[str, Any], key: str) -> list[dict[str, str]]:
    sha = (files.get(key) or {}).get("sha256")
    return [{"alg": "SHA-256", "content": sha}] if sha else []


def _components(evaluation: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    licence = (evaluation.get("measurements") or {}).get("license") or {}
    files = (evaluation.get("inputs") or {}).get("files") or {}
    components, refs = [], []
    for i, comp in enumerate(licence.get("components") or []):
        kind = comp["kind"]
        if kind == "model":
            continue
        component: dict[str, Any]
        if kind == "base_model":
            component = {"type": "machine-learning-model", "bom-ref": f"base-model:{i}", "name": comp["name"]}
        elif kind == "dataset":
            component = {
                "type": "data",
                "bom-ref": f"dataset:{comp['name']}",
                "name": (files.get(f"dataset:{comp['name']}") or {}).get("path") or comp["name"],
                "data": [{"type": "dataset", "name": comp["name"], "description": f"{comp['name']} dataset"}],
            }
            if hashes := _hashes(files, f"dataset:{comp['name']}"):
                component["hashes"] = hashes
        else:
            name, _, version = comp["name"].partition("==")
            component = {"type": "library", "bom-ref": f"pypi:{name}", "name": name}
            if version:
                component["version"] = version
                component["purl"] = f"pkg:pypi/{name}@{version}"
        component["licenses"] = licence_choice(comp.get("expression"))
        components.append(component)
        refs.append(component["bom-ref"])
    return components, refs


def build_bom(evaluation: dict[str, Any], digest: str, entry: Entry | None, log_id: str | None) -> dict[str, Any]:
    """The BOM as a JSON-ready dict (CycloneDX 1.6)."""
    model = evaluation["model"]
    fairness = (evaluation.get("measurements") or {}).get("fairness") or {}
    files = (evaluation.get("inputs") or {}).get("files") or {}
    components, refs = _components(evaluation)
    outputs = [{"format": f"binary decision ({fairness['prediction']})"}] if fairness.get("prediction") else []
    if fairness.get("score"):
        outputs.append({"format": f"score ({fairness['score']})"})
    parameters: dict[str, Any] = {
        "approach": {"type": "supervised"},
        "task": model.get("task", "binary-classification"),
    }
    datasets = [{"ref": r} for r in refs if r.startswith("dataset:")]
    if datasets:
        parameters["datasets"] = datasets
    parameters["inputs"] = [{"format": "tabular"}]
    if outputs:
        parameters["outputs"] = outputs
    card: dict[str, Any] = {"modelParameters": parameters}
    if metrics := performance_metrics(fairness):
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    if notes := considerations(list(evaluation.get("findings") or []), model.get("intended_use")):
        card["considerations"] = notes
    references = [
        {
            "type": "evidence",
            "url": f"urn:govkit:evaluation:sha256:{digest}",
            "comment": f"govkit evaluation {digest} (verdict {evaluation.get('verdict')})",
        }
    ]
    if entry is not None:
        references.append(
            {
                "type": "log",
                "url": f"urn:govkit:audit-log:{log_id or 'unknown'}:entry:{entry.seq}",
                "comment": f"audit-log entry {entry.seq} ({entry.action}), entry hash {entry.entry_hash}",
            }
        )
    component: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": MODEL_REF,
        "name": model["name"],
        "version": str(model["version"]),
        "description": model.get("intended_use") or "",
        "licenses": licence_choice(model.get("license")),
    }
    if hashes := _hashes(files, "model_artifact"):
        component["hashes"] = hashes
    component["externalReferences"] = references
    component["modelCard"] = card
    component["properties"] = [
        {"name": f"govkit:{k}", "value": str(model[k])} for k in ("team", "owner", "risk_tier") if model.get(k)
    ]
    return {
        "$schema": SCHEMA,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'urn:govkit:evaluation:sha256:{digest}')}",
        "version": 1,
        "metadata": {
            "timestamp": evaluation["created_at"],
            "tools": {
                "components": [{"type": "application", "name": "govkit", "version": evaluation["govkit_version"]}]
            },
            "component": component,
        },
        "components": components,
        "dependencies": [{"ref": MODEL_REF, "dependsOn": refs}, *({"ref": r} for r in refs)],
    }


def bom_bytes(evaluation: dict[str, Any], digest: str, entry: Entry | None, log_id: str | None) -> bytes:
    return (json_text(build_bom(evaluation, digest, entry, log_id), indent=2) + "\n").encode()
