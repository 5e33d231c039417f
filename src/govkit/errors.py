"""One exception family for everything the user can fix.

Every error knows the file and key path it is about, so the CLI can print one line
(`file:line: key.path: what is wrong`) and exit 2 without a traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "EXIT_BLOCKING",
    "EXIT_INPUT_ERROR",
    "EXIT_INTERNAL_ERROR",
    "EXIT_OK",
    "CheckError",
    "DataError",
    "GovkitError",
    "ManifestError",
    "PolicyError",
]

EXIT_OK = 0
EXIT_BLOCKING = 1
EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 3


class GovkitError(Exception):
    """A problem with the user's input or configuration (exit code 2)."""

    exit_code = EXIT_INPUT_ERROR

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        self.line = line

    def __str__(self) -> str:
        where = self.file or ""
        if where and self.line:
            where = f"{where}:{self.line}"
        parts = [p for p in (where, self.field) if p]
        message = " ".join(line.strip() for line in self.message.splitlines() if line.strip())
        return ": ".join([*parts, message])


class ManifestError(GovkitError):
    """The model manifest (govkit.yaml) is malformed or points at bad data."""


class PolicyError(GovkitError):
    """A policy set, overlay or waiver file is malformed or breaks overlay rules."""


class ControlError(GovkitError):
    """A control catalogue file, or a control id a rule cites, is invalid."""


class DataError(GovkitError):
    """A dataset cannot be read or lacks what the manifest says it has."""


class IntakeError(GovkitError):
    """An MLflow model, model card or BOM that `govkit init` reads is malformed."""


class CheckError(Exception):
    """A check could not measure (not the user's input): its rules report status `error`."""
