"""The board's ledger: every change bumps the board version, is logged as a
`BoardEvent`, and is broadcast only after its transaction commits
(docs/architecture.md, "The ledger")."""

from __future__ import annotations

from contextvars import ContextVar
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


def _bump(workshop_id: int) -> int:
    """The board's next version, in one statement: the UPDATE takes the row lock that
    orders concurrent writes, and RETURNING (PostgreSQL, SQLite 3.35+) saves a read."""
    table = Workshop._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" SET "version" = "version" + 1, "updated_at" = %s '  # noqa: S608 - the table name is ours
            'WHERE "id" = %s RETURNING "version"',
            [connection.ops.adapt_datetimefield_value(timezone.now()), workshop_id])
        row = cursor.fetchone()
    if row is None:
        raise Workshop.DoesNotExist(f"No workshop {workshop_id}")
    return row[0]


def record_event(
    workshop_id: int, kind: Kind, section: str = "", item_id: int | None = None,
    actor: str = "", unlinked: list[int] | None = None,
    snapshot: dict[str, Any] | None = None,
) -> BoardEvent:
    """Bump the board version, log the change and schedule its broadcast.

    Call inside the write's transaction: the row lock taken by the UPDATE orders
    concurrent writes to the same board, so versions never repeat or skip.
    """
    version = _bump(workshop_id)
    event = BoardEvent.objects.create(
        workshop_id=workshop_id, version=version, kind=Kind(kind), section=section,
        item_id=item_id, actor=actor, unlinked=unlinked or [], snapshot=snapshot or {},
    )
    transaction.on_commit(lambda: _committed(event))
    return event
