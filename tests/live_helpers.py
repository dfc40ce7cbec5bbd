"""Websocket clients for the consumer tests: real Django sessions, real channel layer."""

from __future__ import annotations

import asyncio
import json

from channels.testing import WebsocketCommunicator
from django.test import Client

from workshop.asgi import application


class Socket:
    """One page's websocket, as the page's script uses it."""

    def __init__(self, client: Client, workshop_id: int):
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        self.comm = WebsocketCommunicator(
            application, f"/ws/w/{workshop_id}/",
            headers=[(b"cookie", cookie.encode()), (b"origin", b"http://testserver")])
        self.frames: list[dict] = []

    async def open(self, version: int | None = 0) -> dict:
        connected, _ = await self.comm.connect(timeout=5)
        assert connected
        if version is None:
            return {}
        await self.send({"type": "hello", "version": version})
        return await self.next(lambda f: f["type"] == "sync")

    async def hello(self, version: int | None) -> dict:
        """Say which version this page has; returns the (first) sync frame."""
        await self.send({"type": "hello", "version": version})
        return await self.next(lambda f: f["type"] == "sync")

    async def send(self, message: dict) -> None:
        await self.comm.send_to(text_data=json.dumps(message))

    async def next(self, match=lambda frame: True, timeout: float = 5) -> dict:
        """The next frame that matches; the others are kept in self.frames."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no matching frame; got {[f['type'] for f in self.frames]}")
            message = await self.comm.receive_output(timeout=left)
            if message["type"] == "websocket.close":
                raise ConnectionError(message.get("code"))
            frame = json.loads(message["text"])
            self.frames.append(frame)
            if match(frame):
                return frame

    async def event(self, timeout: float = 5) -> dict:
        return await self.next(lambda f: f["type"] == "event", timeout)

    async def closed(self, timeout: float = 5) -> int:
        """Wait for the server to close this socket; returns the close code."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            message = await self.comm.receive_output(timeout=deadline - loop.time())
            if message["type"] == "websocket.close":
                return message.get("code")
            self.frames.append(json.loads(message["text"]))
        raise AssertionError("socket was not closed")

    async def quiet(self, timeout: float = 0.3) -> bool:
        return await self.comm.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.comm.disconnect()


def html_of(frame: dict) -> str:
    return "".join(op.get("html", "") for op in frame.get("ops", []))


def op_ids(frame: dict) -> set[str]:
    """The ids a frame brings up to date: items and regions by id, lists by their order."""
    return {op.get("id") or op["list"] for op in frame["ops"] if "id" in op or "list" in op}
