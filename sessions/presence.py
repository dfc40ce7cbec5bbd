"""Who is in the room: one row per open socket, kept in the database so every
worker sees the same room; a heartbeat keeps rows fresh, and rows nobody refreshed
(their worker died) are swept."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from workshop.models import Workshop

from .access import Membership
from .models import Participant, Presence, Role

# Pages ping every 15 s (static/js/live.js); a row not refreshed for this long belongs
# to a socket whose worker died.
PRESENCE_TTL = timedelta(seconds=90)


def people_online(workshop_id: int) -> list[dict[str, str]]:
    """Everyone with an open socket, once per person however many tabs they have."""
    fresh = timezone.now() - PRESENCE_TTL
    rows = Presence.objects.filter(workshop_id=workshop_id, seen_at__gte=fresh)
    people: dict[str, dict[str, str]] = {}
    for row in rows.order_by("name", "pk"):
        people.setdefault(row.person, {"name": row.name, "function": row.function,
                                       "role": row.role, "person": row.person})
    # Roles change while sockets stay open: show today's.
    cofacilitators = {f"p{pk}" for pk in Participant.objects.filter(
        session__workshop_id=workshop_id, is_cofacilitator=True).values_list("pk", flat=True)}
    for key, person in people.items():
        if key in cofacilitators:
            person["role"] = Role.COFACILITATOR
        elif person["role"] == Role.COFACILITATOR:
            person["role"] = Role.PARTICIPANT
        person["role_label"] = Role(person["role"]).label
    return list(people.values())


def presence_op(workshop_id: int) -> dict[str, Any]:
    html = render_to_string("live/presence.html", {"people": people_online(workshop_id)})
    return {"op": "replace", "id": "presence", "html": html}


def presence_frame(workshop_id: int) -> str:
    return json.dumps({"type": "presence", "ops": [presence_op(workshop_id)]},
                      separators=(",", ":"))


def sweep(workshop_id: int) -> int:
    """Delete the rows of sockets nobody refreshed; returns how many went."""
    stale = timezone.now() - PRESENCE_TTL
    return Presence.objects.filter(workshop_id=workshop_id, seen_at__lt=stale).delete()[0]


def arrive(member: Membership, channel_name: str) -> str | None:
    """Record an open socket; returns the room's new presence frame, or None when the
    person already has as many sockets open on this board as one may
    (MAX_SOCKETS_PER_PERSON: the rows are in the database, so every worker counts)."""
    sweep(member.workshop.pk)
    open_sockets = Presence.objects.filter(workshop=member.workshop, person=member.person)
    if open_sockets.count() >= settings.MAX_SOCKETS_PER_PERSON:
        return None
    participant = member.participant
    Presence.objects.update_or_create(channel_name=channel_name, defaults={
        "workshop": member.workshop, "person": member.person, "name": member.name,
        "function": participant.get_function_display() if participant else "",
        "role": member.role, "seen_at": timezone.now()})
    return presence_frame(member.workshop.pk)


def leave(workshop_id: int, channel_name: str) -> str:
    Presence.objects.filter(channel_name=channel_name).delete()
    return presence_frame(workshop_id)


def seen(workshop_id: int, channel_name: str) -> tuple[int, str | None]:
    """A heartbeat: refresh this socket's row and sweep dead ones. Returns the board's
    version (the page compares it with its own) and, when rows were swept, the room's
    new presence frame."""
    Presence.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())
    swept = sweep(workshop_id)
    version = Workshop.objects.values_list("version", flat=True).get(pk=workshop_id)
    return version, presence_frame(workshop_id) if swept else None
