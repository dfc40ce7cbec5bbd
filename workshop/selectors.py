"""What the board page reads, in a fixed number of queries however big it grows."""

from __future__ import annotations

import dataclasses
import json
from functools import partial
from typing import Any

from django.core import serializers
from django.db.models import CharField, Exists, OuterRef, Value
from django.utils.functional import SimpleLazyObject

from sessions.access import Membership
from sessions.models import Room
from sessions.presence import people_online
from sessions.selectors import knocking, room_for, room_state, vote_context
from sessions.viewer import Viewer

from .choices import Quadrant, RoadmapPhase
from .event_kinds import CARDLESS_KINDS, Kind
from .methods import get_method
from .models import BoardEvent, Recipe, Workshop
from .sections import LISTS, PRIVATE_LISTS, Section

# A phase shows the lists named here; by default, the one list named by its section.
PHASE_LISTS = {"decisions": ("decisions", "action_items", "parking_lot")}


RECENTLY_DELETED = 10  # how many deletions the facilitators' list offers to restore


def recently_deleted(workshop_id: int, for_facilitators: bool) -> list[dict[str, Any]]:
    """The latest deletions not restored since, newest first, for the facilitators'
    "Recently deleted" (the room's rendering of it is empty)."""
    if not for_facilitators:
        return []
    restored = BoardEvent.objects.filter(
        workshop_id=OuterRef("workshop_id"), kind=Kind.ITEM_RESTORED,
        section=OuterRef("section"), item_id=OuterRef("item_id"),
        version__gt=OuterRef("version"))
    events = (BoardEvent.objects.filter(workshop_id=workshop_id, kind=Kind.ITEM_DELETED)
              .exclude(snapshot={}).filter(~Exists(restored))
              .order_by("-version")[:RECENTLY_DELETED])
    rows = []
    for event in events:
        if event.section not in LISTS:
            continue
        [found] = serializers.deserialize("json", json.dumps(event.snapshot["object"]))
        rows.append({"event": event, "what": str(found.object),
                     "section": LISTS[event.section]})
    return rows


def with_dots(recipes: list[Recipe], dots: dict[int, int] | None) -> list[Recipe]:
    """Each recipe with its dots from the last closed vote, as its roadmap card shows."""
    for recipe in recipes:
        recipe.dot_count = (dots or {}).get(recipe.pk, 0)
    return recipes


def roadmap_lanes(recipes: list[Recipe],
                  dots: dict[int, int] | None = None) -> list[tuple[RoadmapPhase, list[Recipe]]]:
    """Recipes by roadmap phase, each with its dots from the last closed vote."""
    with_dots(recipes, dots)
    lanes = [RoadmapPhase.NOW, RoadmapPhase.NEXT, RoadmapPhase.LATER, RoadmapPhase.UNPLANNED]
    return [(phase, [r for r in recipes if r.phase == phase]) for phase in lanes]


def quadrants(recipes: list[Recipe]) -> list[tuple[Quadrant, list[Recipe]]]:
    """Recipes by impact/effort quadrant, for the matrix on the page and in broadcasts."""
    return [(quadrant, [r for r in recipes if r.quadrant == quadrant]) for quadrant in Quadrant]


def fragment_context(workshop: Workshop, viewer: Viewer, room: Room,
                     member: Membership | None = None, **extra: Any) -> dict[str, Any]:
    """What every partial of the board is rendered with: by the page, by htmx answers
    (for one member) and by broadcasts (for an audience, with no member)."""
    return {"workshop": workshop, "member": member, "viewer": viewer, "room": room, **extra}


def member_context(member: Membership, **extra: Any) -> dict[str, Any]:
    """The fragment context for one member's own HTTP answer."""
    viewer, room = viewer_for(member)
    return fragment_context(member.workshop, viewer, room, member, **extra)


def viewer_for(member: Membership) -> tuple[Viewer, Room]:
    room = room_for(member.workshop)
    return Viewer.for_member(member, room), room


# What the page needs of a card it may take kept instead of drawing: (pk, author, private).
CardRow = tuple[int, str, bool]


def card_rows(workshop_id: int, viewer: Viewer) -> dict[str, list[CardRow]]:
    """The cards of every list this viewer sees, as rows, in one query: enough to say
    which are the person's own and what the kept cards are kept under, without reading
    (or linking) every item when the kept cards are taken."""
    parts = [section.model.objects.filter(workshop_id=workshop_id)
             .annotate(list_key=Value(key, output_field=CharField()))
             .values_list("pk", "author", "private", "list_key").order_by()
             for key, section in LISTS.items()]
    rows: dict[str, list[CardRow]] = {key: [] for key in LISTS}
    for pk, author, private, key in parts[0].union(*parts[1:], all=True):
        if viewer.sees_row(private, author):
            rows[key].append((pk, author, private))
    return rows


def my_items(member: Membership, rows: dict[str, list[CardRow]]) -> list[str]:
    """The ids of the cards this member wrote: their page shows those cards' actions
    (a personal list, in the page, never in a broadcast: it would tell who wrote what
    in anonymous lists)."""
    return [f"{key}-{pk}" for key, listed in rows.items() for pk, author, _ in listed
            if author and author == member.person]


def cards_version(workshop_id: int) -> int:
    """The board version of the last change to any card or list order: the version the
    page's kept cards are kept under (templates/board/_list.html). Every change that
    shows on a card is an event, and the event table says which kinds change none
    (`CARDLESS_KINDS`: joins, timers, votes, ...), so a room joining one after another
    shares the cards drawn for the first of them."""
    last = (BoardEvent.objects.filter(workshop_id=workshop_id)
            .exclude(kind__in=CARDLESS_KINDS).order_by("-version")
            .values_list("version", flat=True).first())
    return last or 0


def cards_viewer(viewer: Viewer, rows: list[CardRow]) -> Viewer:
    """Whom a list's cards are drawn for: the viewer, but in the room without their
    person unless the list holds their own private writing (their only cards no one
    else in the room sees). Drawn for exactly what the key says, cards kept for the
    room never hold a private card that came in after the rows were read."""
    if viewer.is_facilitator or not any(private for _, _, private in rows):
        return dataclasses.replace(viewer, person="")
    return viewer


def cards_variant(viewer: Viewer, key: str) -> str:
    """Who else sees exactly the cards of a list drawn for `viewer` (`cards_viewer`), as
    part of the key the page keeps them under (templates/board/_list.html, with
    `cards_version`): a rendering depends on the viewer only through its audience,
    whether it may edit, whether the list is anonymous to it, and whose private writing
    it shows."""
    return (f"{viewer.audience}:{int(viewer.can_edit)}:"
            f"{int(key in viewer.anonymous_sections)}:{viewer.person}")


def seen(section: Section, workshop_id: int, viewer: Viewer) -> list:
    """The items of one list this viewer sees, with what their cards show of links."""
    return [item for item in section.items(workshop_id) if viewer.sees(item)]


def board_context(member: Membership) -> dict[str, Any]:
    workshop = member.workshop
    viewer, room = viewer_for(member)
    votes = vote_context(workshop)
    # First: whatever is read after it is at least as new as the version it keys.
    version = cards_version(workshop.pk)
    rows = card_rows(workshop.pk, viewer)
    drawn_for = {key: cards_viewer(viewer, rows[key]) for key in LISTS}
    # The other lists' items are read only if their cards are drawn, not taken kept; the
    # recipes always, for the roadmap and the matrix.
    items: dict[str, Any] = {
        key: SimpleLazyObject(partial(seen, section, workshop.pk, drawn_for[key]))
        for key, section in LISTS.items()}
    recipes = seen(LISTS["recipes"], workshop.pk, viewer)
    items["recipes"] = [recipe for recipe in recipes if drawn_for["recipes"].sees(recipe)]
    phases = list(workshop.phases.all())
    blocks = []
    for phase in phases:
        keys = PHASE_LISTS.get(phase.section, (phase.section,))
        lists = [
            {
                "section": LISTS[key],
                "items": items[key],
                "variant": cards_variant(drawn_for[key], key),
                "add_form": LISTS[key].form(workshop=workshop, prefix=f"add-{key}")
                if member.can_edit else None,
            }
            for key in keys if key in LISTS
        ]
        specials = (phase.section,) if phase.section in ("north_star", "roadmap") else ()
        lock_keys = [*specials, *(LISTS[key].key for key in keys if key in LISTS)]
        private_keys = [key for key in keys if key in PRIVATE_LISTS]
        blocks.append({"phase": phase, "lists": lists, "lock_keys": lock_keys,
                       "private_keys": private_keys})
    return fragment_context(
        workshop, viewer, room, member,
        room_state=room_state(room),
        people=people_online(workshop.pk),
        knocking=knocking(workshop.pk, viewer.is_facilitator),
        deleted=recently_deleted(workshop.pk, viewer.is_facilitator),
        my_items=my_items(member, rows),
        **votes,
        method=get_method(workshop.method),
        phases=phases,
        blocks=blocks,
        cards_version=version,
        north_star=workshop.north_star,
        quadrants=quadrants(recipes),
        roadmap=roadmap_lanes(recipes, votes["dots_by_recipe"]),
    )
