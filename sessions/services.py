"""Running sessions: starting them, joining, rotating links, removing people."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from workshop.event_kinds import Kind
from workshop.events import record_event

from .access import FACILITATE, Membership
from .closecodes import LINK_ROTATED, REMOVED
from .models import Participant, Role, WorkshopSession
from .tokens import new_token


@transaction.atomic
def start_session(member: Membership, title: str = "") -> WorkshopSession:
    member.require(FACILITATE)
    workshop = member.workshop
    last = workshop.sessions.aggregate(Max("number"))["number__max"] or 0
    session = WorkshopSession.objects.create(workshop=workshop, number=last + 1, title=title)
    record_event(workshop.pk, Kind.SESSION_STARTED, "sessions", session.pk, member.name)
    return session


@transaction.atomic
def end_session(member: Membership, session_id: int) -> WorkshopSession:
    member.require(FACILITATE)
    session = member.workshop.sessions.select_for_update().get(pk=session_id)
    if session.ended_at is None:
        session.ended_at = timezone.now()
        session.save(update_fields=["ended_at"])
        record_event(member.workshop.pk, Kind.SESSION_ENDED, "sessions", session.pk, member.name)
    return session


@transaction.atomic
def rotate_link(member: Membership, session_id: int, role: str) -> WorkshopSession:
    """Issue a new join or observer link; whoever came by the old one is out."""
    member.require(FACILITATE)
    session = member.workshop.sessions.select_for_update().get(pk=session_id)
    old = session.token_for(role)
    gone = [f"p{pk}" for pk in session.participants.filter(
        joined_with=old, removed_at__isnull=True).values_list("pk", flat=True)]
    if role == Role.OBSERVER:
        session.observer_token = new_token()
        session.save(update_fields=["observer_token"])
    else:
        session.join_token = new_token()
        session.save(update_fields=["join_token"])
    record_event(member.workshop.pk, Kind.LINK_ROTATED, "sessions", session.pk, member.name)
    _kick_after_commit(member.workshop.pk, gone, LINK_ROTATED,
                       "The facilitator replaced the link you joined by. Ask them for the new "
                       "one; everything you saved is on the board.")
    return session


@transaction.atomic
def remove_participant(member: Membership, participant_id: int) -> Participant:
    member.require(FACILITATE)
    participant = Participant.objects.select_for_update().get(
        pk=participant_id, session__workshop=member.workshop
    )
    if participant.removed_at is None:
        participant.removed_at = timezone.now()
        participant.save(update_fields=["removed_at"])
        record_event(member.workshop.pk, Kind.PARTICIPANT_REMOVED, "sessions", participant.pk,
                     member.name)
        _kick_after_commit(member.workshop.pk, [f"p{participant.pk}"], REMOVED,
                           "The facilitator removed you from this workshop.")
    return participant


def _kick_after_commit(workshop_id: int, persons: list[str], code: int, reason: str) -> None:
    from .broadcast import kick

    transaction.on_commit(lambda: kick(workshop_id, persons, code, reason))


def session_for_token(token: str) -> tuple[WorkshopSession, str] | None:
    """The open session a join or observer link opens, and the role it gives.

    An ended session's links let nobody new in; people already in stay in."""
    session = (
        WorkshopSession.objects.filter(Q(join_token=token) | Q(observer_token=token),
                                       ended_at__isnull=True)
        .select_related("workshop")
        .first()
    )
    if session is None:
        return None
    role = Role.PARTICIPANT if session.join_token == token else Role.OBSERVER
    return session, role


@transaction.atomic
def join_session(token: str, display_name: str, function: str) -> Participant | None:
    """Let a person in by a link. None when the link is wrong or rotated away."""
    found = session_for_token(token)
    if found is None:
        return None
    session, role = found
    participant = Participant.objects.create(
        session=session, display_name=display_name, function=function, role=role,
        joined_with=token,
    )
    record_event(session.workshop_id, Kind.PARTICIPANT_JOINED, "sessions", participant.pk,
                 display_name)
    return participant
