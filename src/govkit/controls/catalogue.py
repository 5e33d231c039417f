"""Load control catalogues: one YAML file per framework, bundled ones plus an organisation's own.

A rule cites controls as `framework:id`; citing an id that no catalogue holds is an input error,
because published crosswalks are full of control numbers that do not exist.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field

from govkit.errors import ControlError
from govkit.validation import StrictModel, require_unique_ids, validate_document
from govkit.yamlio import load_yaml

FRAMEWORK_ID = r"^[a-z][a-z0-9-]{0,39}$"
CONTROL_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CONTROL_REF = r"^[a-z][a-z0-9-]{0,39}:[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ENV = "GOVKIT_CONTROLS"
MAX_FILES = 200


class Control(StrictModel):
    id: str = Field(pattern=CONTROL_ID)
    title: str = Field(min_length=1, max_length=300, description="a short title in the catalogue author's own words")
    source: str = Field(min_length=1, max_length=300, description="document and article/section it comes from")


class ControlCatalogue(StrictModel):
    apiVersion: Literal["govkit/v1"]
    kind: Literal["ControlCatalogue"]
    framework: str = Field(pattern=FRAMEWORK_ID, description="the prefix rules use: framework:id")
    title: str = Field(min_length=1)
    version: str = Field(min_length=1)
    source: str = Field(min_length=1)
    url: str | None = Field(default=None, pattern=r"^https?://")
    controls: tuple[Control, ...] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedCatalogue:
    spec: ControlCatalogue
    path: Path

    def ref(self, control: Control) -> str:
        return f"{self.spec.framework}:{control.id}"


@dataclass(frozen=True)
class Catalogues:
    frameworks: Mapping[str, LoadedCatalogue]

    def find(self, ref: str) -> Control | None:
        framework, _, control_id = ref.partition(":")
        loaded = self.frameworks.get(framework)
        return next((c for c in loaded.spec.controls if c.id == control_id), None) if loaded else None

    def refs(self, framework: str | None = None) -> list[str]:
        """Every control as `framework:id`, in catalogue order."""
        if framework is not None and framework not in self.frameworks:
            known = ", ".join(sorted(self.frameworks))
            raise ControlError(f"unknown framework {framework!r} (known: {known})", field="--framework")
        chosen = [self.frameworks[framework]] if framework else list(self.frameworks.values())
        return [c.ref(control) for c in chosen for control in c.spec.controls]


def bundled_dir() -> Path:
    """The catalogues shipped with govkit: in the wheel (`govkit/_controls`) or the source checkout."""
    packaged = Path(str(resources.files("govkit"))) / "_controls"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[3] / "controls"


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ControlError("controls folder not found", file=folder)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if len(files) > MAX_FILES:
        raise ControlError(f"more than {MAX_FILES} catalogue files", file=folder)
    return files


def _load_file(path: Path) -> LoadedCatalogue:
    doc = load_yaml(path, error=ControlError)
    spec = validate_document(ControlCatalogue, doc.data, doc=doc, error=ControlError)
    require_unique_ids(doc, [c.id for c in spec.controls], "controls", "control id", ControlError)
    return LoadedCatalogue(spec=spec, path=path)


def _load_folder(folder: Path) -> dict[str, LoadedCatalogue]:
    out: dict[str, LoadedCatalogue] = {}
    for path in _files(folder):
        loaded = _load_file(path)
        if (other := out.get(loaded.spec.framework)) is not None:
            raise ControlError(
                f"framework {loaded.spec.framework!r} is also defined in {other.path.name}",
                file=path,
                field="framework",
            )
        out[loaded.spec.framework] = loaded
    return out


def load_catalogues(extra: Path | None = None) -> Catalogues:
    """The bundled catalogues plus those in `extra` (default: $GOVKIT_CONTROLS, if set).

    A file in `extra` for a framework govkit also ships replaces the bundled one (e.g. to pin a
    version); every other file adds a framework, such as an organisation's internal control ids.
    """
    if extra is None and os.environ.get(ENV):
        extra = Path(os.environ[ENV])
    frameworks = _load_folder(bundled_dir())
    if extra is not None:
        frameworks.update(_load_folder(extra))
    return Catalogues(frameworks=frameworks)


def unknown_refs(catalogues: Catalogues, refs: Iterable[str]) -> list[str]:
    return [ref for ref in refs if catalogues.find(ref) is None]
