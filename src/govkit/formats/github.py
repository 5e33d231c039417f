"""GitHub Actions workflow commands: one annotation per finding that needs attention.

Every user string goes through `_data` (message) or `_prop` (file, title): the escaping GitHub's
own toolkit applies, then `printable` for other control characters. A newline in a model name
can never start a line, so it can never start a `::command::` of its own.
"""

from __future__ import annotations

from govkit.evaluation import Evaluation, Finding
from govkit.formats.common import detail, order, printable
from govkit.formats.interface import Formatter
from govkit.vocab import ATTENTION


def _data(text: object) -> str:
    escaped = str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return printable(escaped)


def _prop(text: object) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _command(f: Finding) -> str:
    level = "error" if f.blocking or f.status == "error" else "warning"
    props = []
    loc = f.location or {}
    if loc.get("file"):
        props.append(f"file={_prop(str(loc['file']))}")
        if loc.get("line"):
            props.append(f"line={loc['line']}")
    props.append(f"title={_prop(f'{f.rule_id} {f.title}')}")
    guideline = f" ({f.guideline})" if f.guideline else ""
    text = detail(f) if detail(f).startswith(f.subject) else f"[{f.subject}] {detail(f)}"
    return f"::{level} {','.join(props)}::{_data(text + guideline)}"


class GithubFormatter(Formatter):
    name = "github"
    suffix = ".github.txt"

    def render(self, evaluation: Evaluation, *, digest: str | None = None, color: bool = False) -> str:
        lines = [_command(f) for f in sorted(evaluation.findings, key=order) if f.status in ATTENTION]
        lines += [
            f"::notice title={_prop('govkit waiver expiring')}::{_data(f'{w.id} ({w.rule}) expires {w.expires}')}"
            for w in evaluation.waivers
            if w.expiring_soon
        ]
        m = evaluation.model
        lines.append(f"govkit: {evaluation.verdict.upper()} {printable(m['name'])} {printable(m['version'])}")
        return "\n".join(lines) + "\n"
