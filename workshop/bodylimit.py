"""Request bodies bounded before they are read into memory.

Two guards, one rule (`limit_for`): the ASGI middleware `BodyLimit` answers 413 on a
declared Content-Length over the path's limit before the app reads a byte, and stops a
body that streams past it; the server's own protocol (workshop/serve.py) refuses, while
the body is still arriving, anything over the largest limit of all, because daphne
otherwise reads a whole body into its queue before any ASGI code runs.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

KiB = 1024
MiB = 1024 * KiB
IMPORT_PATH = "/import/"
MULTIPART_SLACK = 64 * KiB  # a form's boundaries and fields around the uploaded file


def default_limit() -> int:
    return int(settings.REQUEST_BODY_MAX_KB) * KiB


def import_limit() -> int:
    return int(getattr(settings, "EXPORTS_IMPORT_MAX_MB", 5)) * MiB + MULTIPART_SLACK


# A data source's sample (workshop/sample_views.py): its handler drops a file past
# PROFILE_SAMPLE_MAX_MB while it arrives, so that the form can say so; a body past twice
# that is refused here before it is read.
SAMPLE_PATH = re.compile(r"^/w/\d+/s/data_sources/\d+/sample/$")


def sample_limit() -> int:
    return 2 * int(getattr(settings, "PROFILE_SAMPLE_MAX_MB", 20)) * MiB + MULTIPART_SLACK


def limit_for(path: str) -> int:
    """The most bytes a request to this path may carry."""
    if path == IMPORT_PATH:
        return import_limit()
    if SAMPLE_PATH.match(path):
        return sample_limit()
    return default_limit()


def largest_limit() -> int:
    return max(default_limit(), import_limit(), sample_limit())


def message(limit: int) -> bytes:
    size = f"{limit / MiB:.1f} MB" if limit >= MiB else f"{limit // KiB} KB"
    return (f"This request is larger than Attune accepts here ({size}). Shorten the "
            f"text, or import a smaller file.").encode()


def too_large(limit: int) -> list[dict[str, Any]]:
    """The ASGI messages of a 413 answer."""
    body = message(limit)
    return [
        {"type": "http.response.start", "status": 413,
         "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                     (b"content-length", str(len(body)).encode()),
                     (b"connection", b"close")]},
        {"type": "http.response.body", "body": body},
    ]


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: no HTTP request reaches the app with more than its limit."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = limit_for(scope.get("path", ""))
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            return await answer(send, limit)
        received = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watched_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if not started:
                await answer(send, limit)


def declared_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def answer(send: Any, limit: int) -> None:
    for message in too_large(limit):
        await send(message)
