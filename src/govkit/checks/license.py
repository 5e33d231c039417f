"""Licence check: model (with base-model lineage), datasets and Python dependencies.

Measuring collects every component's declared licence and normalises it; judging applies a
rule's allow/deny lists and denied traits with SPDX semantics: OR is the licensee's choice
(one acceptable branch suffices), AND needs every part, WITH is judged by its base licence.
An unknown licence is never a pass: it is reported as `fail` or `warn` per the rule.
"""

from __future__ import annotations

import fnmatch
from importlib.metadata import Distribution, PackageMetadata, distributions
from pathlib import Path
from typing import ClassVar, Literal, cast

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pydantic import Field

from govkit.checks.interface import Check, CheckContext, Measurement, Outcome, OutcomeStatus, RuleParams
from govkit.checks.license_measurement import Component, ComponentKind, LicenceEntry, LicenseMeasurement
from govkit.errors import ManifestError
from govkit.evaluation import AREA_TITLES
from govkit.licensing.expressions import (
    UNKNOWN,
    LicenceInfo,
    Parsed,
    catalogue,
    check_expression_syntax,
    normalise_free_text,
    parse,
)
from govkit.manifest import LoadedManifest, confine

Trait = Literal[
    "permissive",
    "weak-copyleft",
    "strong-copyleft",
    "network-copyleft",
    "non-commercial",
    "no-derivatives",
    "use-restricted",
]
Verdict = Literal["pass", "fail", "unknown"]


class LicenseParams(RuleParams):
    allow: tuple[str, ...] | None = Field(
        default=None,
        json_schema_extra={"stricter": "subset"},
        description="licence ids or globs that are acceptable; absent means any not denied",
    )
    deny: tuple[str, ...] = Field(default=(), json_schema_extra={"stricter": "superset"})
    deny_traits: tuple[Trait, ...] = Field(default=(), json_schema_extra={"stricter": "superset"})
    unknown: Literal["warn", "fail"] = Field(
        default="fail",
        json_schema_extra={"stricter": ["warn", "fail"]},
        description="status of a component whose licence is unknown",
    )


def licence_component(kind: ComponentKind, name: str, declared: str | None, source: str) -> Component:
    expression = None
    licences: list[LicenceEntry] = []
    if declared:
        parsed = parse(declared)
        expression = parsed.render()
        licences = [
            {"id": lic.id, "known": lic.known, "traits": list(lic.traits), "name": lic.name}
            for lic in parsed.licences()
        ]
    return {
        "kind": kind,
        "name": name,
        "declared": declared,
        "expression": expression,
        "source": source,
        "licences": licences,
    }


METADATA_SUFFIXES = (".dist-info", ".egg-info")  # what importlib.metadata reads in a folder
METADATA_FILES = ("METADATA", "PKG-INFO")  # read from such a folder (an .egg-info file is read itself)


def _environment(manifest: LoadedManifest) -> list[Distribution]:
    """The distributions installed in the manifest's environment folder. importlib.metadata would
    follow a symlinked *.dist-info (or its METADATA) anywhere, so each one is listed here and
    confined like the folder itself, then read at its resolved place."""
    deps = manifest.spec.dependencies
    env = deps.environment if deps else None
    if env in (None, "current"):
        return list(distributions())
    key = ("dependencies", "environment")
    found: list[Distribution] = []
    for entry in sorted(manifest.resolve(env).iterdir()):
        if not entry.name.lower().endswith(METADATA_SUFFIXES):
            continue
        confine(manifest, entry, key)
        for name in METADATA_FILES:
            if (entry / name).exists():
                confine(manifest, entry / name, key)
        found.append(Distribution.at(entry.resolve()))
    return found


def _field(meta: PackageMetadata, name: str) -> str | None:
    """A core-metadata field's first value (PackageMetadata has `get` in its type only from Python 3.12)."""
    values = meta.get_all(name)
    return str(values[0]) if values else None


def _distribution_licence(dist: Distribution) -> tuple[str | None, str]:
    """PEP 639 License-Expression, then a recognisable License field, then trove classifiers."""
    meta = dist.metadata
    expression = _field(meta, "License-Expression")
    if expression:
        try:
            check_expression_syntax(expression)
            return expression, "License-Expression"
        except ValueError:
            pass
    free_text = normalise_free_text(_field(meta, "License") or "")
    if free_text:
        return free_text, "License"
    mapped = sorted(
        {catalogue().classifiers[c] for c in (meta.get_all("Classifier") or []) if c in catalogue().classifiers}
    )
    if mapped:
        return " OR ".join(mapped), "classifiers"
    return None, "no licence metadata"


MAX_REQUIREMENTS_BYTES = 1 << 20


def _requirement_names(path: Path) -> list[str]:
    """Package names only. A line that is not a requirement is reported by its number, never
    quoted: whatever the file holds must not travel into outputs and the audit log."""
    if path.stat().st_size > MAX_REQUIREMENTS_BYTES:
        raise ManifestError(f"larger than {MAX_REQUIREMENTS_BYTES >> 20} MiB; not a requirements file", file=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ManifestError("not a UTF-8 text file; not a requirements file", file=path) from None
    names = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue  # comments and pip options (-r, -e, --index-url) carry no licence
        try:
            names.append(Requirement(line).name)
        except InvalidRequirement:
            raise ManifestError(
                "invalid requirement (not PEP 508; the line is not shown)", file=path, line=number
            ) from None
    return names


def _dependency_components(manifest: LoadedManifest) -> list[Component]:
    deps = manifest.spec.dependencies
    assert deps is not None
    installed: dict[str, Distribution] = {}
    for found in _environment(manifest):
        name = _field(found.metadata, "Name")
        if name:
            installed.setdefault(canonicalize_name(name), found)
    wanted = (
        [canonicalize_name(n) for n in _requirement_names(manifest.resolve(deps.requirements))]
        if deps.requirements
        else sorted(installed)
    )
    components = []
    for name in dict.fromkeys(wanted):
        dist = installed.get(name)
        if dist is None:
            components.append(licence_component("dependency", name, None, "not installed in the audited environment"))
            continue
        expression, source = _distribution_licence(dist)
        label = f"{name}=={dist.version}"
        components.append(licence_component("dependency", label, expression, source))
    return components


def _matches(licence_id: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(licence_id.lower(), p.lower()) for p in patterns)


def _judge_licence(lic: LicenceInfo, p: LicenseParams) -> tuple[Verdict, str]:
    if _matches(lic.id, p.deny):
        return "fail", f"{lic.id} is denied"
    if lic.known:
        bad = [t for t in lic.traits if t in p.deny_traits]
        if bad:
            return "fail", f"{lic.id} is {', '.join(bad)}"
    if p.allow is not None:
        if _matches(lic.id, p.allow):
            return "pass", f"{lic.id} is allowed"
        if lic.known:
            return "fail", f"{lic.id} is not on the allow-list"
    if not lic.known:
        return "unknown", f"{lic.id} is not a licence govkit knows"
    if p.deny_traits and not lic.traits:
        return "unknown", f"{lic.id} has no catalogued traits to check against"
    return "pass", f"{lic.id} is acceptable"


def _judge_tree(node: Parsed, p: LicenseParams) -> tuple[Verdict, list[str]]:
    if node.licence is not None:
        verdict, reason = _judge_licence(node.licence, p)
        return verdict, [reason]
    results = [_judge_tree(child, p) for child in node.children]
    verdicts = [v for v, _ in results]
    if node.op == "or":  # the licensee may pick any acceptable branch
        if "pass" in verdicts:
            return "pass", next(r for v, r in results if v == "pass")
        worst: Verdict = "unknown" if "unknown" in verdicts else "fail"
    else:
        if "fail" in verdicts:
            worst = "fail"
        elif "unknown" in verdicts:
            worst = "unknown"
        else:
            return "pass", [r for _, rs in results for r in rs]
    return worst, [r for v, rs in results if v == worst for r in rs]


def judge_component(component: Component, p: LicenseParams) -> tuple[Verdict, str]:
    """Verdict and a sentence saying which licence of which component decided it."""
    where = f"{component['kind'].replace('_', ' ')} {component['name']}"
    if not component["expression"]:
        return "unknown", f"{where}: licence {UNKNOWN} ({component['source']})"
    verdict, reasons = _judge_tree(parse(component["expression"]), p)
    declared = component["declared"]
    shown = f"'{declared}'" if declared == component["expression"] else f"'{declared}' = {component['expression']}"
    return verdict, f"{where}: licence {shown}: {'; '.join(reasons)}"


class LicenseCheck(Check):
    name = "license"
    title = AREA_TITLES["license"]
    rule_kinds: ClassVar[dict[str, type[RuleParams]]] = {
        "license.model": LicenseParams,
        "license.datasets": LicenseParams,
        "license.dependencies": LicenseParams,
    }

    def measure(self, ctx: CheckContext) -> Measurement:
        spec = ctx.manifest.spec
        components = [licence_component("model", spec.model.name, spec.model.license, "manifest model.license")]
        components += [
            licence_component("base_model", b.name, b.license, f"manifest model.base_models[{i}]")
            for i, b in enumerate(spec.model.base_models)
        ]
        for name in ("training", "evaluation"):
            ds = getattr(spec.datasets, name)
            if ds is not None:
                components.append(licence_component("dataset", name, ds.license, f"manifest datasets.{name}.license"))
        dependencies_declared = spec.dependencies is not None
        if "license.dependencies" in ctx.kinds and dependencies_declared:
            components += _dependency_components(ctx.manifest)
        data: LicenseMeasurement = {"components": components, "dependencies_declared": dependencies_declared}
        return Measurement(check=self.name, data=data)

    def judge(self, kind: str, params: RuleParams, measurement: Measurement) -> list[Outcome]:
        assert isinstance(params, LicenseParams)
        data = cast(LicenseMeasurement, measurement.data)
        components = data["components"]
        if kind == "license.model":
            return [self._judge_model(components, params)]
        wanted = "dataset" if kind == "license.datasets" else "dependency"
        selected = [c for c in components if c["kind"] == wanted]
        if wanted == "dependency" and not data["dependencies_declared"]:
            return [Outcome("dependencies", "error", "manifest declares no dependencies to audit")]
        if not selected:
            return [Outcome("datasets", "error", "manifest declares no datasets to audit")]
        outcomes = []
        passed = 0
        for comp in selected:
            verdict, message = judge_component(comp, params)
            if verdict == "pass" and wanted == "dependency":
                passed += 1
                continue
            outcomes.append(self._outcome(f"{wanted}:{comp['name']}", verdict, message, comp, params))
        if wanted == "dependency" and passed:
            outcomes.append(
                Outcome("dependencies", "pass", f"{passed} dependencies have acceptable licences", measured=passed)
            )
        return outcomes

    def locate(self, kind: str, subject: str) -> tuple[str | int, ...] | None:
        if subject.startswith("model:"):
            return ("model", "license")
        if subject.startswith("dataset:"):
            return ("datasets", subject.split(":", 1)[1], "license")
        if subject.startswith("dependenc"):
            return ("dependencies",)
        return None

    def _judge_model(self, components: list[Component], p: LicenseParams) -> Outcome:
        """The model carries its own licence AND every base model's (lineage propagates)."""
        lineage = [c for c in components if c["kind"] in ("model", "base_model")]
        judged = [(c, *judge_component(c, p)) for c in lineage]
        model = lineage[0]
        subject = f"model:{model['name']}"
        for verdict in ("fail", "unknown"):
            bad = [(c, m) for c, v, m in judged if v == verdict]
            if bad:
                return self._outcome(subject, verdict, "; ".join(m for _, m in bad), bad[0][0], p)
        # every component passed, so each declared a licence (an undeclared one is "unknown")
        declared = [c["expression"] or UNKNOWN for c in lineage]
        expression = " AND ".join(f"({e})" if len(lineage) > 1 else e for e in declared)
        return Outcome(subject, "pass", "; ".join(m for _, _, m in judged), measured=expression)

    @staticmethod
    def _outcome(subject: str, verdict: Verdict, message: str, comp: Component, p: LicenseParams) -> Outcome:
        statuses: dict[Verdict, OutcomeStatus] = {"pass": "pass", "fail": "fail", "unknown": p.unknown}
        status = statuses[verdict]
        threshold = {k: v for k, v in p.model_dump(mode="json").items() if v not in (None, [], ())}
        return Outcome(subject, status, message, measured=comp["expression"] or UNKNOWN, threshold=threshold)
