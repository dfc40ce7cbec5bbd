"""Leading the room: the phase everyone is on, the shared timer, locks, spotlight,
anonymous and private sections, co-facilitators (facilitators call these); ready and
raised hands (participants, and facilitators taking a hand)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from workshop.event_kinds import Kind
from workshop.events import record_event
from workshop.models import AgendaPhase
from workshop.sections import LISTS, PRIVATE_LISTS

from .access import EDIT, FACILITATE, Membership
from .models import Participant, Room
from .selectors import open_vote_of, room_for

TIMER_ACTIONS = ("start", "pause", "add_minute", "reset")
# Sections that can be locked: the lists plus the singletons and the roadmap.
LOCKABLE = (*LISTS, "north_star", "roadmap")
SPOTLIGHT = re.compile(r"^(?P<section>[a-z_]+)-(?P<pk>\d+)$")


class Locked(Exception):
    """A write to a part of the board the facilitator has locked."""


def check_unlocked(member: Membership, section: str) -> None:
    """Refuse a participant's write to a locked board or section; facilitators may still
    write (they locked it to lead a discussion, not to stop themselves)."""
    if member.is_facilitator:
        return
    room = room_for(member.workshop)
    if room.board_locked:
        raise Locked("The facilitator has locked the board for now. Your text is kept: "
                     "save it again when the board is unlocked.")
    if section in room.locked_sections:
        raise Locked("The facilitator has locked this section for now. Your text is kept: "
                     "save it again when it is unlocked.")


def _room(member: Membership) -> Room:
    """The room, locked for this write; what the rest of the request reads is this row."""
    member.require(FACILITATE)
    room = Room.objects.select_for_update().filter(workshop_id=member.workshop.pk).first()
    if room is None:
        room_for(member.workshop)
        room = Room.objects.select_for_update().get(workshop_id=member.workshop.pk)
    member.workshop.room = room
    return room


def _save(member: Membership, room: Room, kind: Kind, fields: list[str],
          sections: list[str] | None = None) -> Room:
    """Save the room and record its event; `sections`: the lists it changed, when pages
    redraw them (sessions/fragments.py)."""
    room.save(update_fields=fields)
    record_event(member.workshop.pk, kind, "room", room.pk, member.name,
                 snapshot={"sections": sections} if sections is not None else None)
    return room


@transaction.atomic
def move_room(member: Membership, phase_id: int) -> Room:
    """Take everyone to a phase, with its timebox loaded on the timer (not running)."""
    room = _room(member)
    return _go_to(member, room, AgendaPhase.objects.get(workshop=member.workshop, pk=phase_id))


def _go_to(member: Membership, room: Room, phase: AgendaPhase) -> Room:
    if phase.pk != room.current_phase_id:
        # A new phase starts with nobody ready and no hand up (one the room comes back
        # to as well).
        Participant.objects.filter(session__workshop_id=member.workshop.pk).filter(
            Q(ready=True) | Q(hand_at__isnull=False)).update(ready=False, hand_at=None)
    room.current_phase = phase
    room.timer_ends_at, room.timer_remaining = None, phase.minutes * 60
    return _save(member, room, Kind.ROOM_PHASE,
                 ["current_phase", "timer_ends_at", "timer_remaining"])


@transaction.atomic
def step_room(member: Membership, offset: int, from_phase: int | None = None) -> Room:
    """Advance (+1) or step back (-1) to the next phase that is not skipped; from
    `from_phase`, the phase the button was pressed on, if given: when two facilitators
    press "Next phase" at once the room moves once, not twice (the second finds it
    moved already and leaves it)."""
    room = _room(member)
    if from_phase is not None and room.current_phase_id != from_phase:
        return room
    phases = [p for p in member.workshop.phases.all() if not p.skipped]
    if not phases:
        raise ValidationError("Every phase of the agenda is skipped.")
    ids = [p.pk for p in phases]
    if room.current_phase_id in ids:
        index = min(max(ids.index(room.current_phase_id) + offset, 0), len(phases) - 1)
    else:
        index = 0
    return _go_to(member, room, phases[index])


@transaction.atomic
def control_timer(member: Membership, action: str) -> Room:
    if action not in TIMER_ACTIONS:
        raise ValidationError(f"The timer takes {', '.join(TIMER_ACTIONS)}.")
    room = _room(member)
    now = timezone.now()
    left = room.seconds_left(now)
    phase_seconds = room.current_phase.minutes * 60 if room.current_phase else 10 * 60
    if action == "start" and room.timer_ends_at is None:
        room.timer_ends_at = now + timedelta(seconds=left if left else phase_seconds)
        room.timer_remaining = None
    elif action == "pause" and room.timer_ends_at is not None:
        room.timer_ends_at, room.timer_remaining = None, left
    elif action == "add_minute":
        if room.timer_ends_at is not None:
            room.timer_ends_at = max(room.timer_ends_at, now) + timedelta(minutes=1)
        else:
            room.timer_remaining = (left or 0) + 60
    elif action == "reset":
        room.timer_ends_at, room.timer_remaining = None, phase_seconds
    return _save(member, room, Kind.ROOM_TIMER, ["timer_ends_at", "timer_remaining"])


def _toggled(current: list[str], names: list[str], on: bool) -> list[str]:
    return sorted(set(current) | set(names) if on else set(current) - set(names))


@transaction.atomic
def lock(member: Membership, sections: list[str], locked: bool) -> Room:
    """Lock or unlock the whole board (["board"]) or some sections."""
    room = _room(member)
    if sections == ["board"]:
        room.board_locked = locked
    elif sections and set(sections) <= set(LOCKABLE):
        room.locked_sections = _toggled(room.locked_sections, sections, locked)
    else:
        raise ValidationError("There is no such section to lock.")
    return _save(member, room, Kind.ROOM_LOCK, ["board_locked", "locked_sections"])


@transaction.atomic
def set_anonymous(member: Membership, sections: list[str], anonymous: bool) -> Room:
    """Hide or show authors in some lists; the room's pages never receive hidden names."""
    if not sections or not set(sections) <= set(LISTS):
        raise ValidationError("There is no such list to make anonymous.")
    room = _room(member)
    room.anonymous_sections = _toggled(room.anonymous_sections, sections, anonymous)
    # Only these lists' cards change (their bylines): a board of 1,000 items a list
    # would otherwise send every list, for both audiences.
    return _save(member, room, Kind.ROOM_ANONYMOUS, ["anonymous_sections"], sections)


@transaction.atomic
def set_private(member: Membership, sections: list[str]) -> Room:
    """Write these lists privately from now on: what anyone adds to them is seen by its
    author and the facilitators only, so that nobody anchors on the first ideas, until
    the facilitator reveals them (`reveal`). What the lists hold already stays shown."""
    if not sections or not set(sections) <= set(LISTS):
        raise ValidationError("There is no such list to write privately.")
    settled = [LISTS[key].title for key in sections if key not in PRIVATE_LISTS]
    if settled:
        raise ValidationError(f"{', '.join(settled)} cannot be written privately: recipes "
                              "name them, so they are settled in the open.")
    room = _room(member)
    if "recipes" in sections and open_vote_of(member.workshop.pk):
        raise ValidationError("A vote on the recipes is open: close it before the recipes "
                              "are written privately.")
    room.private_sections = _toggled(room.private_sections, sections, True)
    return _save(member, room, Kind.ROOM_PRIVATE, ["private_sections"])


@transaction.atomic
def reveal(member: Membership, sections: list[str]) -> Room:
    """Show everyone what was written privately in these lists, and write them in the
    open again. One event per list: each redraws its list (and where its items show)."""
    if not sections or not set(sections) <= set(LISTS):
        raise ValidationError("There is no such list to reveal.")
    room = _room(member)
    room.private_sections = _toggled(room.private_sections, sections, False)
    room.save(update_fields=["private_sections"])
    for key in sections:
        LISTS[key].model.objects.filter(workshop_id=member.workshop.pk,
                                        private=True).update(private=False)
        record_event(member.workshop.pk, Kind.ROOM_REVEALED, key, room.pk, member.name)
    return room


@transaction.atomic
def set_open_editing(member: Membership, on: bool) -> Room:
    """Let participants edit and delete every item (on), or only their own (off)."""
    room = _room(member)
    room.open_editing = on
    return _save(member, room, Kind.ROOM_EDITING, ["open_editing"])


@transaction.atomic
def set_spotlight(member: Membership, target: str) -> Room:
    """Spotlight one item (by its element id, e.g. "recipes-12") or clear it ("")."""
    room = _room(member)
    if target:
        match = SPOTLIGHT.match(target)
        section = LISTS.get(match["section"]) if match else None
        if match is None or section is None or not section.model.objects.filter(
                workshop=member.workshop, pk=match["pk"]).exists():
            raise ValidationError("That item is not on this board.")
    room.spotlight = target
    return _save(member, room, Kind.ROOM_SPOTLIGHT, ["spotlight"])


@transaction.atomic
def name_cofacilitator(member: Membership, participant_id: int, on: bool) -> Participant:
    """Share facilitator powers with a participant. Powers belong to people, not to
    connections: nobody gains them because the facilitator's socket dropped."""
    member.require(FACILITATE)
    person = Participant.objects.select_for_update().get(
        pk=participant_id, session__workshop=member.workshop, removed_at__isnull=True)
    if person.role != "participant":
        raise ValidationError("Only participants can co-facilitate; observers only watch.")
    person.is_cofacilitator = on
    person.save(update_fields=["is_cofacilitator"])
    record_event(member.workshop.pk, Kind.ROOM_COFACILITATOR, "sessions", person.pk, member.name)
    return person


# Ready and raised hands ------------------------------------------------------------

def _me(member: Membership) -> Participant:
    """The participant writing, their row locked for this write."""
    member.require(EDIT)
    if member.participant is None:
        raise PermissionDenied("Only participants mark themselves ready or raise a hand.")
    return Participant.objects.select_for_update().get(pk=member.participant.pk)


def _check_on_a_phase(member: Membership) -> None:
    if room_for(member.workshop).current_phase_id is None:
        raise ValidationError("The room is on no phase yet: there is nothing to be ready for.")


@transaction.atomic
def set_ready(member: Membership, ready: bool) -> Participant:
    """Say one is done with the room's phase (or not yet)."""
    person = _me(member)
    _check_on_a_phase(member)
    person.ready = ready
    person.save(update_fields=["ready"])
    record_event(member.workshop.pk, Kind.ROOM_READY, "room", person.pk, member.name)
    return person


@transaction.atomic
def set_hand(member: Membership, raised: bool) -> Participant:
    """Raise a hand in the room's phase, or lower one's own. Raising it again keeps
    one's place in the queue."""
    person = _me(member)
    _check_on_a_phase(member)
    if not raised:
        person.hand_at = None
    elif person.hand_at is None:
        person.hand_at = timezone.now()
    person.save(update_fields=["hand_at"])
    record_event(member.workshop.pk, Kind.ROOM_HAND, "room", person.pk, member.name)
    return person


@transaction.atomic
def lower_hand(member: Membership, participant_id: int) -> Participant:
    """A facilitator takes a raised hand (answered, or asked to wait)."""
    member.require(FACILITATE)
    person = Participant.objects.select_for_update().get(
        session__workshop_id=member.workshop.pk, pk=participant_id)
    person.hand_at = None
    person.save(update_fields=["hand_at"])
    record_event(member.workshop.pk, Kind.ROOM_HAND, "room", person.pk, member.name)
    return person
