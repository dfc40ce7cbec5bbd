"""Real servers for the tests that need them: daphne processes on free ports, on a
fresh SQLite file or a fresh PostgreSQL database, with or without Redis."""

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


def make_stack(tmp_path: Path, *, postgres: bool = False, redis: bool = False) -> Stack:
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
        env["REDIS_URL"] = REDIS + "0"
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


def start_worker(stack: Stack, tmp_path: Path, port: int | None = None) -> Worker:
    port = port or free_port()
    log = tmp_path / f"daphne-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "workshop.asgi:application"],
        cwd=ROOT, env=stack.env, stdout=log.open("w"), stderr=subprocess.STDOUT)
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
