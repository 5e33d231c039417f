"""Each finding as one sentence an officer understands, built from the rule kind and the measurement.

One function per rule kind; a kind without one keeps the check's own message. The raw measured
value and parameters stay available elsewhere (the report's appendix, JSON); a sentence states the
result and what the policy requires, in words and percentages. Any format may use `finding_sentence`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

Finding = Mapping[str, Any]  # a recorded finding (Finding.to_dict())
Sentence = Callable[[Finding, Mapping[str, Any], Mapping[str, Any]], str | None]

METRIC_NAMES = {
    "selection_rate": "Selection rate",
    "tpr": "True positive rate",
    "fpr": "False positive rate",
    "fnr": "False negative rate",
    "precision": "Precision",
    "accuracy": "Accuracy",
    "auc": "AUC",
    "scoring_rate": "Share scored above the median",
}
PERCENT = frozenset({"selection_rate", "tpr", "fpr", "fnr", "precision", "accuracy", "scoring_rate"})


def _subject(subject: str) -> str:
    kind, _, name = subject.partition(":")
    if kind == "dataset" and name:
        return f"The {name} dataset"
    if kind == "model" and name:
        return f"The model {name}"
    if kind == "dependency" and name:
        return f"Dependency {name}"
    return subject


def _pct(v: float) -> str:
    return f"{v:.0%}" if abs(v * 100 - round(v * 100)) < 0.05 else f"{v:.1%}"


def _fairness(f: Finding, measurements: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    from govkit.checks.fairness.check import DEFAULT_MIN_GROUP_SIZE, _gap  # the rule's own pairing

    t, measured = f["threshold"], f["measured"]
    if not isinstance(t, Mapping) or "metric" not in t or not isinstance(measured, int | float):
        return None
    metric, method = t["metric"], t.get("method", "between_groups")
    name = METRIC_NAMES.get(metric, str(metric))
    how: Literal["difference", "ratio"] = "ratio" if "min" in t else "difference"
    tables = (measurements.get("fairness") or {}).get("tables", [])
    table = next((x for x in tables if x["feature"] == f["subject"]), None)
    gap = None
    if table is not None:
        size = params.get("min_group_size", DEFAULT_MIN_GROUP_SIZE)
        keep = [g for g in table["groups"] if g["n"] >= size]
        gap = _gap(table, metric, how, method, keep, measurements["fairness"]["overall"])
        if gap is not None and abs(gap.value - measured) > 1e-9:
            gap = None  # not the pair the rule judged (parameters unknown): say less rather than guess
    show = _pct if metric in PERCENT else (lambda v: f"{v:.3f}")
    feature = f["subject"]
    if how == "ratio":
        need = f"policy requires at least {_pct(t['min'])}"
        if gap is None:
            return f"The lowest {name.lower()} across {feature} is {_pct(measured)} of the comparison rate; {need}."
        if method == "between_groups":
            return (
                f"{name} for {feature} {gap.low} ({show(gap.low_value)}) is {_pct(measured)} of the highest "
                f"group's rate ({gap.high}, {show(gap.high_value)}); {need}."
            )
        return f"{name} for {feature} {gap.high} is {_pct(measured)} of the overall rate in ratio terms; {need}."
    limit = t["max"]
    if metric in PERCENT:
        size_text, allow = f"{measured * 100:.1f} percentage points", f"{limit * 100:.1f} points"
    else:
        size_text, allow = f"{measured:.3f}", f"{limit:.3f}"
    unsure = f["status"] == "warn" and "not significant" in f["message"]
    tail = " The gap is not statistically significant." if unsure else ""
    if gap is None:
        return f"{name} differs by {size_text} across {feature}; policy allows at most {allow}.{tail}"
    if method == "between_groups":
        return (
            f"{name} is {show(gap.high_value)} for {feature} {gap.high} and {show(gap.low_value)} for {gap.low}, "
            f"a gap of {size_text}; policy allows at most {allow}.{tail}"
        )
    return (
        f"{name} for {feature} {gap.high} is {show(gap.high_value)} against {show(gap.low_value)} overall, "
        f"a gap of {size_text}; policy allows at most {allow}.{tail}"
    )


def _licence(f: Finding, measurements: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    t, expr = f["threshold"], f["measured"]
    if not isinstance(expr, str) or not isinstance(t, Mapping):
        return None
    who = _subject(f["subject"])
    traits = ", ".join(t.get("deny_traits", [])) or "no"
    if expr == "UNKNOWN":
        return f"{who} has no licence govkit can identify; policy treats an unknown licence as {t.get('unknown')}."
    if f["status"] == "pass":
        return f"{who} is licensed {expr}, which policy allows."
    reason = f["message"].rsplit("': ", 1)[-1].split(" [waived", 1)[0]
    return f"{who} is licensed {expr} ({reason}); policy does not allow {traits} licences."


def _undeclared_pii(f: Finding, measurements: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    n, most = f["measured"], f["threshold"]
    if not isinstance(n, int) or not isinstance(most, int):
        return None
    data = _subject(f["subject"]).removeprefix("The ").replace(" dataset", " data")
    if n == 0:
        return f"The {data} holds no personal data beyond the columns declared in the manifest."
    detail = f["message"].split("column(s): ", 1)[-1]
    return (
        f"The {data} holds {n} column(s) of personal data not declared in the manifest ({detail}); "
        f"policy allows {most}."
    )


def _proxy(f: Finding, measurements: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    m, t = f["measured"], f["threshold"]
    if not isinstance(m, int | float) or not isinstance(t, int | float):
        return None
    return (
        f"The strongest association between a model feature and a protected attribute is {m:.2f}; "
        f"policy allows at most {t:.2f}."
    )


def _k_anonymity(f: Finding, measurements: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    m, t = f["measured"], f["threshold"]
    if not isinstance(m, int | float) or not isinstance(t, Mapping):
        return None
    return (
        f"{m:.2%} of the rows share their quasi-identifiers with fewer than {t['k'] - 1} other rows "
        f"(k-anonymity, k={t['k']}); policy allows at most {t['max_share_below_k']:.2%}."
    )


def _share(what: str) -> Sentence:
    def sentence(f: Finding, measurements: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
        m, t = f["measured"], f["threshold"]
        limit = t.get("max") if isinstance(t, Mapping) else t
        if not isinstance(m, int | float) or not isinstance(limit, int | float):
            return None
        return f"{what} {_pct(m)} of the model's attribution; policy allows at most {_pct(limit)}."

    return sentence


def _stability(f: Finding, measurements: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    m, t = f["measured"], f["threshold"]
    if not isinstance(m, int | float) or not isinstance(t, int | float):
        return None
    return (
        f"Feature-importance ranks from two halves of the sample agree with Kendall tau {m:.2f}; "
        f"policy requires at least {t:.2f}."
    )


SENTENCES: dict[str, Sentence] = {
    "fairness.demographic_parity_difference": _fairness,
    "fairness.demographic_parity_ratio": _fairness,
    "fairness.equalized_odds_difference": _fairness,
    "fairness.equal_opportunity_difference": _fairness,
    "fairness.group_metric": _fairness,
    "license.model": _licence,
    "license.datasets": _licence,
    "license.dependencies": _licence,
    "privacy.no_undeclared_pii": _undeclared_pii,
    "privacy.proxy_features": _proxy,
    "privacy.k_anonymity": _k_anonymity,
    "explainability.max_single_feature_share": _share("The most influential feature carries"),
    "explainability.protected_attribution_share": _share("Protected attributes and their proxies carry"),
    "explainability.stability": _stability,
}


def finding_sentence(f: Finding, measurements: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> str:
    """The sentence for a recorded finding; `params` are its rule's parameters in force, if known.

    Errors and skips keep the check's message (it says what went wrong), and so does any kind
    without a sentence of its own or whose measurement has an unexpected shape.
    """
    if f["status"] not in ("error", "skipped") and (make := SENTENCES.get(f["check"])):
        try:
            text = make(f, measurements, params or {})
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            text = None
        if text:
            return text
    return str(f["message"])
