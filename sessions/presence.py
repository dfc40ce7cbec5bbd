"""Who is in the room: one row per open socket, kept in the database so every
worker sees the same room; a heartbeat lets a dead worker's rows expire."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from .access import Membership
from .models import Participant, Presence

PRESENCE_TTL = timedelta(seconds=90)


def people_online(workshop_id: int) -> list[dict[str, str]]:
    """Everyone with an open socket, once per person however many tabs they have."""
    fresh = timezone.now() - PRESENCE_TTL
    rows = Presence.objects.filter(workshop_id=workshop_id, seen_at__gte=fresh)
    people: dict[str, dict[str, str]] = {}
    for row in rows.order_by("name", "pk"):
        people.setdefault(row.person, {"name": row.name, "function": row.function,
                                       "role": row.role, "person": row.person})
    cofacilitators = {f"p{pk}" for pk in Participant.objects.filter(
        session__workshop_id=workshop_id, is_cofacilitator=True).values_list("pk", flat=True)}
    for key, person in people.items():
        if key in cofacilitators:
            person["role"] = "co-facilitator"
    return list(people.values())


def presence_op(workshop_id: int) -> dict[str, Any]:
    html = render_to_string("live/presence.html", {"people": people_online(workshop_id)})
    return {"op": "replace", "id": "presence", "html": html}


def presence_frame(workshop_id: int) -> str:
    return json.dumps({"type": "presence", "ops": [presence_op(workshop_id)]},
                      separators=(",", ":"))


def arrive(member: Membership, channel_name: str) -> str:
    """Record an open socket; returns the room's new presence frame."""
    # Rows a dead worker could not remove expire here, once nobody refreshed them.
    Presence.objects.filter(workshop=member.workshop,
                            seen_at__lt=timezone.now() - PRESENCE_TTL).delete()
    participant = member.participant
    Presence.objects.update_or_create(channel_name=channel_name, defaults={
        "workshop": member.workshop, "person": member.person, "name": member.name,
        "function": participant.get_function_display() if participant else "",
        "role": member.get_role_display(), "seen_at": timezone.now()})
    return presence_frame(member.workshop.pk)


def leave(workshop_id: int, channel_name: str) -> str:
    Presence.objects.filter(channel_name=channel_name).delete()
    return presence_frame(workshop_id)


def seen(channel_name: str) -> None:
    Presence.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())
