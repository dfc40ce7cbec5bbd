"""What a change looks like on screen: the HTML fragments a broadcast or a resync
carries, rendered from the database's current state with the same partials the
page uses.

A frame is a list of operations the page applies (static/js/live.js):
  upsert  an item by id, appended to its list when the page does not have it yet;
  remove  an item by id;
  replace a region or a whole list by id.
The page never replaces an element a person is editing: drafts survive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.template.loader import render_to_string

from workshop.choices import Quadrant
from workshop.models import BoardEvent, Workshop
from workshop.sections import LISTS
from workshop.selectors import roadmap_lanes

from .models import Room
from .presence import presence_op
from .room import room_state
from .viewer import FACILITATORS, ROOM, Viewer
from .voting import vote_context

# A change to one list shows in these lists and regions too.
DEPENDENT_LISTS = {
    "goals": ("recipes",),
    "data_sources": ("goals", "recipes"),
    "recipes": ("risks",),
    "risks": ("recipes",),
}
DEPENDENT_REGIONS = {
    "data_sources": ("roadmap",),
    "recipes": ("roadmap", "prioritize", "vote", "ballot"),
    "risks": ("roadmap",),
}
REGIONS = ("north_star", "roadmap", "prioritize", "agenda", "room", "vote", "presence")
# Past this many missed events a reconnecting page gets the whole board instead.
MAX_REPLAY = 100
VERBS = {"item.added": "added", "item.updated": "edited", "item.deleted": "deleted",
         "item.moved": "moved"}


@dataclass(frozen=True)
class Target:
    kind: str  # "item", "list" or "region"
    name: str
    pk: int | None = None


def targets_for(event: BoardEvent) -> set[Target]:
    kind, section = event.kind, event.section
    targets: set[Target] = set()
    if kind in ("item.added", "item.updated", "item.deleted"):
        targets.add(Target("item", section, event.item_id))
        targets.update(Target("list", name) for name in DEPENDENT_LISTS.get(section, ()))
        targets.update(Target("region", name) for name in DEPENDENT_REGIONS.get(section, ()))
    elif kind == "item.moved":
        targets.add(Target("list", section))
    elif kind == "north_star.updated":
        targets.add(Target("region", "north_star"))
    elif kind in ("roadmap.placed", "gate.overridden"):
        targets |= {Target("region", "roadmap"), Target("item", "recipes", event.item_id)}
    elif kind == "agenda.updated":
        targets |= {Target("region", "agenda"), Target("region", "room")}
    elif kind.startswith("room."):
        targets |= {Target("region", "room"), Target("region", "agenda")}
        if kind == "room.anonymous":
            targets.update(Target("list", key) for key in LISTS)
        if kind == "room.cofacilitator":
            targets.add(Target("region", "presence"))
    elif kind.startswith("vote."):
        targets |= {Target("region", "vote"), Target("region", "roadmap")}
        if kind != "vote.cast":  # a cast changes only the caster's ballot: their response
            targets.add(Target("region", "ballot"))
    return targets


def _simplify(targets: set[Target]) -> list[Target]:
    """Drop items whose whole list is redrawn anyway; a stable order for tests and diffs."""
    lists = {t.name for t in targets if t.kind == "list"}
    kept = [t for t in targets if not (t.kind == "item" and t.name in lists)]
    order = {"region": 0, "list": 1, "item": 2}
    return sorted(kept, key=lambda t: (order[t.kind], t.name, t.pk or 0))


def _sensitive(target: Target, room: Room) -> bool:
    """Whether the room and the facilitators must see this target differently."""
    return target.kind in ("item", "list") and target.name in room.anonymous_sections


class Renderer:
    """Renders targets for one workshop, reusing what several targets share."""

    def __init__(self, workshop: Workshop, room: Room):
        self.workshop, self.room = workshop, room
        self._recipes = None

    def context(self, viewer: Viewer, **extra: Any) -> dict[str, Any]:
        return {"workshop": self.workshop, "viewer": viewer, "room": self.room, **extra}

    def recipes(self):
        if self._recipes is None:
            self._recipes = list(LISTS["recipes"].items(self.workshop.pk))
        return self._recipes

    def op(self, target: Target, viewer: Viewer) -> dict[str, Any]:
        if target.kind == "item":
            return self.item(target.name, target.pk, viewer)
        if target.kind == "list":
            return self.list(target.name, viewer)
        return getattr(self, f"region_{target.name}")(viewer)

    def item(self, key: str, pk: int, viewer: Viewer) -> dict[str, Any]:
        section = LISTS[key]
        item = section.items(self.workshop.pk).filter(pk=pk).first()
        dom_id = f"{key}-{pk}"
        if item is None:
            return {"op": "remove", "id": dom_id}
        html = render_to_string(section.item_template,
                                self.context(viewer, item=item, section=section))
        # Where it goes, so a page that missed it puts it in the same place as the others.
        previous = (section.model.objects.filter(workshop_id=self.workshop.pk)
                    .filter(Q(position__lt=item.position) | Q(position=item.position, pk__lt=pk))
                    .order_by("-position", "-pk").values_list("pk", flat=True).first())
        return {"op": "upsert", "id": dom_id, "list": f"list-{key}", "html": html,
                "after": f"{key}-{previous}" if previous else None}

    def list(self, key: str, viewer: Viewer) -> dict[str, Any]:
        section = LISTS[key]
        items = self.recipes() if key == "recipes" else section.items(self.workshop.pk)
        html = render_to_string("board/_list.html#items",
                                self.context(viewer, section=section, list={"items": items}))
        return {"op": "replace", "id": f"list-{key}", "html": html}

    def _region(self, dom_id: str, template: str, viewer: Viewer, **extra) -> dict[str, Any]:
        html = render_to_string(template, self.context(viewer, **extra))
        return {"op": "replace", "id": dom_id, "html": html}

    def region_north_star(self, viewer: Viewer) -> dict[str, Any]:
        north_star = self.workshop.north_star
        north_star.refresh_from_db()
        return self._region("north-star", "sections/north_star.html#item", viewer,
                            north_star=north_star)

    def region_roadmap(self, viewer: Viewer) -> dict[str, Any]:
        dots = vote_context(self.workshop)["dots_by_recipe"]
        return self._region("roadmap-board", "sections/roadmap.html", viewer,
                            roadmap=roadmap_lanes(self.recipes(), dots))

    def region_prioritize(self, viewer: Viewer) -> dict[str, Any]:
        recipes = self.recipes()
        quadrants = [(q, [r for r in recipes if r.quadrant == q]) for q in Quadrant]
        return self._region("prioritize-board", "sections/prioritize.html", viewer,
                            quadrants=quadrants)

    def region_agenda(self, viewer: Viewer) -> dict[str, Any]:
        phases = list(self.workshop.phases.all())
        op = self._region("agenda", "board.html#agenda", viewer, phases=phases)
        op["order"] = [[p.key, p.minutes, p.skipped] for p in phases]
        return op

    def region_room(self, viewer: Viewer) -> dict[str, Any]:
        self.room.refresh_from_db()
        op = self._region("room-bar", "live/room_bar.html", viewer,
                          phases=list(self.workshop.phases.all()))
        op["state"] = room_state(self.room)
        return op

    def region_vote(self, viewer: Viewer) -> dict[str, Any]:
        return self._region("vote-panel", "live/vote_panel.html", viewer,
                            **vote_context(self.workshop))

    def region_ballot(self, viewer: Viewer) -> dict[str, Any]:
        # Ballots are personal: each page fetches its own over HTTP.
        return {"op": "trigger", "trigger": "attune:ballot"}

    def region_presence(self, viewer: Viewer) -> dict[str, Any]:
        return presence_op(self.workshop.pk)


def announcement(events: Iterable[BoardEvent], viewer: Viewer) -> str:
    """A short polite sentence for screen readers, e.g. "Pat added a recipe"."""
    for event in events:
        verb = VERBS.get(event.kind)
        if verb and event.section in LISTS:
            anonymous = event.section in viewer.anonymous_sections
            who = "Someone" if anonymous or not event.actor else event.actor
            return f"{who} {verb} {LISTS[event.section].a_name}"
        if event.kind == "room.phase":
            return "The facilitator moved the room to another phase"
    return ""


def frames(workshop: Workshop, events: list[BoardEvent], *, version: int,
           full: bool = False) -> dict[str, dict[str, Any]]:
    """One frame per audience for these events (or for the whole board)."""
    room = Room.objects.select_related("current_phase").get_or_create(workshop=workshop)[0]
    renderer = Renderer(workshop, room)
    if full:
        targets = [Target("region", name) for name in (*REGIONS, "ballot")]
        targets += [Target("list", key) for key in LISTS]
    else:
        targets = _simplify(set().union(*(targets_for(e) for e in events)) if events else set())
    shared = [renderer.op(t, Viewer.for_audience(ROOM, room.anonymous_sections))
              for t in targets if not _sensitive(t, room)]
    result = {}
    for audience in (ROOM, FACILITATORS):
        viewer = Viewer.for_audience(audience, room.anonymous_sections)
        own = [renderer.op(t, viewer) for t in targets if _sensitive(t, room)]
        result[audience] = {"type": "sync" if full else "event", "version": version,
                            "ops": shared + own, "announce": announcement(events, viewer)}
    return result


def catch_up(workshop_id: int, since: int | None, audience: str) -> dict[str, Any]:
    """Bring a (re)connecting page up to date from the board version it last applied."""
    workshop = Workshop.objects.get(pk=workshop_id)
    version = workshop.version  # read first: later events then re-apply, never get lost
    if since is None or since > version or version - since > MAX_REPLAY:
        frame = frames(workshop, [], version=version, full=True)[audience]
    else:
        events = list(BoardEvent.objects.filter(workshop_id=workshop_id, version__gt=since,
                                                version__lte=version))
        frame = frames(workshop, events, version=version)[audience]
        frame["announce"] = ""
        # The room's state and who is here are cheap and always worth refreshing.
        renderer = Renderer(workshop, Room.objects.get(workshop_id=workshop_id))
        viewer = Viewer.for_audience(audience, renderer.room.anonymous_sections)
        present = {op["id"] for op in frame["ops"]}
        for name in ("room", "presence", "vote"):
            op = getattr(renderer, f"region_{name}")(viewer)
            if op["id"] not in present:
                frame["ops"].append(op)
    frame["type"] = "sync"
    return frame
