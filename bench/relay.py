"""The floor under bench/live_board.py: a bare Channels relay, served by the same daphne
worker, on the same channel layer, beside the unmodified Attune app.

No database, no templates, no sessions: `POST /relay/edit/` takes the benchmark's
question, makes a frame of the size Attune sends for the same edit (an upsert of a
parking-lot card), numbers it with the next version and `group_send`s it to one group;
each socket of `/relay/ws/` relays what the group sends, answers `hello` and `resync`
with an empty sync at the current version, and `ping` with `pong`. With two workers the
versions come from Redis (INCR), as Attune's come from its database. Everything else is
Attune (`workshop.asgi.application`), so the same workers serve both, in the same run.
"""

from __future__ import annotations

import json
import os
from html import escape
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

from workshop.asgi import application as attune  # sets Django up

GROUP = "bench-relay"
VERSION_KEY = "attune-bench-relay-version"
# Attune's frame for one parking-lot question is about 1.5 KB (tests/test_edit_frames.py):
# a card of about that size, so both send the same bytes.
CARD = ('<article class="card" id="parking_lot-{version}" data-version="1">'
        '<header class="card-head"><h4>{text}</h4></header>'
        '<p class="byline small muted">Added by Person 1</p>{padding}</article>')
PADDING = "<!-- " + "x" * 1000 + " -->"
_version = 0  # one worker, no Redis: versions from this process
_redis: Any = None


def _client() -> Any:
    global _redis
    url = os.environ.get("REDIS_URL")
    if url and _redis is None:
        import redis.asyncio

        _redis = redis.asyncio.from_url(url)
    return _redis


async def next_version() -> int:
    global _version
    client = _client()
    if client:
        return int(await client.incr(VERSION_KEY))
    _version += 1
    return _version


async def current_version() -> int:
    client = _client()
    return int(await client.get(VERSION_KEY) or 0) if client else _version


class Relay(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        kind = json.loads(text_data or "{}").get("type")
        if kind in ("hello", "resync"):
            await self.send(json.dumps({"type": "sync", "version": await current_version(),
                                        "part": 1, "parts": 1, "ops": []}))
        elif kind == "ping":
            await self.send(json.dumps({"type": "pong", "version": await current_version()}))

    async def relay_frame(self, event: dict) -> None:
        await self.send(text_data=event["text"])


relay_socket = Relay.as_asgi()


async def _body(receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def _answer(send, status: int, body: bytes = b"") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def edit(scope, receive, send) -> None:
    form = parse_qs((await _body(receive)).decode())
    text = next(iter(form.values()), [""])[0]
    version = await next_version()
    frame = json.dumps({
        "type": "event", "version": version, "audience": "room", "part": 1, "parts": 1,
        "ops": [{"op": "upsert", "id": f"parking_lot-{version}", "list": "list-parking_lot",
                 "html": CARD.format(version=version, text=escape(text), padding=PADDING),
                 "after": None}],
        "announce": "Person 1 added a question"}, separators=(",", ":"))
    await get_channel_layer().group_send(GROUP, {"type": "relay.frame", "text": frame})
    await _answer(send, 201)


async def application(scope, receive, send) -> None:
    path = scope.get("path", "")
    if scope["type"] == "websocket" and path == "/relay/ws/":
        return await relay_socket(scope, receive, send)
    if scope["type"] == "http" and path == "/relay/edit/":
        return await edit(scope, receive, send)
    if scope["type"] == "http" and path == "/relay/version/":
        await _body(receive)
        return await _answer(send, 200, str(await current_version()).encode())
    return await attune(scope, receive, send)
