"""govkit command line: parse arguments, call the library, format, choose the exit code.

Heavy modules (pandas, sklearn, shap, weasyprint) are imported inside commands only, so
`govkit --help` stays fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from govkit import __version__
from govkit.checks.fairness.engines.registry import DEFAULT_DUCKDB_ABOVE, ENGINE_CHOICES, parse_size
from govkit.errors import EXIT_BLOCKING, EXIT_INPUT_ERROR, EXIT_INTERNAL_ERROR, EXIT_OK, GovkitError
from govkit.schemas import KINDS

if TYPE_CHECKING:
    from govkit.report.signoff import Decision, SignerAlgorithm

SEVERITY_CHOICE = click.Choice(["info", "low", "medium", "high", "critical"])


def _color(stream: Any) -> bool:
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


class GovkitGroup(click.Group):
    """Turns GovkitError into one line on stderr and exit 2; anything else into exit 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except GovkitError as exc:
            if _debug(ctx):
                traceback.print_exc()
            _fail(f"error: {exc}", exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except Exception as exc:
            if _debug(ctx):
                traceback.print_exc()
            if isinstance(exc, ModuleNotFoundError) and (extra := _missing_extra(exc)):
                _fail(f"error: govkit {ctx.invoked_subcommand} needs {extra}", EXIT_INPUT_ERROR)
            _fail(
                f"internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", EXIT_INTERNAL_ERROR
            )


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
}


def _missing_extra(exc: ModuleNotFoundError) -> str | None:
    """What to install when an optional library is missing: the command stops there, not in a traceback."""
    module = (exc.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    hint = " (or run `govkit check` with --no-log)" if extra == "audit" else ""
    return f"{module}, which is not installed: pip install 'govkit[{extra}]'{hint}"


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.obj and ctx.obj.get("debug")) or os.environ.get("GOVKIT_DEBUG") == "1"


def _fail(message: str, code: int) -> NoReturn:
    from govkit.formats.common import printable  # errors quote file names and values: no terminal escapes

    click.echo(printable(message), err=True)
    sys.exit(code)


def _quiet_pdf_libraries() -> None:
    """pyHanko logs warnings, some with tracebacks, about odd PDFs and certificates; govkit reports
    each problem itself as one line, so their logs reach stderr only with --debug."""
    import logging

    if _debug(click.get_current_context()):
        return
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


@contextmanager
def _progress(title: str) -> Iterator[None]:
    """A transient spinner on stderr for interactive terminals; silent in CI and pipes."""
    if not sys.stderr.isatty() or _in_ci():
        yield
        return
    from rich.console import Console

    console = Console(stderr=True, no_color="NO_COLOR" in os.environ)
    with console.status(f"measuring {title}…"):
        yield


def _print_version(ctx: click.Context, _: Any, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from govkit.versions import library_versions

    click.echo(f"govkit {__version__}")
    for name, found in library_versions().items():
        click.echo(f"  {name:<13} {found or 'not installed'}")
    ctx.exit()


@click.group(cls=GovkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show govkit's version and those of the libraries that decide results, then exit.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """govkit: check ML models against your organisation's policies.

    \b
    Examples:
      govkit demo                                      build the demo model and check it
      govkit check govkit.yaml --policy policies/      run the policy gate
      govkit policy show --policy policies/ --team lending
      govkit schema manifest > govkit.schema.json

    Exit codes: 0 nothing blocking, 1 blocking findings, 2 bad input, 3 internal error.
    """
    ctx.obj = {"debug": debug}


def _parse_date(_: Any, __: Any, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def evaluation_options(func: Any) -> Any:
    """The inputs of an evaluation, shared by `check` and `baseline`."""
    options = [
        click.argument("manifest", type=click.Path(path_type=Path), default="govkit.yaml"),
        click.option(
            "--policy",
            "policy_path",
            type=click.Path(path_type=Path),
            envvar="GOVKIT_POLICY",
            default="policies",
            show_default=True,
            help="Policy folder or file.",
        ),
        click.option(
            "--team",
            envvar="GOVKIT_TEAM",
            help="Team whose overlay applies (default: the manifest's model.team). CI should set it.",
        ),
        click.option(
            "--require-team",
            is_flag=True,
            envvar="GOVKIT_REQUIRE_TEAM",
            help="Refuse a manifest whose model.team is not --team / GOVKIT_TEAM.",
        ),
        click.option("--policy-set", help="Base policy set, when the folder holds several."),
        click.option(
            "--waivers",
            "waivers_path",
            type=click.Path(path_type=Path),
            help="Waivers file (default: waivers.yaml beside the manifest, if present).",
        ),
        click.option("--no-waivers", is_flag=True, help="Evaluate as if no waiver existed."),
        click.option(
            "--fail-on",
            type=SEVERITY_CHOICE,
            default="high",
            show_default=True,
            help="Lowest severity of a failed rule that blocks (exit 1).",
        ),
        click.option("--as-of", callback=_parse_date, help="Judge waiver expiry as of this date (YYYY-MM-DD)."),
        click.option("--full-scan", is_flag=True, help="Check every value for PII, not a 10,000-value sample."),
        click.option(
            "--trust-model",
            is_flag=True,
            help="Allow loading a pickle/joblib model artifact (it can run code: only for trusted files).",
        ),
        click.option(
            "--allow-outside",
            type=click.Path(path_type=Path),
            multiple=True,
            metavar="FOLDER",
            help="Let the manifest point into this folder outside its own (recorded); repeatable.",
        ),
        click.option(
            "--engine",
            type=click.Choice(ENGINE_CHOICES),
            envvar="GOVKIT_ENGINE",
            default="auto",
            show_default=True,
            help="Where cohort counts run: pandas in memory, DuckDB out of core, or Spark. auto = pandas, "
            "or DuckDB above --duckdb-above.",
        ),
        click.option(
            "--duckdb-above",
            envvar="GOVKIT_DUCKDB_ABOVE",
            default=DEFAULT_DUCKDB_ABOVE,
            show_default=True,
            metavar="SIZE",
            help="With --engine auto, evaluation data over this size on disk goes to DuckDB.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _team_source() -> str:
    """Where --team came from, recorded in the evaluation (the manifest's model.team is the fallback)."""
    source = click.get_current_context().get_parameter_source("team")
    return "GOVKIT_TEAM" if source == click.core.ParameterSource.ENVIRONMENT else "--team"


def _evaluate(
    manifest: Path,
    policy_path: Path,
    team: str | None,
    require_team: bool,
    policy_set: str | None,
    waivers_path: Path | None,
    no_waivers: bool,
    fail_on: str,
    as_of: date | None,
    full_scan: bool,
    trust_model: bool,
    engine: str,
    duckdb_above: str,
    baseline: Path | None = None,
    allow_outside: tuple[Path, ...] = (),
) -> Any:
    from govkit.api import run_check

    if require_team and not team:
        raise click.UsageError("--require-team needs --team or GOVKIT_TEAM")
    meta = click.get_current_context().meta  # `govkit monitor` runs `check` with purpose "monitor"
    return run_check(
        manifest,
        policy_path,
        team=team,
        team_source=_team_source(),
        require_team=require_team,
        policy_set=policy_set,
        waivers_path=waivers_path,
        use_waivers=not no_waivers,
        fail_on=fail_on,
        as_of=as_of,
        baseline_path=baseline,
        full_scan=full_scan,
        trust_model=trust_model,
        engine=engine,
        duckdb_above=parse_size(duckdb_above),
        allow_outside=allow_outside,
        progress=_progress,
        purpose=meta.get("govkit.purpose", "gate"),
        extra=meta.get("govkit.extra"),
    )


def _option_value(token: str, args: list[str], i: int, long: str, short: str | None) -> tuple[str | None, int]:
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
            fmt, nxt = _option_value(args[i], args, i, "--format", None)
            if fmt is not None:
                pairs.append([fmt, None])
                i = nxt
                continue
            out, nxt = _option_value(args[i], args, i, "--output", "-o")
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


def _plan_outputs(ctx: click.Context, output_dir: Path | None) -> list[tuple[str, Path | None]]:
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


FORMAT_CHOICE = click.Choice(["text", "json", "junit", "sarif", "markdown", "github"])


@cli.command(
    cls=PairedOutputCommand,
    epilog="""\b
Examples:
  govkit check examples/credit-scoring/govkit.yaml --policy policies/
  govkit check govkit.yaml --team research --format json --output result.json
  govkit check govkit.yaml --format sarif -o govkit.sarif --format junit -o govkit.xml --format github
  govkit check govkit.yaml --output-dir reports/ --format json --format markdown --baseline .govkit-baseline.json
  govkit check govkit.yaml --engine duckdb      # evaluation set: a big Parquet folder or glob
""",
)
@evaluation_options
@click.option(
    "--format",
    "formats",
    type=FORMAT_CHOICE,
    multiple=True,
    help="text (default), json, junit, sarif, markdown, github; repeatable.",
)
@click.option(
    "--output",
    "-o",
    "outputs",
    type=click.Path(path_type=Path),
    multiple=True,
    help="File for the matching --format (in order); repeatable.",
)
@click.option("--output-dir", type=click.Path(path_type=Path), help="Write every format without --output here.")
@click.option("--baseline", type=click.Path(path_type=Path), help="Known findings that do not block.")
@click.option("--soft-fail", is_flag=True, help="Report blocking findings but exit 0.")
@click.option(
    "--warn-exit-code",
    type=click.IntRange(0, 255),
    help="Exit with this code when nothing blocks but something warns or fails below --fail-on.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line (default in CI on success).")
@click.option("--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database.")
@click.option("--no-log", is_flag=True, help="Do not record the evaluation in the audit log.")
@click.option("--actor", help="Who runs the check (default: GOVKIT_ACTOR, the CI user, or user@host).")
@click.pass_context
def check(
    ctx: click.Context,
    manifest: Path,
    policy_path: Path,
    team: str | None,
    require_team: bool,
    policy_set: str | None,
    waivers_path: Path | None,
    no_waivers: bool,
    fail_on: str,
    as_of: date | None,
    full_scan: bool,
    trust_model: bool,
    allow_outside: tuple[Path, ...],
    engine: str,
    duckdb_above: str,
    formats: tuple[str, ...],
    outputs: tuple[Path, ...],
    output_dir: Path | None,
    baseline: Path | None,
    soft_fail: bool,
    warn_exit_code: int | None,
    quiet: bool,
    db: str,
    no_log: bool,
    actor: str | None,
) -> None:
    """Check a model against the policies, record the evaluation, exit 1 if anything blocks."""
    plan = _plan_outputs(ctx, output_dir)
    evaluation = _evaluate(
        manifest,
        policy_path,
        team,
        require_team,
        policy_set,
        waivers_path,
        no_waivers,
        fail_on,
        as_of,
        full_scan,
        trust_model,
        engine,
        duckdb_above,
        baseline,
        allow_outside,
    )
    from govkit.formats.common import printable, tally
    from govkit.formats.interface import get_formatter

    digest = evaluation.digest
    silent = quiet or (_in_ci() and evaluation.verdict == "pass")
    verdict_line = (
        f"govkit: {evaluation.verdict.upper()} {printable(evaluation.model['name'])} "
        f"{printable(evaluation.model['version'])} ({tally(evaluation.counts)})"
    )
    # rendered before recording, so a format that fails leaves no recorded evaluation without its outputs
    files = [(path, get_formatter(fmt).render(evaluation, digest=digest)) for fmt, path in plan if path is not None]
    to_stdout = next((fmt for fmt, path in plan if path is None), None)
    if to_stdout == "text" and silent:
        shown = verdict_line + "\n"
    elif to_stdout is not None:
        shown = get_formatter(to_stdout).render(evaluation, digest=digest, color=_color(sys.stdout))
    else:
        shown = verdict_line + "\n" if not silent or evaluation.verdict == "fail" else ""
    if not no_log:
        from govkit.audit.log import AuditLog
        from govkit.audit.records import record_evaluation

        with AuditLog(db, actor=actor) as log:
            entry = record_evaluation(log, evaluation)
        if not quiet and not _in_ci():
            click.echo(f"recorded evaluation {digest[:16]} as entry {entry.seq} in {db}", err=True)
    for path, text in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    click.echo(shown, nl=False)
    warned = any(f.status == "warn" or (f.status == "fail" and not f.blocking) for f in evaluation.findings)
    if evaluation.verdict == "fail" and not soft_fail:
        sys.exit(EXIT_BLOCKING)
    sys.exit(warn_exit_code if warn_exit_code is not None and warned else EXIT_OK)


@cli.group(
    epilog="""\b
Examples:
  govkit baseline create govkit.yaml --policy policies/ --output .govkit-baseline.json
  govkit check govkit.yaml --baseline .govkit-baseline.json
  govkit baseline prune govkit.yaml --output .govkit-baseline.json"""
)
def baseline() -> None:
    """Record today's known findings so that only new ones fail."""


def _baseline_command(name: str, doc: str) -> Any:
    def decorate(func: Any) -> Any:
        func.__doc__ = doc
        func = click.option(
            "--output",
            "-o",
            "output",
            type=click.Path(path_type=Path),
            default=".govkit-baseline.json",
            show_default=True,
        )(func)
        func = evaluation_options(func)
        return baseline.command(name, epilog=f"Example:\n\n  govkit baseline {name} govkit.yaml --policy policies/")(
            func
        )

    return decorate


def _open_findings(**inputs: Any) -> Any:
    from govkit.baseline import open_findings

    evaluation = _evaluate(**inputs)
    return open_findings([f.to_dict() for f in evaluation.findings], evaluation.model["name"])


@_baseline_command("create", "Write a new baseline from the findings that fail or warn now.")
def baseline_create(output: Path, **inputs: Any) -> None:
    from govkit.baseline import write_baseline

    if output.exists():
        raise GovkitError("baseline already exists; use `govkit baseline update` or `prune`", file=output)
    entries = _open_findings(**inputs)
    write_baseline(output, entries)
    click.echo(f"baseline {output}: {len(entries)} finding(s)")


@_baseline_command("update", "Add the findings that fail or warn now to the baseline (nothing is removed).")
def baseline_update(output: Path, **inputs: Any) -> None:
    from govkit.baseline import load_baseline, write_baseline

    existing = load_baseline(output).entries if output.exists() else {}
    current = _open_findings(**inputs)
    merged = {**current, **existing}  # keep first_seen of entries already there
    write_baseline(output, merged)
    click.echo(f"baseline {output}: {len(merged)} finding(s), {len(merged) - len(existing)} added")


@_baseline_command("prune", "Remove baseline entries that no longer fail (the baseline only shrinks).")
def baseline_prune(output: Path, **inputs: Any) -> None:
    from govkit.baseline import load_baseline, write_baseline

    existing = load_baseline(output).entries
    current = _open_findings(**inputs)
    kept = {fp: e for fp, e in existing.items() if fp in current}
    write_baseline(output, kept)
    click.echo(f"baseline {output}: {len(kept)} finding(s), {len(existing) - len(kept)} pruned")


@cli.group()
def policy() -> None:
    """Validate policy folders and show a team's resolved rules."""


@policy.command("validate", epilog="Example:\n\n  govkit policy validate policies/")
@click.argument("path", type=click.Path(path_type=Path), default="policies")
@click.option(
    "--controls",
    "controls_dir",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_CONTROLS",
    help="Folder of extra control catalogues (added to the bundled ones).",
)
def policy_validate(path: Path, controls_dir: Path | None) -> None:
    """Check every policy file and resolve every overlay; exit 2 on the first problem."""
    from govkit.policy.loader import load_library, resolve

    library = load_library(path, controls=controls_dir)
    for name in library.sets:
        resolve(library, policy_set=name)
    for overlay in library.overlays.values():
        resolve(library, policy_set=overlay.spec.name)
    click.echo(f"ok: {len(library.sets)} policy set(s), {len(library.overlays)} overlay(s) in {path}")


@policy.command("show", epilog="Example:\n\n  govkit policy show --policy policies/ --team lending")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_POLICY",
    default="policies",
    show_default=True,
)
@click.option("--team", help="Team whose overlay to apply.")
@click.option("--policy-set", help="Base policy set, when the folder holds several.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def policy_show(policy_path: Path, team: str | None, policy_set: str | None, fmt: str) -> None:
    """Print the resolved rules and where each value came from."""
    from govkit.policy.loader import load_policy
    from govkit.policy.show import render_json, render_text

    resolved = load_policy(policy_path, team=team, policy_set=policy_set)
    if fmt == "json":
        click.echo(render_json(resolved))
    else:
        click.echo(render_text(resolved, color=_color(sys.stdout)), nl=False)


@cli.command(
    epilog="""\b
Examples:
  govkit schema manifest > govkit.schema.json
  govkit schema --all --output-dir schemas/"""
)
@click.argument("kind", type=click.Choice(KINDS), required=False)
@click.option("--all", "every", is_flag=True, help="Every kind, one KIND.json file each (needs --output-dir).")
@click.option("--output-dir", type=click.Path(path_type=Path), help="Write KIND.json files here.")
def schema(kind: str | None, every: bool, output_dir: Path | None) -> None:
    """Print or write the JSON Schema of a govkit file kind (for editors and CI)."""
    import json

    from govkit.schemas import json_schema

    if every == (kind is not None):
        raise click.UsageError("give a KIND or --all")
    if every and output_dir is None:
        raise click.UsageError("--all writes one file per kind: give --output-dir")
    for name in KINDS if kind is None else (kind,):
        text = json.dumps(json_schema(name), indent=2) + "\n"
        if output_dir is None:
            click.echo(text, nl=False)
            continue
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / f"{name}.json").write_text(text, encoding="utf-8")
        click.echo(f"{output_dir / name}.json")


@cli.command(
    epilog="""\b
Examples:
  govkit validate govkit.yaml examples/credit-scoring/waivers.yaml
  govkit validate policies/org-baseline.yaml"""
)
@click.argument("files", type=click.Path(path_type=Path), nargs=-1, required=True)
def validate(files: tuple[Path, ...]) -> None:
    """Check govkit files against the schema their `kind:` names (no data read); exit 2 on the first problem."""
    from govkit.schemas import validate_file

    for path in files:
        click.echo(f"ok: {path} ({validate_file(path)})")


@cli.command(
    epilog="Example:\n\n  govkit demo --dir /tmp/govkit-demo\n\n  govkit demo --db postgresql://govkit@localhost/audit"
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    help="Where to build the demo (default: examples/credit-scoring in a source checkout).",
)
@click.option("--db", help="Audit log (default: govkit.db in the demo folder; or a postgresql:// URL).")
def demo(directory: Path | None, db: str | None) -> None:
    """Build the synthetic credit-scoring model and check it under two team overlays."""
    from govkit.demo.run import run_demo

    run_demo(directory, echo=click.echo, color=_color(sys.stdout), progress=_progress, db=db)


DB_OPTION = click.option(
    "--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database (or GOVKIT_DB)."
)
KEY_OPTION = click.option(
    "--key",
    "key_path",
    type=click.Path(path_type=Path),
    envvar="GOVKIT_KEY",
    help="Key file (default: GOVKIT_KEY or ~/.config/govkit/log-signing-key.pem).",
)


@cli.group("log")
def log_group() -> None:
    """Read, verify, checkpoint and redact the audit log."""


@log_group.command(
    "show",
    epilog="""\b
Examples:
  govkit log show --model credit-scorer --action evaluation.recorded
  govkit log show --since 2026-11-01 --format json""",
)
@DB_OPTION
@click.option("--model", help="Only entries about this model.")
@click.option("--action", help="Only this action, e.g. evaluation.recorded.")
@click.option("--since", callback=_parse_date, help="Only entries recorded on or after this date.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many entries.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def log_show(db: str, model: str | None, action: str | None, since: date | None, limit: int | None, fmt: str) -> None:
    """List log entries, oldest first."""
    import json

    from govkit.audit.log import AuditLog

    with AuditLog(db, create=False) as log:
        found = log.entries(model=model, action=action, since=since.isoformat() if since else None, limit=limit)
    if fmt == "json":
        click.echo(json.dumps([e.to_dict() for e in found], indent=2))
        return
    from govkit.formats.common import printable

    for e in found:
        click.echo(
            f"{e.seq:>6}  {e.recorded_at}  {printable(e.action):<22} {printable(e.subject):<32} "
            f"{printable(e.actor)}  {e.entry_hash[:16]}"
        )
    click.echo(f"{len(found)} entries", err=True)


@log_group.command(
    "verify",
    epilog="""\b
Examples:
  govkit log verify
  govkit log verify --require-anchor --trusted-key log-key.pub --known-checkpoint saved-checkpoint.txt""",
)
@DB_OPTION
@KEY_OPTION
@click.option(
    "--known-checkpoint",
    type=click.Path(path_type=Path),
    help="A checkpoint saved earlier; catches truncation and rollback.",
)
@click.option(
    "--trusted-key",
    "trusted_keys",
    type=click.Path(path_type=Path),
    multiple=True,
    envvar="GOVKIT_TRUSTED_KEY",
    help="The log's public key (PEM) kept outside the database (default: the signing key's .pub).",
)
@click.option(
    "--require-anchor",
    is_flag=True,
    help="Exit 1 when no key from outside the database anchors the log (for CI and auditors).",
)
@click.option("--full", is_flag=True, help="Check every entry's signature, also those a verified checkpoint covers.")
def log_verify(
    db: str,
    key_path: Path | None,
    known_checkpoint: Path | None,
    trusted_keys: tuple[Path, ...],
    require_anchor: bool,
    full: bool,
) -> None:
    """Check seq density, links, hashes, signatures, payloads and checkpoints; exit 1 on any failure."""
    from govkit.audit.keys import public_raw
    from govkit.audit.log import AuditLog
    from govkit.audit.verify_cli import read_checkpoint, read_public_key

    known = read_checkpoint(known_checkpoint) if known_checkpoint else None
    anchors = [(p, public_raw(read_public_key(p))) for p in trusted_keys]
    with AuditLog(db, key_path=key_path, create=False) as log:
        anchors = anchors or log.anchor_keys()
        result = log.verify(known_checkpoint=known, trusted_keys=[raw for _, raw in anchors], full=full)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if not result.ok:
        click.echo(f"FAILED: {result.first}", err=True)
        for problem in result.problems[1:10]:
            click.echo(f"  also: {problem}", err=True)
        sys.exit(EXIT_BLOCKING)
    summary = (
        f"{result.size} entries, {result.checkpoints} checkpoint(s) verified; head {result.head[:16]}; "
        f"{result.signatures_checked} signature(s) checked one by one"
        + ("" if full else f", {result.covered} entries covered by a verified checkpoint")
    )
    if result.anchored:
        click.echo(f"ok: {summary}; anchored on {', '.join(str(p) for p, _ in anchors)}")
        return
    click.echo(
        f"ok (UNANCHORED: verified against keys found only in the database itself; pass --trusted-key "
        f"or keep the key's .pub): {summary}"
    )
    if require_anchor:
        click.echo("FAILED: --require-anchor: nothing outside the database anchors this log's keys", err=True)
        sys.exit(EXIT_BLOCKING)


@log_group.command("checkpoint", epilog="Example:\n\n  govkit log checkpoint --output checkpoints/$(date +%F).txt")
@DB_OPTION
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Also write the signed note here.")
def log_checkpoint(db: str, output: Path | None) -> None:
    """Sign the log's current size and Merkle root; keep the note somewhere the log can't reach."""
    from govkit.audit.log import AuditLog

    with AuditLog(db, create=False) as log:
        note = log.checkpoint().note()
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(note, encoding="utf-8")
    click.echo(note, nl=False)


@log_group.command("redact", epilog="Example:\n\n  govkit log redact 42 --reason 'GDPR erasure request #881'")
@DB_OPTION
@click.argument("seq", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why the payload is removed (recorded in the log).")
def log_redact(db: str, seq: int, reason: str) -> None:
    """Remove one entry's payload; the chain still verifies and the redaction is itself logged."""
    from govkit.audit.log import AuditLog

    with AuditLog(db, create=False) as log:
        entry = log.redact(seq, reason)
    click.echo(f"redacted payload of entry {seq}; recorded as entry {entry.seq}")


@log_group.command(
    "copy",
    epilog="""\b
Example:
  govkit log copy --from govkit.db --to postgresql://govkit@db.internal/audit""",
)
@click.option("--from", "source", required=True, help="The log to copy (path or URL).")
@click.option("--to", "target", required=True, help="An empty log to fill (path or postgresql:// URL).")
def log_copy(source: str, target: str) -> None:
    """Copy a whole log to another store, byte for byte, then verify both."""
    from govkit.audit.log import AuditLog

    with AuditLog(source, create=False) as src, AuditLog(target) as dst:
        before = src.verify(trusted_keys=())  # a byte-for-byte copy: anchoring is `log verify`'s job
        if not before.ok:
            raise GovkitError(f"the source log does not verify ({before.first}); not copying", file=source)
        copied = dst.store.copy_in(src.store.log_id() or "", src.store.scan(), src.stored_checkpoints()[0])
        after = dst.verify(trusted_keys=())
    if not after.ok or after.head != before.head:
        click.echo(f"FAILED: the copy does not verify like the source: {after.first}", err=True)
        sys.exit(EXIT_BLOCKING)
    click.echo(f"copied {copied} entries; both logs verify with head {after.head[:16]}")


@cli.group("keys")
def keys_group() -> None:
    """Create, show and rotate the audit log's signing key."""


@keys_group.command("init", epilog="Example:\n\n  govkit keys init --key /secure/govkit-log.pem")
@KEY_OPTION
def keys_init(key_path: Path | None) -> None:
    """Create an Ed25519 log signing key (file mode 0600) and its public half beside it (KEY.pub)."""
    from govkit.audit.keys import create_key, default_key_path, public_path

    key = create_key(key_path or default_key_path())
    click.echo(
        f"created {key.path} (key id {key.key_id}) and {public_path(key.path)}, which `log verify` "
        "anchors on (keep a copy where the database's writers cannot change it); the public key:"
    )
    click.echo(key.public_pem().decode(), nl=False)


@keys_group.command("show", epilog="Example:\n\n  govkit keys show > log-key.pub")
@KEY_OPTION
def keys_show(key_path: Path | None) -> None:
    """Print the public key (PEM), to pin it for `log verify --trusted-key`."""
    from govkit.audit.keys import default_key_path, load_key

    key = load_key(key_path or default_key_path())
    click.echo(key.public_pem().decode(), nl=False)
    click.echo(f"key id {key.key_id}", err=True)


@keys_group.command("rotate", epilog="Example:\n\n  govkit keys rotate --new-key ~/.config/govkit/log-2027.pem")
@DB_OPTION
@KEY_OPTION
@click.option("--new-key", type=click.Path(path_type=Path), required=True, help="Where to create the new key.")
def keys_rotate(db: str, key_path: Path | None, new_key: Path) -> None:
    """Create a new key and record it in the log, signed by the current key."""
    from govkit.audit.keys import create_key
    from govkit.audit.log import AuditLog

    with AuditLog(db, key_path=key_path) as log:
        log.signing_key()
        fresh = create_key(new_key)
        entry = log.rotate_key(fresh)
    click.echo(f"rotated to key {fresh.key_id} (entry {entry.seq}); point GOVKIT_KEY at {new_key}")


@keys_group.command(
    "signer-cert",
    epilog="""\b
Example:
  govkit keys signer-cert --name "Carol Officer" --email carol@example.org --out ~/.config/govkit/signers""",
)
@click.option("--name", required=True, help="The signer's full name (certificate common name).")
@click.option("--email", required=True, help="The signer's e-mail address (sign-off checks --signer against it).")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder for key and certificate."
)
@click.option("--algorithm", type=click.Choice(["rsa-3072", "ecdsa-p256"]), default="rsa-3072", show_default=True)
def keys_signer_cert(name: str, email: str, out_dir: Path, algorithm: SignerAlgorithm) -> None:
    """Create a self-signed signing certificate (the fallback for organisations without a PKI)."""
    from govkit.report.signoff import make_signer_certificate

    key, cert = make_signer_certificate(name, email, out_dir, algorithm=algorithm)
    click.echo(
        f"key {key} (mode 0600)\ncertificate {cert}\nGive the certificate to whoever verifies "
        "sign-offs (`govkit verify-pdf --trust`)."
    )


@cli.command(
    epilog="""\b
Examples:
  govkit report --latest credit-scorer
  govkit report 3f2908cd0d6f --out reports/credit-scorer.pdf --paper letter
  govkit report --latest credit-scorer --html --out preview.html"""
)
@click.argument("digest", required=False)
@click.option("--latest", "model", help="The latest evaluation of this model.")
@click.option("--out", type=click.Path(path_type=Path), help="Output file (default: reports/MODEL-VERSION-DIGEST.pdf).")
@click.option("--html", is_flag=True, help="Write the HTML instead of the PDF (not logged).")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
@DB_OPTION
def report(digest: str | None, model: str | None, out: Path | None, html: bool, paper: str, db: str) -> None:
    """Render a recorded evaluation as a PDF/A-3b compliance report and log its SHA-256."""
    from govkit.audit.log import AuditLog
    from govkit.report.workflow import render_report

    if (digest is None) == (model is None):
        raise click.UsageError("give an EVALUATION_DIGEST or --latest MODEL")
    with _progress("the report"), AuditLog(db) as log:
        path, sha = render_report(log, digest=digest, model=model, out=out, paper=paper, html=html)
    click.echo(f"{path}  sha256 {sha}")


@cli.command(
    epilog="""\b
Examples:
  govkit signoff reports/credit-scorer.pdf --signer "Carol Officer <carol@example.org>" \\
    --role "Compliance Officer" --decision approve --key carol.key.pem --cert carol.cert.pem
  govkit signoff reports/credit-scorer-signed1.pdf --signer "Dan Risk <dan@example.org>" \\
    --role "Model Risk" --decision approve-with-conditions --conditions "re-test in Q1" \\
    --key dan.key.pem --cert dan.cert.pem"""
)
@click.argument("pdf", type=click.Path(path_type=Path))
@click.option("--signer", required=True, help='"Full Name <email>"')
@click.option("--role", required=True)
@click.option("--decision", type=click.Choice(["approve", "reject", "approve-with-conditions"]), required=True)
@click.option("--conditions", default="", help="Required with approve-with-conditions.")
@click.option("--key", type=click.Path(path_type=Path), required=True, help="Signer's private key (PEM).")
@click.option("--cert", type=click.Path(path_type=Path), required=True, help="Signer's certificate (PEM).")
@click.option("--out", type=click.Path(path_type=Path), help="Signed file (default: NAME-signedN.pdf).")
@DB_OPTION
def signoff(
    pdf: Path,
    signer: str,
    role: str,
    decision: Decision,
    conditions: str,
    key: Path,
    cert: Path,
    out: Path | None,
    db: str,
) -> None:
    """Record an officer's decision and seal the report with a PAdES signature (a second officer countersigns)."""
    from govkit.audit.log import AuditLog
    from govkit.report.workflow import SignoffRequest, sign_off

    request = SignoffRequest(signer=signer, role=role, decision=decision, conditions=conditions, key=key, cert=cert)
    _quiet_pdf_libraries()
    with _progress("the signed report"), AuditLog(db) as log:
        path, sha, seq = sign_off(log, pdf, request, out)
    click.echo(f"{path}  sha256 {sha}  (audit log entry {seq})")


@cli.command(
    "verify-pdf",
    epilog="""\b
Examples:
  govkit verify-pdf reports/credit-scorer-signed2.pdf
  govkit verify-pdf signed.pdf --trust carol.cert.pem --trust dan.cert.pem --no-log
  govkit verify-pdf reports/credit-scorer.pdf --allow-unsigned""",
)
@click.argument("pdf", type=click.Path(path_type=Path))
@click.option("--trust", type=click.Path(path_type=Path), multiple=True, help="Trusted signer or CA certificate.")
@click.option("--no-log", is_flag=True, help="Do not check the file digest against the audit log.")
@click.option(
    "--allow-unsigned",
    is_flag=True,
    help="A PDF without signatures is not a failure (a rendered report before sign-off); not with --trust.",
)
@DB_OPTION
def verify_pdf_command(pdf: Path, trust: tuple[Path, ...], no_log: bool, allow_unsigned: bool, db: str) -> None:
    """Validate a report's signatures and check its digest against the audit log; exit 1 on any problem."""
    from govkit.audit.log import AuditLog
    from govkit.report.workflow import verify_pdf

    _quiet_pdf_libraries()
    if no_log:
        result = verify_pdf(pdf, log=None, trust=list(trust), allow_unsigned=allow_unsigned)
    else:
        with AuditLog(db, create=False) as log:
            result = verify_pdf(pdf, log=log, trust=list(trust), allow_unsigned=allow_unsigned)
    click.echo(f"{pdf}  sha256 {result.sha256}")
    for sig in result.signatures:
        state = (
            "valid"
            if sig.ok
            else f"INVALID (certificate {sig.certificate_problem})"
            if sig.certificate_problem
            else "INVALID"
        )
        trusted = "trusted" if sig.trusted else "not checked against a trust root" if not trust else "UNTRUSTED"
        click.echo(f"  {sig.field}: {state}, {trusted}; signed by {sig.signer} at {sig.signing_time}; {sig.reason}")
    if not result.signatures:
        click.echo("  signatures unreadable" if result.unreadable else "  no signatures")
    if result.log_entry is not None:
        click.echo(f"  matches audit log entry {result.log_entry} ({result.log_action})")
    for problem in result.problems:
        click.echo(f"FAILED: {problem}", err=True)
    sys.exit(EXIT_OK if result.ok else EXIT_BLOCKING)


@cli.command(
    epilog="""\b
Examples:
  govkit export --model credit-scorer --out evidence/credit-scorer.zip
  govkit export --team lending --since 2026-01-01 --until 2026-06-30 --out lending-h1.zip --include reports/"""
)
@click.option("--model", help="Only this model's entries.")
@click.option("--team", help="Only evaluations run as this team, and what refers to them.")
@click.option("--since", callback=_parse_date, help="From this date (inclusive).")
@click.option("--until", callback=_parse_date, help="Up to this date (inclusive).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The bundle (.zip) to write.")
@click.option(
    "--include",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Folders searched (by SHA-256) for reports and sign-offs; default: reports/.",
)
@DB_OPTION
def export(
    model: str | None,
    team: str | None,
    since: date | None,
    until: date | None,
    out: Path,
    include: tuple[Path, ...],
    db: str,
) -> None:
    """Export an evidence bundle (BagIt zip) that an auditor verifies offline without govkit."""
    from govkit.audit.log import AuditLog
    from govkit.evidence.export import Scope, export_bundle

    scope = Scope(
        model=model, team=team, since=since.isoformat() if since else None, until=until.isoformat() if until else None
    )
    with _progress("the evidence bundle"), AuditLog(db) as log:
        result = export_bundle(log, scope, out, list(include) or [Path("reports")])
    click.echo(f"{result.path}  sha256 {result.sha256}  ({result.entries} log entries, {result.files} files)")
    for item in result.missing:
        click.echo(f"note: {item['what']} (sha256 {item['sha256'][:16]}...) not found; listed as missing", err=True)


@cli.command(
    "verify-bundle",
    epilog="""\b
Examples:
  govkit verify-bundle evidence/credit-scorer.zip
  govkit verify-bundle bundle.zip --trusted-key published-log-key.pem""",
)
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--trusted-key", type=click.Path(path_type=Path), help="The log public key published separately.")
def verify_bundle(bundle: Path, trusted_key: Path | None) -> None:
    """Verify an evidence bundle with govkit's own verifier, never code from the bundle; exit 1 on any failure."""
    from govkit.evidence import verify as bundle_verify

    args = [str(bundle)] + (["--trusted-key", str(trusted_key)] if trusted_key else [])
    sys.exit(bundle_verify.main(args))


# --- post-market monitoring (docs/monitoring.md) ---------------------------------------------


@cli.group(
    epilog="""\b
Examples:
  govkit profile create govkit.yaml --output profile.json
  govkit monitor govkit.yaml --policy policies/"""
)
def profile() -> None:
    """Reference profiles for monitoring: built once from training or evaluation data."""


@profile.command(
    "create",
    epilog="""\b
Examples:
  govkit profile create govkit.yaml
  govkit profile create govkit.yaml --dataset evaluation --output profiles/credit-scorer-2.1.json""",
)
@click.argument("manifest", type=click.Path(path_type=Path), default="govkit.yaml")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="Profile file (default: monitoring.reference.profile of the manifest, else profile.json).",
)
@click.option(
    "--dataset",
    type=click.Choice(["training", "evaluation"]),
    help="Data to profile (default: monitoring.reference.dataset, else training if declared).",
)
@click.option("--db", envvar="GOVKIT_DB", default="govkit.db", show_default=True, help="Audit log database.")
@click.option("--actor", help="Who creates the profile.")
def profile_create(manifest: Path, output: Path | None, dataset: str | None, db: str, actor: str | None) -> None:
    """Profile the reference data and record the profile's digest in the audit log."""
    from govkit.audit.log import AuditLog
    from govkit.manifest import load_manifest
    from govkit.monitoring.measure import profile_path, spec_of
    from govkit.monitoring.profile import build_profile, write_profile
    from govkit.monitoring.records import record_profile

    loaded = load_manifest(manifest)
    spec = spec_of(loaded)
    dataset = dataset or spec.reference.dataset or ("training" if loaded.spec.datasets.training else "evaluation")
    output = output or profile_path(loaded) or Path("profile.json")
    data = build_profile(loaded, dataset)
    sha256 = write_profile(data, output)
    with AuditLog(db, actor=actor) as log:
        entry = record_profile(log, data, output, sha256)
    click.echo(
        f"profile of {dataset} ({data['rows']} rows, {len(data['columns'])} columns) written to {output}, "
        f"sha256 {sha256[:16]}, recorded as entry {entry.seq} in {db}"
    )


@cli.command(
    cls=PairedOutputCommand,
    epilog="""\b
Examples:
  govkit monitor govkit.yaml --policy policies/
  govkit monitor govkit.yaml --engine duckdb --format sarif -o monitor.sarif --format github""",
)
@click.pass_context
def monitor(ctx: click.Context, **kwargs: Any) -> None:
    """Judge the policy's monitoring rules on production data, window by window; exit 1 if anything blocks."""
    from govkit.audit.log import AuditLog
    from govkit.manifest import load_manifest
    from govkit.monitoring.measure import TRUSTED_PROFILES, profile_path
    from govkit.monitoring.records import recorded_profiles

    extra: dict[str, Any] = {}
    loaded = load_manifest(kwargs["manifest"])
    if loaded.spec.monitoring is not None and profile_path(loaded) is not None:
        with AuditLog(kwargs["db"]) as log:
            extra[TRUSTED_PROFILES] = recorded_profiles(log)
    ctx.meta["govkit.purpose"] = "monitor"
    ctx.meta["govkit.extra"] = extra
    check.callback(**kwargs)  # type: ignore[misc]  # same options, output and exit codes as check


monitor.params = list(check.params)  # every option of check, nothing else


from govkit.controls.commands import controls_group  # noqa: E402  (light: click only; work is imported lazily)

cli.add_command(controls_group)
from govkit.review.commands import diff_command  # noqa: E402

cli.add_command(diff_command)


def main() -> None:
    try:
        cli.main(prog_name="govkit", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_INPUT_ERROR)
        sys.exit(code)


if __name__ == "__main__":
    main()
