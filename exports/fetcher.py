"""The only way the PDF renderer can read anything: an allow-list of our own files.

WeasyPrint fetches every URL it meets (stylesheets, fonts, images, `<link
rel=attachment>`) through its URL fetcher. This one answers only for the bundled
assets it was given, matched exactly by URL, from local files. Everything else is
refused before any I/O: http(s), file://, data:, and anything user text might name.
It does no network, so it cannot follow a redirect either.

No Django here: it runs inside the render process.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from weasyprint.urls import URLFetcher, URLFetcherResponse

TYPES = {".css": "text/css", ".ttf": "font/ttf", ".otf": "font/otf", ".woff2": "font/woff2"}


class RefusedURL(ValueError):
    """A URL outside the allow-list; WeasyPrint logs it and renders without it."""


class StaticOnlyFetcher(URLFetcher):
    def __init__(self, assets: dict[str, str]):
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=False)
        self.assets = dict(assets)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        path = self.assets.get(url)
        if path is None:
            self.refused.append(url[:200])
            raise RefusedURL(f"not a bundled asset: {url[:200]}")
        content_type = (
            TYPES.get(Path(path).suffix.lower())
            or mimetypes.guess_type(path)[0]
            or "application/octet-stream"
        )
        return URLFetcherResponse(url, Path(path).read_bytes(), {"Content-Type": content_type})
