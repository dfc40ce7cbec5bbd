"""Pages for the fault tests (tests/test_live_faults_protocol.py): Python clients that run
the board's socket the way static/js/live.js does, each keeping a `PageModel`, and a
`Board` of them on real daphne workers; plus the checks the tests share (what a fresh
load shows, what the database stored, what the ledger says).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from page_model import PageModel
from servers import RedisServer, Stack, Worker, make_stack, seed_workshop, start_worker
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

# The close codes after which the page (the htmx ws extension) reconnects.
TRY_AGAIN = 4013  # sessions/closecodes.py
RECONNECT = frozenset({1006, 1011, 1012, 1013, TRY_AGAIN})
OUTAGE = 10.0  # seconds Redis stays down in the outage scenario
BACK_WITHIN = 20.0  # generous: how long after a fault every page must be live again
LIVE_WITHIN = 10.0  # how long a new edit may take to reach every page
GAP_WAIT = 0.3  # static/js/live.js: an early frame waits this long for the missing one
BEHIND_WAIT = 1.5  # static/js/live.js: a pong that says "behind" waits this long
# static/js/live.js: a live page that got no pong for 4 pings' time (a minute) reconnects
# by itself. These clients ping faster, so they wait at least 10 s: a worker busy for a few
# seconds (its database pool reconnecting) is slow, not dead.
SILENT_PINGS = 4
SILENT_AT_LEAST = 10.0
QUESTION = re.compile(r"<h4>(.*?)</h4>", re.S)


class SilentSocket(Exception):
    """The page gave up on a socket that stayed open but stopped answering."""


def now() -> float:
    return time.monotonic()


async def until(check: Callable[[], bool], timeout: float, what: str,
                pages: list[LivePage] | tuple = ()) -> float:
    """Poll `check` until it holds; returns how long that took. On a timeout, say what
    each of `pages` went through."""
    start = now()
    while not check():
        if now() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting until {what}; "
                                 + "; ".join(page.describe(start) for page in pages))
        await asyncio.sleep(0.02)
    return now() - start


def questions(model: PageModel) -> Counter[str]:
    """The parking-lot questions a page shows, counted by their text."""
    found: Counter[str] = Counter()
    for dom_id in model.lists.get("list-parking_lot", []):
        match = QUESTION.search(model.items.get(dom_id, ""))
        if match:
            found[html.unescape(match[1]).strip()] += 1
    return found


def stored_questions(stack: Stack, workshop: str) -> Counter[str]:
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        rows = conn.execute("SELECT question FROM workshop_parkinglotitem "
                            "WHERE workshop_id = %s", [int(workshop)]).fetchall()
    return Counter(row[0] for row in rows)


def board_version(stack: Stack, workshop: str) -> int:
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        return conn.execute("SELECT version FROM workshop_workshop WHERE id = %s",
                            [int(workshop)]).fetchone()[0]


def ledger_problems(stack: Stack, workshop: str) -> list[str]:
    """What would show a half-written change: the board's version and its event log
    disagree, or a parking-lot item has no "added" event (or more than one)."""
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        version = conn.execute("SELECT version FROM workshop_workshop WHERE id = %s",
                               [int(workshop)]).fetchone()[0]
        versions = [row[0] for row in conn.execute(
            "SELECT version FROM workshop_boardevent WHERE workshop_id = %s "
            "ORDER BY version", [int(workshop)])]
        items = [row[0] for row in conn.execute(
            "SELECT id FROM workshop_parkinglotitem WHERE workshop_id = %s",
            [int(workshop)])]
        added = Counter(row[0] for row in conn.execute(
            "SELECT item_id FROM workshop_boardevent WHERE workshop_id = %s "
            "AND kind = 'item.added' AND section = 'parking_lot'", [int(workshop)]))
    problems = []
    if not versions or versions[-1] != version:
        problems.append(f"board version {version}, last event {versions[-1:]}")
    if versions != list(range(versions[0] if versions else 1, version + 1)):
        problems.append(f"event versions are not contiguous: {versions}")
    problems += [f"parking_lot-{pk} has {added[pk]} 'added' events" for pk in items
                 if added[pk] != 1]
    problems += [f"an 'added' event for parking_lot-{pk}, which is not stored"
                 for pk in added if pk not in items]
    return problems


def worker_ports(*workers: Worker) -> list[int]:
    return [worker.port for worker in workers]


class LivePage:
    """One person's board tab: a cookie jar for HTTP, and the live socket run as
    static/js/live.js runs it. `ports` are the workers it may reach, tried in turn."""

    def __init__(self, name: str, workshop: str, ports: list[int], *,
                 ping_every: float = 15.0, seed: int = 0):
        self.name, self.workshop, self.ports = name, workshop, list(ports)
        self.port = self.ports[0]  # where the socket connects, and HTTP goes
        self.http = httpx.AsyncClient(timeout=10)
        self.ping_every = ping_every
        self.random = random.Random(seed)  # the backoff's jitter, the same every run
        self.model = PageModel()
        self.state = "connecting"
        self.failures = 0  # connection attempts since the page was last live
        self.resync_pending = False
        self.fetched = 0
        self.task: asyncio.Task | None = None
        self.ws: ClientConnection | None = None
        # What happened, for the assertions and the printed timings.
        self.opened: list[tuple[float, int]] = []  # (when, worker port) a socket opened
        self.lives: list[float] = []  # when a socket's hello was answered by a whole sync
        self.closes: list[tuple[float, int]] = []  # (when, close code) a socket ended
        self.refused: list[tuple[float, int, str]] = []  # failed handshakes
        self.errors: list[tuple[float, dict]] = []
        self.gave_up: list[float] = []  # sockets dropped by the page's own watchdog
        self.events: list[tuple[float, str]] = []  # every event frame, as received
        self.received: list[tuple[float, str, object]] = []  # (when, type, version)
        self.pongs: list[tuple[float, float]] = []  # (ping sent, pong received)
        self.pings: deque[float] = deque()  # pings of this socket still unanswered
        self.resyncs_sent = 0

    def url(self, path: str, port: int | None = None) -> str:
        return f"http://127.0.0.1:{port or self.port}{path}"

    @property
    def board_path(self) -> str:
        return f"/w/{self.workshop}/"

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    # HTTP, as the browser does it ---------------------------------------------------

    async def join(self, token: str, function: str = "product") -> None:
        page = await self.http.get(self.url(f"/join/{token}/"))
        assert page.status_code == 200, page.text
        answer = await self.http.post(self.url(f"/join/{token}/"), data={
            "display_name": self.name, "function": function,
            "csrfmiddlewaretoken": self.http.cookies["csrftoken"]})
        assert answer.status_code == 302, answer.text

    async def sign_in(self, user: str, password: str) -> None:
        page = await self.http.get(self.url("/accounts/login/"))
        assert page.status_code == 200, page.text
        answer = await self.http.post(self.url("/accounts/login/"), data={
            "username": user, "password": password,
            "csrfmiddlewaretoken": self.http.cookies["csrftoken"]})
        assert answer.status_code == 302, answer.text

    async def load(self, port: int | None = None) -> PageModel:
        """A fresh page load of the board, with this person's cookies."""
        page = await self.http.get(self.url(self.board_path, port))
        assert page.status_code == 200, (self.name, page.status_code, page.text[:500])
        return PageModel.from_html(page.text)

    async def add_question(self, text: str, port: int | None = None) -> httpx.Response:
        """Save a parking-lot question over HTTP, as the add form does."""
        return await self.http.post(
            self.url(f"{self.board_path}s/parking_lot/add/", port),
            data={"add-parking_lot-question": text},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"], "HX-Request": "true"})

    # The socket -------------------------------------------------------------------

    async def open(self) -> None:
        """Load the board, then run its socket in the background."""
        self.model = await self.load()
        self.task = asyncio.create_task(self.run(), name=f"page {self.name}")

    async def run(self) -> None:
        while True:
            port = self.port
            code = await self.connect_once(port)
            if code is not None and code not in RECONNECT:
                self.state = "closed"  # an application code: the page says why, stays
                return
            if code is None:  # no handshake: the next worker, like a load balancer
                self.port = self.ports[(self.ports.index(port) + 1) % len(self.ports)]
            self.state = "reconnecting"
            self.failures += 1
            # static/js/live.js: full jitter under a ceiling that doubles from 0.25 s;
            # capped at 1 s here (the page caps it at 3 s) to keep the tests short.
            ceiling = min(1.0, 0.25 * 2 ** max(0, self.failures - 1))
            await asyncio.sleep(ceiling / 2 + self.random.random() * ceiling / 2)

    async def connect_once(self, port: int) -> int | None:
        """One socket, from handshake to close. Returns its close code, or None when
        the handshake failed (refused, HTTP error, timeout)."""
        try:
            async with connect(f"ws://127.0.0.1:{port}/ws/w/{self.workshop}/",
                               origin=f"http://127.0.0.1:{port}",
                               additional_headers={"Cookie": self.cookie_header()},
                               open_timeout=5, ping_interval=None,
                               max_size=2 * 1024 * 1024) as ws:
                self.ws = ws
                self.opened.append((now(), port))
                self.resync_pending = True  # the hello's sync is the answer
                self.model.syncing = False
                await ws.send(json.dumps({"type": "hello", "version": self.model.version}))
                try:
                    await self.serve(ws)
                finally:
                    self.ws = None
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else 1006
            self.closes.append((now(), code))
            return code
        except SilentSocket:
            self.gave_up.append(now())
            return 1006  # leaving `async with` closed it; come back like after a drop
        except (OSError, InvalidHandshake, TimeoutError) as error:
            self.refused.append((now(), port, type(error).__name__))
            return None
        return 1000  # not reached: serve() returns only by ConnectionClosed

    async def serve(self, ws: ClientConnection) -> None:
        gap_at: float | None = None
        behind_at: float | None = None
        wanted = 0
        ping_at = now() + self.ping_every
        self.pings = deque()
        last_pong = now()  # a fresh socket is not judged by the old one
        silent_after = max(SILENT_PINGS * self.ping_every, SILENT_AT_LEAST)
        while True:
            deadline = min(t for t in (gap_at, behind_at, ping_at) if t is not None)
            try:
                async with asyncio.timeout(max(0.0, deadline - now())):
                    text = await ws.recv()
            except TimeoutError:
                moment = now()
                if gap_at is not None and moment >= gap_at:
                    gap_at = None
                    if self.model.early:  # show what we have, then ask for the rest
                        self.model.give_up_waiting()
                        await self.fetch_missing()
                        await self.resync(ws)
                if behind_at is not None and moment >= behind_at:
                    behind_at = None
                    if self.model.version < wanted:
                        await self.resync(ws)
                if moment >= ping_at:
                    ping_at = moment + self.ping_every
                    if self.state == "live":
                        if moment - last_pong > silent_after:
                            raise SilentSocket from None
                        await self.ping()
                continue
            moment = now()
            frame = json.loads(text)
            kind = frame.get("type")
            self.received.append((moment, kind, frame.get("version")))
            if kind == "event":
                self.events.append((moment, text))
                self.model.receive(text)
            elif kind == "sync":
                self.model.receive(text)
                if not self.model.syncing:
                    self.resync_pending = False
                    if self.state != "live":
                        self.lives.append(moment)
                    self.state, self.failures = "live", 0
            elif kind == "presence":
                self.model.receive(text)
            elif kind == "pong":
                self.pongs.append((self.pings.popleft() if self.pings else 0.0, moment))
                last_pong = moment
                version = frame.get("version")
                if (isinstance(version, int) and version > self.model.version
                        and behind_at is None):
                    behind_at, wanted = moment + BEHIND_WAIT, version
            elif kind == "error":
                self.errors.append((moment, frame))
            if self.model.early and not self.model.syncing:
                gap_at = gap_at or moment + GAP_WAIT
            else:
                gap_at = None
            await self.fetch_missing()

    async def ping(self) -> None:
        """Send a heartbeat now (the page sends one every 15 s)."""
        if self.ws is not None and self.state == "live":
            self.pings.append(now())
            await self.ws.send(json.dumps({"type": "ping"}))

    async def resync(self, ws: ClientConnection) -> None:
        if self.resync_pending:
            return
        self.resync_pending = True
        self.resyncs_sent += 1
        await ws.send(json.dumps({"type": "resync", "version": self.model.version}))

    async def fetch_missing(self) -> None:
        """Fetch ops: what was too large for a frame comes over HTTP."""
        while self.fetched < len(self.model.fetches):
            url = self.model.fetches[self.fetched]
            self.fetched += 1
            answer = await self.http.get(self.url(url), headers={"Accept": "application/json"})
            if answer.status_code == 200:
                self.model.fetched(answer.json())

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self.http.aclose()

    # What the tests ask ----------------------------------------------------------------

    def describe(self, since: float) -> str:
        """What this page went through since `since`, for failure messages."""
        return (f"{self.name}: {self.state} at v{self.model.version}, "
                f"{sum(t >= since for t, _ in self.opened)} sockets opened, "
                f"closes {self.closed_since(since)}, "
                f"{sum(t >= since for t, *_ in self.refused)} refused, "
                f"errors {[f.get('reason') or f.get('code') for f in self.errors_since(since)]}, "
                f"gave up on {sum(t >= since for t in self.gave_up)} silent, "
                f"{sum(got >= since for _, got in self.pongs)} pongs")

    def live_since(self, moment: float) -> float | None:
        """When this page was first live on a socket it opened after `moment`."""
        opened = [t for t, _ in self.opened if t >= moment]
        if not opened:
            return None
        return next((t for t in self.lives if t >= opened[0]), None)

    def renewed_since(self, moment: float) -> float | None:
        """When a ping sent after `moment` was answered (the server re-joined this
        socket's groups before it answered), on a socket that stayed open."""
        return next((got for sent, got in self.pongs if sent >= moment), None)

    def got_live(self, marker: str) -> bool:
        """Whether an event frame (not a sync) brought this text."""
        return any(marker in text for _, text in self.events)

    def closed_since(self, moment: float) -> list[int]:
        return [code for t, code in self.closes if t >= moment]

    def errors_since(self, moment: float) -> list[dict]:
        return [frame for t, frame in self.errors if t >= moment]


@dataclass
class Board:
    """A stack with its workers, one workshop and the pages open on it."""

    stack: Stack = field(repr=False)
    workers: list[Worker]
    seeded: dict[str, str]
    pages: list[LivePage] = field(default_factory=list, repr=False)
    acknowledged: list[str] = field(default_factory=list)  # texts answered 201
    # Texts answered 503 ("nothing was saved") that were saved all the same; the test of
    # that answer fails on them, the other tests count them as saved.
    saved_anyway: list[str] = field(default_factory=list)
    serial: int = 0

    @property
    def workshop(self) -> str:
        return self.seeded["workshop"]

    async def facilitator(self, ports: list[int], **options) -> LivePage:
        page = LivePage("fran", self.workshop, ports, seed=len(self.pages), **options)
        await page.sign_in(self.seeded["user"], self.seeded["password"])
        return await self._open(page)

    async def participant(self, name: str, ports: list[int], **options) -> LivePage:
        page = LivePage(name, self.workshop, ports, seed=len(self.pages), **options)
        await page.join(self.seeded["join"])
        return await self._open(page)

    async def _open(self, page: LivePage) -> LivePage:
        await page.open()
        self.pages.append(page)
        await until(lambda: page.state == "live", LIVE_WITHIN, f"{page.name} is live",
                    [page])
        return page

    async def add(self, page: LivePage, what: str, port: int | None = None) -> str:
        """`page` saves a question; asserts the 201 and remembers it as acknowledged."""
        self.serial += 1
        text = f"{what} #{self.serial} by {page.name}"
        answer = await page.add_question(text, port)
        assert answer.status_code == 201, (page.name, text, answer.status_code, answer.text)
        self.acknowledged.append(text)
        return text

    async def settle(self, timeout: float = BACK_WITHIN) -> int:
        """Wait until every page is live at the board's version with nothing pending."""
        version = board_version(self.stack, self.workshop)

        def settled() -> bool:
            return all(page.state == "live" and page.model.version == version
                       and not page.model.early and not page.model.syncing
                       for page in self.pages)

        await until(settled, timeout, f"every page is live at version {version}",
                    self.pages)
        return version

    async def check_against_fresh_loads(self) -> None:
        """Every page equals a fresh load of the board (with its own cookies), and every
        acknowledged edit is on each of them, and in the database, exactly once."""
        version = await self.settle()
        self.assert_no_silent_sockets()
        self.assert_counted("the database", stored_questions(self.stack, self.workshop))
        for page in self.pages:
            fresh = await page.load()
            assert fresh.version == version, (page.name, fresh.version, version)
            assert page.model.differences(fresh) == [], page.name
            self.assert_counted(f"{page.name}'s fresh load", questions(fresh))
            self.assert_counted(f"{page.name}'s live page", questions(page.model))
        assert ledger_problems(self.stack, self.workshop) == []
        print(f"{len(self.acknowledged)} acknowledged edits: lost 0, applied twice 0, in the "
              f"database, on {len(self.pages)} fresh loads and on {len(self.pages)} live pages "
              f"(each equal to its fresh load, at version {version})")

    def assert_no_silent_sockets(self) -> None:
        """The server closed every socket it could not serve: no page had to notice by
        itself that its socket went quiet (the page's heartbeat takes a minute for that)."""
        silent = {page.name: len(page.gave_up) for page in self.pages if page.gave_up}
        assert silent == {}, f"sockets left open but dead, dropped by the page: {silent}"

    def assert_counted(self, where: str, shown: Counter[str]) -> None:
        lost = [text for text in self.acknowledged if shown[text] == 0]
        doubled = [text for text in self.acknowledged if shown[text] > 1]
        assert (len(lost), len(doubled)) == (0, 0), (where, "lost", lost, "doubled", doubled)
        # And nothing shows that nobody saved.
        assert sorted(shown.elements()) == sorted(self.acknowledged + self.saved_anyway), where

    async def all_get_live(self, marker: str, timeout: float = LIVE_WITHIN) -> None:
        await until(lambda: all(page.got_live(marker) for page in self.pages), timeout,
                    f"every page got {marker!r} in an event frame", self.pages)

    async def close(self) -> None:
        for page in self.pages:
            await page.close()


def start_board(tmp_path: Path, redis: RedisServer, workers: int = 2,
                **env: str) -> Board:
    """A board on PostgreSQL and `redis`, served by `workers` daphne workers whose
    environment also has `env`."""
    stack = make_stack(tmp_path, postgres=True, redis=redis)
    stack.env.update(env)
    try:
        started = [start_worker(stack, tmp_path) for _ in range(workers)]
        return Board(stack, started, seed_workshop(stack))
    except BaseException:
        stack.close()
        raise


def log_lines(worker: Worker, text: str) -> list[str]:
    return [line for line in worker.log.read_text().splitlines() if text in line]
