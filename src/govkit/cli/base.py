"""What every command group shares: error handling, colour and CI detection, progress, common options.

A command module imports from here, never from another command module (except `monitor`, which
reuses `check`), so a new group is one module plus one line in `govkit/cli/__init__.py`.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click

from govkit.errors import EXIT_INPUT_ERROR, EXIT_INTERNAL_ERROR, GovkitError
from govkit.formats.interface import FORMATS
from govkit.vocab import SEVERITIES

SEVERITY_CHOICE = click.Choice(SEVERITIES)


def color(stream: Any) -> bool:
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


class GovkitGroup(click.Group):
    """Turns GovkitError into one line on stderr and exit 2; anything else into exit 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except GovkitError as exc:
            if debug(ctx):
                traceback.print_exc()
            fail(f"error: {exc}", exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:
            if debug(ctx):
                traceback.print_exc()
            if isinstance(exc, ModuleNotFoundError) and (extra := missing_extra(exc)):
                fail(f"error: govkit {ctx.invoked_subcommand} needs {extra}", EXIT_INPUT_ERROR)
            fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", EXIT_INTERNAL_ERROR)


# top-level module -> the extra that installs it ([project.optional-dependencies] in pyproject.toml)
EXTRA_OF_MODULE = {
    "scipy": "fairness",
    "shap": "explain",
    "weasyprint": "pdf",
    "jinja2": "pdf",
    "pyhanko": "pdf",
    "pyhanko_certvalidator": "pdf",
    "sqlite_utils": "audit",
    "cryptography": "audit",
    "psycopg": "audit",
    "duckdb": "duckdb",
    "pyspark": "spark",
    "lightgbm": "lightgbm",
    "onnxruntime": "onnx",
    "starlette": "web",
    "uvicorn": "web",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """What to install when an optional library is missing: the command stops there, not in a traceback."""
    module = (exc.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    hint = " (or run `govkit check` with --no-log)" if extra == "audit" else ""
    return f"{module}, which is not installed: pip install 'govkit[{extra}]'{hint}"


def debug(ctx: click.Context) -> bool:
    return bool(ctx.obj and ctx.obj.get("debug")) or os.environ.get("GOVKIT_DEBUG") == "1"


def fail(message: str, code: int) -> NoReturn:
    from govkit.formats.common import printable  # errors quote file names and values: no terminal escapes

    click.echo(printable(message), err=True)
    sys.exit(code)


def quiet_pdf_libraries() -> None:
    """pyHanko logs warnings, some with tracebacks, about odd PDFs and certificates; govkit reports
    each problem itself as one line, so their logs reach stderr only with --debug."""
    import logging

    if debug(click.get_current_context()):
        return
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


@contextmanager
def progress(title: str) -> Iterator[None]:
    """A transient spinner on stderr for interactive terminals; silent in CI and pipes."""
    if not sys.stderr.isatty() or in_ci():
        yield
        return
    from rich.console import Console

    console = Console(stderr=True, no_color="NO_COLOR" in os.environ)
    with console.status(f"measuring {title}…"):
        yield


def parse_date(_: Any, __: Any, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def option_value(token: str, args: list[str], i: int, long: str, short: str | None) -> tuple[str | None, int]:
    """The value of `token` if it is `long`/`short` (as `--x v`, `--x=v` or `-xv`), and the next index."""
    if token == long or (short and token == short):
        return (args[i + 1] if i + 1 < len(args) else None), i + 2
    if token.startswith(long + "="):
        return token[len(long) + 1 :], i + 1
    if short and token.startswith(short) and len(token) > 2 and not token.startswith("--"):
        return token[2:], i + 1
    return None, i + 1


class PairedOutputCommand(click.Command):
    """Remembers the order of --format and --output, which click's `multiple=True` forgets.

    `--format sarif -o a.sarif --format github` must pair a.sarif with sarif, not with the
    first format given: each --output belongs to the nearest --format before it.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        pairs: list[list[str | None]] = []
        pending: list[str] = []
        i = 0
        while i < len(args):
            if args[i] == "--":
                break
            fmt, nxt = option_value(args[i], args, i, "--format", None)
            if fmt is not None:
                pairs.append([fmt, None])
                i = nxt
                continue
            out, nxt = option_value(args[i], args, i, "--output", "-o")
            if out is not None:
                target = next((p for p in reversed(pairs) if p[1] is None), None)
                if target is not None and target is pairs[-1]:
                    target[1] = out
                else:
                    pending.append(out)
            i = nxt
        ctx.meta["govkit.pairs"] = pairs
        ctx.meta["govkit.pending_outputs"] = pending
        return super().parse_args(ctx, args)


def plan_outputs(ctx: click.Context, output_dir: Path | None) -> list[tuple[str, Path | None]]:
    """Each --format with its --output, else a file in --output-dir, else stdout."""
    from govkit.formats.interface import get_formatter

    pairs = [list(p) for p in ctx.meta.get("govkit.pairs", [])] or [["text", None]]
    for out in ctx.meta.get("govkit.pending_outputs", []):
        target = next((p for p in pairs if p[1] is None), None)
        if target is None:
            raise click.UsageError("more --output than --format options")
        target[1] = out
    plan: list[tuple[str, Path | None]] = []
    for fmt, out in pairs:
        assert fmt is not None
        if out is not None:
            plan.append((fmt, Path(out)))
        elif output_dir is not None:
            plan.append((fmt, output_dir / f"govkit{get_formatter(fmt).suffix}"))
        else:
            plan.append((fmt, None))
    if sum(1 for _, path in plan if path is None) > 1:
        raise click.UsageError("several formats would go to standard output; give each an --output or use --output-dir")
    return plan


FORMAT_CHOICE = click.Choice(list(FORMATS))


DB_OPTION = click.option(
    "--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database (or GOVKIT_DB)."
)
POLICY_OPTION = click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_POLICY",
    default="policies",
    show_default=True,
    help="Policy folder or file (or GOVKIT_POLICY).",
)
POLICY_SET_OPTION = click.option("--policy-set", help="Base policy set, when the folder holds several.")
KEY_OPTION = click.option(
    "--key",
    "key_path",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_KEY",
    help="Key file (default: GOVKIT_KEY or ~/.config/govkit/log-signing-key.pem).",
)


class AliasedOption(click.Option):
    """An option whose old spellings still parse but no longer show in --help (e.g. `--out` for `--output`)."""

    def __init__(self, *args: Any, hidden_aliases: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hidden_aliases = hidden_aliases

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        shown = [o for o in self.opts if o not in self.hidden_aliases]
        original, self.opts = self.opts, shown
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = original


def output_option(help: str, *, required: bool = False, dest: str = "output") -> Callable[[Any], Any]:
    """`--output/-o FILE` for every command that writes one file; `--out` stays a hidden alias."""
    return click.option(
        "--output",
        "-o",
        "--out",
        dest,
        cls=AliasedOption,
        hidden_aliases=("--out",),
        type=click.Path(path_type=Path),
        required=required,
        help=help,
    )


def trusted_key_option(*, multiple: bool) -> Callable[[Any], Any]:
    """`--trusted-key`: the log's public key kept outside the database (the anchor of every verification)."""
    return click.option(
        "--trusted-key",
        "trusted_keys" if multiple else "trusted_key",
        type=click.Path(path_type=Path),
        multiple=multiple,
        envvar="GOVKIT_TRUSTED_KEY",
        help="The log's public key (PEM) kept outside the database (or GOVKIT_TRUSTED_KEY).",
    )
