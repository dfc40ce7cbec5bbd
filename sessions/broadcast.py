"""The pipe: after a write commits, render its frames once per audience and hand them
to the channel layer. The database stays the ledger; a lost frame is caught up on
resync (docs/architecture.md, "Catch-up"), so a failing layer or a failing render must
never fail the write."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from workshop.event_kinds import touches
from workshop.models import BoardEvent

from .fragments import event_frames
from .outage import CHANNEL_LAYER

log = logging.getLogger(__name__)


def group(workshop_id: int, audience: str) -> str:
    return f"board-{workshop_id}-{audience}"


def person_group(workshop_id: int, person: str) -> str:
    return f"person-{workshop_id}-{person}"


def _send(group_name: str, message: dict[str, Any]) -> bool:
    try:
        async_to_sync(get_channel_layer().group_send)(group_name, message)
    except Exception as error:  # noqa: BLE001 - the write is saved; pages catch up
        CHANNEL_LAYER.failed(error)
        return False
    CHANNEL_LAYER.succeeded()
    return True


def publish_event(event: BoardEvent) -> None:
    """Send one committed event to every open page of its board."""
    try:
        rendered = event_frames(event)
    except Exception:
        # A bug, not an outage: say which event, and let pages catch up when they next
        # resync (the heartbeat tells them they are behind).
        log.exception("Could not render board %s event %s (%s); pages will catch up",
                      event.workshop_id, event.version, event.kind)
        return
    touched = touches(event.kind)
    if touched is not None and touched.audience and event.item_id:
        # First, so the person's sockets leave their old audience before its next frame.
        regroup(event.workshop_id, [f"p{event.item_id}"])
    for audience, texts in rendered.items():
        for text in texts:  # serialized once, sent as is to every socket of the audience
            if not _send(group(event.workshop_id, audience),
                         {"type": "board.frame", "audience": audience, "text": text}):
                return  # the layer is down: the rest would fail the same way


def regroup(workshop_id: int, persons: list[str]) -> None:
    """Tell these people's sockets that what they may see changed: each one reads its
    membership again and moves to its new audience (or closes)."""
    for person in persons:
        _send(person_group(workshop_id, person), {"type": "board.regroup"})


def kick(workshop_id: int, persons: list[str], code: int, reason: str) -> None:
    """Close the sockets of people who lost access, with a code the page explains."""
    for person in persons:
        _send(person_group(workshop_id, person),
              {"type": "board.kick", "code": code, "reason": reason})
