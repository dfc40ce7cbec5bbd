"""Real servers for the tests that need them: daphne processes on free ports, on a
fresh SQLite file or a fresh PostgreSQL database, with or without Redis: the machine's
(6379, never stopped by a test) or a private `RedisServer` a fault test may stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432/"
REDIS = "redis://127.0.0.1:6379/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(check, timeout: float, what: str, every: float = 0.05) -> None:
    """Poll `check` until it is true; fail saying `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {what}")
        time.sleep(every)


def redis_answers(port: int) -> bool:
    """Whether a Redis server on `port` answers PING (not only accepts connections)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A redis-server of the test's own, on a free port, without persistence (so a
    restart comes back empty, as the machine's does). A fault test stops and starts this
    one, never the machine's Redis on 6379. Its log is redis-<port>.log in `directory`."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = directory
        self.port = port or free_port()
        self.log = directory / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> RedisServer:
        """Start it (on the same port as before) and return once it answers PING."""
        if self.running:
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--daemonize", "no",
                 "--dir", str(self.directory)],
                cwd=self.directory, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not redis_answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop(hard=True)
                raise RuntimeError(f"redis-server on {self.port} did not start:\n"
                                   f"{self.log.read_text()[-2000:]}")
            time.sleep(0.02)
        return self

    def stop(self, hard: bool = False) -> None:
        """Stop it (SIGTERM: a clean shutdown, nothing saved; SIGKILL if `hard`) and
        return once its port refuses connections."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        wait_until(lambda: not service_up(self.port), 10, f"port {self.port} is closed")

    def command(self, *args: str) -> str:
        """Send one command; returns the first line of the reply (e.g. "+OK")."""
        request = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(request.encode())
            return sock.recv(4096).decode().split("\r\n", 1)[0]

    def pause_writes(self, milliseconds: int) -> None:
        """Hold every client's write commands (CLIENT PAUSE ... WRITE) for a while: a
        broadcast stalls after its write committed, which a test can use to time a fault."""
        reply = self.command("CLIENT", "PAUSE", str(milliseconds), "WRITE")
        assert reply == "+OK", reply

    def restart(self) -> RedisServer:
        """Stop and start again at once: the same address, and an empty server (every
        group membership and queued message is gone)."""
        self.stop()
        return self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop(hard=True)


@dataclass
class Stack:
    """The environment a set of workers share: one database, maybe one Redis."""

    env: dict[str, str]
    cleanup: list = field(default_factory=list)

    def manage(self, *args: str, input: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, input=input,
            capture_output=True, text=True, timeout=120, check=False)
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def close(self) -> None:
        for step in reversed(self.cleanup):
            step()


# A benchmark's whole room joins, and writes, from this one machine's address, as no
# real room does (each person has their own): the limits per address and per person
# are raised for it (workshop/limits.py; tests of the limits set their own).
BENCH_LIMITS = {"LIMIT_JOINS": "100000/60", "LIMIT_JOINS_PER_LINK": "100000/60",
                "LIMIT_WRITES": "100000/3"}


def make_stack(tmp_path: Path, *, postgres: bool = False,
               redis: bool | RedisServer = False) -> Stack:
    """Settings for workers: SQLite or a fresh PostgreSQL database; no Redis (the
    in-memory layer), the machine's Redis (`redis=True`) or a private `RedisServer`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "workshop.settings", "DEBUG": "0",
        "SECRET_KEY": "test-" + uuid.uuid4().hex, "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SERVE_STATIC_FROM_SOURCE": "1", "ATTUNE_VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
    })
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    stack = Stack(env)
    if postgres:
        name = "attune_live_" + uuid.uuid4().hex[:10]
        _psql(f'CREATE DATABASE "{name}"')
        stack.cleanup.append(lambda: _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        env["DATABASE_URL"] = POSTGRES + name
    if redis:
        env["REDIS_URL"] = redis.url if isinstance(redis, RedisServer) else REDIS + "0"
        env["CHANNEL_PREFIX"] = "attune-test-" + uuid.uuid4().hex[:8]
    try:
        stack.manage("migrate", "--noinput")
    except Exception:
        stack.close()  # drop the fresh database rather than leak it
        raise
    return stack


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES + "postgres", autocommit=True) as conn:
        conn.execute(sql)


@dataclass
class Worker:
    """One daphne process."""

    url: str
    port: int
    process: subprocess.Popen
    log: Path

    def stop(self, hard: bool = False) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_worker(stack: Stack, tmp_path: Path, port: int | None = None, *,
                 app: str = "workshop.asgi:application",
                 env: dict[str, str] | None = None) -> Worker:
    """A daphne worker serving `app` (the benchmarks serve wrapped apps, with `env`
    added to the stack's settings, e.g. a PYTHONPATH that finds them)."""
    port = port or free_port()
    log = tmp_path / f"daphne-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "workshop.serve", "-b", "127.0.0.1", "-p", str(port), app],
        cwd=ROOT, env=stack.env | (env or {}), stdout=log.open("w"),
        stderr=subprocess.STDOUT)
    worker = Worker(f"http://127.0.0.1:{port}", port, process, log)
    stack.cleanup.append(worker.stop)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(worker.url + "/accounts/login/", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return worker
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"daphne did not start:\n{log.read_text()}")


def seed_workshop(stack: Stack) -> dict[str, str]:
    """A facilitator `fran` (password `fran-pass-123`), a workshop and a session.
    Returns the ids and links the tests need."""
    out = stack.shell(
        "from django.contrib.auth import get_user_model\n"
        "from sessions.access import Membership\n"
        "from sessions import services as s\n"
        "from workshop import services as w\n"
        "u = get_user_model().objects.create_user('fran', password='fran-pass-123')\n"
        "ws = w.create_workshop(u, 'Live board test', 'Northwind')\n"
        "m = Membership(ws, 'facilitator', user=u)\n"
        "se = s.start_session(m, 'Sitting 1')\n"
        "print(ws.pk, se.join_token, se.observer_token)\n")
    workshop, join, observe = out.split()[-3:]
    return {"workshop": workshop, "join": join, "observe": observe,
            "user": "fran", "password": "fran-pass-123"}
