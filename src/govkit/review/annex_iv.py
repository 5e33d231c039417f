"""EU AI Act Annex IV: for each point, the facts govkit holds and what still needs a human-written document.

govkit knows the manifest's model facts, the data and model digests, the measurements, the audit
trail and the sign-offs; most of Annex IV (intended purpose in full, hardware, design choices,
cybersecurity, the declaration of conformity) is prose only the provider can write. The manifest
cites such documents by path and SHA-256 (`documents:`); a point with a cited document shows it,
and a point with neither says what is missing, so the gap is visible instead of implied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from govkit.controls.catalogue import Catalogues, load_catalogues

FRAMEWORK = "eu-ai-act"
PREFIX = "annex-iv-"
Facts = Callable[["Evidence"], list[str]]


class Evidence:
    """What a report has to hand: the recorded evaluation, its sign-offs, trail and coverage rows."""

    def __init__(
        self,
        evaluation: Mapping[str, Any],
        digest: str,
        signoffs: Sequence[Mapping[str, Any]],
        trail: Sequence[Mapping[str, Any]],
        rules_of: Mapping[str, Sequence[str]],
    ) -> None:
        self.ev = evaluation
        self.digest = digest
        self.signoffs = signoffs
        self.trail = trail
        self.rules_of = rules_of
        self.files: Mapping[str, Mapping[str, Any]] = evaluation["inputs"].get("files", {})
        self.measurements: Mapping[str, Any] = evaluation["measurements"]


def _model(e: Evidence) -> list[str]:
    m = e.ev["model"]
    return [
        f"System: {m['name']} version {m['version']} (task {m['task']}, risk tier {m['risk_tier']})",
        f"Owner: {m['owner']}, team {e.ev['team']}",
    ]


def _purpose(e: Evidence) -> list[str]:
    return [*_model(e), f"Intended use (manifest): {e.ev['model']['intended_use']}"]


def _dependencies(e: Evidence) -> list[str]:
    if "requirements" not in e.files:
        return []
    f = e.files["requirements"]
    return [f"Dependencies: {f['path']} (sha256 {f['sha256'][:16]}…)"]


def _software(e: Evidence) -> list[str]:
    components = e.measurements.get("license", {}).get("components")
    inventory = [f"Licence inventory: {len(components)} components (chapter Licences)"] if components else []
    return _dependencies(e) + inventory


def _versions(e: Evidence) -> list[str]:
    libraries = e.ev["options"].get("libraries") or {}
    used = ["Evaluated with: " + ", ".join(f"{k} {v}" for k, v in sorted(libraries.items()))] if libraries else []
    return _dependencies(e) + used


def _artifact(e: Evidence) -> list[str]:
    out = []
    if "model_artifact" in e.files:
        f = e.files["model_artifact"]
        out.append(f"Model artifact: {f['path']} (sha256 {f['sha256'][:16]}…)")
    return out + _dependencies(e)


def _data(e: Evidence) -> list[str]:
    out = []
    for name in ("training", "evaluation"):
        f = e.files.get(f"dataset:{name}")
        if f:
            out.append(f"{name.title()} data: {f['path']} (sha256 {f['sha256'][:16]}…)")
    privacy = e.measurements.get("privacy", {}).get("datasets", {})
    if privacy:
        out.append(f"Personal-data scan of {len(privacy)} dataset(s) (chapter Privacy)")
    return out


def _oversight(e: Evidence) -> list[str]:
    if not e.signoffs:
        return ["No sign-off recorded yet for this evaluation"]
    return [
        f"Sign-off: {s['decision']} by {s['signer']} ({s['role']}), {s['time']}"
        + ("" if s.get("seq") else " (the signature on this document)")
        for s in e.signoffs
    ]


def _testing(e: Evidence) -> list[str]:
    counts = ", ".join(f"{n} {s}" for s, n in e.ev["counts"].items() if n)
    out = [
        f"This report: evaluation {e.digest[:16]}… of {e.ev['created_at']}, verdict {e.ev['verdict']} ({counts})",
        f"Policy {e.ev['policy']['name']} {e.ev['policy']['version']} (digest {e.ev['policy']['digest'][:16]}…)",
    ]
    fairness = e.measurements.get("fairness")
    if fairness:
        out.append(f"Cohort metrics for {len(fairness['tables'])} groupings (chapter Cohort fairness)")
    return out + _oversight(e)


def _groups(e: Evidence) -> list[str]:
    out = []
    fairness = e.measurements.get("fairness")
    if fairness:
        groups = sum(len(t["groups"]) for t in fairness["tables"])
        out.append(f"Accuracy, selection rate, TPR and FPR for {groups} cohorts (chapter Cohort fairness)")
    if e.measurements.get("explainability", {}).get("importance"):
        out.append("Feature attributions (chapter Explainability)")
    return out


def _metrics(e: Evidence) -> list[str]:
    return [*_testing(e)[1:2], "The thresholds in force (appendix Policy provenance and inputs)"]


def _risk(e: Evidence) -> list[str]:
    waivers = [w for w in e.ev.get("waivers", ()) if w.get("status") == "used"]
    return [*_testing(e)[1:2], f"Accepted risks: {len(waivers)} waiver(s) in force (executive summary)"]


def _changes(e: Evidence) -> list[str]:
    return [f"Audit trail: {len(e.trail)} recent log entries for this model (appendix Audit trail)"]


def _monitoring(e: Evidence) -> list[str]:
    if "monitoring" in e.measurements or "drift" in e.measurements:
        return ["Post-market monitoring measurements (chapter Post-market monitoring)"]
    return []


# point -> (the facts govkit holds, what a human-written document must add)
POINTS: dict[str, tuple[Facts | None, str]] = {
    "annex-iv-1": (_model, "A general description of the AI system"),
    "annex-iv-1-a": (_purpose, "The provider's identity and the intended purpose in full"),
    "annex-iv-1-b": (_software, "How the system interacts with hardware, software or other AI systems"),
    "annex-iv-1-c": (_versions, "Software and firmware versions in use and update requirements"),
    "annex-iv-1-d": (None, "The forms in which the system is placed on the market"),
    "annex-iv-1-e": (None, "The hardware the system is intended to run on"),
    "annex-iv-1-f": (None, "Photographs or illustrations, where the system is part of a product"),
    "annex-iv-1-g": (None, "A basic description of the deployer's user interface"),
    "annex-iv-1-h": (None, "The instructions for use for the deployer"),
    "annex-iv-2": (_artifact, "A detailed description of the system's elements and how it was developed"),
    "annex-iv-2-a": (_artifact, "Development methods and steps, incl. pre-trained systems and third-party tools"),
    "annex-iv-2-b": (None, "Design specifications: general logic, key choices, what the system optimises"),
    "annex-iv-2-c": (None, "System architecture and the computational resources used"),
    "annex-iv-2-d": (_data, "Datasheets: data provenance, scope, labelling and cleaning"),
    "annex-iv-2-e": (_oversight, "An assessment of the human oversight measures"),
    "annex-iv-2-f": (None, "Pre-determined changes and the measures that keep the system compliant"),
    "annex-iv-2-g": (_testing, ""),  # this report is the dated, signed test record
    "annex-iv-2-h": (None, "The cybersecurity measures in place"),
    "annex-iv-3": (_groups, "Capabilities and limitations in performance, foreseeable unintended outcomes"),
    "annex-iv-4": (_metrics, "Why the performance metrics are appropriate for this system"),
    "annex-iv-5": (_risk, "The risk management system of Article 9"),
    "annex-iv-6": (_changes, "The relevant changes made over the life cycle"),
    "annex-iv-7": (None, "The harmonised standards or other specifications applied"),
    "annex-iv-8": (None, "A copy of the EU declaration of conformity"),
    "annex-iv-9": (_monitoring, "The post-market monitoring plan and performance evaluation"),
}


def _documents(evaluation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    files = evaluation["inputs"].get("files", {})
    return [f for name, f in files.items() if name.startswith("document:")]


def annex_iv(
    evaluation: Mapping[str, Any],
    digest: str,
    *,
    signoffs: Sequence[Mapping[str, Any]] = (),
    trail: Sequence[Mapping[str, Any]] = (),
    rules_of: Mapping[str, Sequence[str]] | None = None,
    catalogues: Catalogues | None = None,
) -> list[dict[str, Any]]:
    """One entry per Annex IV point of the EU AI Act catalogue, in catalogue order.

    status: "documented" (a cited document covers it, or its parent point), "evidence" (govkit's
    record is the evidence: point 2(g)), or "needs a document".
    """
    catalogues = catalogues or load_catalogues()
    evidence = Evidence(evaluation, digest, signoffs, trail, rules_of or {})
    documents = _documents(evaluation)
    out = []
    for control in catalogues.frameworks[FRAMEWORK].spec.controls:
        if not control.id.startswith(PREFIX):
            continue
        facts_of, needed = POINTS.get(control.id, (None, control.title))
        parent = control.id.rsplit("-", 1)[0] if control.id.count("-") > 2 else None
        refs = {f"{FRAMEWORK}:{control.id}", *([f"{FRAMEWORK}:{parent}"] if parent else [])}
        cited = [
            {"title": d["title"], "path": d["path"], "sha256": d["sha256"]}
            for d in documents
            if refs & set(d.get("controls", ()))
        ]
        status = "documented" if cited else "evidence" if not needed else "needs a document"
        out.append(
            {
                "point": control.id,
                "title": control.title,
                "source": control.source,
                "facts": facts_of(evidence) if facts_of else [],
                "rules": list((rules_of or {}).get(f"{FRAMEWORK}:{control.id}", ())),
                "documents": cited,
                "needed": "" if cited else needed,
                "status": status,
            }
        )
    return out
