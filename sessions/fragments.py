"""What a change looks like on screen: the operations a broadcast or a catch-up carries,
rendered from the database's current state with the same partials the page uses.

A frame is a list of operations the page applies (static/js/live.js):
  upsert   an item by id, put after `after` in `list` when the page does not have it;
  remove   an item by id;
  order    the ids of a list, in order (items the page has and the list lacks go);
  replace  a region by id;
  trigger  an event on the page (each page fetches its own ballot);
  fetch    an operation too large for a frame, or one that failed to render: the page
           GETs it from `url` and applies what comes back.
No frame is larger than FRAME_LIMIT: a long list is sent item by item, and the
operations of one change or one catch-up are split into parts that carry the same
version ("part" i of "parts" n). The page never replaces an element a person is
editing: drafts survive. The whole protocol is in docs/architecture.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.db.models import OuterRef, Q, Subquery
from django.template.loader import render_to_string
from django.urls import reverse

from workshop.converters import parse_id
from workshop.event_kinds import PER_AUDIENCE_REGIONS, REGIONS, Kind, touches
from workshop.models import BoardEvent, NorthStar, Workshop
from workshop.sections import LISTS
from workshop.selectors import (
    fragment_context,
    quadrants,
    recently_deleted,
    roadmap_lanes,
    with_dots,
)

from .models import Room
from .presence import presence_frame, presence_op
from .selectors import knocking, room_for, room_state, vote_context
from .viewer import AUDIENCES, ROOM, Viewer

log = logging.getLogger(__name__)

# Daphne closes a socket that is sent a message over 1 MiB (its limit applies to what
# the server sends too); every frame stays far below it.
FRAME_LIMIT = 256 * 1024
# One operation may use most of a frame; a larger one is fetched over HTTP instead.
OP_LIMIT = FRAME_LIMIT - 4 * 1024
# Past this many missed events a reconnecting page gets the whole board instead.
MAX_REPLAY = 100
# What a catch-up always refreshes: cheap, and worth having fresh after any gap.
ALWAYS_FRESH = ("room", "presence", "vote")
# The cache (workshop/settings.py) that keeps catch-up answers for the pages that follow.
CATCH_UP_CACHE = "catch_up"
VERBS = {Kind.ITEM_ADDED: "added", Kind.ITEM_UPDATED: "edited",
         Kind.ITEM_DELETED: "deleted", Kind.ITEM_MOVED: "moved",
         Kind.ITEM_RESTORED: "restored"}


class Unset:
    """No value given (None is a value: the first in its list)."""


UNSET = Unset()


@dataclass(frozen=True)
class Target:
    """Something on the page to bring up to date.

    kind is "item" (name = list key, pk = item), "list" (every item of a list and
    its order), "order" (only the order of a list), "linked" (the items of list `name`
    linked to item `pk` of list `via`: where a change shows besides its own card) or
    "region" (by name)."""

    kind: str
    name: str
    pk: int = 0
    via: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}.{self.name}.{self.pk}" + (f".{self.via}" if self.via else "")

    @classmethod
    def parse(cls, key: str) -> Target | None:
        """The target named by `key` (from a fetch op's URL), or None if there is none."""
        parts = key.split(".")
        pk = parse_id(parts[2]) if len(parts) in (3, 4) else None
        if pk is None:
            return None
        target = cls(parts[0], parts[1], pk, *parts[3:])
        return target if target.exists() else None

    def exists(self) -> bool:
        if self.kind == "linked":
            return self.name in LISTS and self.via in LISTS and (
                self.name in LISTS[self.via].shown_in_lists)
        if self.via:
            return False
        if self.kind in ("item", "list", "order"):
            return self.name in LISTS
        return self.kind == "region" and self.name in REGIONS


# The regions that show recipes one by one (a private recipe is left out of them).
RECIPE_REGIONS = ("roadmap", "prioritize")

# Who is in the room: sent apart from a catch-up's kept frames (it changes without a
# new version).
PRESENCE = Target("region", "presence")


def _dependents(event: BoardEvent, section: str, item_id: int) -> set[Target]:
    """Where else a change to one item shows: the items of other lists linked to it
    (read when rendered), and the regions that list its section.

    Linked items are found from the board as it is when the frames are rendered. That
    misses the items whose link the event itself removed: an edit that replaced its
    own links (a risk's recipes) names them in the event (`unlinked`) and they are
    redrawn one by one; a deleted item's links are gone with it, so a delete redraws
    the whole dependent list. Links other items own change with those items' events."""
    shown = LISTS[section]
    found = {Target("region", name) for name in shown.shown_in_regions}
    for name in shown.shown_in_lists:
        if event.kind == Kind.ITEM_DELETED or not item_id:
            found.add(Target("list", name))
            continue
        found.add(Target("linked", name, item_id, section))
        if event.kind == Kind.ITEM_UPDATED and shown.owns_link_to(LISTS[name]):
            found |= {Target("item", name, pk) for pk in event.unlinked or ()}
    return found


def targets_for(event: BoardEvent) -> set[Target] | None:
    """What one event changes on a page, from the event table; None: the whole board."""
    touched = touches(event.kind)
    if touched is None:
        return None
    found = {Target("region", name) for name in touched.regions}
    section = touched.item_list or event.section
    if (touched.item or touched.order) and section in LISTS:
        if touched.item:
            found.add(Target("item", section, event.item_id or 0))
        else:
            found.add(Target("order", section))
        found |= _dependents(event, section, event.item_id or 0)
    if touched.all_lists:
        named = [key for key in (event.snapshot or {}).get("sections", LISTS) if key in LISTS]
        for key in named:
            found |= {Target("list", name) for name in (key, *LISTS[key].shown_in_lists)}
            found |= {Target("region", name) for name in LISTS[key].shown_in_regions}
    if touched.its_items and event.section in LISTS:
        named = (event.snapshot or {}).get("items", ())
        found |= {Target("item", event.section, pk) for pk in named}
        found.add(Target("order", event.section))
        found |= {Target("region", name) for name in LISTS[event.section].shown_in_regions}
    if touched.whole_list and event.section in LISTS:
        shown = LISTS[event.section]
        found |= {Target("list", name) for name in (event.section, *shown.shown_in_lists)}
        found |= {Target("region", name) for name in shown.shown_in_regions}
    return found


def whole_board() -> list[Target]:
    return [*(Target("region", name) for name in REGIONS),
            *(Target("list", key) for key in LISTS)]


def _in_order(targets: Iterable[Target]) -> list[Target]:
    """Drop what a wider target redraws anyway; regions first, in a stable order."""
    targets = set(targets)
    lists = {t.name for t in targets if t.kind == "list"}
    kept = [t for t in targets
            if not (t.kind in ("item", "order", "linked") and t.name in lists)]
    rank = {"region": 0, "list": 1, "order": 2, "linked": 3, "item": 4}
    return sorted(kept, key=lambda t: (rank[t.kind], t.name, t.pk, t.via))


def placed_items(key: str, workshop_id: int, pks: Iterable[int] | None) -> Any:
    """These items of a list (None: all), each with the pk of the item before it in the
    list (so that a page that missed one puts it in the same place as the others)."""
    section = LISTS[key]
    before = (section.model.objects.filter(workshop_id=OuterRef("workshop_id"))
              .filter(Q(position__lt=OuterRef("position"))
                      | Q(position=OuterRef("position"), pk__lt=OuterRef("pk")))
              .order_by("-position", "-pk").values("pk")[:1])
    items = section.items(workshop_id)
    if pks is not None:
        items = items.filter(pk__in=list(pks))
    return items.annotate(previous_pk=Subquery(before))


class Renderer:
    """Renders targets for one workshop, reusing the reads several targets share."""

    def __init__(self, workshop: Workshop, room: Room,
                 items: Mapping[tuple[str, int], Any] | None = None):
        self.workshop, self.room = workshop, room
        self._recipes: list | None = None
        self._votes: dict[str, Any] | None = None
        # Read already, by (list, pk); None: not on the board (deleted).
        self._items: dict[tuple[str, int], Any] = dict(items or {})
        self._linked: dict[Target, list] = {}
        self._public: dict[tuple[str, str, int, int | None], list[dict[str, Any]]] = {}
        self._order_rows: dict[str, list[tuple[int, bool, str]]] = {}

    def sensitive(self, target: Target) -> bool:
        """Whether the room and the facilitators see this target differently: the
        authors in anonymous lists, who waits in the lobby (facilitators only), and the
        lists written privately and where their items show (the room's rendering leaves
        out what is private; a person's own is rendered for them apart)."""
        private = self.room.private_sections
        if target.kind == "region":
            return target.name in PER_AUDIENCE_REGIONS or (
                "recipes" in private and target.name in RECIPE_REGIONS)
        if target.name in private:
            return True
        return (target.kind in ("item", "list", "linked")
                and target.name in self.room.anonymous_sections)

    def context(self, viewer: Viewer, **extra: Any) -> dict[str, Any]:
        return fragment_context(self.workshop, viewer, self.room, **extra)

    def recipes(self) -> list:
        if self._recipes is None:
            self._recipes = list(LISTS["recipes"].items(self.workshop.pk))
        return self._recipes

    def votes(self) -> dict[str, Any]:
        if self._votes is None:
            self._votes = vote_context(self.workshop)
        return self._votes

    def items_of(self, key: str) -> list:
        return self.recipes() if key == "recipes" else list(LISTS[key].items(self.workshop.pk))

    def fetch_op(self, target: Target) -> dict[str, Any]:
        url = reverse("live_fragment", args=[self.workshop.pk])
        return {"op": "fetch", "url": f"{url}?t={target.key}"}

    def target_ops(self, target: Target, viewer: Viewer) -> list[dict[str, Any]]:
        """The operations that bring `target` up to date for `viewer`, whatever their
        size (a fetch op's URL answers with these)."""
        if target.kind == "list":
            return self.whole_list(target.name, viewer)
        if target.kind == "order":
            return [self.order(target.name, viewer)]
        if target.kind == "item":
            return self.item(target.name, target.pk, viewer)
        if target.kind == "linked":
            return self.linked(target, viewer)
        op = getattr(self, f"region_{target.name}")(viewer)
        return [op] if op else []

    def ops(self, target: Target, viewer: Viewer) -> list[dict[str, Any]]:
        """`target_ops` for a frame. Never raises: a target that fails to render is
        logged and left for the page to fetch, and so is an operation too large."""
        try:
            ops = self.target_ops(target, viewer)
        except Exception:
            log.exception("Could not render %s of board %s; pages will fetch it",
                          target.key, self.workshop.pk)
            return [self.fetch_op(target)]
        return [op if _size(op) <= OP_LIMIT else self.fetch_op(target) for op in ops]

    def _item_html(self, key: str, item, viewer: Viewer) -> str:
        section = LISTS[key]
        return render_to_string(section.item_template,
                                self.context(viewer, item=item, section=section))

    def preload(self, targets: Iterable[Target]) -> None:
        """Read the items of these targets in one query per list, not one per item (a
        catch-up after an outage names dozens)."""
        wanted: dict[str, set[int]] = {}
        for target in targets:
            if target.kind == "item" and target.pk and (target.name, target.pk) not in self._items:
                wanted.setdefault(target.name, set()).add(target.pk)
        for key, pks in wanted.items():
            if len(pks) > 1:
                found = {item.pk: item for item in self._placed_items(key, pks)}
                self._items.update({(key, pk): found.get(pk) for pk in pks})

    def _placed_items(self, key: str, pks: Iterable[int] | None) -> Any:
        return placed_items(key, self.workshop.pk, pks)

    def item(self, key: str, pk: int, viewer: Viewer) -> list[dict[str, Any]]:
        if (key, pk) in self._items:
            item = self._items[(key, pk)]
        else:
            item = self._placed_items(key, [pk]).first()
            self._items[(key, pk)] = item
        if item is None:
            return [{"op": "remove", "id": dom_id} for dom_id in _places(key, pk)]
        return self._upsert(key, item, viewer)

    def _upsert(self, key: str, item: Any, viewer: Viewer,
                previous: int | None | Unset = UNSET) -> list[dict[str, Any]]:
        """The item's card in its list (after `previous`, the item before it that the
        viewer sees), and wherever else it is shown on its own; nothing for a viewer
        who may not see it (someone else's private writing)."""
        if not viewer.sees(item):
            return []
        if isinstance(previous, Unset):
            previous = self._previous(key, item, viewer)
        if item.private:
            return self._render_upsert(key, item, viewer, previous)
        # Alike for every page of the audience: rendered once, however many authors of
        # private writing the frames are rendered for.
        cached = (viewer.audience, key, item.pk, previous)
        if cached not in self._public:
            self._public[cached] = self._render_upsert(key, item, viewer, previous)
        return self._public[cached]

    def _previous(self, key: str, item: Any, viewer: Viewer) -> int | None:
        """The item before this one in its list, as this viewer's page has the list: in
        a list written privately, the nearest one the viewer sees."""
        previous = item.previous_pk
        if previous is None or viewer.is_facilitator or key not in self.room.private_sections:
            return previous
        rows = self.order_rows(key)
        index = next((i for i, row in enumerate(rows) if row[0] == item.pk), len(rows))
        return next((pk for pk, private, author in reversed(rows[:index])
                     if viewer.sees_row(private, author)), None)

    def _render_upsert(self, key: str, item: Any, viewer: Viewer,
                       previous: int | None) -> list[dict[str, Any]]:
        ops = [{"op": "upsert", "id": f"{key}-{item.pk}", "list": f"list-{key}",
                "html": self._item_html(key, item, viewer),
                "after": f"{key}-{previous}" if previous else None}]
        if key == "recipes":
            ops += self._recipe_places(item, viewer)
        return ops

    def _recipe_places(self, recipe: Any, viewer: Viewer) -> list[dict[str, Any]]:
        """A recipe's entry in the matrix's quadrant and its card in the roadmap's lane.
        Those lists follow the recipes list's order: the page puts an entry where the
        recipes list has its recipe, and moves it when its quadrant or lane changes."""
        with_dots([recipe], self.votes()["dots_by_recipe"])
        context = self.context(viewer, recipe=recipe)
        matrix, roadmap = _places("recipes", recipe.pk)[1:]
        return [
            {"op": "upsert", "id": matrix, "list": f"quadrant-{recipe.quadrant}",
             "html": render_to_string("sections/prioritize.html#entry", context)},
            {"op": "upsert", "id": roadmap, "list": f"lane-{recipe.phase or 'unplanned'}",
             "html": render_to_string("sections/roadmap.html#card", context)},
        ]

    def linked(self, target: Target, viewer: Viewer) -> list[dict[str, Any]]:
        """The items of one list linked to one item of another, one upsert each (read
        once, however many audiences they are rendered for)."""
        if target not in self._linked:
            link = LISTS[target.name].link_to(LISTS[target.via])
            self._linked[target] = list(self._placed_items(target.name, None)
                                        .filter(**{link: target.pk}).distinct())
        return [op for item in self._linked[target]
                for op in self._upsert(target.name, item, viewer)]

    def whole_list(self, key: str, viewer: Viewer) -> list[dict[str, Any]]:
        """Every item of a list, one operation each, then the list's order."""
        ops: list[dict[str, Any]] = []
        previous = None
        items = [item for item in self.items_of(key) if viewer.sees(item)]
        for item in items:
            ops += self._upsert(key, item, viewer, previous)
            previous = item.pk
        ops.append(self._order_op(key, [item.pk for item in items]))
        return ops

    def order(self, key: str, viewer: Viewer) -> dict[str, Any]:
        """The list's order as this viewer sees it: a page keeps the cards of its own
        private writing, which the room's order leaves out (static/js/live.js)."""
        return self._order_op(key, [pk for pk, private, author in self.order_rows(key)
                                    if viewer.sees_row(private, author)])

    def order_rows(self, key: str) -> list[tuple[int, bool, str]]:
        """The list's items in order, as (pk, private, author): read once per render."""
        if key not in self._order_rows:
            self._order_rows[key] = list(
                LISTS[key].model.objects.filter(workshop_id=self.workshop.pk)
                .order_by("position", "pk").values_list("pk", "private", "author"))
        return self._order_rows[key]

    def private_authors(self, targets: Iterable[Target]) -> set[str]:
        """Who wrote private items these targets show: their pages see what the room's
        frames leave out. An item's author; the authors of the private items linked to
        an item; every author of private writing in a list redrawn or reordered (or in
        a region that shows recipes)."""
        private = self.room.private_sections
        found: set[str] = set()
        for target in targets if private else ():
            key = target.name
            if target.kind == "region":
                if key not in RECIPE_REGIONS or "recipes" not in private:
                    continue
                key = "recipes"
            if key not in private:
                continue
            if target.kind == "linked":
                link = LISTS[key].link_to(LISTS[target.via])
                found |= set(LISTS[key].model.objects.filter(
                    workshop_id=self.workshop.pk, private=True, **{link: target.pk})
                    .values_list("author", flat=True))
            else:  # from the list's rows, read once per render (the order reads them too)
                found |= {author for pk, private_row, author in self.order_rows(key)
                          if private_row and (target.kind != "item" or pk == target.pk)}
        found.discard("")
        return found

    @staticmethod
    def _order_op(key: str, pks: list[int]) -> dict[str, Any]:
        return {"op": "order", "list": f"list-{key}", "prefix": f"{key}-", "pks": pks}

    def _region(self, dom_id: str, template: str, viewer: Viewer, **extra) -> dict[str, Any]:
        html = render_to_string(template, self.context(viewer, **extra))
        return {"op": "replace", "id": dom_id, "html": html}

    def region_north_star(self, viewer: Viewer) -> dict[str, Any]:
        north_star = NorthStar.objects.get(workshop_id=self.workshop.pk)
        return self._region("north-star", "sections/north_star.html#item", viewer,
                            north_star=north_star)

    def seen_recipes(self, viewer: Viewer) -> list:
        return [recipe for recipe in self.recipes() if viewer.sees(recipe)]

    def region_roadmap(self, viewer: Viewer) -> dict[str, Any]:
        return self._region("roadmap-board", "sections/roadmap.html", viewer,
                            roadmap=roadmap_lanes(self.seen_recipes(viewer),
                                                  self.votes()["dots_by_recipe"]))

    def region_prioritize(self, viewer: Viewer) -> dict[str, Any]:
        return self._region("prioritize-board", "sections/prioritize.html", viewer,
                            quadrants=quadrants(self.seen_recipes(viewer)))

    def region_agenda(self, viewer: Viewer) -> dict[str, Any]:
        phases = list(self.workshop.phases.all())
        op = self._region("agenda", "board.html#agenda", viewer, phases=phases)
        op["order"] = [[p.key, p.minutes, p.skipped] for p in phases]
        return op

    def region_room(self, viewer: Viewer) -> dict[str, Any]:
        op = self._region("room-bar", "live/room_bar.html", viewer,
                          phases=list(self.workshop.phases.all()))
        op["state"] = room_state(self.room)
        return op

    def region_vote(self, viewer: Viewer) -> dict[str, Any]:
        return self._region("vote-panel", "live/vote_panel.html", viewer, **self.votes())

    def region_ballot(self, viewer: Viewer) -> dict[str, Any] | None:
        # Ballots are personal: each page fetches its own over HTTP, and only while
        # there is a vote to show (opening and closing one always count).
        if self.votes()["vote"] is None:
            return None
        return {"op": "trigger", "trigger": "attune:ballot"}

    def region_presence(self, viewer: Viewer) -> dict[str, Any]:
        return presence_op(self.workshop.pk)

    def region_trash(self, viewer: Viewer) -> dict[str, Any]:
        return self._region("trash", "live/trash.html", viewer,
                            deleted=recently_deleted(self.workshop.pk, viewer.is_facilitator))

    def region_title(self, viewer: Viewer) -> dict[str, Any]:
        return self._region("workshop-name", "board.html#title", viewer)

    def region_lobby(self, viewer: Viewer) -> dict[str, Any]:
        return self._region("lobby", "live/lobby.html", viewer,
                            knocking=knocking(self.workshop.pk, viewer.is_facilitator))


def _places(key: str, pk: int) -> list[str]:
    """The ids of every element that shows one item on its own."""
    if key == "recipes":
        return [f"recipes-{pk}", f"matrix-{pk}", f"roadmap-{pk}"]
    return [f"{key}-{pk}"]


def _once(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The operations without repeats: an item two targets name is sent once."""
    seen: set[str] = set()
    kept = []
    for op in ops:
        if op["op"] == "upsert":
            if op["id"] in seen:
                continue
            seen.add(op["id"])
        kept.append(op)
    return kept


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def pack(ops: list[dict[str, Any]], header: dict[str, Any],
         limit: int = FRAME_LIMIT) -> list[dict[str, Any]]:
    """Split operations into frames of at most `limit` bytes, in order. Every frame
    carries the header; `announce` goes with the last one."""
    announce = header.pop("announce", "")
    room = limit - _size({**header, "part": 99999, "parts": 99999, "ops": [],
                          "announce": announce})
    chunks: list[list[dict[str, Any]]] = [[]]
    used = 0
    for op in ops:
        size = _size(op) + 1
        if chunks[-1] and used + size > room:
            chunks.append([])
            used = 0
        chunks[-1].append(op)
        used += size
    frames = [{**header, "part": index, "parts": len(chunks), "ops": chunk, "announce": ""}
              for index, chunk in enumerate(chunks, start=1)]
    frames[-1]["announce"] = announce
    return frames


def announcement(events: Iterable[BoardEvent], viewer: Viewer, private: Iterable[str] = (),
                 items: Mapping[tuple[str, int], Any] | None = None) -> str:
    """A short polite sentence for screen readers, e.g. "Pat added a recipe". In a list
    written `private`ly the room hears only of items it sees (its person's own): the
    others' cards never reach it, and neither does who is writing them."""
    for event in events:
        verb = VERBS.get(event.kind)  # type: ignore[call-overload]
        if verb and event.section in LISTS:
            if event.section in private and not viewer.is_facilitator:
                item = (items or {}).get((event.section, event.item_id or 0))
                if item is None or not viewer.sees(item):
                    return ""
            anonymous = event.section in viewer.anonymous_sections
            who = "Someone" if anonymous or not event.actor else event.actor
            return f"{who} {verb} {LISTS[event.section].a_name}"
        if event.kind == Kind.ROOM_PHASE:
            return "The facilitator moved the room to another phase"
    return ""


@dataclass
class Deliveries:
    """One event's frames: for each audience, and for the people who see more than
    their audience (the authors of private writing: their sockets in the room get
    these instead of the room's)."""

    audiences: dict[str, list[str]]
    persons: dict[str, list[str]]


def render(workshop: Workshop, targets: Iterable[Target], *, version: int, kind: str,
           audiences: Iterable[str] = AUDIENCES, events: Iterable[BoardEvent] = (),
           person: str = "", authors: bool = False,
           items: Mapping[tuple[str, int], Any] | None = None) -> Deliveries:
    """The encoded frames of these targets for each audience (the room's as `person`
    sees it: a catch-up is for one page), and, with `authors`, for each person of the
    room whose private writing they show and whose frames therefore differ. What
    viewers see alike is rendered once; only what differs is rendered per viewer.
    `items`: items already read, by (list, pk)."""
    renderer = Renderer(workshop, room_for(workshop), items)
    room = renderer.room
    targets = _in_order(targets)
    renderer.preload(targets)
    shared = {t: renderer.ops(t, Viewer.for_audience(ROOM, room.anonymous_sections))
              for t in targets if not renderer.sensitive(t)}
    events = list(events)

    def frames(viewer: Viewer) -> list[str]:
        ops = _once([op for t in targets
                     for op in (shared[t] if t in shared else renderer.ops(t, viewer))])
        header = {"type": kind, "version": version, "audience": viewer.audience,
                  "announce": announcement(events, viewer, room.private_sections, items)}
        return [encode(frame) for frame in pack(ops, header)]

    anonymous = room.anonymous_sections
    result = Deliveries(
        {audience: frames(Viewer.for_audience(audience, anonymous,
                                              person if audience == ROOM else ""))
         for audience in audiences}, {})
    for someone in renderer.private_authors(targets) if authors else ():
        own = frames(Viewer.for_audience(ROOM, anonymous, someone))
        if own != result.audiences.get(ROOM):
            result.persons[someone] = own
    return result


def _with_room(workshop_id: int) -> Workshop:
    """The workshop with its room and the room's phase, in one query."""
    return Workshop.objects.select_related("room", "room__current_phase").get(pk=workshop_id)


def event_deliveries(event: BoardEvent) -> Deliveries:
    """The frames one committed event sends to each audience, and to the author of the
    private item it changed (who sees it; the rest of the room does not)."""
    targets = targets_for(event)
    chosen = whole_board() if targets is None else targets
    target = _changed_item(event, chosen)
    item = None
    if target is not None:
        item = (placed_items(target.name, event.workshop_id, [target.pk])
                .select_related("workshop__room__current_phase").first())
    workshop = _with_room(event.workshop_id) if item is None else item.workshop
    items = {} if target is None else {(target.name, target.pk): item}  # None: deleted
    return render(workshop, chosen, version=event.version, kind="event", events=[event],
                  authors=True, items=items)


def _changed_item(event: BoardEvent, targets: Iterable[Target]) -> Target | None:
    """The one item the event changed, when it changed one: read with its workshop and
    room, one query where most events' broadcasts would make two, on the path of every
    edit to every screen. None when it names no item, or several (those are read
    together, in `Renderer.preload`)."""
    touched = touches(event.kind)
    items = [t for t in targets if t.kind == "item"]
    if (touched is None or not touched.item or len(items) != 1 or not event.item_id
            or items[0].pk != event.item_id):
        return None
    return items[0]


def event_frames(event: BoardEvent) -> dict[str, list[str]]:
    """The frames one committed event sends to each audience."""
    return event_deliveries(event).audiences


def catch_up(workshop_id: int, since: int | None, audience: str,
             person: str = "") -> list[str]:
    """Bring a (re)connecting page up to date from the board version it last applied:
    what the missed events touched, or the whole board after a long absence; then who
    is in the room. `person`: whose page it is (their private writing is theirs to see).

    After an outage every page of a board reconnects at once, from about the same
    version: the frames are rendered once and kept (CATCH_UP_CACHE) under the board's
    version and its time, which every change moves, so a kept answer is never stale.
    Presence changes without a version, so it is never kept."""
    workshop = _with_room(workshop_id)
    version = workshop.version  # read first: later events then re-apply, never get lost
    targets = _missed(workshop_id, since, version)
    # While lists are written privately a page of the room sees its person's own.
    person = person if audience == ROOM and room_for(workshop).private_sections else ""
    key = ":".join(str(part) for part in (
        "catch-up", workshop_id, version, workshop.updated_at.timestamp(), audience,
        "all" if targets is None else since, person))
    cache = caches[CATCH_UP_CACHE]
    frames = cache.get(key)
    if frames is None:
        chosen = [t for t in (whole_board() if targets is None else targets)
                  if t != PRESENCE]
        frames = render(workshop, chosen, version=version, kind="sync",
                        audiences=[audience], person=person).audiences[audience]
        cache.set(key, frames)
    return [*frames, presence_frame(workshop_id)]


def _missed(workshop_id: int, since: int | None, version: int) -> set[Target] | None:
    """What the events after `since` touched (and what is always refreshed); None when
    the page must get the whole board: no version, too far behind, or a gap in the log."""
    if since is None or since > version or version - since > MAX_REPLAY:
        return None
    events = list(BoardEvent.objects.filter(workshop_id=workshop_id, version__gt=since,
                                            version__lte=version))
    if len(events) != version - since:
        return None
    targets = {Target("region", name) for name in ALWAYS_FRESH}
    for event in events:
        touched = targets_for(event)
        if touched is None:
            return None
        targets |= touched
    return targets


def fetched_op(workshop: Workshop, target: Target, viewer: Viewer) -> list[dict[str, Any]]:
    """What a fetch op's URL answers: the target's operations, whatever their size."""
    return Renderer(workshop, room_for(workshop)).target_ops(target, viewer)
