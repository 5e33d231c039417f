"""Report templates: govkit's default and an organisation's own, which extends it.

An organisation template is a folder with a `report.html.j2` that starts with
`{% extends "govkit/report.html.j2" %}` and overrides blocks, plus its assets (CSS, logo, fonts).
It is untrusted input like a manifest: it renders in jinja2's immutable sandbox with autoescape on,
it can load templates only from its own folder and govkit's, the PDF renderer may fetch only files
of those folders (fetcher.py), and any mistake is one line `file:line: what` (exit 2).
"""

from __future__ import annotations

import base64
import mimetypes
import re
import traceback
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govkit.errors import GovkitError
from govkit.report.charts import fit

if TYPE_CHECKING:
    from jinja2 import Environment, Template

    from govkit.report.sections.interface import ReportSection

LAYOUT = "report.html.j2"
DEFAULT_PREFIX = "govkit"
MAX_TEMPLATE_BYTES = 1 << 20  # per template file; govkit's own largest is ~12 KiB


class TemplateError(GovkitError):
    """A report template folder is missing, malformed or asks for something it may not."""


def default_template_dir() -> Path:
    """The default report template: in the wheel (`govkit/_templates/report`) or the checkout's templates/report."""
    packaged = Path(str(resources.files("govkit"))) / "_templates" / "report"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "templates" / "report"
    if checkout.is_dir():
        return checkout
    raise GovkitError("the default report template is missing (reinstall govkit)")


def safe_url(url: object) -> str | None:
    """Only http(s) links from user input become links; anything else (javascript:, file:) stays text."""
    text = str(url or "")
    return text if re.match(r"^https?://[^\s<>\"']+$", text) else None


def confined_loader() -> Any:
    """A FileSystemLoader that will not follow a symlink out of its folder (a template folder from a
    repository could otherwise include ~/.ssh/id_rsa into the report), nor read a huge file: the path
    is resolved, confined and size-checked before anything is opened."""
    from jinja2 import FileSystemLoader, TemplateNotFound
    from jinja2.loaders import split_template_path

    class ConfinedLoader(FileSystemLoader):
        def get_source(self, environment: Any, template: str) -> Any:
            pieces = split_template_path(template)
            for root in self.searchpath:
                filename = str(Path(root).joinpath(*pieces))
                real = Path(filename).resolve()
                if real.is_relative_to(Path(root).resolve()) and real.is_file():
                    break
            else:
                raise TemplateNotFound(template)
            stat = real.stat()
            if stat.st_size > MAX_TEMPLATE_BYTES:
                raise TemplateError(f"template {template!r} is larger than {MAX_TEMPLATE_BYTES >> 20} MiB; refused")
            with real.open("rb") as handle:
                data = handle.read(MAX_TEMPLATE_BYTES + 1)
            if len(data) > MAX_TEMPLATE_BYTES:  # it grew since the check
                raise TemplateError(f"template {template!r} is larger than {MAX_TEMPLATE_BYTES >> 20} MiB; refused")
            try:
                source = data.decode(self.encoding)
            except UnicodeDecodeError:
                raise TemplateError(f"template {template!r} is not {self.encoding} text", file=filename) from None
            return source, filename, lambda: _unchanged(real, stat.st_mtime_ns)

    return ConfinedLoader


def _unchanged(path: Path, mtime_ns: int) -> bool:
    try:
        return path.stat().st_mtime_ns == mtime_ns
    except OSError:
        return False


class ReportTemplate:
    """The folders a report renders from: an optional organisation folder over govkit's default."""

    def __init__(self, folder: Path | None = None, sections: Sequence[ReportSection] = ()) -> None:
        self.default = default_template_dir()
        self.folder = folder.resolve() if folder is not None else None
        if self.folder is not None and not (self.folder / LAYOUT).is_file():
            raise TemplateError(f"a report template folder needs a {LAYOUT}", file=folder)
        self.plugin_dirs = {s.id: s.template_dir for s in sections if s.template_dir is not None}

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.default, *([self.folder] if self.folder else []), *self.plugin_dirs.values())

    def environment(self) -> Environment:
        from jinja2 import ChoiceLoader, PrefixLoader, StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        FileSystemLoader = confined_loader()

        own = [FileSystemLoader(self.folder)] if self.folder else []
        plugins = PrefixLoader({sid: FileSystemLoader(d) for sid, d in self.plugin_dirs.items()})
        env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader(
                [
                    *own,
                    PrefixLoader({DEFAULT_PREFIX: FileSystemLoader(self.default), "plugins": plugins}),
                    FileSystemLoader(self.default),
                ]
            ),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["safe_url"] = safe_url
        env.filters["fit"] = lambda text, room, size: fit(str(text), float(room), float(size))
        return env

    def asset_path(self, name: str) -> Path:
        for root in (self.folder, self.default):
            if root is None:
                continue
            path = (root / name).resolve()
            if path.is_relative_to(root) and path.is_file():
                return path
        raise TemplateError(f"asset {name!r} is not a file in the template folder", file=self.folder or self.default)

    def asset_url(self, name: str, *, inline: bool) -> str:
        """A file: URL the PDF fetcher will serve, or (for the self-contained HTML) a data: URL."""
        path = self.asset_path(name)
        if not inline:
            return path.as_uri()
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

    def load(self, env: Environment) -> Template:
        """The layout, after checking that the organisation's blocks all exist in govkit's layout."""
        from jinja2 import TemplateError as JinjaError

        try:
            layout = env.get_template(LAYOUT)
            if self.folder is not None:
                known = set(env.get_template(f"{DEFAULT_PREFIX}/{LAYOUT}").blocks)
                for name in layout.blocks:
                    if name not in known:
                        source = (self.folder / LAYOUT).read_text(encoding="utf-8")
                        found = re.search(r"{%-?\s*block\s+" + re.escape(name) + r"\b", source)
                        line = source.count("\n", 0, found.start()) + 1 if found else None
                        raise TemplateError(
                            f"block {name!r} is not a block of govkit's report layout "
                            f"(it has: {', '.join(sorted(known))})",
                            file=self.folder / LAYOUT,
                            line=line,
                        )
        except JinjaError as exc:
            raise self.error(exc) from None
        return layout

    def render(self, layout: Template, context: Mapping[str, Any]) -> str:
        from jinja2 import TemplateError as JinjaError

        try:
            return layout.render(**context)
        except (JinjaError, TemplateError, TypeError, ValueError, AttributeError) as exc:
            raise self.error(exc) from None

    def error(self, exc: BaseException) -> TemplateError:
        """One line with the template file and line: from a syntax error, else from the traceback
        (jinja maps its frames to template lines)."""
        from jinja2 import TemplateNotFound, TemplateSyntaxError

        if isinstance(exc, TemplateSyntaxError):
            return TemplateError(exc.message or str(exc), file=exc.filename or exc.name or LAYOUT, line=exc.lineno)
        if isinstance(exc, TemplateNotFound):
            message = f"template {exc.name!r} not found (only the template folder and govkit's are searched)"
        elif isinstance(exc, GovkitError):
            message = exc.message
        else:
            message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
        if frames:
            return TemplateError(message, file=frames[-1].filename, line=frames[-1].lineno)
        return TemplateError(message, file=(self.folder or self.default) / LAYOUT)
