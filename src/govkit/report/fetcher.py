"""The only way the PDF renderer may read anything: the report template folders' own files.

User-supplied text is autoescaped, so it cannot become markup; this fetcher is the second wall:
even a URL that did reach the renderer (file: outside the template folders, http:, data: ...) is
refused. An organisation template (`govkit report --template DIR`) adds its own folder, no more.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from weasyprint.urls import URLFetcher, URLFetcherResponse

from govkit.report.template import default_template_dir

ASSETS = default_template_dir()


class AssetOnlyFetcher(URLFetcher):
    def __init__(self, roots: Sequence[Path] = ()) -> None:
        super().__init__(allowed_protocols=("file",))
        self.roots = (ASSETS, *(r.resolve() for r in roots))
        self.refused: list[str] = []
        self.served: list[str] = []

    def allowed(self, path: Path) -> bool:
        return path.is_file() and any(path.is_relative_to(root) for root in self.roots)

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        parsed = urlparse(url)
        path = Path(unquote(parsed.path)).resolve() if parsed.scheme == "file" else None
        if path is None or not self.allowed(path):
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url!r}: only the report template's own files may be loaded")
        self.served.append(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})
