"""The privacy check: measure PII evidence, protected features, proxies and k-anonymity once;
rules judge them with their own thresholds."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar, cast

from pydantic import Field

from govkit.checks.interface import Check, CheckContext, Measurement, Outcome, OutcomeStatus, RuleParams
from govkit.checks.privacy.detectors import ColumnScanner, protected_by_name, tokens
from govkit.checks.privacy.measurement import (
    DATASETS,
    Dataset,
    KAnonymity,
    PiiColumn,
    PiiDataset,
    PrivacyMeasurement,
    ProtectedFeature,
)
from govkit.checks.privacy.sampling import DEFAULT_SAMPLE, batches, column_labels, scan
from govkit.checks.proxies import proxy_scores
from govkit.datasets import read_columns
from govkit.errors import PolicyError
from govkit.evaluation import AREA_TITLES
from govkit.manifest import LoadedManifest


class PiiParams(RuleParams):
    datasets: tuple[Dataset, ...] = Field(
        default=("training", "evaluation"), json_schema_extra={"stricter": "superset"}
    )
    min_match_rate: float = Field(
        default=0.5,
        gt=0,
        le=1,
        json_schema_extra={"stricter": "lower"},
        description="share of values that must look like one PII type",
    )
    min_free_text_rate: float = Field(
        default=0.05,
        gt=0,
        le=1,
        json_schema_extra={"stricter": "lower"},
        description="share of free-text values embedding PII that flags the column",
    )
    max_columns: int = Field(default=0, ge=0, json_schema_extra={"stricter": "lower"})


class DeclaredParams(RuleParams):
    datasets: tuple[Dataset, ...] = Field(
        default=("training", "evaluation"), json_schema_extra={"stricter": "superset"}
    )
    min_match_rate: float = Field(default=0.2, gt=0, le=1, json_schema_extra={"stricter": "higher"})


class ProtectedParams(RuleParams):
    extra_names: tuple[str, ...] = Field(
        default=(),
        json_schema_extra={"stricter": "superset"},
        description="more column names to treat as protected attributes",
    )


class ProxyParams(RuleParams):
    max_association: float = Field(default=0.5, ge=0, le=1, json_schema_extra={"stricter": "lower"})


class KAnonymityParams(RuleParams):
    k: int = Field(default=5, ge=2, json_schema_extra={"stricter": "higher"})
    quasi_identifiers: tuple[str, ...] | None = Field(
        default=None,
        json_schema_extra={"stricter": "superset-or-default"},
        description="default: each dataset's declared ones",
    )
    max_share_below_k: float = Field(default=0.0, ge=0, le=1, json_schema_extra={"stricter": "lower"})
    datasets: tuple[Dataset, ...] = Field(default=("training",), json_schema_extra={"stricter": "superset"})


def _declared_datasets(manifest: LoadedManifest, names: set[Dataset]) -> list[Dataset]:
    return [n for n in DATASETS if n in names and getattr(manifest.spec.datasets, n) is not None]


def _pii_measure(ctx: CheckContext, names: set[Dataset]) -> dict[str, PiiDataset]:
    out: dict[str, PiiDataset] = {}
    sample = None if ctx.options.full_scan else DEFAULT_SAMPLE
    for name in _declared_datasets(ctx.manifest, names):
        spec = getattr(ctx.manifest.spec.datasets, name)
        path = ctx.manifest.resolve(spec.path)
        columns = column_labels(read_columns(path, spec.format))
        scanners = {c: ColumnScanner(c, ctx.options.as_of) for c in columns}
        result = scan(path, columns, scanners, sample=sample, declared=spec.format)
        reports: list[PiiColumn] = []
        for column in columns:
            ev = scanners[column].evidence()
            best, share = ev.best()
            reports.append(
                {
                    "column": column,
                    "scanned": ev.scanned,
                    "non_null": result.non_null[column],
                    "name_signal": ev.name_signal,
                    "types": ev.shares,
                    "best": best,
                    "share": share,
                    "free_text_share": ev.free_text_share,
                    "embedded": ev.embedded,
                    "examples": ev.examples,
                }
            )
        out[name] = {
            "path": spec.path,
            "rows": result.rows,
            "bytes": result.bytes,
            "declared": list(spec.pii),
            "columns": reports,
        }
    return out


def _qi_sets(ctx: CheckContext) -> list[tuple[Dataset, tuple[str, ...]]]:
    sets: list[tuple[Dataset, tuple[str, ...]]] = []
    for kind, params in ctx.params:
        if kind != "privacy.k_anonymity":
            continue
        assert isinstance(params, KAnonymityParams)
        for name in _declared_datasets(ctx.manifest, set(params.datasets)):
            spec = getattr(ctx.manifest.spec.datasets, name)
            qis = params.quasi_identifiers or spec.quasi_identifiers
            if not qis:
                continue
            columns = set(read_columns(ctx.manifest.resolve(spec.path), spec.format))
            unknown = [q for q in qis if q not in columns]
            if unknown:
                raise PolicyError(
                    f"quasi-identifier {unknown[0]!r} is not a column of {spec.path}",
                    file=ctx.manifest.path,
                    field=f"datasets.{name}.quasi_identifiers",
                )
            if (name, tuple(qis)) not in sets:
                sets.append((name, tuple(qis)))
    return sets


def _k_anonymity(ctx: CheckContext) -> list[KAnonymity]:
    """Equivalence-class sizes over the quasi-identifiers, streamed, as a histogram any k can be read from."""
    results: list[KAnonymity] = []
    for name, qis in _qi_sets(ctx):
        spec = getattr(ctx.manifest.spec.datasets, name)
        counts: Counter[tuple[Any, ...]] = Counter()
        rows = 0
        for batch in batches(ctx.manifest.resolve(spec.path), qis, spec.format):
            frame = batch.to_pandas().fillna("(missing)")
            rows += len(frame)
            counts.update(frame.value_counts(list(qis)).to_dict())
        sizes = sorted(Counter(int(n) for n in counts.values()).items())
        results.append(
            {
                "dataset": name,
                "quasi_identifiers": list(qis),
                "rows": rows,
                "classes": len(counts),
                "smallest": int(min(counts.values(), default=0)),
                "histogram": [[size, n] for size, n in sizes],
            }
        )
    return results


def _protected(ctx: CheckContext) -> list[ProtectedFeature]:
    spec = ctx.manifest.spec
    ds = spec.datasets.evaluation
    if ds is None:
        return []
    extra = {n.lower() for kind, p in ctx.params if isinstance(p, ProtectedParams) for n in p.extra_names}
    found: list[ProtectedFeature] = []
    for feature in ds.features:
        if feature in spec.sensitive_features:
            found.append({"feature": feature, "reason": "listed in sensitive_features"})
        elif protected_by_name(feature) or tokens(feature) & extra:
            found.append({"feature": feature, "reason": "name maps to a protected attribute"})
    return found


def _flagged(column: PiiColumn, p: PiiParams) -> str | None:
    if column["best"] and column["share"] >= p.min_match_rate:
        return f"{column['column']} ({column['best']}, {column['share']:.0%} of {column['scanned']:,} values)"
    if column["free_text_share"] >= p.min_free_text_rate:
        return (
            f"{column['column']} (free text containing {', '.join(column['embedded'])}, "
            f"{column['free_text_share']:.0%})"
        )
    return None


class PrivacyCheck(Check):
    name = "privacy"
    title = AREA_TITLES["privacy"]
    rule_kinds: ClassVar[dict[str, type[RuleParams]]] = {
        "privacy.no_undeclared_pii": PiiParams,
        "privacy.declared_pii_present": DeclaredParams,
        "privacy.no_protected_features": ProtectedParams,
        "privacy.proxy_features": ProxyParams,
        "privacy.k_anonymity": KAnonymityParams,
    }

    def measure(self, ctx: CheckContext) -> Measurement:
        names = {d for _, p in ctx.params if isinstance(p, PiiParams | DeclaredParams) for d in p.datasets}
        data: PrivacyMeasurement = {
            "sample_size": None if ctx.options.full_scan else DEFAULT_SAMPLE,
            "full_scan": ctx.options.full_scan,
            "datasets": _pii_measure(ctx, names) if names else {},
        }
        if "privacy.no_protected_features" in ctx.kinds:
            data["protected_features"] = _protected(ctx)
        if "privacy.proxy_features" in ctx.kinds:
            data["proxies"] = proxy_scores(ctx.manifest)
        if "privacy.k_anonymity" in ctx.kinds:
            data["k_anonymity"] = _k_anonymity(ctx)
        return Measurement(self.name, data)

    def locate(self, kind: str, subject: str) -> tuple[str | int, ...] | None:
        if subject.startswith("dataset:"):
            name = subject.split(":", 1)[1].split("[", 1)[0]
            return ("datasets", name, "quasi_identifiers" if kind == "privacy.k_anonymity" else "path")
        return ("datasets", "evaluation", "features")

    def judge(self, kind: str, params: RuleParams, measurement: Measurement) -> list[Outcome]:
        data = cast(PrivacyMeasurement, measurement.data)
        if isinstance(params, PiiParams | DeclaredParams):
            return [
                self._judge_dataset(kind, params, name, info)
                for name, info in data["datasets"].items()
                if name in params.datasets
            ] or [Outcome("datasets", "error", "no dataset to scan")]
        if isinstance(params, ProtectedParams):
            found = data["protected_features"]
            if not found:
                return [Outcome("features", "pass", "no protected attribute among the model's features", measured=0)]
            listed = "; ".join(f"{f['feature']} ({f['reason']})" for f in found)
            return [
                Outcome(
                    "features",
                    "fail",
                    f"protected attributes used as features: {listed}",
                    measured=len(found),
                    threshold=0,
                )
            ]
        if isinstance(params, ProxyParams):
            over = [s for s in data["proxies"] if s["score"] > params.max_association]
            top = data["proxies"][0] if data["proxies"] else None
            if not over:
                best = f"; strongest {top['feature']}~{top['sensitive']} {top['score']:.3f}" if top else ""
                return [
                    Outcome(
                        "features",
                        "pass",
                        f"no feature associated above {params.max_association}{best}",
                        measured=top["score"] if top else 0.0,
                        threshold=params.max_association,
                    )
                ]
            listed = "; ".join(f"{s['feature']}~{s['sensitive']} {s['score']:.3f} ({s['method']})" for s in over)
            return [
                Outcome(
                    "features",
                    "fail",
                    f"proxy features for sensitive attributes: {listed}",
                    measured=over[0]["score"],
                    threshold=params.max_association,
                )
            ]
        assert isinstance(params, KAnonymityParams)
        return self._judge_k(params, data["k_anonymity"])

    @staticmethod
    def _judge_dataset(kind: str, p: PiiParams | DeclaredParams, name: str, info: PiiDataset) -> Outcome:
        subject = f"dataset:{name}"
        if isinstance(p, PiiParams):
            flagged = [(c["column"], text) for c in info["columns"] if (text := _flagged(c, p))]
            undeclared = [text for column, text in flagged if column not in info["declared"]]
            status: OutcomeStatus = "fail" if len(undeclared) > p.max_columns else "pass"
            message = (
                f"{name}: {len(undeclared)} undeclared PII column(s): {'; '.join(undeclared)}"
                if undeclared
                else f"{name}: no undeclared PII ({len(flagged)} declared PII column(s) found)"
            )
            return Outcome(subject, status, message, measured=len(undeclared), threshold=p.max_columns)
        by_column = {c["column"]: c for c in info["columns"]}
        absent = [
            col
            for col in info["declared"]
            if by_column[col]["share"] < p.min_match_rate and by_column[col]["free_text_share"] < 0.01
        ]
        if absent:
            return Outcome(
                subject,
                "fail",
                f"{name}: declared as PII but no PII found in: {', '.join(absent)}",
                measured=len(absent),
                threshold=0,
            )
        return Outcome(
            subject,
            "pass",
            f"{name}: all {len(info['declared'])} declared PII column(s) hold PII",
            measured=0,
            threshold=0,
        )

    @staticmethod
    def _judge_k(p: KAnonymityParams, results: list[KAnonymity]) -> list[Outcome]:
        wanted = [
            r
            for r in results
            if r["dataset"] in p.datasets
            and (p.quasi_identifiers is None or tuple(r["quasi_identifiers"]) == tuple(p.quasi_identifiers))
        ]
        if not wanted:
            return [Outcome("datasets", "warn", "no quasi-identifiers declared; k-anonymity not measured")]
        outcomes = []
        for r in wanted:
            below = sum(size * n for size, n in r["histogram"] if size < p.k)
            share = below / r["rows"] if r["rows"] else 0.0
            subject = f"dataset:{r['dataset']}[{','.join(r['quasi_identifiers'])}]"
            text = (
                f"{r['dataset']}: smallest class {r['smallest']} over {', '.join(r['quasi_identifiers'])}; "
                f"{share:.2%} of {r['rows']:,} rows in classes smaller than k={p.k}"
            )
            status: OutcomeStatus = "fail" if share > p.max_share_below_k else "pass"
            outcomes.append(
                Outcome(
                    subject,
                    status,
                    text,
                    measured=round(share, 6),
                    threshold={"k": p.k, "max_share_below_k": p.max_share_below_k},
                )
            )
        return outcomes
