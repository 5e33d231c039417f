"""The package as users get it: sdist + wheel from `python -m build`, the wheel installed in a fresh
virtualenv with no source tree on the path, running the demo end to end; metadata, extras, versions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from conftest import fresh_cli
from govkit import __version__
from govkit.demo.run import COPIED, EXAMPLE
from installed import ROOT, clean_env, fresh_venv, govkit_location

WHEEL_NAME = f"govkit-{__version__}-py3-none-any.whl"


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist, then the wheel built from that sdist (what `python -m build` does), once per session."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        cwd=out,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


@pytest.fixture(scope="session")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built wheel alone (--no-deps) in a fresh virtualenv; see tests/installed.py for the dependencies."""
    env_dir = fresh_venv(tmp_path_factory.mktemp("installed") / "venv", with_pip=False)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(env_dir / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(dist / WHEEL_NAME),
        ],
        check=True,
        capture_output=True,
    )
    return env_dir


def test_build_makes_an_sdist_and_a_wheel_with_the_demo_assets(dist: Path) -> None:
    assert {p.name for p in dist.iterdir()} == {f"govkit-{__version__}.tar.gz", WHEEL_NAME}
    with tarfile.open(dist / f"govkit-{__version__}.tar.gz") as sdist:
        top = {name.split("/")[1] for name in sdist.getnames() if name.count("/") >= 1}
    assert {
        "src",
        "policies",
        "controls",
        "templates",
        "examples",
        "schemas",
        "tests",
        "docs",
        "action.yml",
        ".pre-commit-hooks.yaml",
        "ci",
        "LICENSE",
        "README.md",
        "pyproject.toml",
    } <= top, top
    assert not {".ci", "benchmarks", "reports"} & top
    with zipfile.ZipFile(dist / WHEEL_NAME) as wheel:
        files = set(wheel.namelist())
        metadata = Parser().parsestr(wheel.read(f"govkit-{__version__}.dist-info/METADATA").decode())
    demo = {f"govkit/_demo/{EXAMPLE.as_posix()}/{name}" for name in COPIED}
    demo |= {f"govkit/_demo/{p.relative_to(ROOT).as_posix()}" for p in (ROOT / "policies").rglob("*.yaml")}
    assert demo <= files, sorted(demo - files)
    controls = {f"govkit/_controls/{p.name}" for p in (ROOT / "controls").glob("*.yaml")}
    assert controls and controls <= files, sorted(controls - files)
    templates = {
        f"govkit/_templates/{p.relative_to(ROOT / 'templates').as_posix()}" for p in (ROOT / "templates").rglob("*.*")
    }
    assert "govkit/_templates/report/report.html.j2" in templates and templates <= files, sorted(templates - files)
    assert "govkit/licensing/catalogue.yaml" in files
    assert f"govkit-{__version__}.dist-info/licenses/LICENSE" in files
    assert not any(name.startswith(("tests/", "examples/", "policies/")) for name in files)
    # complete enough for a package index
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Description-Content-Type"] == "text/markdown" and "# govkit" in metadata.get_payload()
    assert len(metadata.get_all("Classifier")) >= 10 and metadata["Keywords"]
    assert {u.split(",")[0] for u in metadata.get_all("Project-URL")} >= {
        "Homepage",
        "Documentation",
        "Source",
        "Issues",
    }
    assert metadata["Author-email"]
    extras = set(metadata.get_all("Provides-Extra"))
    assert {"fairness", "explain", "pdf", "audit", "duckdb", "spark", "all"} <= extras


def test_installed_wheel_runs_the_demo_check_and_report_outside_the_source_tree(venv: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    work = tmp_path / "work"  # the working directory: nowhere near the repository
    work.mkdir()

    def govkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "govkit"), *args], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )

    where = govkit_location(venv / "bin" / "python", env, work)
    assert where.is_relative_to(venv) and not where.is_relative_to(ROOT), where

    version = govkit("--version")
    assert version.returncode == 0, version.stderr
    lines = version.stdout.splitlines()
    assert lines[0] == f"govkit {__version__}"
    assert any(line.split() == ["scikit-learn", _installed("scikit-learn")] for line in lines), lines

    demo = govkit("demo", "--dir", str(work / "demo"))
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "lending: FAIL, research: PASS" in demo.stdout

    db = str(work / "demo" / "govkit.db")
    policies = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from govkit.demo.run import asset_root; print(asset_root() / 'policies')",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(policies).is_relative_to(venv)
    check = govkit(
        "check",
        str(work / "demo" / "govkit.yaml"),
        "--policy",
        policies,
        "--team",
        "research",
        "--format",
        "json",
        "--db",
        db,
    )
    assert check.returncode == 0, check.stderr
    evaluation = json.loads(check.stdout)
    assert evaluation["verdict"] == "pass"
    assert evaluation["options"]["libraries"]["skops"] == _installed("skops")

    report = govkit("report", evaluation["evaluation_digest"], "--db", db, "--out", str(work / "r.pdf"))
    assert report.returncode == 0, report.stderr
    assert (work / "r.pdf").read_bytes().startswith(b"%PDF-")
    verified = govkit("log", "verify", "--db", db)
    assert verified.returncode == 0 and verified.stdout.startswith("ok: "), verified.stdout + verified.stderr


def _installed(name: str) -> str:
    from importlib.metadata import version

    return version(name)


# --- versions, extras and schemas (from the source tree) ---


def test_version_lists_the_libraries_that_decide_results_without_importing_them() -> None:
    out, code, heavy = fresh_cli(
        ["--version"],
        ("pandas", "numpy", "sklearn", "shap", "weasyprint", "pyarrow", "scipy", "duckdb", "pyhanko", "skops"),
    )
    assert heavy == [] and code == "0", (out, code, heavy)
    listed = dict(line.split(None, 1) for line in out.splitlines()[1:] if line.startswith("  "))
    assert out.startswith(f"govkit {__version__}\n")
    for name in ("scikit-learn", "numpy", "pandas", "scipy", "shap", "skops", "weasyprint", "pyHanko"):
        assert listed[name] == _installed(name), name


def test_a_library_that_is_not_installed_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    from govkit import versions

    monkeypatch.setattr(versions, "RESULT_LIBRARIES", ("numpy", "govkit-no-such-library"))
    found = versions.library_versions()
    assert found["numpy"] == _installed("numpy") and found["govkit-no-such-library"] is None


def test_every_evaluation_records_the_library_versions(project) -> None:
    from govkit.versions import library_versions

    result = project.check("--format json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["options"]["libraries"] == library_versions()


def _blocked(modules: list[str], args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """govkit in a process where `modules` cannot be imported, as if their extra were not installed."""
    code = (
        f"import sys\nfor m in {modules!r}:\n    sys.modules[m] = None\n"
        f"from govkit.cli import main\nsys.argv = ['govkit', *{args!r}]\nmain()"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_a_command_whose_extra_is_missing_names_the_extra(project) -> None:
    check = [str(project.manifest_path), "--policy", str(project.root / "policies")]
    no_audit = _blocked(["cryptography"], ["check", *check], project.root)
    assert no_audit.returncode == 2, no_audit.stderr
    assert no_audit.stderr.strip() == (
        "error: govkit check needs cryptography, which is not installed: "
        "pip install 'govkit[audit]' (or run `govkit check` with --no-log)"
    )
    assert project.check().exit_code == 0  # records an evaluation for the report below
    no_pdf = _blocked(["weasyprint"], ["report", "--latest", "scorer", "--html", "--out", "r.html"], project.root)
    assert no_pdf.returncode == 2, no_pdf.stderr
    assert "govkit report needs weasyprint" in no_pdf.stderr and "pip install 'govkit[pdf]'" in no_pdf.stderr
    assert "Traceback" not in no_pdf.stderr + no_audit.stderr


def test_every_named_extra_exists_and_lists_the_library() -> None:
    from importlib.metadata import packages_distributions

    from govkit.cli import EXTRA_OF_MODULE

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    distributions = packages_distributions()
    for module, extra in EXTRA_OF_MODULE.items():
        assert extra in extras, (module, extra)
        listed = {re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].lower() for req in extras[extra]}
        names = {d.lower() for d in distributions.get(module, [])}
        if module != "pyhanko_certvalidator":  # comes with pyhanko
            assert names & listed, (module, extra, names, listed)


def test_the_core_install_runs_the_gate_without_any_extra(project) -> None:
    from govkit.cli import EXTRA_OF_MODULE

    result = _blocked(
        sorted(EXTRA_OF_MODULE),
        ["check", str(project.manifest_path), "--policy", str(project.root / "policies"), "--no-log"],
        project.root,
    )
    assert result.returncode == 0, result.stderr
    assert "PASS" in result.stdout


def test_committed_schemas_are_what_govkit_schema_writes(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    done = subprocess.run(
        [sys.executable, "-m", "govkit", "schema", "--all", "--output-dir", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == ["manifest.json", "policy-overlay.json", "policy-set.json", "waivers.json"]
    for name in written:
        generated = json.loads((out / name).read_text())
        assert generated["$id"] == f"https://govkit.example.org/schemas/v1/{name}"
        assert generated["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert (ROOT / "schemas" / name).read_text() == (out / name).read_text(), (
            f"schemas/{name} is stale: run govkit schema --all --output-dir schemas/"
        )


def test_validate_checks_each_file_against_the_schema_its_kind_names(project) -> None:
    ok = project.run(["validate", str(project.manifest_path), str(project.root / "policies" / "base.yaml")])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines() == [
        f"ok: {project.manifest_path} (manifest)",
        f"ok: {project.root / 'policies' / 'base.yaml'} (policy-set)",
    ]
    unknown = project.write("other.yaml", "apiVersion: govkit/v1\nkind: Pipeline\n")
    bad = project.run(["validate", str(unknown)])
    assert bad.exit_code == 2
    assert bad.stderr.strip() == (
        f"error: {unknown}:2: kind: kind must be one of ModelManifest, PolicySet, PolicyOverlay, Waivers"
    )


def test_recorded_library_versions_equal_the_package_metadata() -> None:
    """The fast dist-info folder scan gives what importlib.metadata says, library by library."""
    from importlib.metadata import PackageNotFoundError, version

    from govkit.versions import RESULT_LIBRARIES, library_versions

    found = library_versions()
    for name in RESULT_LIBRARIES:
        try:
            expected: str | None = version(name)
        except PackageNotFoundError:
            expected = None
        assert found[name] == expected, name
