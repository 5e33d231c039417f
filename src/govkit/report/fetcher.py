"""The only way the PDF renderer may read anything: our own template assets, nothing else.

User-supplied text is autoescaped, so it cannot become markup; this fetcher is the second wall:
even a URL that did reach the renderer (file:, http:, data: ...) is refused.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlparse

from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSETS = Path(__file__).resolve().parent / "templates"


class AssetOnlyFetcher(URLFetcher):
    def __init__(self) -> None:
        super().__init__(allowed_protocols=("file",))
        self.refused: list[str] = []
        self.served: list[str] = []

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        parsed = urlparse(url)
        path = Path(unquote(parsed.path)).resolve() if parsed.scheme == "file" else None
        if path is None or not path.is_file() or not path.is_relative_to(ASSETS):
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url!r}: only govkit's template assets may be loaded")
        self.served.append(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})
