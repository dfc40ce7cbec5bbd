"""Scale-out: two real daphne workers on one PostgreSQL database and one Redis serve the
same board. A person on one worker sees, live, what a person on the other one does, and an
idle socket on the Redis layer stays open (the redis-py 8 `socket_timeout` trap)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import psycopg
import pytest
from servers import Stack, Worker, make_stack, seed_workshop, service_up, start_worker
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.asyncio, pytest.mark.own_servers]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Workers A and B on one fresh PostgreSQL database and one Redis prefix."""
    if not (service_up(5432) and service_up(6379)):
        pytest.fail("needs the local PostgreSQL (5432) and Redis (6379) servers: start them "
                    "(see README) rather than let this test pass unseen")
    tmp_path = tmp_path_factory.mktemp("scale_out")
    stack = make_stack(tmp_path, postgres=True, redis=True)
    try:
        a, b = start_worker(stack, tmp_path), start_worker(stack, tmp_path)
        yield stack, a, b, seed_workshop(stack)
    finally:
        stack.close()


class Person:
    """One participant's browser: a cookie jar for HTTP, a websocket for the live board."""

    def __init__(self, worker: Worker, name: str):
        self.worker, self.name = worker, name
        self.http = httpx.AsyncClient(base_url=worker.url, timeout=10)
        self.ws: ClientConnection | None = None

    async def join(self, token: str) -> None:
        page = await self.http.get(f"/join/{token}/")
        assert page.status_code == 200, page.text
        answer = await self.http.post(f"/join/{token}/", data={
            "display_name": self.name, "function": "product",
            "csrfmiddlewaretoken": self.http.cookies["csrftoken"]})
        assert answer.status_code == 302, answer.text
        assert "sessionid" in self.http.cookies

    async def add_question(self, workshop: str, text: str) -> None:
        answer = await self.http.post(
            f"/w/{workshop}/s/parking_lot/add/", data={"add-parking_lot-question": text},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"], "HX-Request": "true"})
        assert answer.status_code == 201, answer.text

    async def open_socket(self, worker: Worker, workshop: str, version: int) -> dict:
        """Connect to `worker` (any worker: no sticky sessions) and resync like the page."""
        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        self.ws = await connect(
            f"ws://127.0.0.1:{worker.port}/ws/w/{workshop}/", origin=worker.url,
            additional_headers={"Cookie": cookie}, open_timeout=10)
        await self.ws.send(json.dumps({"type": "hello", "version": version}))
        return await self.next_frame(lambda frame: frame["type"] == "sync")

    async def next_frame(self, match, timeout: float = 5) -> dict:
        """The next frame that matches; presence and other frames pass by."""
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                assert frame["type"] != "error", frame
                if match(frame):
                    return frame

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.aclose()


def board_version(stack: Stack, workshop: str) -> int:
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        row = conn.execute("SELECT version FROM workshop_workshop WHERE id = %s",
                           [int(workshop)]).fetchone()
    return row[0]


def carries(text: str):
    def match(frame: dict) -> bool:
        return frame["type"] == "event" and any(text in op.get("html", "")
                                                for op in frame["ops"])
    return match


async def test_an_edit_on_one_worker_reaches_a_page_on_the_other(cluster):
    stack, a, b, seeded = cluster
    workshop = seeded["workshop"]
    ana, bo = Person(a, "Ana"), Person(b, "Bo")
    try:
        await ana.join(seeded["join"])
        await bo.join(seeded["join"])
        start = board_version(stack, workshop)
        sync = await ana.open_socket(a, workshop, start)
        assert sync["version"] == start
        await bo.open_socket(b, workshop, start)

        # B to A: Bo saves through worker B; Ana's page on worker A shows it.
        marker = f"from-b-{uuid.uuid4().hex[:8]}"
        await bo.add_question(workshop, f"Who owns consent? {marker}")
        frame = await ana.next_frame(carries(marker))
        assert frame["version"] == board_version(stack, workshop) == start + 1
        (op,) = [op for op in frame["ops"] if marker in op.get("html", "")]
        assert op["op"] == "upsert" and op["list"] == "list-parking_lot"
        # Bo's own page, on B, gets the same event with the same version.
        assert (await bo.next_frame(carries(marker)))["version"] == start + 1

        # A to B: Ana saves through worker A; Bo's page on worker B shows it.
        marker = f"from-a-{uuid.uuid4().hex[:8]}"
        await ana.add_question(workshop, f"Which data may we keep? {marker}")
        frame = await bo.next_frame(carries(marker))
        assert frame["version"] == board_version(stack, workshop) == start + 2
        assert (await ana.next_frame(carries(marker)))["version"] == start + 2
    finally:
        await ana.close()
        await bo.close()


async def test_an_idle_socket_on_the_redis_layer_survives_30_seconds(cluster):
    stack, a, b, seeded = cluster
    workshop = seeded["workshop"]
    idle, editor = Person(a, "Ida"), Person(b, "Ed")
    try:
        await idle.join(seeded["join"])
        await editor.join(seeded["join"])
        start = board_version(stack, workshop)
        await idle.open_socket(a, workshop, start)

        # redis-py 8's default socket_timeout (5 s) closed idle sockets with 1011 after ~5 s.
        # Stay idle well past it (and past daphne's 20 s ping), reading whatever comes.
        idle_since = time.monotonic()
        while (left := idle_since + 31 - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(left):
                    frame = json.loads(await idle.ws.recv())
            except TimeoutError:
                break
            except ConnectionClosed as closed:
                after = time.monotonic() - idle_since
                pytest.fail(f"the idle socket was closed after {after:.1f} s: {closed.rcvd}")
            assert frame["type"] in ("presence", "event"), frame

        marker = f"after-idle-{uuid.uuid4().hex[:8]}"
        await editor.add_question(workshop, f"Still there? {marker}")
        frame = await idle.next_frame(carries(marker))
        assert frame["version"] == board_version(stack, workshop)
        assert idle.ws.close_code is None
    finally:
        await idle.close()
        await editor.close()
