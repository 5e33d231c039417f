"""The output-format seam: render an Evaluation to text for a file or the terminal."""

from __future__ import annotations

from abc import ABC, abstractmethod
from importlib import import_module
from typing import ClassVar

from govkit.evaluation import Evaluation

__all__ = ["FORMATS", "Formatter", "get_formatter"]


class Formatter(ABC):
    name: ClassVar[str]
    suffix: ClassVar[str]

    @abstractmethod
    def render(self, evaluation: Evaluation, *, digest: str | None = None, color: bool = False) -> str:
        """The whole document. `digest` is the evaluation's recorded identity."""


# Imported on demand so `govkit --help` never pays for a format it doesn't use.
FORMATS = {
    "text": "govkit.formats.text:TextFormatter",
    "json": "govkit.formats.json:JsonFormatter",
    "junit": "govkit.formats.junit:JunitFormatter",
    "sarif": "govkit.formats.sarif:SarifFormatter",
    "markdown": "govkit.formats.markdown:MarkdownFormatter",
    "github": "govkit.formats.github:GithubFormatter",
}


def get_formatter(name: str) -> Formatter:
    module, _, cls = FORMATS[name].partition(":")
    formatter_class: type[Formatter] = getattr(import_module(module), cls)
    return formatter_class()
