"""Live board benchmark: edit-to-every-screen latency and lost messages.

Bounded; prints numbers; not a test. Usage:

    .venv/bin/python bench/live_board.py [--quick] [--stacks sqlite,pg,pg2] [--sizes 10,50]
        [--seconds S] [--timeout T] [--breakdown] [--profile DIR]

For each stack (SQLite + in-memory layer on one daphne worker; PostgreSQL + Redis on one
worker; PostgreSQL + Redis on two workers with the room split across them) it grows one
room step by step (10, 50, 100, 150, ... participants, each joined by the join link with
its own Django session and websocket) and, at each size, has a few of them add parking-lot
questions over HTTP at a fixed rate (10 edits/s, open loop). For every edit it measures
the time from sending the POST until every socket in the room has received the frame
carrying that edit (frames are identified by board version and by a marker in the item
text), and counts lost messages: every socket must see every board version, without a
gap. The simulated pages behave as static/js/live.js: hello on connect, a heartbeat ping
every 20 s, and a resync request when a version arrives out of order.

The room grows until p99 > 100 ms or a message is lost (10 and 50 are always measured),
then --bisect steps narrow down the largest room that holds the target.

The sockets live in a separate process from the editors, so a busy socket client does not
delay the edits it measures; the CPU of that process, of each daphne worker, of PostgreSQL
and Redis and of other programs is reported, so a saturated client or a shared, busy
machine is visible rather than blamed on the app. Before each step it waits (a bounded
time) for other programs to go quiet.

--breakdown serves the app through `live_board:timed_application` (the real app with time
stamps around the add view, publish_event, the group_send, each socket write and each
resync, plus garbage collections and event-loop stalls) and prints where each edit's time
goes. --profile DIR samples the workers with py-spy. Neither is on by default: the
headline numbers come from unmodified workers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
from live_report import HEADER, LEGEND, machine_info, row, short  # noqa: E402
from live_sockets import TICK, Sockets, proc_cpu  # noqa: E402
from live_trace import (  # noqa: E402
    PAUSES,
    STAGES,
    breakdown,
    ms,
    percentile,
    start_timed_worker,
)
from servers import (  # noqa: E402
    BENCH_LIMITS,
    Stack,
    Worker,
    make_stack,
    seed_workshop,
    service_up,
    start_worker,
)

TARGET_P99 = 0.100  # seconds
RATE = 10.0  # edits per second
EDITORS = 5
STACKS = (  # name, label, PostgreSQL and Redis, workers
    ("sqlite", "SQLite + in-memory, 1w", False, 1),
    ("pg", "PostgreSQL + Redis, 1w", True, 1),
    ("pg2", "PostgreSQL + Redis, 2w", True, 2),
)
SIZES = (10, 50, 100, 150, 200, 250, 300, 400, 500)
QUICK_SIZES = (10, 50, 100)
QUIET = 0.25  # of a core: other programs' load under which the machine counts as quiet


def services_cpu() -> float:
    """CPU seconds used so far by PostgreSQL and Redis (all their processes; a backend that
    has exited is counted in its parent's children time)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.find("(") + 1:text.rfind(")")]
        if comm == "postgres" or comm.startswith("redis-server"):
            total += sum(int(v) for v in text.rsplit(")", 1)[1].split()[11:15])
    return total / TICK


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Person:
    name: str
    worker: Worker
    cookies: httpx.Cookies

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


@dataclass
class Result:
    stack: str
    people: int
    edits: int = 0
    p50: float = math.nan
    p99: float = math.nan
    worst: float = math.nan
    http_p50: float = math.nan
    lost: int = 0
    gaps: int = 0
    reordered: int = 0
    resyncs: int = 0
    storm: float = math.nan
    newcomers: int = 0
    errors: int = 0
    closed: int = 0
    frame_bytes: float = math.nan
    server_cpu: list[float] = field(default_factory=list)
    client_cpu: float = math.nan
    machine_cpu: float = math.nan
    other_cpu: float = math.nan
    services_cpu: float = math.nan
    background: float = math.nan
    note: str = ""
    stages: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.edits > 0 and self.p99 <= TARGET_P99 and self.lost == 0
                and self.gaps == 0 and self.errors == 0 and self.closed == 0)


async def join(worker: Worker, token: str, name: str) -> Person:
    async with httpx.AsyncClient(base_url=worker.url, timeout=30) as http:
        page = await http.get(f"/join/{token}/")
        page.raise_for_status()
        answer = await http.post(f"/join/{token}/", data={
            "display_name": name, "function": "product",
            "csrfmiddlewaretoken": http.cookies["csrftoken"]})
        if answer.status_code != 302:
            raise RuntimeError(f"join failed: {answer.status_code} {answer.text[:200]}")
        return Person(name, worker, httpx.Cookies(http.cookies))


@dataclass(frozen=True)
class Route:
    """Where one side of the comparison takes edits and sends frames: Attune's board,
    or the bare relay (bench/relay.py) on the same workers."""

    name: str
    socket: str  # websocket path
    edit: str  # where an edit is POSTed
    workshop: str = ""  # Attune's board; none for the relay

    def version(self, stack: Stack, servers: list[Worker]) -> int:
        if not self.workshop:
            with httpx.Client(base_url=servers[0].url, timeout=10) as http:
                return int(http.get("/relay/version/").text)
        return board_version(stack, self.workshop)


def attune_route(workshop: str) -> Route:
    return Route("Attune", f"/ws/w/{workshop}/", f"/w/{workshop}/s/parking_lot/add/",
                 workshop)


RELAY = Route("bare relay", "/relay/ws/", "/relay/edit/")


def start_relay_worker(stack: Stack, tmp_path: Path) -> Worker:
    """servers.start_worker, serving bench/relay.py: Attune plus the bare relay."""
    return start_worker(stack, tmp_path, app="relay:application", env={
        "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT)])})


def board_version(stack: Stack, workshop: str) -> int:
    url = stack.env.get("DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            return conn.execute("SELECT version FROM workshop_workshop WHERE id = %s",
                                [int(workshop)]).fetchone()[0]
    path = Path(stack.env["ATTUNE_VAR_DIR"]) / "attune.sqlite3"
    with contextlib.closing(sqlite3.connect(path, timeout=20)) as conn:
        return conn.execute("SELECT version FROM workshop_workshop WHERE id = ?",
                            [int(workshop)]).fetchone()[0]


async def edit_burst(editors: list[Person], route: Route, count: int, first_marker: int,
                     sent: dict[int, float], http_times: list[float]) -> int:
    """`count` edits at RATE per second, open loop, round-robin over the editors.
    Returns the number of failed edits."""
    clients = [httpx.AsyncClient(base_url=p.worker.url, cookies=p.cookies, timeout=30)
               for p in editors]
    failures = 0

    async def one(client: httpx.AsyncClient, marker: int) -> None:
        nonlocal failures
        token = client.cookies["csrftoken"]
        began = time.monotonic()
        sent[marker] = began
        try:
            answer = await client.post(
                route.edit,
                data={"add-parking_lot-question": f"Benchmark question bm{marker}q?"},
                headers={"X-CSRFToken": token, "HX-Request": "true"})
            if answer.status_code != 201:
                failures += 1
        except httpx.HTTPError:
            failures += 1
        http_times.append(time.monotonic() - began)

    try:
        start = time.monotonic() + 0.05
        tasks = []
        for i in range(count):
            delay = start + i / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            client = clients[i % len(clients)]
            tasks.append(asyncio.create_task(one(client, first_marker + i)))
        await asyncio.gather(*tasks)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return failures


class Bench:
    def __init__(self, args):
        self.args = args
        self.deadline = time.monotonic() + args.timeout - 20  # leave time to clean up
        self.results: list[Result] = []
        self.marker = itertools.count(1)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    async def run_stack(self, label: str, *, postgres: bool, redis: bool, workers: int,
                        sizes: tuple[int, ...]) -> None:
        with tempfile.TemporaryDirectory(prefix="attune-bench-") as tmp:
            tmp_path = Path(tmp)
            stack = make_stack(tmp_path, postgres=postgres, redis=redis)
            stack.env.update(BENCH_LIMITS)
            sockets = None
            try:
                start = (start_timed_worker if self.args.breakdown
                         else start_worker if self.args.no_relay else start_relay_worker)
                servers = [start(stack, tmp_path) for _ in range(workers)]
                seeded = seed_workshop(stack)
                routes = [attune_route(seeded["workshop"])]
                if start is start_relay_worker:  # the floor first, on the same workers
                    routes.insert(0, RELAY)
                for route in routes:
                    sockets = Sockets()
                    name = label if route is routes[-1] else f"{label} relay"
                    await self.ramp(name, stack, servers, seeded, sockets, sizes, route)
                    if route is not routes[-1]:
                        await sockets.stop()
                        sockets = None
            finally:
                if sockets is not None:
                    await sockets.stop()
                stack.close()
                if any(r.closed or r.errors for r in self.results if r.stack == label):
                    show_logs(tmp_path)

    def profile(self, label: str, size: int, servers: list[Worker]) -> list:
        """With --profile DIR: py-spy samples each worker for the measured edits."""
        if not self.args.profile:
            return []
        folder = Path(self.args.profile)
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        return [subprocess.Popen(
            [py_spy(), "record", "--pid", str(w.process.pid), "--format", "raw", "--gil",
             "--duration", str(math.ceil(self.args.seconds)), "--rate", "200", "--nonblocking",
             "-o", str(folder / f"{slug}-{size}-w{n}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for n, w in enumerate(servers, 1)]

    async def wait_quiet(self, servers: list[Worker], sockets: Sockets) -> float:
        """This machine may be shared: before measuring, wait (up to --quiet-wait s) until
        other programs use less than QUIET of a core. Returns the last load seen."""
        began = time.monotonic()
        while True:
            ours = [proc_cpu(w.process.pid) for w in servers] + [sockets.cpu_seconds(),
                                                                 services_cpu()]
            mine, (busy, total), wall = time.process_time(), machine_busy(), time.monotonic()
            await asyncio.sleep(1.0)
            wall = time.monotonic() - wall
            busy_after, total_after = machine_busy()
            ours_after = [proc_cpu(w.process.pid) for w in servers] + [sockets.cpu_seconds(),
                                                                       services_cpu()]
            machine = (busy_after - busy) / max(1, total_after - total) * os.cpu_count()
            other = machine - (sum(ours_after) - sum(ours) + time.process_time() - mine) / wall
            waited = time.monotonic() - began
            if other <= QUIET or waited >= min(self.args.quiet_wait, self.left() - 60):
                return max(0.0, other)

    async def ramp(self, label, stack, servers, seeded, sockets, sizes, route) -> None:
        """Grow the room through `sizes` until it fails (always measuring 10 and 50), then
        bisect between the largest passing and the smallest failing size."""
        people: list[Person] = []
        passed, failed = 0, None

        async def measure(size: int) -> Result | None:
            # A step takes the edit time plus joining, connecting and settling.
            needed = self.args.seconds + 8 + 0.08 * max(0, size - len(people))
            if self.left() < needed:
                self.results.append(Result(label, size, note="not run: time budget"))
                print(f"  {short(label)}: {size} people not run (time budget)", flush=True)
                return None
            result = await self.step(label, stack, servers, route, seeded["join"], sockets,
                                     people, size)
            self.results.append(result)
            print("  " + row(result), flush=True)
            return result

        for size in sizes:
            result = await measure(size)
            if result is None:
                return
            if result.ok:
                passed = size
            else:
                failed = size
                if size >= 50 and not self.args.sizes:  # sizes asked for are all measured
                    break
        for _ in range(self.args.bisect):
            if failed is None or failed - passed <= 5:
                return
            size = (passed + failed) // 2 // 5 * 5
            if size <= passed:
                return
            result = await measure(size)
            if result is None:
                return
            passed, failed = (size, failed) if result.ok else (passed, size)

    async def step(self, label, stack, servers, route, token, sockets, people,
                   size) -> Result:
        result = Result(label, size)
        # Join the newcomers (each with their own session), spread over the workers.
        if size < len(people):  # bisecting: the last ones leave the room
            await sockets.call("shrink", size)
            del people[size:]
        newcomers = range(len(people), size)
        for start in range(0, len(newcomers), 20):
            people += await asyncio.gather(*(
                join(servers[i % len(servers)], token, f"Person {i + 1}")
                for i in newcomers[start:start + 20]))
        version = route.version(stack, servers)
        targets = [(p.worker.port, p.cookie_header(), i)
                   for i, p in enumerate(people) if i >= len(people) - len(newcomers)]
        storm = time.monotonic()
        connected = await sockets.call("connect", targets, route.socket, version)
        if connected["failures"]:
            result.note = f"{len(connected['failures'])} connects failed: " \
                          f"{connected['failures'][0][:80]}"
            result.errors = len(connected["failures"])
            return result
        await sockets.call("settle", 1.0, 60.0)
        # Every arrival tells the whole room who is here: the room is busy until it settles.
        result.storm = time.monotonic() - storm - 1.0
        result.newcomers = len(newcomers)

        editors = people[:min(EDITORS, size)]
        # Warm up (templates, connections), unmeasured, then settle again.
        await edit_burst(editors, route, 10, next(self.marker) + 10_000_000, {}, [])
        await sockets.call("settle", 0.5, 10.0)

        result.background = await self.wait_quiet(servers, sockets)
        if result.background > QUIET:
            result.note = f"busy machine: {result.background * 100:.0f}% of a core in use " \
                          "by other programs before the step;"
        first = route.version(stack, servers) + 1
        count = int(self.args.seconds * RATE)
        markers = [next(self.marker) for _ in range(count)]
        sent: dict[int, float] = {}
        http_times: list[float] = []
        await sockets.call("record")
        cpu_before = [proc_cpu(w.process.pid) for w in servers]
        client_before = sockets.cpu_seconds()
        self_before = time.process_time()
        services_before = services_cpu()
        busy_before, total_before = machine_busy()
        profilers = self.profile(label, size, servers)
        wall = time.monotonic()
        result.errors = await edit_burst(editors, route, count, markers[0], sent, http_times)
        last = route.version(stack, servers)
        report = await sockets.call("collect", first, last, 10.0)
        wall = time.monotonic() - wall
        busy_after, total_after = machine_busy()
        for profiler in profilers:
            profiler.wait()
        result.server_cpu = [(proc_cpu(w.process.pid) - b) / wall
                             for w, b in zip(servers, cpu_before, strict=True)]
        result.client_cpu = (sockets.cpu_seconds() - client_before) / wall
        result.machine_cpu = (busy_after - busy_before) / max(1, total_after - total_before) \
            * os.cpu_count()
        result.services_cpu = (services_cpu() - services_before) / wall
        result.other_cpu = result.machine_cpu - sum(result.server_cpu) - result.client_cpu \
            - (time.process_time() - self_before) / wall - result.services_cpu

        version_of = {marker: version for version, marker in report["marker_of"].items()}
        latencies = []
        for marker in markers:
            version = version_of.get(marker)
            if version is None:
                result.lost += 1
                continue
            got, at, _ = report["arrivals"][version]
            if got < report["open"]:
                result.lost += 1
                continue
            latencies.append(at - sent[marker])
        result.edits = len(latencies)
        result.gaps = report["missing"]
        result.reordered = report["reordered"]
        result.resyncs = report["resyncs"]
        result.closed = len(report["closed"])
        if report["closed"]:
            result.note = f"closed: {sorted(set(report['closed'].values()))}"
        if last - first + 1 != count - result.errors:
            result.note += f" versions {first}..{last} for {count - result.errors} edits"
        result.p50, result.p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        result.worst = max(latencies, default=math.nan)
        result.http_p50 = percentile(http_times, 0.50)
        if self.args.breakdown:
            result.stages = breakdown(servers, markers, sent, report, version_of)
        if report["events"]:
            result.frame_bytes = report["event_bytes"] / report["events"]
        return result


def show_logs(folder: Path, lines: int = 40) -> None:
    """A socket was closed or a request failed: the workers' logs say why."""
    access = re.compile(r"^[\d.]+:\d+ - - \[")
    for log in sorted(folder.glob("daphne-*.log")):
        text = [line for line in log.read_text(errors="replace").splitlines()
                if not access.match(line)]
        print(f"--- {log.name}, last {lines} lines other than the access log:")
        print("\n".join(text[-lines:]) or "(nothing)")


def py_spy() -> str:
    return shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


async def main(args) -> int:
    bench = Bench(args)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    stacks = [stack for stack in STACKS if stack[0] in args.stacks]
    if not (service_up(5432) and service_up(6379)):
        print("PostgreSQL or Redis is not running: only the embedded stack is measured.")
        stacks = [stack for stack in stacks if not stack[2]]
    print(machine_info())
    print(f"load: {RATE:.0f} edits/s by up to {EDITORS} editors, {args.seconds:.0f} s per "
          f"step, target p99 <= {TARGET_P99 * 1000:.0f} ms with 0 lost, "
          f"hard timeout {args.timeout:.0f} s\n", flush=True)
    # The hard limit cancels the run; the `finally` blocks stop servers and drop databases.
    asyncio.get_running_loop().add_signal_handler(signal.SIGALRM, asyncio.current_task().cancel)
    signal.alarm(int(args.timeout))
    try:
        for _, label, real, workers in stacks:
            if bench.left() < 30:
                bench.results.append(Result(label, 0, note="not run: time budget"))
                continue
            print(f"{label}:", flush=True)
            await bench.run_stack(label, postgres=real, redis=real, workers=workers,
                                  sizes=sizes)
    except asyncio.CancelledError:
        print("\nhard timeout reached; the servers were stopped", flush=True)
    signal.alarm(0)

    print("\n" + LEGEND)
    print(HEADER)
    for result in bench.results:
        print(row(result))
    staged = [r for r in bench.results if r.stages]
    if staged:
        print("\nWhere the time goes (--breakdown: instrumented workers), stages p50 / p99 ms;"
              "\npauses during the edits: count, total, p50/max ms:")
        print(f"{'':<34}" + "".join(f"{short(r.stack) + ' ' + str(r.people):>24}"
                                    for r in staged))
        for name in [name for name, *_ in STAGES] + list(PAUSES):
            print(f"{name:<34}" + "".join(f"{r.stages.get(name, '-'):>24}" for r in staged))
    print()
    for _, label, *_ in stacks:
        mine = [r for r in bench.results if r.stack == label and r.edits]
        failing = [r.people for r in mine if not r.ok]
        first_failure = min(failing, default=None)
        passing = [r.people for r in mine if r.ok
                   and (first_failure is None or r.people < first_failure)]
        verdict = f"largest room holding p99 <= {TARGET_P99 * 1000:.0f} ms with 0 lost: "
        verdict += f"{max(passing)}" if passing else "none of the sizes tried"
        if first_failure is not None:
            verdict += f" (smallest failing: {first_failure})"
        elif passing:
            verdict += " (no failure up to the largest size tried)"
        print(f"{short(label):<14} {verdict}")
    compare(bench.results, [label for _, label, *_ in stacks])
    return 0


def compare(results: list[Result], labels: list[str]) -> None:
    """Attune beside the bare relay of the same run, size by size (target: p50 within
    1.5x of the relay at every size up to 200)."""
    rows = []
    for label in labels:
        relay = {r.people: r for r in results if r.stack == f"{label} relay" and r.edits}
        for r in results:
            floor = relay.get(r.people)
            if r.stack == label and r.edits and floor:
                rows.append(f"{short(label):<14} {r.people:>6} {ms(r.p50):>7} {ms(floor.p50):>7}"
                            f" {r.p50 / floor.p50:>6.2f} {ms(r.p99):>7} {ms(floor.p99):>7}"
                            f" {r.p99 / floor.p99:>6.2f}")
    if rows:
        print("\nAttune beside the bare relay (same workers, layer and run), ms:")
        print(f"{'stack':<14} {'people':>6} {'p50':>7} {'relay':>7} {'x':>6} {'p99':>7}"
              f" {'relay':>7} {'x':>6}")
        print("\n".join(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="sizes 10, 50, 100 only and 5 s of edits per step")
    parser.add_argument("--seconds", type=float, help="seconds of edits per step (12)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="hard limit for the whole run, in seconds (600)")
    parser.add_argument("--sizes", type=lambda text: tuple(int(n) for n in text.split(",")),
                        help="room sizes to step through, e.g. 10,50,100 (each is measured,"
                             " past failures too)")
    parser.add_argument("--stacks", type=lambda text: text.split(","),
                        default=[name for name, *_ in STACKS],
                        help="which stacks: sqlite,pg,pg2 (all)")
    parser.add_argument("--bisect", type=int, default=2,
                        help="after the first failing size, this many bisection steps "
                             "between it and the largest passing size (2)")
    parser.add_argument("--quiet-wait", type=float, default=45,
                        help="before each step, wait up to this many seconds for other "
                             "programs on the machine to go quiet (45)")
    parser.add_argument("--no-relay", action="store_true",
                        help="measure Attune only, without the bare relay beside it")
    parser.add_argument("--breakdown", action="store_true",
                        help="time the stages of each edit inside the workers "
                             "(instrumented workers: run apart from the headline numbers)")
    parser.add_argument("--profile", metavar="DIR",
                        help="sample each worker with py-spy (threads holding the GIL) "
                             "during the measured edits (collapsed stacks in DIR)")
    arguments = parser.parse_args()
    if arguments.profile and not Path(py_spy()).exists():
        parser.error("--profile needs py-spy (pip install py-spy)")
    if arguments.seconds is None:
        arguments.seconds = 5.0 if arguments.quick else 12.0
    sys.exit(asyncio.run(main(arguments)))
