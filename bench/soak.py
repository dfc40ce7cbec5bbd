"""Soak benchmark: many boards, two workers, ten minutes, a reconnect wave and a Redis
restart in the middle. Bounded; prints numbers; not a test. Usage:

    .venv/bin/python bench/soak.py [--minutes 10] [--boards 5] [--people 20]
        [--workers 2] [--rate 10] [--warmup 15] [--redis-down 2] [--seed 1] [--keep]

This file: the command line, the run's schedule and the report. bench/soak_stack.py
starts the stack: a fresh PostgreSQL database and daphne workers on free loopback ports
(tests/servers.py), and a redis-server of our own on a free port, started and restarted
by the soak only: the machine's Redis on 6379 and its PostgreSQL are never stopped.
bench/soak_page.py runs the pages.

Each board gets `--people` participants, each joined by the join link with their own
Django session, alternating between the workers. Every participant loads the board page
and opens a websocket that behaves like static/js/live.js (see bench/soak_page.py). The
sockets live in a separate process, so the editors do not delay the frames they time.

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
twice (in the database: more board events or a higher item version than acknowledged
requests explain; on a page: one marker on two items), and each worker's RSS
(/proc/<pid>/status VmRSS) after the warm-up and at the end. With errors, it prints the
workers' own log lines (most frequent first). A hard timeout stops everything in any
case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import re
import resource
import signal
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpx  # noqa: E402
from live_trace import ms, percentile  # noqa: E402
from soak_page import HTTP_TIMEOUT, Person, Sockets, join  # noqa: E402
from soak_stack import SoakStack, cannot_run, machine_info  # noqa: E402

ADD_SHARE = 0.3  # of the edits, parking-lot adds; the rest edit an existing item
MAX_IN_FLIGHT = 100  # per board; an edit past it is skipped (and counted), not queued
GRACE = 10.0  # a minute's row is printed this long after the minute ends
ITEM = re.compile(r'id="parking_lot-(\d+)" data-version="(\d+)"')

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


# --- The editors (this process) ----------------------------------------------------

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


class Soak:
    """The run: the editors, the schedule (minutes, faults) and the rows of the table."""

    def __init__(self, args, stack: SoakStack):
        self.args = args
        self.stack = stack
        self.random = random.Random(args.seed)
        self.marker = 0
        self.edits: list[Edit] = []
        self.tasks: set[asyncio.Task] = set()
        self.boards: list[Board] = []
        self.t0: float | None = None
        self.notes: dict[int, list[str]] = defaultdict(list)
        self.samples: dict[int, dict] = {}  # minute boundary -> cpu/rss of each worker
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

    async def sampler(self, minutes: int) -> None:
        for m in range(minutes + 1):
            delay = self.t0 + m * 60 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.samples[m] = self.stack.sample(self.sockets.process.pid)

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
            "resyncs": bucket["resyncs"], "stale": bucket["stale socket"],
            "error_frames": bucket["error frames"],
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

    async def faults(self, seconds: float) -> None:
        clients = self.args.boards * self.args.people
        await asyncio.sleep(max(0.0, self.t0 + 0.4 * seconds - time.monotonic()))
        wave = [i for i in range(clients) if i % 3 == 0]
        hit = await self.sockets.call("wave", wave)
        self.notes[self.minute(time.monotonic())].append(
            f"reconnect wave: {hit} sockets at {time.monotonic() - self.t0:.0f} s")
        await asyncio.sleep(max(0.0, self.t0 + 0.6 * seconds - time.monotonic()))
        at = time.monotonic() - self.t0
        loop = asyncio.get_running_loop()
        fault = time.monotonic()  # the socket process shares this clock (CLOCK_MONOTONIC)
        down = await loop.run_in_executor(None, self.stack.restart_redis,
                                          self.args.redis_down)
        back = time.monotonic()
        await asyncio.sleep(RECOVERY_WINDOW)
        times = await self.sockets.call("recovery", fault, back)
        self.notes[self.minute(self.t0 + at)].append(
            f"Redis restart at {at:.0f} s (down {down:.1f} s); {recovered(times)}")


RECOVERY_WINDOW = 20.0  # seconds after Redis returns before the pages' recovery is read


def recovered(times: list[float | None]) -> str:
    """"40 pages closed: all live again 2.1 s after Redis returned (p50 0.9 s)"."""
    back = sorted(t for t in times if t is not None)
    if not times:
        return "no page's socket closed"
    text = f"{len(times)} pages closed: "
    if len(back) < len(times):
        text += f"{len(times) - len(back)} not live {RECOVERY_WINDOW:g} s after Redis returned"
        return text + (f", the others by {back[-1]:.1f} s" if back else "")
    return (text + f"all live again {max(0.0, back[-1]):.1f} s after Redis returned "
            f"(p50 {max(0.0, back[len(back) // 2]):.1f} s)")


# --- The run ------------------------------------------------------------------------

async def run(args) -> int:
    problem = cannot_run()
    if problem:
        print(problem)
        return 2
    print(machine_info())
    seconds = args.minutes * 60
    clients = args.boards * args.people
    print(f"soak: {args.boards} boards x {args.people} people = {clients} sockets on "
          f"{args.workers} daphne workers, PostgreSQL + our own Redis; {args.rate:g} edits/s "
          f"per board ({ADD_SHARE:.0%} adds) for {args.minutes:g} min after "
          f"{args.warmup:g} s of warm-up; reconnect wave at {0.4 * seconds:.0f} s, Redis "
          f"restart at {0.6 * seconds:.0f} s\n", flush=True)

    stack = SoakStack()
    soak = Soak(args, stack)
    people: list[Person] = []
    failed = False
    try:
        stack.start(args.workers)
        soak.boards = [Board(n, pk, token)
                       for n, (pk, token) in enumerate(stack.seed_boards(args.boards))]
        if len(soak.boards) != args.boards:
            raise RuntimeError(f"seeded {len(soak.boards)} boards, not {args.boards}")
        print(stack.describe(), flush=True)

        # Join everyone (spread over the workers) and open their pages.
        began = time.monotonic()
        specs = []
        plan = [(board, n) for board in soak.boards for n in range(args.people)]
        for start in range(0, len(plan), 10):
            joined = await asyncio.gather(*(
                join(board, stack.workers[(board.index * args.people + n) % args.workers],
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
        await soak.edits_settled(HTTP_TIMEOUT + 5)
        await asyncio.sleep(3)
        start_rss = stack.rss()

        # The soak.
        soak.t0 = time.monotonic()
        await soak.sockets.call("start", soak.t0)
        minutes = math.ceil(args.minutes)
        sampler = asyncio.create_task(soak.sampler(minutes))
        reporter = asyncio.create_task(soak.reporter(minutes))
        faults = asyncio.create_task(soak.faults(seconds))
        await asyncio.gather(*(soak.edit_loop(b, seconds) for b in soak.boards))
        await soak.edits_settled(HTTP_TIMEOUT + 5)
        await faults
        await sampler
        await reporter
        end_rss = stack.rss()

        # The end: every page resyncs; then count what some page does not show.
        final = await soak.sockets.call("final", 45.0, limit=90)
        stats = await soak.sockets.call("stats")
        print("\nFinal table (after the final resync; '!all' = acknowledged edits that "
              "never reached every page):")
        print(soak.header())
        rows = [await soak.row(m, stats) for m in range(-1, minutes)]
        for r in rows:
            print(soak.line(r))
        failed = report(soak, final, stats, start_rss, end_rss)
    except asyncio.CancelledError:
        print("\nhard timeout (or a signal) reached: stopping", flush=True)
        failed = True
    finally:
        for task in list(soak.tasks):
            task.cancel()
        await asyncio.gather(*(p.http.aclose() for p in people), return_exceptions=True)
        if soak.sockets is not None:
            await soak.sockets.stop()
        stack.close(show_logs=failed, keep=args.keep)
    return 1 if failed else 0


def report(soak: Soak, final: list[dict], stats: dict, start_rss, end_rss) -> bool:
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
    db = soak.stack.database_check(soak.boards, edits)
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
