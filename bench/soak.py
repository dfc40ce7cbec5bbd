"""Soak benchmark: many boards, two workers, ten minutes, a reconnect wave and a Redis
restart in the middle. Bounded; prints numbers; not a test. Usage:

    .venv/bin/python bench/soak.py [--minutes 10] [--boards 5] [--people 20]
        [--workers 2] [--rate 10] [--warmup 15] [--redis-down 2] [--seed 1] [--keep]

The stack: a fresh PostgreSQL database (tests/servers.py), daphne workers on free
loopback ports, and a redis-server of our own on a free port (`--save "" --appendonly
no`), started and restarted by this script only: the machine's Redis on 6379 and its
PostgreSQL are never stopped.

Each board gets `--people` participants, each joined by the join link with their own
Django session, alternating between the workers. Every participant loads the board page
(its version and parking lot) and opens a websocket that behaves like
static/js/live.js: hello with its version on open, events applied in version order (a
frame that comes early waits 300 ms for the missing one, then the page asks for a
resync), syncs in parts, a ping every 15 s whose pong's version triggers a resync when
the page stays behind for 1.5 s, and a reconnect with live.js's short backoff after close
codes 1006, 1011, 1012, 1013 and 4013 (and after a failed handshake). The sockets live in a
separate process, so the editors do not delay the frames they time.

Edits: `--rate` per second per board (open loop, bounded in count), over HTTP, by random
participants of the board: parking-lot adds, and edits of an existing item (never two
in flight on the same item, so no edit conflicts). Every edit's text carries a unique
marker. An edit reaches a socket when a frame (event, sync part, or an op the page
fetched) brings that item to the edit's version or a later one; its latency is from
just before the POST is sent until it has reached every socket of its board.

At 40% of the run a third of the sockets go away and come back 0.1-1 s later (half
closed cleanly, half dropped without a close frame); at 60% our Redis is stopped for
`--redis-down` seconds and started again, empty.

Per minute it prints p50/p99/max edit-to-every-socket latency and the errors. At the
end every page asks for a resync (as after a pong that says it is behind), and the
script counts lost messages (an edit acknowledged 2xx that some connected page does not
show: its copy of the item is older than the edit; pages without a socket at the end are
reported apart, and a page that never answers the final resync counts), edits applied
twice (in the database:
more board events or a higher item version than acknowledged requests explain; on a
page: one marker on two items), and each worker's RSS (/proc/<pid>/status VmRSS)
after the warm-up and at the end. With errors, it prints the workers' own log lines
(most frequent first). A hard timeout stops everything in any case.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import datetime
import json
import math
import multiprocessing
import os
import platform
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
from servers import free_port, make_stack, service_up, start_worker  # noqa: E402

PING_EVERY = 15.0  # seconds, as static/js/live.js
GAP_WAIT = 0.3  # an early frame waits this long for the missing version
BEHIND_WAIT = 1.5  # a pong says the page is behind: resync if still behind after this
RECONNECT_CODES = {1006, 1011, 1012, 1013, 4013}  # what live.js reconnects after
ADD_SHARE = 0.3  # of the edits, parking-lot adds; the rest edit an existing item
POST_TIMEOUT = 15.0
MAX_IN_FLIGHT = 100  # per board; an edit past it is skipped (and counted), not queued
MAX_ATTEMPTS = 2000  # connection attempts per page over the whole run
GRACE = 10.0  # a minute's row is printed this long after the minute ends
MAX_FRAME = 4 * 1024 * 1024
ITEM = re.compile(r'id="parking_lot-(\d+)" data-version="(\d+)"')
VERSION = re.compile(r'data-version="(\d+)"')
MARK = re.compile(r"soak-(\d+)-mark")
LIVE_VERSION = re.compile(r'id="live"[^>]*data-version="(\d+)"')
EVENT, SYNC, FETCH, PAGE = 0, 1, 2, 3  # how an item's version reached a page


LEGEND = """\
Per minute of the soak (by when the edit was sent). sent/acked: edits sent and answered
  2xx with the item; httpE: other answers and transport errors; POST: p50 round trip ms.
p50/p99/max: ms from sending the POST until the edit (or a later version of its item)
  had reached every page of the board, by event, sync or fetched op.
!all: acknowledged edits that some page of the board had not got (the live rows: 10 s
  after the minute; the final table: at the end, after the final resync).
viaS: edits that reached at least one page only through a sync (resync or reconnect).
sockE: failed connects plus server closes other than 1000; resync: resyncs the pages
  asked for (gap or pong said behind); stale: pages that heard no pong for 60 s and
  reconnected (live.js); errF: error frames; daphne CPU: each worker, share of a core;
  client: the socket process; main: this process (the editors); PG: every PostgreSQL
  process on the machine; machine: all cores (200% = both of 2); other: the machine less
  all of those (other programs); load: the 1-minute load average.
RSS MB: each worker's VmRSS at the end of the minute. closes: close codes pages saw."""


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * 1000:.0f}"


TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def postgres_cpu() -> float:
    """CPU seconds used so far by all PostgreSQL processes (an exited backend is counted
    in its parent's children time). Other programs' databases count too."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.find("(") + 1:text.rfind(")")] == "postgres":
            total += sum(int(v) for v in text.rsplit(")", 1)[1].split()[11:15])
    return total / TICK


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process in KiB, from /proc/<pid>/status."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def item_of(html: str) -> tuple[int | None, int | None]:
    """(version, marker) of a parking-lot item's HTML."""
    version, marker = VERSION.search(html), MARK.search(html)
    return (int(version.group(1)) if version else None,
            int(marker.group(1)) if marker else None)


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

    def add(self, specs: list[dict], deadline: float) -> int:
        if self.http is None:
            self.http = httpx.AsyncClient(timeout=POST_TIMEOUT)
        for spec in specs:
            client = Client(self, len(self.clients), spec)
            self.clients.append(client)
            self.tasks.append(asyncio.create_task(client.run(deadline)))
            self.tasks.append(asyncio.create_task(client.pinger()))
        return len(self.clients)

    async def wait_live(self, limit: float) -> int:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.live_once.wait() for c in self.clients)),
                                   limit)
        return sum(c.live_once.is_set() for c in self.clients)

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
        return [{"index": c.index, "board": c.board, "version": c.version,
                 "state": c.state, "gone": c.gone, "synced": c.synced.is_set(),
                 "connected": c.ws is not None, "items": dict(c.items)}
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
    """One participant's page, as static/js/live.js runs it (parking lot only)."""

    def __init__(self, hub: Hub, index: int, spec: dict):
        self.hub, self.index = hub, index
        self.board, self.port, self.cookie = spec["board"], spec["port"], spec["cookie"]
        self.url = f"ws://127.0.0.1:{self.port}/ws/w/{spec['workshop']}/"
        self.version: int = spec["version"]
        self.items: dict[int, tuple[int | None, int | None]] = dict(spec["items"])
        # item -> (versions, times, via): when a higher version of it first arrived
        self.seen: dict[int, tuple[list[int], list[float], list[int]]] = {}
        for pk, (version, _) in self.items.items():
            if version is not None:
                self.note(pk, version, spec["loaded"], PAGE)
        self.ws = None
        self.state = "connecting"
        self.resync_pending = False
        self.syncing = False
        self.early: dict[int, dict] = {}
        self.gap_timer: asyncio.TimerHandle | None = None
        self.behind_timer: asyncio.TimerHandle | None = None
        self.failures = 0
        self.last_pong = time.monotonic()
        self.planned: float | None = None  # our own close: reopen after this many seconds
        self.gone: int | None = None  # the close code after which the page gave up
        self.live_once = asyncio.Event()
        self.synced = asyncio.Event()
        self.events_here: set[tuple[int, int]] = set()  # (version, part) on this socket

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
        self.syncing = False
        self.events_here = set()
        self.send({"type": "hello", "version": self.version})

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
        if kind == "event":
            key = (frame.get("version"), frame.get("part") or 1)
            if key in self.events_here:
                self.hub.count("duplicate event frames")
            self.events_here.add(key)
            self.record(frame.get("ops"), now, EVENT)
            self.on_event(frame)
        elif kind == "sync":
            self.record(frame.get("ops"), now, SYNC)
            self.on_sync(frame)
        elif kind == "pong":
            self.on_pong(frame)
        elif kind == "error":
            self.hub.count("error frames")
            self.hub.note_error(f"error frame: {frame.get('reason') or frame.get('code')}: "
                                f"{frame.get('message', '')[:60]}")

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
            if op.get("op") == "upsert" and str(op.get("id", "")).startswith("parking_lot-"):
                version, _ = item_of(op.get("html", ""))
                if version is not None:
                    self.note(int(op["id"].split("-", 1)[1]), version, now, via)

    def arrival(self, pk: int, version: int) -> tuple[float | None, int]:
        """When this page first had `version` (or a later one) of item `pk`."""
        entry = self.seen.get(pk)
        if entry is None:
            return None, EVENT
        at = bisect.bisect_left(entry[0], version)
        if at == len(entry[0]):
            return None, EVENT
        return entry[1][at], entry[2][at]

    def apply(self, ops) -> None:
        for op in ops or ():
            kind, dom_id = op.get("op"), str(op.get("id", ""))
            if kind == "upsert" and dom_id.startswith("parking_lot-"):
                self.items[int(dom_id.split("-", 1)[1])] = item_of(op.get("html", ""))
            elif kind == "remove" and dom_id.startswith("parking_lot-"):
                self.items.pop(int(dom_id.split("-", 1)[1]), None)
            elif kind == "order" and op.get("list") == "list-parking_lot":
                keep = set(op.get("pks", ()))
                for pk in [pk for pk in self.items if pk not in keep]:
                    del self.items[pk]
            elif kind == "fetch":
                self.hub.count("fetch ops")
                asyncio.ensure_future(self.fetch(op.get("url", "")))

    async def fetch(self, url: str) -> None:
        """A part too large for a frame: the page GETs it and applies what comes back."""
        try:
            answer = await self.hub.http.get(
                f"http://127.0.0.1:{self.port}{url}",
                headers={"Cookie": self.cookie, "Accept": "application/json"})
            if answer.status_code != 200:
                self.hub.note_error(f"fetch {answer.status_code}")
                return
            ops = answer.json().get("ops")
        except Exception as error:  # noqa: BLE001 - counted, as the page logs it
            self.hub.note_error(f"fetch: {type(error).__name__}: {error}")
            return
        self.record(ops, time.monotonic(), FETCH)
        self.apply(ops)

    # live.js, function by function ------------------------------------------------------

    @staticmethod
    def complete(entry: dict) -> bool:
        return len(entry["got"]) == entry["parts"]

    def apply_entry(self, entry: dict) -> None:
        for part in sorted(entry["got"]):
            self.apply(entry["got"][part])

    def drain(self) -> None:
        for seen in [v for v in self.early if v <= self.version]:
            del self.early[seen]
        while not self.syncing and self.version + 1 in self.early \
                and self.complete(self.early[self.version + 1]):
            self.apply_entry(self.early.pop(self.version + 1))
            self.version += 1
        if not self.early or self.syncing:
            if self.gap_timer is not None:
                self.gap_timer.cancel()
            self.gap_timer = None
        elif self.gap_timer is None:
            self.gap_timer = asyncio.get_running_loop().call_later(GAP_WAIT, self.give_up)

    def give_up(self) -> None:
        self.gap_timer = None
        for key in sorted(self.early):
            self.apply_entry(self.early[key])
        self.early.clear()
        self.hub.count("gap resyncs")
        self.request_resync()

    def request_resync(self) -> None:
        if self.resync_pending:
            return
        self.resync_pending = True
        self.hub.count("resyncs")
        self.send({"type": "resync", "version": self.version})

    def on_event(self, frame: dict) -> None:
        version = frame.get("version")
        if not isinstance(version, int) or version <= self.version:
            return
        entry = self.early.setdefault(version, {"parts": frame.get("parts") or 1, "got": {}})
        entry["got"][frame.get("part") or 1] = frame.get("ops")
        self.drain()

    def on_sync(self, frame: dict) -> None:
        self.syncing = (frame.get("part") or 1) < (frame.get("parts") or 1)
        self.apply(frame.get("ops"))
        if self.syncing:
            return
        self.version = max(self.version, frame.get("version") or 0)
        self.resync_pending = False
        self.drain()
        self.failures = 0
        self.state = "live"
        self.live_once.set()
        self.synced.set()
        self.hub.count("syncs")

    def on_pong(self, frame: dict) -> None:
        self.last_pong = time.monotonic()
        wanted = frame.get("version")
        if not isinstance(wanted, int) or wanted <= self.version or self.behind_timer:
            return

        def check() -> None:
            self.behind_timer = None
            if self.version >= wanted:
                return
            self.state = "behind"
            self.hub.count("behind resyncs")
            self.request_resync()

        self.behind_timer = asyncio.get_running_loop().call_later(BEHIND_WAIT, check)


def socket_process(conn) -> None:
    """Entry point of the socket process: obeys commands from the parent's pipe."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        hub = Hub()
        while True:
            command, args = await loop.run_in_executor(None, conn.recv)
            try:
                if command == "add":
                    result = hub.add(*args)
                elif command == "wait_live":
                    result = await hub.wait_live(*args)
                elif command == "start":
                    hub.t0 = args[0]
                    result = None
                elif command == "wave":
                    result = hub.wave(*args)
                elif command == "query":
                    result = await hub.query(*args)
                elif command == "final":
                    result = await hub.final(*args)
                elif command == "stats":
                    result = hub.stats()
                else:
                    await hub.stop()
                    conn.send(("ok", None))
                    return
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


# --- Our own Redis ------------------------------------------------------------------

class OwnRedis:
    """A redis-server on a free loopback port, owned (started, restarted, stopped) by
    this script alone."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.log = folder / "redis.log"
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--dir", str(self.log.parent)],
            stdout=self.log.open("a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{self.log.read_text()[-2000:]}")
            if service_up(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start within 10 s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self, down: float) -> float:
        """Stop, stay down `down` seconds, start again; returns the seconds it was down."""
        began = time.monotonic()
        self.stop()
        time.sleep(down)
        self.start()
        return time.monotonic() - began


# --- The editors (this process) -----------------------------------------------------------

@dataclass
class Person:
    name: str
    board: int
    port: int
    http: httpx.AsyncClient

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())


@dataclass
class Edit:
    marker: int
    board: int
    kind: str  # "add" or "edit"
    sent: float
    pk: int | None = None
    base: int | None = None  # the item version an edit is based on
    status: int | None = None  # HTTP status; 0: no answer (transport error)
    version: int | None = None  # the item version the answer shows
    took: float = math.nan
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.version is not None and self.status == (201 if self.kind == "add" else 200)


@dataclass
class Board:
    index: int
    workshop: int
    token: str
    people: list[Person] = field(default_factory=list)
    items: dict[int, int] = field(default_factory=dict)  # item -> acknowledged version
    busy: set[int] = field(default_factory=set)
    retired: set[int] = field(default_factory=set)  # an edit's outcome is unknown
    in_flight: int = 0
    skipped: int = 0


class Soak:
    def __init__(self, args):
        self.args = args
        self.random = random.Random(args.seed)
        self.marker = 0
        self.edits: list[Edit] = []
        self.tasks: set[asyncio.Task] = set()
        self.boards: list[Board] = []
        self.t0: float | None = None
        self.notes: dict[int, list[str]] = defaultdict(list)
        self.samples: dict[int, dict] = {}  # minute boundary -> cpu/rss of each worker
        self.workers: list = []
        self.sockets: Sockets | None = None
        self.skipped: Counter = Counter()

    def minute(self, at: float) -> int:
        return -1 if self.t0 is None or at < self.t0 else int((at - self.t0) // 60)

    # Editing ---------------------------------------------------------------------------

    async def post(self, board: Board, person: Person, edit: Edit) -> None:
        http = person.http
        headers = {"X-CSRFToken": http.cookies.get("csrftoken", ""), "HX-Request": "true"}
        text = f"Soak question soak-{edit.marker}-mark"
        board.in_flight += 1
        edit.sent = time.monotonic()
        try:
            if edit.kind == "add":
                answer = await http.post(
                    f"/w/{board.workshop}/s/parking_lot/add/", headers=headers,
                    data={"add-parking_lot-question": text, "add-parking_lot-notes": ""})
            else:
                prefix = f"parking_lot-{edit.pk}"
                answer = await http.post(
                    f"/w/{board.workshop}/s/parking_lot/{edit.pk}/edit/", headers=headers,
                    data={f"{prefix}-question": text + " (edited)", f"{prefix}-notes": "",
                          "version": str(edit.base)})
            edit.status = answer.status_code
            found = ITEM.search(answer.text)
            if 200 <= answer.status_code < 300 and found:
                edit.pk, edit.version = int(found.group(1)), int(found.group(2))
            elif 200 <= answer.status_code < 300:
                edit.error = "2xx without the item"
            else:
                edit.error = f"HTTP {answer.status_code}: " + re.sub(
                    r"\s+", " ", answer.text)[:100]
        except httpx.HTTPError as error:
            edit.status = 0
            edit.error = f"{type(error).__name__}: {error}"[:120]
        finally:
            edit.took = time.monotonic() - edit.sent
            board.in_flight -= 1
            if edit.ok:
                board.items[edit.pk] = max(board.items.get(edit.pk, 0), edit.version)
                if edit.kind == "edit" and edit.version != edit.base + 1:
                    edit.error = f"version {edit.base} -> {edit.version}"
            elif edit.kind == "edit":
                board.retired.add(edit.pk)  # its version is no longer known for sure
            if edit.kind == "edit":
                board.busy.discard(edit.pk)

    async def edit_loop(self, board: Board, seconds: float) -> None:
        """`seconds` of edits at --rate per second on one board, open loop, bounded."""
        rate = self.args.rate
        count = int(seconds * rate)
        start = time.monotonic() + board.index / (rate * len(self.boards))
        for i in range(count):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if board.in_flight >= MAX_IN_FLIGHT:
                self.skipped[self.minute(time.monotonic())] += 1
                continue
            person = self.random.choice(board.people)
            idle = [pk for pk in board.items if pk not in board.busy and pk not in board.retired]
            self.marker += 1
            if not idle or self.random.random() < ADD_SHARE:
                edit = Edit(self.marker, board.index, "add", time.monotonic())
            else:
                pk = self.random.choice(idle)
                board.busy.add(pk)
                edit = Edit(self.marker, board.index, "edit", time.monotonic(), pk=pk,
                            base=board.items[pk])
            self.edits.append(edit)
            task = asyncio.create_task(self.post(board, person, edit))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def edits_settled(self, limit: float) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=limit)

    # Measuring -------------------------------------------------------------------------

    def sample(self) -> dict:
        return {"at": time.monotonic(),
                "cpu": [proc_cpu(w.process.pid) for w in self.workers],
                "rss": [rss_kib(w.process.pid) for w in self.workers],
                "client": proc_cpu(self.sockets.process.pid), "machine": machine_busy(),
                "main": time.process_time(), "pg": postgres_cpu(),
                "load": Path("/proc/loadavg").read_text().split()[0]}

    async def sampler(self, minutes: int) -> None:
        for m in range(minutes + 1):
            delay = self.t0 + m * 60 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.samples[m] = self.sample()

    async def arrivals(self, edits: list[Edit]) -> list[tuple]:
        keys = [(e.board, e.pk, e.version) for e in edits]
        out = []
        for start in range(0, len(keys), 2000):
            out += await self.sockets.call("query", keys[start:start + 2000])
        return out

    async def row(self, m: int, stats: dict) -> dict:
        edits = [e for e in self.edits if self.minute(e.sent) == m]
        acked = [e for e in edits if e.ok]
        found = await self.arrivals(acked)
        latencies = [at - e.sent for e, (at, _, _) in zip(acked, found, strict=True)
                     if at is not None]
        bucket = Counter(stats["buckets"].get(m, {}))
        closes = sorted((int(k.split()[1]), v) for k, v in bucket.items()
                        if k.startswith("close "))
        row = {
            "minute": "warm" if m < 0 else str(m + 1),
            "sent": len(edits), "acked": len(acked),
            "http_err": sum(1 for e in edits if e.status is not None and not e.ok),
            "unanswered": sum(1 for e in edits if e.status is None),
            "skipped": self.skipped.get(m, 0),
            "post_p50": percentile([e.took for e in edits if e.status], 0.5),
            "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "max": max(latencies, default=math.nan),
            "not_all": sum(1 for at, _, _ in found if at is None),
            "via_sync": sum(1 for _, _, s in found if s),
            "conn_fail": bucket["connect failed"],
            "closes": " ".join(f"{code}x{n}" for code, n in closes) or "-",
            "resyncs": bucket["resyncs"], "behind": bucket["behind resyncs"],
            "gaps": bucket["gap resyncs"], "attempts": bucket["attempts"],
            "stale": bucket["stale socket"], "error_frames": bucket["error frames"],
            "notes": "; ".join(self.notes.get(m, [])),
        }
        row["sock_err"] = row["conn_fail"] + sum(n for code, n in closes if code != 1000)
        before, after = self.samples.get(m), self.samples.get(m + 1)
        if m >= 0 and before and after:
            wall = after["at"] - before["at"]
            row["cpu"] = "+".join(f"{(b - a) / wall * 100:.0f}%" for a, b in
                                  zip(before["cpu"], after["cpu"], strict=True))
            used = {k: (after[k] - before[k]) / wall for k in ("client", "main", "pg")}
            workers = sum(b - a for a, b in zip(before["cpu"], after["cpu"], strict=True)) / wall
            row["client"] = f"{used['client'] * 100:.0f}%"
            row["main"] = f"{used['main'] * 100:.0f}%"
            row["pg"] = f"{used['pg'] * 100:.0f}%"
            row["rss"] = "/".join(f"{(r or 0) / 1024:.0f}" for r in after["rss"])
            busy = after["machine"][0] - before["machine"][0]
            total = max(1, after["machine"][1] - before["machine"][1])
            machine = busy / total * (os.cpu_count() or 1)
            row["machine"] = f"{machine * 100:.0f}%"
            row["other"] = f"{(machine - workers - sum(used.values())) * 100:.0f}%"
            row["load"] = after["load"]
        else:
            for key in ("cpu", "client", "main", "pg", "machine", "other", "load", "rss"):
                row[key] = "-"
        return row

    @staticmethod
    def header() -> str:
        return (f"{'min':>4} {'sent':>5} {'acked':>5} {'httpE':>5} {'POST':>5} {'p50':>5} "
                f"{'p99':>6} {'max':>6} {'!all':>4} {'viaS':>5} {'sockE':>5} "
                f"{'resync':>6} {'stale':>5} {'errF':>4} {'daphne CPU':>10} {'client':>6} "
                f"{'main':>5} {'PG':>4} {'machine':>7} {'other':>5} {'load':>5} {'RSS MB':>9}"
                f"  closes / notes")

    @staticmethod
    def line(r: dict) -> str:
        text = (f"{r['minute']:>4} {r['sent']:>5} {r['acked']:>5} {r['http_err']:>5} "
                f"{ms(r['post_p50']):>5} {ms(r['p50']):>5} {ms(r['p99']):>6} "
                f"{ms(r['max']):>6} {r['not_all']:>4} {r['via_sync']:>5} {r['sock_err']:>5} "
                f"{r['resyncs']:>6} {r['stale']:>5} {r['error_frames']:>4} {r['cpu']:>10} "
                f"{r['client']:>6} {r['main']:>5} {r['pg']:>4} {r['machine']:>7} "
                f"{r['other']:>5} {r['load']:>5} {r['rss']:>9}  "
                f"closes {r['closes']}")
        extra = []
        if r["conn_fail"]:
            extra.append(f"{r['conn_fail']} connects failed")
        if r["unanswered"]:
            extra.append(f"{r['unanswered']} unanswered")
        if r["skipped"]:
            extra.append(f"{r['skipped']} skipped (backlog)")
        if r["notes"]:
            extra.append(r["notes"])
        return text + ("; " + "; ".join(extra) if extra else "")

    async def reporter(self, minutes: int) -> None:
        print(LEGEND)
        print(self.header(), flush=True)
        for m in range(minutes):
            delay = self.t0 + (m + 1) * 60 + GRACE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            stats = await self.sockets.call("stats")
            print(self.line(await self.row(m, stats)), flush=True)

    async def faults(self, seconds: float, redis: OwnRedis) -> None:
        clients = self.args.boards * self.args.people
        await asyncio.sleep(max(0.0, self.t0 + 0.4 * seconds - time.monotonic()))
        wave = [i for i in range(clients) if i % 3 == 0]
        hit = await self.sockets.call("wave", wave)
        self.notes[self.minute(time.monotonic())].append(
            f"reconnect wave: {hit} sockets at {time.monotonic() - self.t0:.0f} s")
        await asyncio.sleep(max(0.0, self.t0 + 0.6 * seconds - time.monotonic()))
        at = time.monotonic() - self.t0
        loop = asyncio.get_running_loop()
        down = await loop.run_in_executor(None, redis.restart, self.args.redis_down)
        self.notes[self.minute(self.t0 + at)].append(
            f"Redis restart at {at:.0f} s (down {down:.1f} s)")


# --- Set-up ------------------------------------------------------------------------

def seed_boards(stack, count: int) -> list[Board]:
    """A facilitator and `count` workshops, each with a running session."""
    out = stack.shell(
        "from django.contrib.auth import get_user_model\n"
        "from sessions.access import Membership\n"
        "from sessions import services as s\n"
        "from workshop import services as w\n"
        "u = get_user_model().objects.create_user('fran', password='fran-pass-123')\n"
        f"for n in range({count}):\n"
        "    ws = w.create_workshop(u, f'Soak board {n + 1}', 'Northwind')\n"
        "    se = s.start_session(Membership(ws, 'facilitator', user=u), 'Sitting 1')\n"
        "    print('BOARD', ws.pk, se.join_token)\n")
    found = [line.split() for line in out.splitlines() if line.startswith("BOARD ")]
    return [Board(n, int(pk), token) for n, (_, pk, token) in enumerate(found)]


async def join(board: Board, worker, name: str, tries: int = 3) -> tuple[Person, dict]:
    """Join (a bounded number of tries: a busy worker may time out)."""
    for attempt in range(1, tries + 1):
        try:
            return await join_once(board, worker, name)
        except (httpx.HTTPError, RuntimeError):
            if attempt == tries:
                raise
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


async def join_once(board: Board, worker, name: str) -> tuple[Person, dict]:
    """Join by the link (own session), then load the board page as a browser would."""
    http = httpx.AsyncClient(base_url=worker.url, timeout=POST_TIMEOUT)
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
    except BaseException:
        await http.aclose()
        raise
    loaded = time.monotonic()
    version = LIVE_VERSION.search(page.text)
    if version is None:
        await http.aclose()
        raise RuntimeError("the board page has no live version")
    items, html = {}, page.text
    matches = list(ITEM.finditer(html))
    for n, found in enumerate(matches):
        end = matches[n + 1].start() if n + 1 < len(matches) else len(html)
        marker = MARK.search(html, found.end(), end)
        items[int(found.group(1))] = (int(found.group(2)),
                                      int(marker.group(1)) if marker else None)
    person = Person(name, board.index, worker.port, http)
    spec = {"board": board.index, "workshop": board.workshop, "port": worker.port,
            "cookie": person.cookie_header(), "version": int(version.group(1)),
            "items": items, "loaded": loaded}
    return person, spec


def machine_info(redis_version: str) -> str:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    packages = ", ".join(f"{name} {version(name)}" for name in
                         ("django", "channels", "daphne", "channels-redis", "redis",
                          "websockets", "httpx", "psycopg"))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (f"date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}\n"
            f"machine: {os.cpu_count()} cores, {model}, load average {load}\n"
            f"Python {platform.python_version()}; {packages}\n{redis_version}")


def database_check(url: str, boards: list[Board], edits: list[Edit]) -> dict:
    """What the database says: board events and item versions against the requests."""
    import psycopg

    result = {"extra_events": 0, "missing_events": 0, "version_high": 0,
              "version_low": 0, "wrong_text": 0, "duplicate_markers": 0, "samples": []}
    with psycopg.connect(url) as conn:
        for board in boards:
            mine = [e for e in edits if e.board == board.index]
            acked = [e for e in mine if e.ok]
            unknown = [e for e in mine if not e.ok and e.status in (0, None)]
            events = conn.execute(
                "SELECT count(*) FROM workshop_boardevent WHERE workshop_id = %s "
                "AND section = 'parking_lot'", [board.workshop]).fetchone()[0]
            if events > len(acked) + len(unknown):
                result["extra_events"] += events - len(acked) - len(unknown)
                result["samples"].append(f"board {board.index + 1}: {events} parking-lot "
                                         f"events for {len(acked)} acknowledged edits")
            elif events < len(acked):
                result["missing_events"] += len(acked) - events
            rows = conn.execute(
                "SELECT id, version, question FROM workshop_parkinglotitem "
                "WHERE workshop_id = %s", [board.workshop]).fetchall()
            markers = Counter()
            by_item = defaultdict(list)
            for e in acked:
                by_item[e.pk].append(e)
            doubtful = {e.pk for e in mine if e.kind == "edit" and not e.ok}
            for pk, version, question in rows:
                found = MARK.search(question)
                if found:
                    markers[int(found.group(1))] += 1
                mine_here = by_item.get(pk, [])
                if pk in doubtful or not mine_here:
                    continue
                expected = 1 + sum(1 for e in mine_here if e.kind == "edit")
                if version > expected:
                    result["version_high"] += 1
                    result["samples"].append(f"item {pk}: version {version}, expected "
                                             f"{expected}")
                elif version < expected:
                    result["version_low"] += 1
                last = max(mine_here, key=lambda e: e.version)
                if found is None or int(found.group(1)) != last.marker:
                    result["wrong_text"] += 1
            result["duplicate_markers"] += sum(1 for n in markers.values() if n > 1)
    return result


def show_logs(folder: Path, lines: int = 25) -> None:
    """The workers' own log lines (not the access log), most frequent first."""
    access = re.compile(r"^[\d.]+:\d+ - - \[")
    for log in sorted(folder.glob("daphne-*.log")):
        text = [line for line in log.read_text(errors="replace").splitlines()
                if line.strip() and not access.match(line)]
        shapes = Counter(re.sub(r"\d+", "N", line)[:150] for line in text)
        print(f"--- {log.name}: {len(text)} lines other than the access log; "
              f"most frequent (digits as N):")
        for shape, n in shapes.most_common(lines):
            print(f"  {n:>6} x {shape}")


# --- The run ------------------------------------------------------------------------

async def run(args) -> int:
    if not service_up(5432):
        print("PostgreSQL is not running on 127.0.0.1:5432: the soak needs it.")
        return 2
    if not shutil.which("redis-server"):
        print("redis-server is not installed: the soak starts its own.")
        return 2
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True,
                                   text=True, timeout=10, check=False).stdout.strip()
    print(machine_info(redis_version))
    seconds = args.minutes * 60
    clients = args.boards * args.people
    print(f"soak: {args.boards} boards x {args.people} people = {clients} sockets on "
          f"{args.workers} daphne workers, PostgreSQL + our own Redis; {args.rate:g} edits/s "
          f"per board ({ADD_SHARE:.0%} adds) for {args.minutes:g} min after "
          f"{args.warmup:g} s of warm-up; reconnect wave at {0.4 * seconds:.0f} s, Redis "
          f"restart at {0.6 * seconds:.0f} s\n", flush=True)

    soak = Soak(args)
    folder = Path(tempfile.mkdtemp(prefix="attune-soak-"))
    redis = OwnRedis(folder)
    stack = None
    people: list[Person] = []
    failed = False
    try:
        redis.start()
        stack = make_stack(folder, postgres=True)
        stack.env["REDIS_URL"] = redis.url
        stack.env["CHANNEL_PREFIX"] = "attune-soak-" + uuid.uuid4().hex[:8]
        soak.workers = [start_worker(stack, folder) for _ in range(args.workers)]
        soak.boards = seed_boards(stack, args.boards)
        if len(soak.boards) != args.boards:
            raise RuntimeError(f"seeded {len(soak.boards)} boards, not {args.boards}")
        print(f"redis-server pid {redis.process.pid} on port {redis.port}; workers "
              + ", ".join(f"pid {w.process.pid} on port {w.port}" for w in soak.workers),
              flush=True)

        # Join everyone (spread over the workers) and open their pages.
        began = time.monotonic()
        specs = []
        plan = [(board, n) for board in soak.boards for n in range(args.people)]
        for start in range(0, len(plan), 10):
            joined = await asyncio.gather(*(
                join(board, soak.workers[(board.index * args.people + n) % args.workers],
                     f"Person {board.index + 1}.{n + 1}")
                for board, n in plan[start:start + 10]))
            for person, spec in joined:
                people.append(person)
                soak.boards[person.board].people.append(person)
                specs.append(spec)
        soak.sockets = Sockets()
        deadline = time.monotonic() + args.warmup + seconds + 240
        await soak.sockets.call("add", specs, deadline)
        live = await soak.sockets.call("wait_live", 60.0, limit=90)
        print(f"joined {len(people)} people and opened {live}/{clients} live pages in "
              f"{time.monotonic() - began:.1f} s", flush=True)
        if live < clients:
            print("  not every page went live; continuing (they keep retrying)")

        # Warm-up: the same load, unmeasured but reported as row "warm".
        await asyncio.gather(*(soak.edit_loop(b, args.warmup) for b in soak.boards))
        await soak.edits_settled(POST_TIMEOUT + 5)
        await asyncio.sleep(3)
        start_rss = [rss_kib(w.process.pid) for w in soak.workers]

        # The soak.
        soak.t0 = time.monotonic()
        await soak.sockets.call("start", soak.t0)
        minutes = math.ceil(args.minutes)
        sampler = asyncio.create_task(soak.sampler(minutes))
        reporter = asyncio.create_task(soak.reporter(minutes))
        faults = asyncio.create_task(soak.faults(seconds, redis))
        await asyncio.gather(*(soak.edit_loop(b, seconds) for b in soak.boards))
        await soak.edits_settled(POST_TIMEOUT + 5)
        await faults
        await sampler
        await reporter
        end_rss = [rss_kib(w.process.pid) for w in soak.workers]

        # The end: every page resyncs; then count what some page does not show.
        final = await soak.sockets.call("final", 45.0, limit=90)
        stats = await soak.sockets.call("stats")
        print("\nFinal table (after the final resync; '!all' = acknowledged edits that "
              "never reached every page):")
        print(soak.header())
        rows = [await soak.row(m, stats) for m in range(-1, minutes)]
        for r in rows:
            print(soak.line(r))
        failed = report(soak, final, stats, start_rss, end_rss, stack)
    except asyncio.CancelledError:
        print("\nhard timeout (or a signal) reached: stopping", flush=True)
        failed = True
    finally:
        for task in list(soak.tasks):
            task.cancel()
        await asyncio.gather(*(p.http.aclose() for p in people), return_exceptions=True)
        if soak.sockets is not None:
            await soak.sockets.stop()
        if stack is not None:
            if failed:
                show_logs(folder)
            stack.close()
        redis.stop()
        if args.keep:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


def report(soak: Soak, final: list[dict], stats: dict, start_rss, end_rss, stack) -> bool:
    """The end of run summary; returns whether anything failed or had errors."""
    edits = soak.edits
    acked = [e for e in edits if e.ok]
    per_board: dict[int, dict[int, list[Edit]]] = defaultdict(lambda: defaultdict(list))
    for e in acked:
        per_board[e.board][e.pk].append(e)

    # Pages at the end: "synced" answered the final resync; "silent" are connected but
    # never answered it; "offline" have no socket (reconnecting, or gave up).
    missing: dict[str, set[int]] = {"synced": set(), "silent": set(), "offline": set()}
    pages = Counter()
    lost_pairs = 0
    page_doubles = 0
    wrong = 0
    samples: list[str] = []
    for page in final:
        kind = "synced" if page["synced"] else "silent" if page["connected"] else "offline"
        pages[kind] += 1
        items = page["items"]
        markers = Counter(marker for _, marker in items.values() if marker is not None)
        page_doubles += sum(1 for n in markers.values() if n > 1)
        for pk, mine in per_board[page["board"]].items():
            shown = items.get(pk, (None, None))
            shown_version = shown[0] if shown[0] is not None else 0
            for e in mine:
                if shown_version < e.version:
                    missing[kind].add(e.marker)
                    if kind == "offline":
                        continue
                    lost_pairs += 1
                    if len(samples) < 8:
                        samples.append(f"page {page['index']} (board {page['board'] + 1}, "
                                       f"{kind}, {page['state']}) "
                                       f"shows item {pk} at version {shown[0]}, edit "
                                       f"soak-{e.marker} made version {e.version}")
            last = max(mine, key=lambda e: e.version)
            if shown[0] == last.version and shown[1] != last.marker:
                wrong += 1
    lost_edits = missing["synced"] | missing["silent"]
    db = database_check(stack.env["DATABASE_URL"], soak.boards, edits)
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
            db["presence"] = conn.execute(
                "SELECT count(*) FROM live_presence").fetchone()[0]
            db["versions"] = dict(conn.execute(
                "SELECT id, version FROM workshop_workshop").fetchall())
    behind = 0
    if "versions" in db:
        by_board = {b.index: db["versions"][b.workshop] for b in soak.boards}
        behind = sum(1 for p in final if p["gone"] is None and
                     p["version"] < by_board[p["board"]])
    not_connected = [p for p in final if not p["connected"]]
    gave_up = [p for p in final if p["gone"] is not None]
    unsynced = [p for p in final if p["gone"] is None and not p["synced"]]
    version_jumps = [e for e in acked if e.error.startswith("version")]
    applied_twice = (db["extra_events"] + db["version_high"] + db["duplicate_markers"]
                     + page_doubles + len(version_jumps))

    http_errors = Counter(e.error.split(":")[0] if e.status else e.error[:80]
                          for e in edits if not e.ok and e.status is not None)
    totals = Counter()
    for bucket in stats["buckets"].values():
        totals.update(bucket)
    print(f"\nedits: {len(edits)} sent, {len(acked)} acknowledged, "
          f"{sum(1 for e in edits if e.status is not None and not e.ok)} failed, "
          f"{sum(1 for e in edits if e.status is None)} unanswered, "
          f"{sum(soak.skipped.values())} skipped for backlog")
    print(f"lost messages: {len(lost_edits)} acknowledged edits that some connected page "
          f"does not show after the final resync ({lost_pairs} page/edit pairs)  "
          f"[must be 0]")
    print(f"  pages at the end: {pages['synced']} answered the final resync (missing there: "
          f"{len(missing['synced'])} edits), {pages['silent']} connected but never answered "
          f"it (missing there: {len(missing['silent'])}), {pages['offline']} not connected "
          f"(missing there, not counted as lost: {len(missing['offline'])})")
    for line in samples:
        print(f"  {line}")
    print(f"edits applied twice: {applied_twice}  [must be 0]  (database: "
          f"{db['extra_events']} extra board events, {db['version_high']} items with a "
          f"higher version than their edits, {db['duplicate_markers']} markers on two "
          f"items; pages: {page_doubles} markers on two items; {len(version_jumps)} "
          f"answers whose version jumped)")
    for line in db["samples"][:5]:
        print(f"  {line}")
    print(f"database: {db['missing_events']} acknowledged edits without a board event, "
          f"{db['version_low']} items below their acknowledged version, "
          f"{db['wrong_text']} items whose text is not their last acknowledged edit; "
          f"presence rows at the end: {db.get('presence', '?')} for "
          f"{len(final) - len(not_connected)} open sockets")
    print(f"pages at the end: {len(final) - len(not_connected)}/{len(final)} connected, "
          f"{len(unsynced)} without an answer to the final resync, {len(gave_up)} gave up "
          f"(close codes {sorted({p['gone'] for p in gave_up})}), {behind} behind the "
          f"board's version, {wrong} items at the right version with the wrong text; "
          f"page states: {stats['states']}")
    print("socket totals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())
                                        if k not in ("bytes", "frames")))
    print(f"  frames {totals['frames']}, {totals['bytes'] / 1e6:.1f} MB received")
    if http_errors:
        print("HTTP errors: " + "; ".join(f"{n} x {k}" for k, n in http_errors.most_common(8)))
    if stats["errors"]:
        print("socket errors and error frames:")
        for text, n in Counter(stats["errors"]).most_common(12):
            print(f"  {n:>5} x {text}")
    print("\nworker RSS (VmRSS), after the warm-up -> at the end:")
    growths = []
    for n, (a, b) in enumerate(zip(start_rss, end_rss, strict=True), 1):
        if a and b:
            growth = (b - a) / a * 100
            growths.append(growth)
            print(f"  worker {n}: {a / 1024:.1f} MB -> {b / 1024:.1f} MB "
                  f"({growth:+.1f}%)  [target <= +10%]")
        else:
            print(f"  worker {n}: {a} -> {b} KiB (a worker exited?)")
            growths.append(math.inf)
    failed = bool(lost_edits or applied_twice or any(g > 10 for g in growths)
                  or pages["synced"] < len(final))
    print(f"\nverdict: {'FAIL' if failed else 'ok'}: lost {len(lost_edits)}, applied twice "
          f"{applied_twice}, RSS growth " + ", ".join(f"{g:+.1f}%" for g in growths)
          + f", {pages['synced']}/{len(final)} pages live and caught up at the end")
    return failed or bool(http_errors or stats["errors"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="minutes of edits, after the warm-up (10)")
    parser.add_argument("--boards", type=int, default=5, help="boards (5)")
    parser.add_argument("--people", type=int, default=20, help="participants per board (20)")
    parser.add_argument("--workers", type=int, default=2, help="daphne workers (2)")
    parser.add_argument("--rate", type=float, default=10.0,
                        help="edits per second per board (10)")
    parser.add_argument("--warmup", type=float, default=15.0,
                        help="seconds of edits before the RSS baseline (15)")
    parser.add_argument("--redis-down", type=float, default=2.0,
                        help="seconds our Redis stays down in the restart (2)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the run's folder (worker and Redis logs)")
    args = parser.parse_args()
    if not (0 < args.minutes <= 120 and 0 < args.boards <= 50 and 0 < args.people <= 200
            and 0 < args.rate <= 100 and 1 <= args.workers <= 8
            and 0 <= args.warmup <= 300 and 0 <= args.redis_down <= 60):
        parser.error("out of range: minutes 0-120, boards 1-50, people 1-200, rate 0-100, "
                     "workers 1-8, warmup 0-300, redis-down 0-60")
    random.seed(args.seed)
    limit = int(args.minutes * 60 + args.warmup + 300 + args.boards * args.people * 0.5)

    async def guarded() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGALRM, signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        signal.alarm(limit)
        try:
            return await run(args)
        finally:
            signal.alarm(0)

    with contextlib.suppress(ValueError):  # raise the open-files limit for the sockets
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    return asyncio.run(guarded())


if __name__ == "__main__":
    sys.exit(main())
