"""The board's ledger: every change bumps the board version, is logged as a
`BoardEvent`, and is broadcast only after its transaction commits
(docs/architecture.md, "The ledger")."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from sessions.broadcast import publish_event

from .event_kinds import Kind
from .models import BoardEvent, Workshop


def record_event(
    workshop_id: int, kind: Kind, section: str = "", item_id: int | None = None,
    actor: str = "",
) -> BoardEvent:
    """Bump the board version, log the change and schedule its broadcast.

    Call inside the write's transaction: the row lock taken by the UPDATE orders
    concurrent writes to the same board, so versions never repeat or skip.
    """
    Workshop.objects.filter(pk=workshop_id).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    version = Workshop.objects.values_list("version", flat=True).get(pk=workshop_id)
    event = BoardEvent.objects.create(
        workshop_id=workshop_id, version=version, kind=Kind(kind), section=section,
        item_id=item_id, actor=actor,
    )
    transaction.on_commit(lambda: publish_event(event))
    return event
