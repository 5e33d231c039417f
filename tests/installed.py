"""govkit installed the way users install it, in fresh virtualenvs, without minutes of downloads.

Installing govkit's dependencies from the index for every run would take minutes (measured: 7 min
for the core dependencies alone on the test machine), so a fresh virtualenv gets govkit itself with
--no-deps and sees this environment's installed libraries through a folder of links to them that
leaves out the editable govkit: `import govkit` finds only the freshly installed copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(sysconfig.get_paths()["purelib"])  # where this environment's dependencies are installed
# pip reads these like its command-line options: govkit alone, offline, built with the hatchling we have
# (PIP_NO_BUILD_ISOLATION=0 turns isolation off: pip's inverted reading of "no-" options)
OFFLINE_PIP = {
    "PIP_NO_DEPS": "1",
    "PIP_NO_INDEX": "1",
    "PIP_NO_BUILD_ISOLATION": "0",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}


def dependencies_without_govkit(folder: Path) -> Path:
    """Links to every installed distribution except govkit (and its editable-install hook)."""
    if folder.is_dir():
        return folder
    folder.mkdir(parents=True)
    for entry in SITE.iterdir():
        name = entry.name.lower()
        if name.startswith(("govkit", "_editable_impl_govkit", "__editable__")) or name.endswith(".pth"):
            continue
        (folder / entry.name).symlink_to(entry)
    return folder


def fresh_venv(folder: Path, *, with_pip: bool) -> Path:
    """A new virtualenv that sees the dependencies (not govkit) through a .pth file."""
    args = [sys.executable, "-m", "venv", str(folder)] + ([] if with_pip else ["--without-pip"])
    subprocess.run(args, check=True, capture_output=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    links = dependencies_without_govkit(folder.parent / f"{folder.name}-dependencies")
    (Path(site) / "_dependencies.pth").write_text(f"{links}\n")
    return folder


def clean_env(home: Path, *, path_first: Path | None = None) -> dict[str, str]:
    """The process environment minus anything pointing at the source tree or at the user's log and key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GOVKIT_", "VIRTUAL_ENV", "PIP_"))}
    env.update({"NO_COLOR": "1", "CI": "", "HOME": str(home), "GOVKIT_KEY": str(home / "log-key.pem")})
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env.get('PATH', '')}"
    return env


def govkit_location(python: Path, env: dict[str, str], cwd: Path) -> Path:
    """Where `import govkit` resolves for this interpreter."""
    out = subprocess.run(
        [str(python), "-c", "import govkit; print(govkit.__file__)"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Path(out)
