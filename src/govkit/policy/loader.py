"""Load a policy folder and resolve a team's effective rules, remembering where each value came from.

Overlay semantics: an overlay may tighten any rule freely (raise severity, move a parameter in
its stricter direction, widen the scope); relaxing or disabling needs `allow_relax: true` on the
base rule; a `locked: true` rule cannot be overridden or disabled at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from govkit.canonical import digest, sha256_hex
from govkit.checks.interface import RuleParams
from govkit.checks.registry import rule_kinds
from govkit.controls.catalogue import Catalogues, load_catalogues
from govkit.errors import PolicyError
from govkit.policy.schema import AppliesTo, PolicyOverlay, PolicySet, Rule, RuleOverride
from govkit.policy.tightening import relaxed_params, relaxes_severity
from govkit.validation import dotted, validate_document
from govkit.yamlio import KeyPath, YamlDocument, load_yaml

__all__ = ["ResolvedPolicy", "ResolvedRule", "load_library", "load_policy", "resolve"]

POLICY_KINDS: dict[str, type[PolicySet] | type[PolicyOverlay]] = {
    "PolicySet": PolicySet,
    "PolicyOverlay": PolicyOverlay,
}


@dataclass(frozen=True)
class PolicyDoc:
    doc: YamlDocument
    rel: str
    spec: PolicySet | PolicyOverlay

    def error(self, message: str, key: KeyPath) -> PolicyError:
        return PolicyError(message, file=self.doc.path, field=dotted(key) or None, line=self.doc.line_of(key))

    @property
    def label(self) -> str:
        kind = "overlay" if isinstance(self.spec, PolicyOverlay) else "set"
        return f"{self.rel} ({kind} {self.spec.name})"


@dataclass(frozen=True)
class PolicyLibrary:
    root: Path
    sets: Mapping[str, PolicyDoc]
    overlays: Mapping[str, PolicyDoc]


@dataclass(frozen=True)
class ResolvedRule:
    id: str
    title: str
    check: str
    params: Mapping[str, Any]
    severity: str
    applies_to: AppliesTo
    guideline: str | None
    description: str | None
    locked: bool
    allow_relax: bool
    waivable: bool
    defined_in: str
    enabled: bool = True
    disabled_by: str | None = None
    justification: str | None = None
    provenance: Mapping[str, str] = field(default_factory=dict)
    # where the rule is written, for CI annotations; not part of the policy's identity
    source_path: str = ""
    source_line: int | None = None
    controls: tuple[str, ...] = ()

    def to_dict(self, *, with_provenance: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "check": self.check,
            "params": dict(self.params),
            "severity": self.severity,
            "applies_to": self.applies_to.model_dump(mode="json"),
            "guideline": self.guideline,
            "locked": self.locked,
            "allow_relax": self.allow_relax,
            "waivable": self.waivable,
            "enabled": self.enabled,
            "disabled_by": self.disabled_by,
            "justification": self.justification,
            "defined_in": self.defined_in,
        }
        if self.controls:  # absent when none, so the digests of untagged policies stay as they were
            out["controls"] = list(self.controls)
        if with_provenance:
            out["provenance"] = dict(self.provenance)
        return out


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str


@dataclass(frozen=True)
class ResolvedPolicy:
    name: str
    version: str
    team: str | None
    layers: tuple[str, ...]
    rules: tuple[ResolvedRule, ...]
    sources: tuple[SourceFile, ...]
    root: Path
    waiver_max_days: int | None = None

    @property
    def digest(self) -> str:
        return digest(self.identity())

    def identity(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "team": self.team,
            "layers": list(self.layers),
            "rules": [r.to_dict() for r in self.rules],
            "sources": [{"path": s.path, "sha256": s.sha256} for s in self.sources],
        }
        if self.waiver_max_days is not None:  # absent when unset, so older digests stay valid
            out["waivers"] = {"max_days": self.waiver_max_days}
        return out

    def rule(self, rule_id: str) -> ResolvedRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def _policy_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise PolicyError(
            f"policy folder not found (looked for {path.resolve()}): expected a folder of PolicySet and "
            "PolicyOverlay YAML files; pass it with --policy FOLDER (`govkit demo --dir DIR` writes example "
            "policies to DIR/policies)",
            file=path,
        )
    files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise PolicyError("no .yaml policy files in folder", file=path)
    home = path.resolve()
    for file in files:  # a symlink may point anywhere: --policy names the folder, not what it links to
        if not (real := file.resolve()).is_relative_to(home):
            raise PolicyError(f"a symlink to {real}, outside the policy folder {home}; refused", file=file)
    return files


def load_library(path: Path, *, controls: Path | None = None) -> PolicyLibrary:
    """Read every policy file under `path` (a folder or one file); other kinds are ignored.

    Control ids the rules cite are checked against the catalogues (bundled, plus `controls` or
    $GOVKIT_CONTROLS), loaded only when some rule cites one.
    """
    root = path if path.is_dir() else path.parent
    catalogues = cache(lambda: load_catalogues(controls))
    sets: dict[str, PolicyDoc] = {}
    overlays: dict[str, PolicyDoc] = {}
    for file in _policy_files(path):
        doc = load_yaml(file, error=PolicyError)
        kind = doc.data.get("kind") if isinstance(doc.data, dict) else None
        if kind not in POLICY_KINDS:
            if kind is None and path.is_file():
                raise PolicyError("missing 'kind' (PolicySet or PolicyOverlay)", file=file)
            continue  # e.g. a Waivers file kept beside the policies
        spec = validate_document(POLICY_KINDS[kind], doc.data, doc=doc, error=PolicyError)
        pdoc = PolicyDoc(doc=doc, rel=file.relative_to(root).as_posix(), spec=spec)
        target = sets if isinstance(spec, PolicySet) else overlays
        if spec.name in sets or spec.name in overlays:
            raise pdoc.error(f"duplicate policy name {spec.name!r}", ("name",))
        target[spec.name] = pdoc
        _validate_rules(pdoc)
        _validate_controls(pdoc, catalogues)
    if not sets:
        raise PolicyError("no PolicySet found", file=path)
    return PolicyLibrary(root=root, sets=sets, overlays=overlays)


def _params_model(check: str, pdoc: PolicyDoc, key: KeyPath) -> type[RuleParams]:
    kinds = rule_kinds()
    if check not in kinds:
        known = ", ".join(sorted(kinds))
        raise pdoc.error(f"unknown check {check!r} (known: {known})", key)
    return kinds[check][1]


def _validate_params(check: str, params: Mapping[str, Any], pdoc: PolicyDoc, key: KeyPath) -> RuleParams:
    model = _params_model(check, pdoc, (*key[:-1], "check") if key[-1] == "params" else key)
    return validate_document(model, dict(params), doc=pdoc.doc, error=PolicyError, prefix=key)


def _validate_rules(pdoc: PolicyDoc) -> None:
    spec = pdoc.spec
    rules, prefix = (spec.rules, "rules") if isinstance(spec, PolicySet) else (spec.add, "add")
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise pdoc.error(f"duplicate rule id {rule.id!r}", (prefix, i, "id"))
        seen.add(rule.id)
        _params_model(rule.check, pdoc, (prefix, i, "check"))
        _validate_params(rule.check, rule.params, pdoc, (prefix, i, "params"))


def _validate_controls(pdoc: PolicyDoc, catalogues: Callable[[], Catalogues]) -> None:
    """Every control a rule or override cites must exist in a catalogue: crosswalks that cite
    control numbers which do not exist are common, and a typo would silently map nothing."""
    spec = pdoc.spec
    rules, prefix = (spec.rules, "rules") if isinstance(spec, PolicySet) else (spec.add, "add")
    cited: list[tuple[str, KeyPath]] = [
        (ref, (prefix, i, "controls", j)) for i, r in enumerate(rules) for j, ref in enumerate(r.controls)
    ]
    if isinstance(spec, PolicyOverlay):
        cited += [
            (ref, ("overrides", rule_id, "controls", j))
            for rule_id, o in spec.overrides.items()
            for j, ref in enumerate(o.controls or ())
        ]
    for ref, key in cited:
        if catalogues().find(ref) is None:
            framework = ref.partition(":")[0]
            hint = (
                ""
                if framework in catalogues().frameworks
                else f" (no framework {framework!r}; known: {', '.join(sorted(catalogues().frameworks))})"
            )
            raise pdoc.error(f"unknown control {ref!r}{hint}", key)


def _chain(library: PolicyLibrary, top: PolicyDoc) -> list[PolicyDoc]:
    """From the base PolicySet up to `top`."""
    chain = [top]
    seen = {top.spec.name}
    while isinstance(spec := chain[-1].spec, PolicyOverlay):
        current = chain[-1]
        parent_name = spec.extends
        parent = library.sets.get(parent_name) or library.overlays.get(parent_name)
        if parent is None:
            raise current.error(f"extends unknown policy {parent_name!r}", ("extends",))
        if parent_name in seen:
            cycle = " -> ".join([*(d.spec.name for d in chain), parent_name])
            raise current.error(f"circular extends: {cycle}", ("extends",))
        seen.add(parent_name)
        chain.append(parent)
    return list(reversed(chain))


def _named(library: PolicyLibrary, policy_set: str | None) -> PolicyDoc:
    """What `--policy-set` names (a set, or an overlay for `policy validate/show`), else the only set."""
    if policy_set is not None:
        found = library.sets.get(policy_set) or library.overlays.get(policy_set)
        if found is None:
            raise PolicyError(f"no policy named {policy_set!r}", file=library.root)
        return found
    if len(library.sets) == 1:
        return next(iter(library.sets.values()))
    names = ", ".join(sorted(library.sets))
    raise PolicyError(f"several policy sets ({names}); choose one with --policy-set", file=library.root)


def _select_top(library: PolicyLibrary, team: str | None, policy_set: str | None) -> PolicyDoc:
    """The top of the chain to resolve. The base set is the run's choice (`--policy-set` or the
    folder's only set), never the overlay's: with several sets a team overlay could otherwise
    build on the laxest one and escape the baseline's locked rules."""
    named = _named(library, policy_set)
    if team is not None:
        matches = [o for o in library.overlays.values() if isinstance(o.spec, PolicyOverlay) and o.spec.team == team]
        if len(matches) > 1:
            names = ", ".join(sorted(o.rel for o in matches))
            raise PolicyError(f"several overlays declare team {team!r}: {names}", file=library.root)
        if matches:
            top = matches[0]
            base, root = _chain(library, named)[0], _chain(library, top)[0]
            if root.spec.name != base.spec.name:
                raise top.error(
                    f"overlay for team {team!r} extends set {root.spec.name!r}, but this run uses "
                    f"set {base.spec.name!r}; an overlay may only build on the selected set",
                    ("extends",),
                )
            return top
    return named


def _scope_relaxed(old: AppliesTo, new: AppliesTo) -> bool:
    """Narrowing who a rule applies to relaxes it; an empty list means everyone."""
    for name in ("risk_tiers", "tasks", "teams"):
        before, after = set(getattr(old, name)), set(getattr(new, name))
        if after and (not before or not after >= before):
            return True
    return False


def _apply_overlay(rules: dict[str, ResolvedRule], pdoc: PolicyDoc) -> None:
    """Overrides, then disables, then additions: each may only tighten unless the rule allows relaxing."""
    spec = pdoc.spec
    assert isinstance(spec, PolicyOverlay)
    for rule_id, override in spec.overrides.items():
        rules[rule_id] = _override(_target(rules, rule_id, pdoc, "overrides", "overridden"), override, pdoc)
    for rule_id, disable in spec.disable.items():
        current = _target(rules, rule_id, pdoc, "disable", "disabled")
        if not current.allow_relax:
            raise pdoc.error(f"disabling relaxes rule {rule_id}, which does not allow relaxing", ("disable", rule_id))
        rules[rule_id] = replace(
            current,
            enabled=False,
            disabled_by=pdoc.label,
            justification=disable.justification,
            provenance={**current.provenance, "enabled": pdoc.label},
        )
    for i, rule in enumerate(spec.add):
        if rule.id in rules:
            raise pdoc.error(f"adds rule {rule.id!r}, which already exists", ("add", i, "id"))
        rules[rule.id] = _from_rule(rule, pdoc, ("add", i))


def _target(rules: dict[str, ResolvedRule], rule_id: str, pdoc: PolicyDoc, section: str, done: str) -> ResolvedRule:
    """The rule an overlay's `overrides` / `disable` entry names: it must exist and not be locked."""
    key: KeyPath = (section, rule_id)
    current = rules.get(rule_id)
    if current is None:
        verb = "overrides" if section == "overrides" else "disables"
        raise pdoc.error(f"{verb} unknown rule {rule_id!r}", key)
    if current.locked:
        raise pdoc.error(f"rule {rule_id} is locked in {current.defined_in}; it cannot be {done}", key)
    return current


def _override(current: ResolvedRule, override: RuleOverride, pdoc: PolicyDoc) -> ResolvedRule:
    rule_id = current.id
    key: KeyPath = ("overrides", rule_id)
    prov = dict(current.provenance)
    changes: dict[str, Any] = {}
    if override.severity is not None and override.severity != current.severity:
        if relaxes_severity(current.severity, override.severity) and not current.allow_relax:
            raise pdoc.error(
                f"lowers severity {current.severity} -> {override.severity}, but rule {rule_id} "
                "does not allow relaxing",
                (*key, "severity"),
            )
        changes["severity"] = override.severity
        prov["severity"] = pdoc.label
    if override.params is not None:
        changes["params"] = _override_params(current, override.params, pdoc, key)
        for name in override.params:
            prov[f"params.{name}"] = pdoc.label
    if override.applies_to is not None:
        if _scope_relaxed(current.applies_to, override.applies_to) and not current.allow_relax:
            raise pdoc.error(f"narrows the scope, but rule {rule_id} does not allow relaxing", (*key, "applies_to"))
        changes["applies_to"] = override.applies_to
        prov["applies_to"] = pdoc.label
    if override.controls:  # controls only accumulate: dropping one would relax the mapping
        added = tuple(c for c in dict.fromkeys(override.controls) if c not in current.controls)
        changes["controls"] = current.controls + added
        prov["controls"] = pdoc.label
    return replace(current, provenance=prov, **changes)


def _override_params(current: ResolvedRule, params: Mapping[str, Any], pdoc: PolicyDoc, key: KeyPath) -> dict[str, Any]:
    model = _params_model(current.check, pdoc, key)
    old = model.model_validate(dict(current.params))
    new = _validate_params(current.check, {**current.params, **params}, pdoc, (*key, "params"))
    relaxed = relaxed_params(model, old, new)
    if relaxed and not current.allow_relax:
        raise pdoc.error(
            f"relaxes {', '.join(relaxed)}, but rule {current.id} does not allow relaxing",
            (*key, "params", relaxed[0]),
        )
    return new.model_dump(mode="json")


def _from_rule(rule: Rule, pdoc: PolicyDoc, key: KeyPath) -> ResolvedRule:
    model = rule_kinds()[rule.check][1]
    params = model.model_validate(rule.params).model_dump(mode="json")
    return ResolvedRule(
        id=rule.id,
        title=rule.title,
        check=rule.check,
        params=params,
        severity=rule.severity,
        applies_to=rule.applies_to,
        guideline=rule.guideline,
        description=rule.description,
        locked=rule.locked,
        allow_relax=rule.allow_relax,
        waivable=rule.waivable,
        defined_in=pdoc.label,
        provenance={"rule": pdoc.label, "severity": pdoc.label, "applies_to": pdoc.label}
        | {f"params.{k}": pdoc.label for k in params}
        | ({"controls": pdoc.label} if rule.controls else {}),
        source_path=str(pdoc.doc.path),
        source_line=pdoc.doc.line_of(key),
        controls=tuple(dict.fromkeys(rule.controls)),
    )


def layers_for(library: PolicyLibrary, *, team: str | None = None, policy_set: str | None = None) -> list[PolicyDoc]:
    """The documents `resolve` applies for `team`, from the base set up to the team's overlay."""
    return _chain(library, _select_top(library, team, policy_set))


def resolve(library: PolicyLibrary, *, team: str | None = None, policy_set: str | None = None) -> ResolvedPolicy:
    """The effective rules for `team` (its overlay chain, or the base set if it has none)."""
    chain = layers_for(library, team=team, policy_set=policy_set)
    base = chain[0]
    assert isinstance(base.spec, PolicySet)
    rules = {r.id: _from_rule(r, base, ("rules", i)) for i, r in enumerate(base.spec.rules)}
    max_days = base.spec.waivers.max_days
    for overlay in chain[1:]:
        _apply_overlay(rules, overlay)
        max_days = _waiver_max_days(max_days, overlay)
    sources = tuple(SourceFile(d.rel, sha256_hex(d.doc.raw)) for d in chain)
    return ResolvedPolicy(
        name=base.spec.name,
        version=base.spec.version,
        team=team,
        layers=tuple(d.label for d in chain),
        rules=tuple(rules.values()),
        sources=sources,
        root=library.root,
        waiver_max_days=max_days,
    )


def _waiver_max_days(current: int | None, pdoc: PolicyDoc) -> int | None:
    """An overlay may shorten the longest allowed waiver, never lengthen or remove it."""
    spec = pdoc.spec
    assert isinstance(spec, PolicyOverlay)
    new = spec.waivers.max_days if spec.waivers else None
    if new is None:
        return current
    if current is not None and new > current:
        raise pdoc.error(
            f"lengthens waivers.max_days {current} -> {new}; overlays may only shorten it", ("waivers", "max_days")
        )
    return new


def load_policy(
    path: Path, *, team: str | None = None, policy_set: str | None = None, controls: Path | None = None
) -> ResolvedPolicy:
    return resolve(load_library(path, controls=controls), team=team, policy_set=policy_set)
