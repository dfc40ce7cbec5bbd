"""A page, as far as the live board changes it, in Python: what static/js/live.js keeps
(the board version, every list's items in order, every region) and how it applies
frames (parts, early frames, gaps, resync). Tests and benchmarks use it to check that
"state at load + frames = state after a reload" for any sequence of changes.

`PageModel.from_html` reads a board page as a browser would get it; `apply` takes the
frames a socket received. Two models compare equal when every list shows the same
items, in the same order, with the same HTML, and the compared regions match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.conf import settings
from django.test import override_settings

from sessions.viewer import FACILITATORS, ROOM
from workshop.choices import Quadrant
from workshop.sections import LISTS


@contextmanager
def cards_drawn_afresh() -> Iterator[None]:
    """Pages loaded inside draw every card: none taken kept (templates/board/_list.html)."""
    dummy = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    with override_settings(CACHES=settings.CACHES | {"board_cards": dummy}):
        yield

# Regions whose content does not depend on the moment (the room bar's timer does, and
# presence depends on who is connected, so they are compared by the tests that need it).
# The roadmap's and the matrix's are compared by their lists (FOLLOWERS): the rest of
# them is headings.
COMPARED_REGIONS = ("north-star", "vote-panel", "agenda", "lobby", "workshop-name")
# Lists that show another list's items in its order (data-follows in the templates).
FOLLOWERS = {**{f"lane-{lane}": "list-recipes" for lane in ("now", "next", "later",
                                                            "unplanned")},
             **{f"quadrant-{quadrant.value}": "list-recipes" for quadrant in Quadrant}}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


def normal(html: str) -> str:
    """HTML with insignificant whitespace between tags removed, for comparisons."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


class _Finder(HTMLParser):
    """Finds the outer HTML of elements by id, and the direct children of some."""

    def __init__(self, source: str, wanted: set[str]):
        super().__init__(convert_charrefs=False)
        self.source, self.wanted = source, wanted
        self.lines = [0]
        for line in source.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))
        self.stack: list[tuple[str, str | None, int]] = []  # tag, id, start offset
        self.found: dict[str, str] = {}
        self.children: dict[str, list[str]] = {}  # list id -> ids of its direct children

    def position(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag, attrs):
        dom_id = dict(attrs).get("id")
        if self.stack and self.stack[-1][1] in self.wanted and dom_id:
            self.children.setdefault(self.stack[-1][1], []).append(dom_id)
        if tag in VOID:
            return
        self.stack.append((tag, dom_id, self.position()))

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, dom_id, start = self.stack.pop()
            if open_tag == tag:
                if dom_id is not None:
                    end = self.source.index(">", self.position()) + 1
                    self.found[dom_id] = self.source[start:end]
                return


def elements(html: str, wanted: set[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    finder = _Finder(html, wanted)
    finder.feed(html)
    finder.close()
    return finder.found, finder.children


def list_ids() -> list[str]:
    return [*(f"list-{key}" for key in LISTS), *FOLLOWERS]


def _pk(dom_id: str) -> str:
    return dom_id.rsplit("-", 1)[-1]


@dataclass
class PageModel:
    version: int = 0
    lists: dict[str, list[str]] = field(default_factory=dict)  # list id -> item ids
    items: dict[str, str] = field(default_factory=dict)  # item id -> html
    regions: dict[str, str] = field(default_factory=dict)  # region id -> html
    # The room bar's state (static/js/live.js applyRoom), less its timer, which depends
    # on the moment: who takes part, who is ready, what is locked, anonymous, private.
    room: dict[str, Any] = field(default_factory=dict)
    fetches: list[str] = field(default_factory=list)  # URLs the page had to GET
    audience: str = ""
    # Frames waiting for an earlier version (or for their other parts).
    early: dict[int, dict[int, dict]] = field(default_factory=dict)
    syncing: bool = False
    resyncs: int = 0

    @classmethod
    def from_html(cls, html: str) -> PageModel:
        version = int(re.search(r'id="live"[^>]*data-version="(\d+)"', html)[1])
        wanted = set(list_ids())
        found, children = elements(html, wanted | set(COMPARED_REGIONS))
        body = re.search(r'<body[^>]*class="([^"]*)"', html)
        facilitator = body is not None and "is-facilitator" in body[1].split()
        model = cls(version=version, audience=FACILITATORS if facilitator else ROOM)
        model._take_lists(found, children)
        model.regions = {name: found[name] for name in COMPARED_REGIONS if name in found}
        state = re.search(r'<script id="room-state" type="application/json">(.*?)</script>',
                          html, re.S)
        if state:
            model._take_room(json.loads(state[1]))
        return model

    def _take_room(self, state: dict[str, Any]) -> None:
        self.room = {key: value for key, value in state.items() if key != "timer"}

    def _take_lists(self, found: dict[str, str], children: dict[str, list[str]]) -> None:
        for list_id in list_ids():
            if list_id not in found:
                continue
            ids = children.get(list_id, [])
            for gone in set(self.lists.get(list_id, [])) - set(ids):
                self.items.pop(gone, None)
            self.lists[list_id] = ids
            full, _ = elements(found[list_id], set())
            self.items.update({dom_id: full[dom_id] for dom_id in ids})

    # Comparing ------------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        return {
            "lists": {list_id: [(dom_id, normal(self.items[dom_id])) for dom_id in ids]
                      for list_id, ids in self.lists.items()},
            "regions": {name: normal(html) for name, html in self.regions.items()
                        if name in COMPARED_REGIONS},
            "room": self.room,
        }

    def differences(self, other: PageModel) -> list[str]:
        mine, theirs = self.view(), other.view()
        found = []
        for list_id in sorted(set(mine["lists"]) | set(theirs["lists"])):
            a, b = mine["lists"].get(list_id, []), theirs["lists"].get(list_id, [])
            if a != b:
                found.append(f"{list_id}: {[i for i, _ in a]} != {[i for i, _ in b]}"
                             if [i for i, _ in a] != [i for i, _ in b]
                             else f"{list_id}: same ids, different HTML")
        for name in COMPARED_REGIONS:
            if mine["regions"].get(name) != theirs["regions"].get(name):
                found.append(f"region {name} differs")
        for key in sorted(set(mine["room"]) | set(theirs["room"])):
            if mine["room"].get(key) != theirs["room"].get(key):
                found.append(f"room state {key}: {mine['room'].get(key)!r} != "
                             f"{theirs['room'].get(key)!r}")
        return found

    # Applying frames, as static/js/live.js does ---------------------------------------

    def receive(self, text: str) -> str | None:
        """Take one frame; returns "resync" when the page would ask for one."""
        frame = json.loads(text)
        kind = frame["type"]
        if kind == "event":
            return self._event(frame)
        if kind == "sync":
            self.syncing = frame.get("part", 1) < frame.get("parts", 1)
            self.apply(frame["ops"])
            if not self.syncing:
                self.audience = frame.get("audience", self.audience)
                self.version = max(self.version, frame["version"])
                self._drain()
        elif kind == "presence":
            self.apply(frame["ops"])
        return None

    def _event(self, frame: dict) -> str | None:
        if frame["version"] <= self.version:
            return None
        self.early.setdefault(frame["version"], {})[frame.get("part", 1)] = frame
        self._drain()
        return "resync" if self.early and not self.syncing else None

    def _complete(self, version: int) -> bool:
        parts = self.early.get(version)
        return bool(parts) and len(parts) == next(iter(parts.values())).get("parts", 1)

    def _drain(self) -> None:
        for seen in [v for v in self.early if v <= self.version]:
            del self.early[seen]
        while not self.syncing and self._complete(self.version + 1):
            for _, frame in sorted(self.early.pop(self.version + 1).items()):
                self.apply(frame["ops"])
            self.version += 1

    def give_up_waiting(self) -> None:
        """What the page does 300 ms after a gap: apply what it has, then resync."""
        for version in sorted(self.early):
            for _, frame in sorted(self.early[version].items()):
                self.apply(frame["ops"])
        self.early.clear()
        self.resyncs += 1

    def apply(self, ops: list[dict]) -> None:
        for op in ops:
            getattr(self, "_" + op["op"])(op)

    def _list_of(self, dom_id: str) -> str | None:
        return next((name for name, ids in self.lists.items() if dom_id in ids), None)

    def _upsert(self, op: dict) -> None:
        dom_id = op["id"]
        self.items[dom_id] = op["html"].strip()
        now = self._list_of(dom_id)
        if now is not None and (now == op["list"] or op["list"] not in FOLLOWERS):
            return
        if now is not None:  # its quadrant or lane changed
            self.lists[now].remove(dom_id)
        ids = self.lists.setdefault(op["list"], [])
        after = op.get("after")
        if op["list"] in FOLLOWERS:
            self._place_following(op["list"], dom_id)
        elif after in ids:
            ids.insert(ids.index(after) + 1, dom_id)
        elif after is None:
            ids.insert(0, dom_id)
        else:
            ids.append(dom_id)

    def _remove(self, op: dict) -> None:
        name = self._list_of(op["id"])
        if name is not None:
            self.lists[name].remove(op["id"])
        self.items.pop(op["id"], None)

    def _order(self, op: dict) -> None:
        wanted = [op["prefix"] + str(pk) for pk in op["pks"]]
        have = self.lists.get(op["list"], [])
        for gone in set(have) - set(wanted):
            self.items.pop(gone, None)
        self.lists[op["list"]] = [dom_id for dom_id in wanted if dom_id in have]
        for follower, master in FOLLOWERS.items():
            if master == op["list"]:
                rank = self._rank(follower)
                self.lists[follower] = sorted(self.lists.get(follower, []), key=rank)

    def _rank(self, follower: str):
        order = {_pk(dom_id): index
                 for index, dom_id in enumerate(self.lists.get(FOLLOWERS[follower], []))}
        return lambda dom_id: order.get(_pk(dom_id), len(order))

    def _place_following(self, list_id: str, dom_id: str) -> None:
        ids, rank = self.lists[list_id], self._rank(list_id)
        later = [index for index, other in enumerate(ids) if rank(other) > rank(dom_id)]
        ids.insert(later[0] if later else len(ids), dom_id)

    def _replace(self, op: dict) -> None:
        html = op["html"].strip()
        self.regions[op["id"]] = html
        if "state" in op:
            self._take_room(op["state"])
        # A region that holds lists (the roadmap's lanes, the matrix's quadrants)
        # brings them whole.
        self._take_lists(*elements(html, set(list_ids())))

    def _trigger(self, op: dict) -> None:
        pass  # the ballot is personal: fetched over HTTP, not part of the shared board

    def _fetch(self, op: dict) -> None:
        self.fetches.append(op["url"])

    def fetched(self, body: dict) -> None:
        """Apply what a fetch op's URL answered."""
        self.apply(body["ops"])
