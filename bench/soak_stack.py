"""The soak's stack (bench/soak.py): a fresh PostgreSQL database and daphne workers on
free loopback ports (tests/servers.py), and a redis-server of the run's own on a free
port (tests/servers.RedisServer: no persistence, so a restart comes back empty), started
and restarted by the soak alone: the machine's Redis on 6379 and its PostgreSQL are
never stopped. Also what the machine says while it runs (CPU and RSS from /proc) and
what the database and the workers' logs say afterwards.

bench/soak.py puts tests/ on sys.path before it imports this module.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from servers import BENCH_LIMITS, RedisServer, Stack, Worker, make_stack, service_up, start_worker
from soak_page import MARK

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
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


def load_average() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def cannot_run() -> str | None:
    """Why the soak cannot run on this machine, if it cannot."""
    if not service_up(5432):
        return "PostgreSQL is not running on 127.0.0.1:5432: the soak needs it."
    if not shutil.which("redis-server"):
        return "redis-server is not installed: the soak starts its own."
    return None


def machine_info() -> str:
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
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True,
                           timeout=10, check=False).stdout.strip()
    return (f"date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}\n"
            f"machine: {os.cpu_count()} cores, {model}, load average "
            f"{' '.join(load_average())}\n"
            f"Python {platform.python_version()}; {packages}\n{redis}")


class SoakStack:
    """The run's folder (worker and Redis logs), its own Redis, a fresh PostgreSQL
    database and the daphne workers."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="attune-soak-"))
        self.redis = RedisServer(self.folder)
        self.stack: Stack | None = None
        self.workers: list[Worker] = []

    def start(self, workers: int) -> None:
        self.redis.start()
        self.stack = make_stack(self.folder, postgres=True, redis=self.redis)
        self.stack.env.update(BENCH_LIMITS)
        self.workers = [start_worker(self.stack, self.folder) for _ in range(workers)]

    def describe(self) -> str:
        return (f"redis-server pid {self.redis.process.pid} on port {self.redis.port}; "
                "workers " + ", ".join(f"pid {w.process.pid} on port {w.port}"
                                       for w in self.workers))

    def restart_redis(self, down: float) -> float:
        """Stop our Redis, stay down `down` seconds, start it again (empty); returns the
        seconds it was down."""
        began = time.monotonic()
        self.redis.stop()
        time.sleep(down)
        self.redis.start()
        return time.monotonic() - began

    def rss(self) -> list[int | None]:
        return [rss_kib(w.process.pid) for w in self.workers]

    def sample(self, client_pid: int) -> dict:
        """CPU used so far by each worker, the socket process (`client_pid`), this
        process, PostgreSQL and the machine; the workers' RSS; the load average."""
        return {"at": time.monotonic(),
                "cpu": [proc_cpu(w.process.pid) for w in self.workers], "rss": self.rss(),
                "client": proc_cpu(client_pid), "machine": machine_busy(),
                "main": time.process_time(), "pg": postgres_cpu(), "load": load_average()[0]}

    def seed_boards(self, count: int) -> list[tuple[int, str]]:
        """A facilitator and `count` workshops, each with a running session: (workshop
        id, join token) of each."""
        out = self.stack.shell(
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
        return [(int(pk), token) for _, pk, token in found]

    def database_check(self, boards: list, edits: list) -> dict:
        """What the database says: board events and item versions against the requests
        (bench/soak.py's Board and Edit), presence rows and each board's version."""
        import psycopg

        result = {"extra_events": 0, "missing_events": 0, "version_high": 0,
                  "version_low": 0, "wrong_text": 0, "duplicate_markers": 0, "samples": []}
        with psycopg.connect(self.stack.env["DATABASE_URL"]) as conn:
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
            with contextlib.suppress(psycopg.Error):
                result["presence"] = conn.execute(
                    "SELECT count(*) FROM live_presence").fetchone()[0]
                result["versions"] = dict(conn.execute(
                    "SELECT id, version FROM workshop_workshop").fetchall())
        return result

    def show_logs(self, lines: int = 25) -> None:
        """The workers' own log lines (not the access log), most frequent first."""
        access = re.compile(r"^[\d.]+:\d+ - - \[")
        for log in sorted(self.folder.glob("daphne-*.log")):
            text = [line for line in log.read_text(errors="replace").splitlines()
                    if line.strip() and not access.match(line)]
            shapes = Counter(re.sub(r"\d+", "N", line)[:150] for line in text)
            print(f"--- {log.name}: {len(text)} lines other than the access log; "
                  f"most frequent (digits as N):")
            for shape, n in shapes.most_common(lines):
                print(f"  {n:>6} x {shape}")

    def close(self, show_logs: bool, keep: bool) -> None:
        """Stop everything (the workers' logs first, if `show_logs`); keep the folder or
        remove it."""
        if self.stack is not None:
            if show_logs:
                self.show_logs()
            self.stack.close()
        self.redis.stop()
        if keep:
            print(f"logs kept in {self.folder}")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)
