"""The machinery of tests/test_live_stateful.py: each person's page and socket, the
drain that takes every frame the sockets get and runs each page's timers as
static/js/live.js does, the check of hidden state on every frame (invariant 1), and the
comparison of the pages with the whole board for their audience (invariant 2).

`LiveRoom` is a mixin: the machine that uses it keeps the people (`pages`, `audience`,
`is_facilitator`), the board's `version` and, for every version, the `Moment` that says
what its frames may show and to whom (`history`)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field

from channels.db import database_sync_to_async as db
from channels.layers import get_channel_layer
from django.test import Client
from live_helpers import Socket
from page_model import PageModel

from sessions.fragments import render, whole_board
from sessions.viewer import FACILITATORS, ROOM
from workshop.models import Workshop

# How long every socket must stay silent, once all awaited frames are in and the channel
# layer holds nothing more for them, to be "drained".
QUIET = 0.005
# How long a drain may wait for frames it knows are coming before the step fails.
PATIENCE = 10.0
TALLY = 'class="tally"'
AUTHOR = "Added by"
CARD = re.compile(r'id="roadmap-(\d+)"[^>]*>\s*<header class="card-head">(.*?)</header>', re.S)
DOTS = re.compile(r'class="tag dots"[^>]*>● (\d+) dot')


@dataclass
class Item:
    pk: int
    version: int = 1
    author: str = ""  # who added it, by the state machine's names


@dataclass(frozen=True)
class Moment:
    """What was true right after the board reached a version: what frames of that
    version may show, and to whom."""

    anonymous: frozenset[str]
    facilitators: frozenset[str]
    hidden_vote: bool
    closed_dots: tuple[tuple[int, int], ...]
    section: str = ""
    actor: str = ""


@dataclass
class Page:
    """One person's browser tab: their Django session, the page and its socket."""

    name: str
    client: Client
    model: PageModel
    socket: Socket | None = None
    # Hello, resync and regroup answers still to come: the server folds the requests
    # that come while it is answering one into a single next answer, so a sync answers
    # every request before it (and a later one may still come).
    awaiting_syncs: int = 0
    asked: bool = False  # sent a hello or resync (or was regrouped) on this socket
    awaiting_pongs: int = 0
    seen: int = 0  # the highest version this socket has received whole (dropped or not)
    drop: int = 0  # event frames to lose before the page gets them
    dropped: int = 0  # event frames it lost since its last sync
    resync_pending: bool = False
    behind: int = 0  # the version a pong said the board is at
    log: list[str] = field(default_factory=list)


def html_of(frame: dict) -> str:
    return "".join(op.get("html", "") for op in frame.get("ops", []))



class LiveRoom:
    """Pages, sockets and the oracle's checks, for a state machine of the live board."""

    # Sockets -----------------------------------------------------------------------

    async def load(self, page: Page) -> PageModel:
        response = await db(page.client.get)(self.board_url)
        assert response.status_code == 200
        return PageModel.from_html(response.content.decode())

    async def connect(self, page: Page, hellos: int = 1) -> None:
        page.socket = Socket(page.client, self.workshop.pk)
        connected, _ = await page.socket.comm.connect(timeout=5)
        assert connected
        page.seen = page.model.version
        page.resync_pending = False
        page.behind = 0
        for _ in range(hellos):
            await self.send(page, {"type": "hello", "version": page.model.version,
                                   "audience": page.model.audience})

    async def disconnect(self, page: Page) -> None:
        socket, page.socket = page.socket, None
        await socket.comm.disconnect()
        page.awaiting_syncs = page.awaiting_pongs = page.drop = 0
        page.asked = False
        page.log.append("disconnected")

    async def send(self, page: Page, message: dict) -> None:
        if message["type"] in ("hello", "resync"):
            page.awaiting_syncs += 1
            page.asked = True
        elif message["type"] == "ping":
            page.awaiting_pongs += 1
        page.log.append(f"sent {message}")
        await page.socket.send(message)

    async def drain(self) -> None:
        """Take every frame each socket gets until all awaited frames are in and every
        socket stays quiet; run each page's timers (gap -> resync, behind -> resync)."""
        loop = asyncio.get_running_loop()
        started = last = loop.time()
        while True:
            live = [page for page in self.pages.values() if page.socket is not None]
            got = False
            for page in live:
                comm = page.socket.comm
                while not comm.output_queue.empty():
                    self.take(page, await comm.receive_output(timeout=1))
                    got = True
                if comm.future.done() and comm.output_queue.empty():
                    comm.future.result()  # the consumer's own exception, if any
                    raise AssertionError(f"{page.name}'s socket ended: {page.log[-5:]}")
            if got:
                last = loop.time()
                continue
            for page in live:
                await self.page_timers(page)
            waiting = [page.name for page in live
                       if page.awaiting_syncs or page.awaiting_pongs or page.seen < self.version]
            now = loop.time()
            if self.layer_holds_messages():
                last = now  # a consumer has yet to take them: frames may follow
            elif not waiting and now - last >= QUIET:
                return
            if now - started > PATIENCE:
                raise AssertionError(
                    f"frames awaited by {waiting} never came (board at {self.version}): "
                    + "; ".join(f"{p.name} seen {p.seen}, syncs {p.awaiting_syncs}, "
                                f"pongs {p.awaiting_pongs}, {p.log[-6:]}" for p in live))
            await asyncio.sleep(0.002)

    @staticmethod
    def layer_holds_messages() -> bool:
        """Whether the in-memory channel layer still holds messages for a socket that is
        in one of its groups (all of this board's: the layer is flushed per example). A
        frame queued there reaches its socket soon, however busy the consumer is now, so
        a drain waits for it; what is left for a socket that has left is not waited for."""
        layer = get_channel_layer()
        queues = getattr(layer, "channels", {})
        members = {name for group in getattr(layer, "groups", {}).values() for name in group}
        return any(not queues[name].empty() for name in members if name in queues)

    async def page_timers(self, page: Page) -> None:
        """What live.js does 300 ms after a gap and 1.5 s after a pong said it is behind."""
        model = page.model
        for url in model.fetches:
            response = await db(page.client.get)(url)
            assert response.status_code == 200, url
            model.fetched(json.loads(response.content))
        model.fetches.clear()
        if page.awaiting_syncs:
            return
        if model.early:
            model.give_up_waiting()
            await self.resync(page)
        elif page.behind > model.version:
            await self.resync(page)
        page.behind = 0

    async def resync(self, page: Page) -> None:
        if not page.resync_pending:
            page.resync_pending = True
            await self.send(page, {"type": "resync", "version": page.model.version})

    def take(self, page: Page, message: dict) -> None:
        if message["type"] == "websocket.close":
            raise AssertionError(f"the server closed {page.name}'s socket: {message}")
        text = message["text"]
        frame = json.loads(text)
        kind = frame["type"]
        version = frame.get("version")
        page.log.append(f"got {kind} v{version} {frame.get('audience', '')}"
                        f" {frame.get('part', 1)}/{frame.get('parts', 1)}")
        self.check_secrets(page, frame)
        last_part = frame.get("part", 1) == frame.get("parts", 1)
        if kind == "error":
            raise AssertionError(f"{page.name} got an error frame: {frame}")
        if kind == "pong":
            page.awaiting_pongs -= 1
            assert page.awaiting_pongs >= 0, f"{page.name}: a pong nobody asked for"
            page.behind = max(page.behind, version)
            return
        if kind == "event" and last_part:
            page.seen = max(page.seen, version)
        if kind == "sync" and last_part:
            self.synced = True  # a page caught up: worth comparing even at the same version
            assert page.asked, f"{page.name} got a sync it did not ask for: {page.log[-6:]}"
            page.awaiting_syncs = 0
            page.resync_pending = False
            page.dropped = 0  # it has caught up with what it lost
            page.seen = max(page.seen, version)
            wanted = FACILITATORS if page.name in self.history[version].facilitators else ROOM
            assert frame["audience"] == wanted, (
                f"{page.name} got a sync for {frame['audience']} at v{version}, "
                f"but sees the board as {wanted} then")
        if kind == "event" and page.drop:
            page.drop -= 1
            page.dropped += 1
            page.log.append("  (dropped)")
            return
        page.model.receive(text)

    def check_secrets(self, page: Page, frame: dict) -> None:
        """Invariant 1, on every frame a socket receives."""
        version = frame.get("version")
        if frame["type"] not in ("event", "sync"):
            assert TALLY not in html_of(frame) and AUTHOR not in html_of(frame), frame
            return
        assert version in self.history, f"a frame of a version never made: {frame}"
        moment = self.history[version]
        html = html_of(frame)
        where = f"{page.name} got at v{version} ({frame['type']}, {frame.get('audience')})"
        if moment.hidden_vote:
            assert TALLY not in html and 'class="count"' not in html, (
                f"{where} the tally of a hidden vote")
        closed = dict(moment.closed_dots)
        for pk, header in CARD.findall(html):
            shown = DOTS.search(header)
            assert (int(shown[1]) if shown else 0) == closed.get(int(pk), 0), (
                f"{where} roadmap dots on recipe {pk} other than the last closed vote's: "
                f"{header!r}, expected {closed.get(int(pk), 0)}")
        if page.name in moment.facilitators:
            return
        for op in frame["ops"]:
            if op["op"] != "upsert":
                continue
            key = op["list"].removeprefix("list-")
            assert not (key in moment.anonymous and AUTHOR in op["html"]), (
                f"{where} the author of {op['id']} while {key} is anonymous and "
                f"{page.name} is in the room audience: "
                + re.search(AUTHOR + r"[^<]*", op["html"])[0])
        if frame["type"] == "event" and moment.section in moment.anonymous and moment.actor:
            assert moment.actor not in frame.get("announce", ""), (
                f"{where} the announcement {frame['announce']!r} names the author of an "
                "anonymous list")

    async def compare_with_whole_board(self, behind_ok: bool = True) -> None:
        """Compare every page that has applied the board's version with the whole board
        as its audience gets it. A page may be behind only when it lost frames and has
        not heard the heartbeat since (`behind_ok`)."""
        for page in self.pages.values():
            if page.socket is not None and page.model.version < self.version:
                assert behind_ok and page.dropped, (
                    f"{page.name} is at v{page.model.version}, the board at v{self.version}:"
                    f" {page.log[-8:]}")
        current = [page for page in self.pages.values() if page.socket is not None
                   and page.model.version == self.version and not page.model.early]
        # The whole board as each audience gets it at this version (nothing compared
        # changes without a new version, so it is rendered once per version).
        fresh = self.whole_boards if self.whole_boards_at == self.version else {}
        self.whole_boards, self.whole_boards_at = fresh, self.version
        needed = sorted({self.audience(page.name) for page in current} - set(fresh))
        if needed:
            frames = await db(lambda: render(Workshop.objects.get(pk=self.workshop.pk),
                                             whole_board(), version=self.version,
                                             kind="sync", audiences=needed))()
            for audience, texts in frames.audiences.items():
                fresh[audience] = PageModel()
                for text in texts:
                    fresh[audience].receive(text)
        for page in current:
            assert page.model.audience == self.audience(page.name), (
                f"{page.name}'s page shows the board as {page.model.audience} sees it, but "
                f"{page.name} is now in {self.audience(page.name)}: {page.log[-6:]}")
            reference = fresh[self.audience(page.name)]
            differences = reference.differences(page.model)
            assert differences == [], (
                f"{page.name} ({self.audience(page.name)}) at v{self.version} differs from "
                f"the whole board: {differences}; {self.explain(page, reference, differences)}"
                f" {page.log[-10:]}")

    async def heartbeat(self) -> None:
        """Every page pings; a pong that says the page is behind makes it resync."""
        for page in self.pages.values():
            await self.send(page, {"type": "ping"})
        await self.drain()

    @staticmethod
    def explain(page: Page, fresh: PageModel, differences: list[str]) -> str:
        """The first item or region that differs, on the page and fresh, for the failure
        message."""
        for ids in fresh.lists.values():
            for dom_id in ids:
                mine = page.model.items.get(dom_id)
                if mine is not None and " ".join(mine.split()) != " ".join(
                        fresh.items[dom_id].split()):
                    return (f"{dom_id} on the page: {mine[-300:]!r}; "
                            f"fresh: {fresh.items[dom_id][-300:]!r}")
        for name in fresh.regions:
            if any(name in d for d in differences):
                return (f"region {name} on the page: {page.model.regions.get(name, '')[:300]!r}"
                        f"; fresh: {fresh.regions[name][:300]!r}")
        return ""
