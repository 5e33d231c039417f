"""JUnit XML: a testsuite per area, a testcase per rule x subject. What every CI renders.

ElementTree escapes markup; `printable`, applied to every user string, shows what XML 1.0 cannot
hold at all (control characters such as ESC or NUL), which ElementTree would write out as is.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from govkit.evaluation import AREA_TITLES, Evaluation, Finding
from govkit.formats.common import detail, order, printable
from govkit.formats.interface import Formatter


def _case(suite: ET.Element, f: Finding) -> str:
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": printable(f"govkit.{f.area}.{f.rule_id}"),
            "name": printable(f"{f.rule_id} {f.title} [{f.subject}]"),
            "time": "0",
        },
    )
    if f.location and f.location.get("file"):
        case.set("file", printable(f.location["file"]))
        if f.location.get("line"):
            case.set("line", str(f.location["line"]))
    if f.controls:  # the regulatory controls the rule evidences, one property each
        props = ET.SubElement(case, "properties")
        for ref in f.controls:
            ET.SubElement(props, "property", {"name": "control", "value": printable(ref)})
    text = printable(detail(f)) + (f"\nguideline: {printable(f.guideline)}" if f.guideline else "")
    if f.status == "fail":
        node = ET.SubElement(case, "failure", {"message": printable(detail(f)), "type": f"{f.severity}"})
        node.text = text
        return "failures"
    if f.status == "error":
        ET.SubElement(case, "error", {"message": printable(f.message), "type": "check-error"}).text = text
        return "errors"
    if f.status in ("waived", "baselined", "skipped"):
        ET.SubElement(case, "skipped", {"message": printable(f.message)})
        return "skipped"
    if f.status == "warn":
        ET.SubElement(case, "system-out").text = f"warning: {text}"
    return "passed"


class JunitFormatter(Formatter):
    name = "junit"
    suffix = ".junit.xml"

    def render(self, evaluation: Evaluation, *, digest: str | None = None, color: bool = False) -> str:
        root = ET.Element(
            "testsuites", {"name": printable(f"govkit {evaluation.model['name']} {evaluation.model['version']}")}
        )
        totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        areas: dict[str, list[Finding]] = {}
        for f in sorted(evaluation.findings, key=order):
            areas.setdefault(f.area, []).append(f)
        for area, findings in areas.items():
            suite = ET.SubElement(
                root,
                "testsuite",
                {"name": printable(AREA_TITLES.get(area, area)), "timestamp": evaluation.created_at.rstrip("Z")},
            )
            props = ET.SubElement(suite, "properties")
            for key, val in (
                ("model", f"{evaluation.model['name']}@{evaluation.model['version']}"),
                ("team", evaluation.team),
                ("policy", f"{evaluation.policy['name']} {evaluation.policy['version']}"),
                ("evaluation_digest", digest or evaluation.digest),
                ("fail_on", evaluation.fail_on),
            ):
                ET.SubElement(props, "property", {"name": key, "value": printable(val)})
            counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
            for f in findings:
                kind = _case(suite, f)
                counts["tests"] += 1
                if kind in counts:
                    counts[kind] += 1
            for key, n in counts.items():
                suite.set(key, str(n))
                totals[key] += n
        for key, n in totals.items():
            root.set(key, str(n))
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
