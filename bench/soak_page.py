"""The soak's pages (bench/soak.py): each participant's board tab, run in a process of
their own so that the editors do not delay the frames they time.

A participant joins by the join link with their own Django session and loads the board
page into a tests/page_model.PageModel, which applies the frames as static/js/live.js
does. The page's socket behaves like live.js: hello with its version on open, an early
frame waits 300 ms for the missing one (then the page applies what it has and asks for a
resync), syncs come in parts, fetch ops are fetched over HTTP, a ping every 15 s whose
pong's version triggers a resync when the page stays behind for 1.5 s, a new socket when
no pong came for a minute, and a reconnect with live.js's short backoff after close codes
1006, 1011, 1012, 1013 and 4013 (sessions/closecodes.TRY_AGAIN) and after a failed
handshake. Each page notes when each version of each parking-lot item first reached it,
and how (event, sync part, or fetched op).

bench/soak.py puts tests/ on sys.path before it imports this module.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import multiprocessing
import os
import random
import re
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

import httpx

from sessions.closecodes import TRY_AGAIN

PING_EVERY = 15.0  # seconds, as static/js/live.js
GAP_WAIT = 0.3  # an early frame waits this long for the missing version
BEHIND_WAIT = 1.5  # a pong says the page is behind: resync if still behind after this
RECONNECT_CODES = {1006, 1011, 1012, 1013, TRY_AGAIN}  # what live.js reconnects after
HTTP_TIMEOUT = 15.0
MAX_ATTEMPTS = 2000  # connection attempts per page over the whole run
MAX_FRAME = 4 * 1024 * 1024
VERSION = re.compile(r'data-version="(\d+)"')
MARK = re.compile(r"soak-(\d+)-mark")  # the editors' text carries soak-<marker>-mark
LIVE_VERSION = re.compile(r'id="live"[^>]*data-version="(\d+)"')
PARKING_LOT = "parking_lot-"
EVENT, SYNC, FETCH, PAGE = 0, 1, 2, 3  # how an item's version reached a page


def item_of(html: str) -> tuple[int | None, int | None]:
    """(version, marker) of a parking-lot item's HTML."""
    version, marker = VERSION.search(html), MARK.search(html)
    return (int(version.group(1)) if version else None,
            int(marker.group(1)) if marker else None)


def parking_lot(model) -> dict[int, tuple[int | None, int | None]]:
    """(version, marker) of each parking-lot item a PageModel shows, by the item's pk."""
    return {int(dom_id[len(PARKING_LOT):]): item_of(model.items.get(dom_id, ""))
            for dom_id in model.lists.get("list-parking_lot", [])
            if dom_id.startswith(PARKING_LOT)}


def django_ready() -> None:
    """tests/page_model.py takes the board's list names from workshop.sections, so a
    process that builds or unpickles a PageModel needs Django's app registry: settings
    from the environment (a key of our own: these processes serve nothing), and neither
    logging nor a database is set up."""
    from django.apps import apps

    if apps.ready:
        return
    import django
    from django.conf import settings

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workshop.settings")
    os.environ.setdefault("SECRET_KEY", "soak-pages-" + uuid.uuid4().hex)
    settings.LOGGING_CONFIG = None
    django.setup(set_prefix=False)


def page_model(html: str):
    """The board page as the browser got it, in a tests/page_model.PageModel."""
    django_ready()
    from page_model import PageModel

    return PageModel.from_html(html)


# --- Joining (in the editors' process) ---------------------------------------------

@dataclass
class Person:
    """A participant for the editors: their board and their cookie jar on one worker."""

    board: int
    http: httpx.AsyncClient


async def join(board, worker, name: str, tries: int = 3) -> tuple[Person, dict]:
    """Join (a bounded number of tries: a busy worker may time out)."""
    for attempt in range(1, tries + 1):
        try:
            return await join_once(board, worker, name)
        except (httpx.HTTPError, RuntimeError):
            if attempt == tries:
                raise
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


async def join_once(board, worker, name: str) -> tuple[Person, dict]:
    """Join by the link (own session), then load the board page as a browser would.
    Returns the participant and what their page starts from."""
    http = httpx.AsyncClient(base_url=worker.url, timeout=HTTP_TIMEOUT)
    try:
        page = await http.get(f"/join/{board.token}/")
        page.raise_for_status()
        answer = await http.post(f"/join/{board.token}/", data={
            "display_name": name, "function": "product",
            "csrfmiddlewaretoken": http.cookies["csrftoken"]})
        if answer.status_code != 302:
            raise RuntimeError(f"join failed: {answer.status_code} {answer.text[:200]}")
        page = await http.get(f"/w/{board.workshop}/")
        page.raise_for_status()
        loaded = time.monotonic()
        if LIVE_VERSION.search(page.text) is None:
            raise RuntimeError("the board page has no live version")
    except BaseException:
        await http.aclose()
        raise
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    spec = {"board": board.index, "workshop": board.workshop, "port": worker.port,
            "cookie": cookie, "model": page_model(page.text), "loaded": loaded}
    return Person(board.index, http), spec


# --- The socket process: every participant's page ------------------------------------

class Hub:
    """The socket process's pages and counters (per minute of the soak)."""

    def __init__(self):
        self.clients: list[Client] = []
        self.tasks: list[asyncio.Task] = []
        self.t0: float | None = None
        self.buckets: dict[int, Counter] = defaultdict(Counter)
        self.errors: Counter = Counter()
        self.stopping = False
        self.http: httpx.AsyncClient | None = None

    def minute(self) -> int:
        now = time.monotonic()
        return -1 if self.t0 is None or now < self.t0 else int((now - self.t0) // 60)

    def count(self, name: str, n: int = 1) -> None:
        self.buckets[self.minute()][name] += n

    def note_error(self, text: str) -> None:
        text = re.sub(r"\d{4,}", "N", text)[:160]
        if text in self.errors or len(self.errors) < 60:
            self.errors[text] += 1

    def add(self, specs: list[dict], deadline: float) -> None:
        if self.http is None:
            self.http = httpx.AsyncClient(timeout=HTTP_TIMEOUT)
        for spec in specs:
            client = Client(self, len(self.clients), spec)
            self.clients.append(client)
            self.tasks.append(asyncio.create_task(client.run(deadline)))
            self.tasks.append(asyncio.create_task(client.pinger()))

    def start(self, t0: float) -> None:
        self.t0 = t0

    async def wait_live(self, limit: float) -> int:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.live_once.wait() for c in self.clients)),
                                   limit)
        return sum(c.live_once.is_set() for c in self.clients)

    def recovery(self, fault: float, back: float) -> list[float | None]:
        """For each page whose socket closed after `fault` began, the seconds from `back`
        (the fault's end) until a sync made it live again after its last close (None:
        not yet); pages whose socket stayed open are left out."""
        found = []
        for client in self.clients:
            closes = [t for t in client.closes if t >= fault]
            if not closes:
                continue
            live = [t for t in client.lives if t >= closes[-1]]
            found.append(live[0] - back if live else None)
        return found

    def wave(self, indices: list[int]) -> int:
        """These pages lose their sockets (even: a clean close, odd: dropped without a
        close frame) and open new ones 0.1-1 s later."""
        hit = 0
        for n, index in enumerate(indices):
            client = self.clients[index]
            if client.ws is None:
                continue
            client.planned = random.uniform(0.1, 1.0)
            hit += 1
            if n % 2 == 0:
                asyncio.ensure_future(client.ws.close(1000))
            else:
                client.ws.transport.abort()
        self.count("wave", hit)
        return hit

    async def query(self, edits: list[tuple[int, int, int]]) -> list[tuple]:
        """For each (board, item, version): when it had reached the last of the board's
        pages (None if some page lacks it), how many pages lack it, and how many got it
        only from a sync."""
        by_board: dict[int, list[Client]] = defaultdict(list)
        for client in self.clients:
            by_board[client.board].append(client)
        out = []
        for n, (board, pk, version) in enumerate(edits):
            latest, missing, synced = None, 0, 0
            for client in by_board[board]:
                at, via = client.arrival(pk, version)
                if at is None:
                    missing += 1
                    continue
                latest = at if latest is None else max(latest, at)
                synced += via == SYNC
            out.append((None if missing else latest, missing, synced))
            if n % 200 == 199:
                await asyncio.sleep(0)  # do not hold up the frames being timed
        return out

    async def final(self, limit: float) -> list[dict]:
        """Every page asks for a resync; returns what each page shows once it is in."""
        for client in self.clients:
            client.synced.clear()
            if client.ws is not None and client.gone is None:
                client.resync_pending = False
                client.request_resync()
        waiting = [c.synced.wait() for c in self.clients if c.gone is None]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waiting), limit)
        return [{"index": c.index, "board": c.board, "version": c.model.version,
                 "state": c.state, "gone": c.gone, "synced": c.synced.is_set(),
                 "connected": c.ws is not None, "items": parking_lot(c.model)}
                for c in self.clients]

    def stats(self) -> dict:
        states = Counter(c.state for c in self.clients)
        return {"buckets": {m: dict(b) for m, b in self.buckets.items()},
                "errors": dict(self.errors), "states": dict(states)}

    async def stop(self) -> None:
        self.stopping = True
        await asyncio.gather(*(c.ws.close() for c in self.clients if c.ws is not None),
                             return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.http is not None:
            await self.http.aclose()


class Client:
    """One participant's page, as static/js/live.js runs it; its PageModel applies the
    frames, and this notes when each parking-lot item's versions arrived."""

    def __init__(self, hub: Hub, index: int, spec: dict):
        self.hub, self.index = hub, index
        self.board, self.port, self.cookie = spec["board"], spec["port"], spec["cookie"]
        self.url = f"ws://127.0.0.1:{self.port}/ws/w/{spec['workshop']}/"
        self.model = spec["model"]
        self.fetched = 0  # of the model's fetch ops, how many were fetched
        # item -> (versions, times, via): when a higher version of it first arrived
        self.seen: dict[int, tuple[list[int], list[float], list[int]]] = {}
        for pk, (version, _) in parking_lot(self.model).items():
            if version is not None:
                self.note(pk, version, spec["loaded"], PAGE)
        self.ws = None
        self.state = "connecting"
        self.resync_pending = False
        self.gap_timer: asyncio.TimerHandle | None = None
        self.behind_timer: asyncio.TimerHandle | None = None
        self.failures = 0
        self.last_pong = time.monotonic()
        self.planned: float | None = None  # our own close: reopen after this many seconds
        self.gone: int | None = None  # the close code after which the page gave up
        self.live_once = asyncio.Event()
        self.synced = asyncio.Event()
        self.events_here: set[tuple[int, int]] = set()  # (version, part) on this socket
        self.lives: list[float] = []  # when a sync made the page live (monotonic)
        self.closes: list[float] = []  # when a socket of the page closed

    # The connection ---------------------------------------------------------------

    def delay(self) -> float:
        """live.js's htmx.config.wsReconnectDelay, in seconds."""
        ceiling = min(3.0, 0.25 * 2 ** max(0, self.failures - 1))
        return ceiling / 2 + random.random() * ceiling / 2

    async def run(self, deadline: float) -> None:
        from websockets.asyncio.client import connect

        attempts = 0
        while not self.hub.stopping and time.monotonic() < deadline \
                and attempts < MAX_ATTEMPTS:
            attempts += 1
            self.failures += 1
            if attempts > 1:
                self.hub.count("attempts")
            try:
                ws = await connect(self.url, origin=f"http://127.0.0.1:{self.port}",
                                   additional_headers={"Cookie": self.cookie},
                                   open_timeout=10, close_timeout=2, ping_interval=None,
                                   max_queue=None, max_size=MAX_FRAME)
            except Exception as error:  # noqa: BLE001 - counted; the page retries
                self.hub.count("connect failed")
                self.hub.note_error(f"connect: {type(error).__name__}: {error}")
                await asyncio.sleep(self.delay())
                continue
            self.on_open(ws)
            code = await self.listen(ws)
            self.ws = None
            self.closes.append(time.monotonic())
            if self.hub.stopping:
                return
            if self.planned is not None:
                wait, self.planned = self.planned, None
                self.state = "reconnecting"
                await asyncio.sleep(wait)
                continue
            self.hub.count(f"close {code}")
            if code not in RECONNECT_CODES:
                self.gone = code
                self.state = "closed"
                self.hub.note_error(f"page gave up after close code {code}")
                return
            self.state = "reconnecting"
            await asyncio.sleep(self.delay())

    def on_open(self, ws) -> None:
        self.ws = ws
        self.last_pong = time.monotonic()
        self.resync_pending = True
        self.model.syncing = False
        self.events_here = set()
        self.send({"type": "hello", "version": self.model.version})

    async def listen(self, ws) -> int:
        from websockets.exceptions import ConnectionClosed

        try:
            async for text in ws:
                self.on_frame(text, time.monotonic())
        except ConnectionClosed:
            pass
        except Exception as error:  # noqa: BLE001 - a bug here must not end the soak
            self.hub.note_error(f"client bug: {type(error).__name__}: {error}")
            self.hub.count("client bug")
            with contextlib.suppress(Exception):
                await ws.close()
        return ws.close_code if ws.close_code is not None else 1006

    def send(self, message: dict) -> None:
        if self.ws is None:
            return
        ws = self.ws

        async def go() -> None:
            with contextlib.suppress(Exception):
                await ws.send(json.dumps(message))

        asyncio.ensure_future(go())

    async def pinger(self) -> None:
        """The page's heartbeat: every 15 s from page load (a random phase here)."""
        await asyncio.sleep(random.uniform(0, PING_EVERY))
        while not self.hub.stopping:
            if self.ws is not None and self.state in ("live", "behind"):
                if time.monotonic() - self.last_pong > 4 * PING_EVERY:
                    self.hub.count("stale socket")
                    self.planned = self.delay()
                    asyncio.ensure_future(self.ws.close())
                else:
                    self.send({"type": "ping"})
                    self.hub.count("pings")
            await asyncio.sleep(PING_EVERY)

    # Frames ---------------------------------------------------------------------------

    def on_frame(self, text: str, now: float) -> None:
        self.hub.count("frames")
        self.hub.count("bytes", len(text))
        try:
            frame = json.loads(text)
        except ValueError:
            self.hub.count("bad frames")
            return
        kind = frame.get("type")
        if kind == "pong":
            self.on_pong(frame)
            return
        if kind == "error":
            self.hub.count("error frames")
            self.hub.note_error(f"error frame: {frame.get('reason') or frame.get('code')}: "
                                f"{frame.get('message', '')[:60]}")
            return
        version = frame.get("version")
        fresh = kind == "event" and isinstance(version, int) and version > self.model.version
        if kind == "event":
            key = (version, frame.get("part") or 1)
            if key in self.events_here:
                self.hub.count("duplicate event frames")
            self.events_here.add(key)
            self.record(frame.get("ops"), now, EVENT)
        elif kind == "sync":
            self.record(frame.get("ops"), now, SYNC)
        self.model.receive(text)
        synced = kind == "sync" and not self.model.syncing
        if fresh or synced:
            self.watch_gap()  # where live.js drains
        if synced:
            self.resync_pending = False
            self.failures = 0
            self.state = "live"
            self.lives.append(now)
            self.live_once.set()
            self.synced.set()
            self.hub.count("syncs")
        self.fetch_missing()

    def watch_gap(self) -> None:
        """live.js: while a version is missing (and no sync is coming in), the early
        frames wait 300 ms for it."""
        if not self.model.early or self.model.syncing:
            if self.gap_timer is not None:
                self.gap_timer.cancel()
            self.gap_timer = None
        elif self.gap_timer is None:
            self.gap_timer = asyncio.get_running_loop().call_later(GAP_WAIT, self.give_up)

    def give_up(self) -> None:
        self.gap_timer = None
        self.model.give_up_waiting()
        self.hub.count("gap resyncs")
        self.fetch_missing()
        self.request_resync()

    def request_resync(self) -> None:
        if self.resync_pending:
            return
        self.resync_pending = True
        self.hub.count("resyncs")
        self.send({"type": "resync", "version": self.model.version})

    def on_pong(self, frame: dict) -> None:
        self.last_pong = time.monotonic()
        wanted = frame.get("version")
        if not isinstance(wanted, int) or wanted <= self.model.version or self.behind_timer:
            return

        def check() -> None:
            self.behind_timer = None
            if self.model.version >= wanted:
                return
            self.state = "behind"
            self.hub.count("behind resyncs")
            self.request_resync()

        self.behind_timer = asyncio.get_running_loop().call_later(BEHIND_WAIT, check)

    def fetch_missing(self) -> None:
        """Fetch ops the model took: a part too large for a frame comes over HTTP."""
        while self.fetched < len(self.model.fetches):
            self.fetched += 1
            self.hub.count("fetch ops")
            asyncio.ensure_future(self.fetch(self.model.fetches[self.fetched - 1]))

    async def fetch(self, url: str) -> None:
        try:
            answer = await self.hub.http.get(
                f"http://127.0.0.1:{self.port}{url}",
                headers={"Cookie": self.cookie, "Accept": "application/json"})
            if answer.status_code != 200:
                self.hub.note_error(f"fetch {answer.status_code}")
                return
            body = answer.json()
            self.record(body.get("ops"), time.monotonic(), FETCH)
            self.model.fetched(body)
        except Exception as error:  # noqa: BLE001 - counted, as the page logs it
            self.hub.note_error(f"fetch: {type(error).__name__}: {error}")
            return
        self.fetch_missing()

    # When versions arrived ------------------------------------------------------------

    def note(self, pk: int, version: int, now: float, via: int) -> None:
        entry = self.seen.get(pk)
        if entry is None:
            self.seen[pk] = ([version], [now], [via])
        elif version > entry[0][-1]:
            entry[0].append(version)
            entry[1].append(now)
            entry[2].append(via)

    def record(self, ops, now: float, via: int) -> None:
        for op in ops or ():
            if op.get("op") == "upsert" and str(op.get("id", "")).startswith(PARKING_LOT):
                version, _ = item_of(op.get("html", ""))
                if version is not None:
                    self.note(int(op["id"][len(PARKING_LOT):]), version, now, via)

    def arrival(self, pk: int, version: int) -> tuple[float | None, int]:
        """When this page first had `version` (or a later one) of item `pk`."""
        entry = self.seen.get(pk)
        if entry is None:
            return None, EVENT
        at = bisect.bisect_left(entry[0], version)
        if at == len(entry[0]):
            return None, EVENT
        return entry[1][at], entry[2][at]


def socket_process(conn) -> None:
    """Entry point of the socket process: runs the Hub's methods the parent names."""

    django_ready()  # the pages' PageModels come through the pipe

    async def main() -> None:
        loop = asyncio.get_running_loop()
        hub = Hub()
        commands = {"add", "start", "wait_live", "wave", "query", "final", "stats",
                    "recovery"}
        while True:
            command, args = await loop.run_in_executor(None, conn.recv)
            if command not in commands:
                await hub.stop()
                conn.send(("ok", None))
                return
            try:
                result = getattr(hub, command)(*args)
                if asyncio.iscoroutine(result):
                    result = await result
            except Exception as error:  # noqa: BLE001 - reported by the parent
                conn.send(("error", repr(error)))
                continue
            conn.send(("ok", result))

    asyncio.run(main())


class Sockets:
    """The parent's handle on the socket process."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=socket_process, args=(child,), daemon=True)
        self.process.start()
        self.lock = asyncio.Lock()

    async def call(self, command: str, *args, limit: float = 120.0):
        async with self.lock:
            self.conn.send((command, args))
            loop = asyncio.get_running_loop()
            ready = await loop.run_in_executor(None, self.conn.poll, limit)
            if not ready:
                raise RuntimeError(f"the socket process did not answer {command!r} "
                                   f"within {limit:.0f} s")
            status, result = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"socket process, {command}: {result}")
        return result

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.call("stop", limit=20)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
