"""The SQLite backend (workshop/sqlite) keeps a database file's connections for reuse:
each request and broadcast has connections of its own under ASGI, and a new SQLite
connection reads the schema before its first statement."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connections

from workshop.sqlite.base import IDLE_PER_FILE, DatabaseWrapper, idle


def wrapper(name: str) -> DatabaseWrapper:
    """A connection of its own to database `name`, with the options ours has (in the
    PostgreSQL pass too, whose default database is not SQLite)."""
    probe = connections.configure_settings({"default": {}, "probe": {
        "ENGINE": "workshop.sqlite", "NAME": name, "OPTIONS": dict(settings.SQLITE_OPTIONS),
    }})["probe"]
    return DatabaseWrapper(probe, alias="probe")


@pytest.fixture(autouse=True)
def own_databases(django_db_blocker):
    """These connections are to files of the test's own, not to the test database."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database(tmp_path):
    name = str(tmp_path / "probe.sqlite3")
    with wrapper(name).cursor() as cursor:
        cursor.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT)")
    yield name
    while not idle(name).empty():
        idle(name).get_nowait().close()


def raw(connection: DatabaseWrapper):
    connection.ensure_connection()
    return connection.connection


def test_a_closed_connection_is_taken_again_by_the_next_one(database):
    first = wrapper(database)
    opened = raw(first)
    first.close()
    second = wrapper(database)
    assert raw(second) is opened
    with second.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT count(*) FROM note")  # Django's functions still there too
        assert cursor.fetchone()[0] == 0
    second.close()


def test_what_a_closed_connection_left_uncommitted_is_rolled_back(database):
    writer = wrapper(database)
    writer.set_autocommit(False)
    with writer.cursor() as cursor:
        cursor.execute("INSERT INTO note (text) VALUES ('half-done')")
    writer.close()  # as a request that failed mid-write hands its connection back
    reader = wrapper(database)
    with reader.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM note")
        assert cursor.fetchone()[0] == 0
    assert not reader.connection.in_transaction
    reader.close()


def test_a_connection_closed_in_another_thread_serves_this_one(database):
    kept = []

    def request() -> None:
        connection = wrapper(database)
        kept.append(raw(connection))
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO note (text) VALUES ('from a request')")
        connection.close()

    thread = threading.Thread(target=request)
    thread.start()
    thread.join()
    here = wrapper(database)
    assert raw(here) is kept[0]
    with here.cursor() as cursor:
        cursor.execute("SELECT text FROM note")
        assert cursor.fetchall() == [("from a request",)]
    here.close()


def test_no_more_than_a_few_connections_are_kept(database):
    opened = [wrapper(database) for _ in range(IDLE_PER_FILE + 3)]
    raws = [raw(connection) for connection in opened]
    for connection in opened:
        connection.close()
    assert idle(database).qsize() == IDLE_PER_FILE
    with pytest.raises(Exception, match="closed"):
        raws[-1].execute("SELECT 1")  # the ones past the limit are really closed


def test_an_in_memory_database_is_not_kept_for_others():
    memory = wrapper(":memory:")
    raw(memory)
    memory.close()  # Django ignores it: closing would lose the database
    assert memory.connection is not None
    assert idle(":memory:").empty()
    memory.connection.close()
