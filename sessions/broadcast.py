"""The pipe: after a write commits, render its frames once per audience and hand them
to the channel layer. The database stays the ledger; a lost frame is caught up on
resync (DESIGN.md rule 4), so a failing layer must never fail the write."""

from __future__ import annotations

import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from workshop.models import BoardEvent, Workshop

from .fragments import frames
from .viewer import FACILITATORS, ROOM

log = logging.getLogger(__name__)


def group(workshop_id: int, audience: str) -> str:
    return f"board-{workshop_id}-{audience}"


def person_group(workshop_id: int, person: str) -> str:
    return f"person-{workshop_id}-{person}"


def _send(group_name: str, message: dict) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group_name, message)
    except Exception:  # noqa: BLE001 - the write is saved; pages catch up on reconnect
        log.exception("Broadcast to %s failed; pages will catch up on resync", group_name)


def publish_event(event: BoardEvent) -> None:
    workshop = Workshop.objects.get(pk=event.workshop_id)
    rendered = frames(workshop, [event], version=event.version)
    for audience in (ROOM, FACILITATORS):
        # Serialized once here, sent as is to every socket of the audience.
        text = json.dumps(rendered[audience], separators=(",", ":"))
        _send(group(event.workshop_id, audience), {"type": "board.frame", "text": text})


def kick(workshop_id: int, persons: list[str], code: int, reason: str) -> None:
    """Close the sockets of people who lost access, with a code the page explains."""
    for person in persons:
        _send(person_group(workshop_id, person),
              {"type": "board.kick", "code": code, "reason": reason})
