"""The board's ledger: every change bumps the board version, is logged as a
`BoardEvent`, and is broadcast only after its transaction commits
(docs/architecture.md, "The ledger")."""

from __future__ import annotations

from contextvars import ContextVar
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from sessions.broadcast import publish_event

from .event_kinds import Kind
from .models import BoardEvent, Workshop

# How many writes the current request has committed: a request that fails after one must
# not tell the person that nothing was saved (workshop/middleware.py).
committed_writes: ContextVar[int] = ContextVar("committed_writes", default=0)


def _committed(event: BoardEvent) -> None:
    committed_writes.set(committed_writes.get() + 1)
    publish_event(event)


def _bump(workshop_id: int, by: int = 1) -> int:
    """The board's next version (the last of `by` next ones), in one statement: the
    UPDATE takes the row lock that orders concurrent writes, and RETURNING
    (PostgreSQL, SQLite 3.35+) saves a read."""
    table = Workshop._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" SET "version" = "version" + %s, "updated_at" = %s '  # noqa: S608 - the table name is ours
            'WHERE "id" = %s RETURNING "version"',
            [by, connection.ops.adapt_datetimefield_value(timezone.now()), workshop_id])
        row = cursor.fetchone()
    if row is None:
        raise Workshop.DoesNotExist(f"No workshop {workshop_id}")
    return row[0]


def lock_board(workshop_id: int) -> int:
    """The version a write's one event will have, taken first: for a write whose checks
    read what a concurrent write of the board may change (a count, the next number, "is
    a vote open?"), the bump's row lock then orders the whole of both writes, not only
    their ends. No statement more: pass the version to `record_event`."""
    return _bump(workshop_id)


def record_event(
    workshop_id: int, kind: Kind, section: str = "", item_id: int | None = None,
    actor: str = "", unlinked: list[int] | None = None,
    snapshot: dict[str, Any] | None = None, version: int | None = None,
) -> BoardEvent:
    """Bump the board version (unless `lock_board` did), log the change and schedule its
    broadcast.

    Call inside the write's transaction: the row lock taken by the UPDATE orders
    concurrent writes to the same board, so versions never repeat or skip.
    """
    version = _bump(workshop_id) if version is None else version
    event = BoardEvent.objects.create(
        workshop_id=workshop_id, version=version, kind=Kind(kind), section=section,
        item_id=item_id, actor=actor, unlinked=unlinked or [], snapshot=snapshot or {},
    )
    transaction.on_commit(lambda: _committed(event))
    return event


def record_events(workshop_id: int, events: list[dict[str, Any]]) -> list[BoardEvent]:
    """Several events of one write (each a dict of record_event's arguments, kind
    first), with one version each, in order: one bump and one INSERT for them all."""
    last = _bump(workshop_id, len(events))
    first = last - len(events) + 1
    made = BoardEvent.objects.bulk_create([
        BoardEvent(workshop_id=workshop_id, version=first + offset, kind=Kind(event["kind"]),
                   section=event.get("section", ""), item_id=event.get("item_id"),
                   actor=event.get("actor", ""), unlinked=event.get("unlinked") or [],
                   snapshot=event.get("snapshot") or {})
        for offset, event in enumerate(events)])
    for event in made:
        transaction.on_commit(partial(_committed, event))
    return made
