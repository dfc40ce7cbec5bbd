"""Django's SQLite backend, with the connections of a database file kept for reuse.

Under ASGI every request has database connections of its own (Django keeps them per
request context, so CONN_MAX_AGE reuses nothing), and a new SQLite connection reads the
schema before its first statement: about a millisecond of each request and of each
broadcast (bench/live_board.py). PostgreSQL has Django's pool for this; here closing a
connection puts it on a small idle list of its process instead, rolled back, and the
next connection of the same file takes it from there.

An in-memory database (the test suite's) is left to Django: closing it would lose it."""

from __future__ import annotations

import queue
import sqlite3
import threading
from typing import Any

from django.db.backends.sqlite3 import base

IDLE_PER_FILE = 8  # more than the threads that use a database at once in one worker

_idle: dict[str, queue.LifoQueue[sqlite3.Connection]] = {}
_lock = threading.Lock()


def idle(name: str) -> queue.LifoQueue[sqlite3.Connection]:
    """The connections of database file `name` that no one is using."""
    with _lock:
        return _idle.setdefault(name, queue.LifoQueue(IDLE_PER_FILE))


class DatabaseWrapper(base.DatabaseWrapper):
    def reusable(self) -> bool:
        return not self.is_in_memory_db()

    def get_new_connection(self, conn_params: dict[str, Any]) -> sqlite3.Connection:
        if self.reusable():
            try:
                # Opened by Django's get_new_connection: its PRAGMAs and functions set.
                return idle(self.settings_dict["NAME"]).get_nowait()
            except queue.Empty:
                pass
        return super().get_new_connection(conn_params)

    def _close(self) -> None:
        connection = self.connection
        if connection is None or not self.reusable():
            super()._close()  # type: ignore[misc]  # private in the stubs, not in Django
            return
        with self.wrap_database_errors:
            if connection.in_transaction:
                connection.rollback()  # nothing a request left half-done is kept
            try:
                idle(self.settings_dict["NAME"]).put_nowait(connection)
            except queue.Full:
                connection.close()
