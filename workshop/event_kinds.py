"""The one table of event kinds: every kind of change to a board, and what on a page
it changes. Broadcasts, catch-up and the tests read this table; a kind without an
entry fails at import, and a test walks every kind (tests/test_live_event_kinds.py).
See docs/architecture.md, "The event table"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    ITEM_ADDED = "item.added"
    ITEM_UPDATED = "item.updated"
    ITEM_DELETED = "item.deleted"
    ITEM_RESTORED = "item.restored"
    ITEM_MOVED = "item.moved"
    NORTH_STAR_UPDATED = "north_star.updated"
    ROADMAP_PLACED = "roadmap.placed"
    GATE_OVERRIDDEN = "gate.overridden"
    AGENDA_UPDATED = "agenda.updated"
    ROOM_PHASE = "room.phase"
    ROOM_TIMER = "room.timer"
    ROOM_LOCK = "room.lock"
    ROOM_ANONYMOUS = "room.anonymous"
    ROOM_SPOTLIGHT = "room.spotlight"
    ROOM_COFACILITATOR = "room.cofacilitator"
    ROOM_PRIVATE = "room.private"
    ROOM_EDITING = "room.editing"
    ROOM_REVEALED = "room.revealed"
    ROOM_READY = "room.ready"
    ROOM_HAND = "room.hand"
    VOTE_OPENED = "vote.opened"
    VOTE_CAST = "vote.cast"
    VOTE_CHANGED = "vote.changed"
    VOTE_CLOSED = "vote.closed"
    SESSION_STARTED = "session.started"
    SESSION_ENDED = "session.ended"
    LINK_ROTATED = "link.rotated"
    PARTICIPANT_JOINED = "participant.joined"
    PARTICIPANT_REMOVED = "participant.removed"
    PARTICIPANT_RESTORED = "participant.restored"
    PARTICIPANT_LEFT = "participant.left"
    LINKS_EXPIRY = "session.links_expiry"
    LOBBY_SET = "session.lobby"
    PARTICIPANT_KNOCKED = "participant.knocked"
    PARTICIPANT_ADMITTED = "participant.admitted"
    PARTICIPANT_DECLINED = "participant.declined"
    ITEMS_GROUPED = "items.grouped"
    DATA_PROFILED = "data.profiled"
    DATA_FINDING = "data.finding"
    WORKSHOP_CREATED = "workshop.created"
    WORKSHOP_IMPORTED = "workshop.imported"
    WORKSHOP_DUPLICATED = "workshop.duplicated"
    WORKSHOP_RENAMED = "workshop.renamed"
    WORKSHOP_ARCHIVED = "workshop.archived"
    WORKSHOP_UNARCHIVED = "workshop.unarchived"


# The regions of the board page that are not lists (ids in templates/board.html).
# "ballot" is personal: it is never broadcast, each page fetches its own over HTTP.
REGIONS = ("north_star", "roadmap", "prioritize", "agenda", "room", "vote", "presence",
           "ballot", "lobby", "trash", "title")
# Regions the two audiences see differently: who waits in the lobby, who has not voted
# yet and what was deleted lately are for facilitators.
PER_AUDIENCE_REGIONS = ("lobby", "vote", "trash")


@dataclass(frozen=True)
class Touches:
    """What one kind of event changes on a page.

    item       the event's own item (in `item_list`, or else in the event's section),
               plus every list and region that shows items of that section
               (`Section.shown_in`, declared next to the section);
    order      the order of the event section's list, and of every list and region
               that shows that section's items (they list them in the same order);
    regions    regions redrawn whole (each is bounded, or fetched when it is not);
    all_lists  the lists whose authors were shown or hidden: those the event's snapshot
               names ("sections"), with where their items show; every list when it
               names none (events recorded before it did);
    whole_list the whole list of the event's section, and every list and region that
               shows its items (what only some could see, everyone now sees);
    its_items  the items of the event's section that the event names (its snapshot's
               "items"), the list's order, and the regions that show its items (a
               group's items: who joined, who left, whose group was renamed);
    audience   who may see what changed: the person's open sockets change audience.
    """

    item: bool = False
    item_list: str = ""
    order: bool = False
    regions: tuple[str, ...] = ()
    all_lists: bool = False
    whole_list: bool = False
    its_items: bool = False
    audience: bool = False

    @property
    def cards(self) -> bool:
        """Whether it may change a card of a list, or their order (the regions it
        redraws are no list's: tests/test_live_event_kinds.py holds every kind to that)."""
        return self.item or self.order or self.all_lists or self.whole_list or self.its_items

    def __post_init__(self) -> None:
        unknown = set(self.regions) - set(REGIONS)
        if unknown:
            raise ValueError(f"No such region: {sorted(unknown)}")


ROOM_REGIONS = ("room", "agenda")
# What shows who takes part: the room bar's "n of m ready", the vote's "n of m voted".
TAKING_PART = ("room", "vote")
NOTHING = Touches()  # changes that show on the sessions page, not on the board

TOUCHES: dict[Kind, Touches] = {
    Kind.ITEM_ADDED: Touches(item=True),
    Kind.ITEM_UPDATED: Touches(item=True),
    # The facilitators' "recently deleted" lists what can be restored.
    Kind.ITEM_DELETED: Touches(item=True, regions=("trash",)),
    Kind.ITEM_RESTORED: Touches(item=True, regions=("trash",)),
    Kind.ITEM_MOVED: Touches(order=True),
    Kind.NORTH_STAR_UPDATED: Touches(regions=("north_star",)),
    # The recipe's roadmap card is one of its places (sessions/fragments.py).
    Kind.ROADMAP_PLACED: Touches(item=True, item_list="recipes"),
    Kind.GATE_OVERRIDDEN: Touches(item=True, item_list="recipes"),
    Kind.AGENDA_UPDATED: Touches(regions=ROOM_REGIONS),
    Kind.ROOM_PHASE: Touches(regions=ROOM_REGIONS),
    Kind.ROOM_TIMER: Touches(regions=ROOM_REGIONS),
    Kind.ROOM_LOCK: Touches(regions=ROOM_REGIONS),
    Kind.ROOM_SPOTLIGHT: Touches(regions=ROOM_REGIONS),
    # Who is ready and whose hand is up travel in the room bar's state.
    Kind.ROOM_READY: Touches(regions=("room",)),
    Kind.ROOM_HAND: Touches(regions=("room",)),
    Kind.ROOM_ANONYMOUS: Touches(regions=ROOM_REGIONS, all_lists=True),
    # Writing privately shows in the room bar's state; what is written privately goes to
    # its author's sockets and the facilitators' (sessions/fragments.py).
    Kind.ROOM_PRIVATE: Touches(regions=ROOM_REGIONS),
    # Who may edit which item: each page shows the actions its person may take.
    Kind.ROOM_EDITING: Touches(regions=ROOM_REGIONS),
    Kind.ROOM_REVEALED: Touches(regions=ROOM_REGIONS, whole_list=True),
    Kind.ROOM_COFACILITATOR: Touches(regions=(*ROOM_REGIONS, "presence", "vote"),
                                     audience=True),
    Kind.VOTE_OPENED: Touches(regions=("vote", "ballot")),
    # A cast changes the count of voters; the caster's dots travel in their response.
    Kind.VOTE_CAST: Touches(regions=("vote",)),
    # Raised limits: the panel says them, and each ballot has more room.
    Kind.VOTE_CHANGED: Touches(regions=("vote", "ballot")),
    Kind.VOTE_CLOSED: Touches(regions=("vote", "roadmap", "ballot")),
    # Who takes part changes the room bar's "n of m ready" and the vote's "n of m voted".
    Kind.SESSION_STARTED: Touches(regions=TAKING_PART),
    Kind.SESSION_ENDED: Touches(regions=TAKING_PART),
    # The sockets of who came by it are closed; the others' count of who takes part drops.
    Kind.LINK_ROTATED: Touches(regions=TAKING_PART),
    # Presence follows sockets, not joins; the count of who takes part follows joins.
    Kind.PARTICIPANT_JOINED: Touches(regions=TAKING_PART),
    # Their sockets are closed; who was waiting leaves the lobby (and comes back to it
    # when restored: a restored person takes part, or waits, at once).
    Kind.PARTICIPANT_REMOVED: Touches(regions=("lobby", *TAKING_PART)),
    Kind.PARTICIPANT_RESTORED: Touches(regions=("lobby", *TAKING_PART)),
    Kind.PARTICIPANT_LEFT: Touches(regions=TAKING_PART),  # and their sockets are closed
    Kind.LINKS_EXPIRY: NOTHING,  # the sessions page shows it, not the board
    Kind.LOBBY_SET: NOTHING,  # the sessions page shows it; knocks show in the lobby
    # Who waits to be let in: the facilitators' lobby (the room's is empty).
    Kind.PARTICIPANT_KNOCKED: Touches(regions=("lobby",)),
    Kind.PARTICIPANT_ADMITTED: Touches(regions=("lobby", *TAKING_PART)),
    Kind.PARTICIPANT_DECLINED: Touches(regions=("lobby",)),
    # Items joined, left, or renamed a group of their list: their cards show the group
    # (in the list and wherever its items show) and move to sit together.
    Kind.ITEMS_GROUPED: Touches(its_items=True),
    # A sample profiled: the source's card shows its profile and the scores it set
    # (recipes and goals show the readiness that follows from them).
    Kind.DATA_PROFILED: Touches(item=True),
    # A finding accepted (its risk is added by its own event) or dismissed.
    Kind.DATA_FINDING: Touches(item=True),
    Kind.WORKSHOP_CREATED: NOTHING,
    Kind.WORKSHOP_IMPORTED: NOTHING,
    Kind.WORKSHOP_DUPLICATED: NOTHING,
    # The name in every page's header.
    Kind.WORKSHOP_RENAMED: Touches(regions=("title",)),
    # Read-only, or writable again: every open page is closed with the news and reloads
    # (sessions/lifecycle.py); what it shows of the board did not change.
    Kind.WORKSHOP_ARCHIVED: NOTHING,
    Kind.WORKSHOP_UNARCHIVED: NOTHING,
}
_missing = set(Kind) - set(TOUCHES)
if _missing:
    raise ImportError(f"Event kinds without an entry in TOUCHES: {sorted(_missing)}")


def touches(kind: str) -> Touches | None:
    """What a stored event's kind changes; None for a kind this code does not know
    (an event written by a newer release): the caller then sends the whole board."""
    try:
        return TOUCHES[Kind(kind)]
    except ValueError:
        return None


# Kinds that change no card: the board page's kept cards outlive them (a join, a timer,
# a vote: workshop.selectors.cards_version). A kind this code does not know is not one.
CARDLESS_KINDS = tuple(kind for kind, touched in TOUCHES.items() if not touched.cards)
