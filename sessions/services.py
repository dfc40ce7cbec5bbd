"""Running sessions: starting them, joining, rotating links and setting when they
expire, removing people and letting them back in, leaving."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from workshop.event_kinds import Kind
from workshop.events import lock_board, record_event

from .access import ARCHIVED, FACILITATE, Membership
from .closecodes import LEFT, LINK_ROTATED, REMOVED
from .models import Participant, Role, WorkshopSession
from .tokens import is_token, new_token


@transaction.atomic
def start_session(member: Membership, title: str = "") -> WorkshopSession:
    member.require(FACILITATE)
    workshop = member.workshop
    version = lock_board(workshop.pk)  # a double-click numbers the second one next
    last = workshop.sessions.aggregate(Max("number"))["number__max"] or 0
    session = WorkshopSession.objects.create(workshop=workshop, number=last + 1, title=title)
    record_event(workshop.pk, Kind.SESSION_STARTED, "sessions", session.pk, member.name,
                 version=version)
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
        # Let back in later, they come back as a participant: powers are given anew.
        participant.is_cofacilitator = False
        participant.save(update_fields=["removed_at", "is_cofacilitator"])
        record_event(member.workshop.pk, Kind.PARTICIPANT_REMOVED, "sessions", participant.pk,
                     member.name)
        _kick_after_commit(member.workshop.pk, [f"p{participant.pk}"], REMOVED,
                           "The facilitator removed you from this workshop.")
    return participant


@transaction.atomic
def restore_participant(member: Membership, participant_id: int) -> Participant:
    """Lift a removal: the person may join again by the session's link."""
    member.require(FACILITATE)
    participant = Participant.objects.select_for_update().get(
        pk=participant_id, session__workshop=member.workshop)
    if participant.removed_at is not None:
        participant.removed_at = None
        participant.save(update_fields=["removed_at"])
        record_event(member.workshop.pk, Kind.PARTICIPANT_RESTORED, "sessions",
                     participant.pk, member.name)
    return participant


@transaction.atomic
def leave(member: Membership) -> Participant:
    """A person who joined by a link leaves; joining again from the same browser brings
    the same participant back."""
    participant = member.participant
    if participant is None:
        raise ValidationError("Facilitators do not leave their own workshop.")
    if member.archived:  # what is on it stays as it was archived, who took part too
        raise PermissionDenied(ARCHIVED)
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if participant.left_at is None:
        participant.left_at = timezone.now()
        participant.save(update_fields=["left_at"])
        record_event(member.workshop.pk, Kind.PARTICIPANT_LEFT, "sessions", participant.pk,
                     participant.display_name)
        _kick_after_commit(member.workshop.pk, [member.person], LEFT,
                           "You left this workshop. Open its link again to come back.")
    return participant


@transaction.atomic
def set_links_expiry(member: Membership, session_id: int,
                     hours: int | None) -> WorkshopSession:
    """The session's links let nobody new in after `hours` from now (None: never)."""
    member.require(FACILITATE)
    if hours is not None and not 1 <= hours <= 24 * 30:
        raise ValidationError("Links can expire after 1 hour to 30 days, or never.")
    session = member.workshop.sessions.select_for_update().get(pk=session_id)
    session.links_expire_at = (None if hours is None
                               else timezone.now() + timedelta(hours=hours))
    session.save(update_fields=["links_expire_at"])
    record_event(member.workshop.pk, Kind.LINKS_EXPIRY, "sessions", session.pk, member.name)
    return session


@transaction.atomic
def set_lobby(member: Membership, session_id: int, on: bool) -> WorkshopSession:
    """Lobby mode: from now on a new person knocks and waits to be let in. Turning it
    off lets nobody in by itself: who waits is still let in or declined one by one."""
    member.require(FACILITATE)
    session = member.workshop.sessions.select_for_update().get(pk=session_id)
    session.lobby = on
    session.save(update_fields=["lobby"])
    record_event(member.workshop.pk, Kind.LOBBY_SET, "sessions", session.pk, member.name)
    return session


@transaction.atomic
def answer_knock(member: Membership, participant_id: int, admit: bool) -> Participant:
    """Let a waiting person in, or decline them (a decline is a removal: they may be let
    back in from the list of people)."""
    member.require(FACILITATE)
    participant = Participant.objects.select_for_update().get(
        pk=participant_id, session__workshop=member.workshop)
    if not participant.waiting:
        raise ValidationError(f"{participant.display_name} is not waiting any more.")
    participant.waiting = False
    if not admit:
        participant.removed_at = timezone.now()
    participant.save(update_fields=["waiting", "removed_at"])
    record_event(member.workshop.pk,
                 Kind.PARTICIPANT_ADMITTED if admit else Kind.PARTICIPANT_DECLINED,
                 "sessions", participant.pk, member.name)
    return participant


def _kick_after_commit(workshop_id: int, persons: list[str], code: int, reason: str) -> None:
    from .broadcast import kick

    transaction.on_commit(lambda: kick(workshop_id, persons, code, reason))


def session_for_token(token: str) -> tuple[WorkshopSession, str] | None:
    """The open session a join or observer link opens, and the role it gives.

    An ended session's links, and expired ones, let nobody new in; people already in
    stay in."""
    if not is_token(token):
        return None
    session = (
        WorkshopSession.objects.filter(Q(join_token=token) | Q(observer_token=token),
                                       ended_at__isnull=True)
        .filter(Q(links_expire_at__isnull=True) | Q(links_expire_at__gt=timezone.now()))
        .select_related("workshop")
        .first()
    )
    if session is None:
        return None
    role = Role.PARTICIPANT if session.join_token == token else Role.OBSERVER
    return session, role


class Banned(Exception):
    """The facilitator removed this person; they stay out until let back in."""


@transaction.atomic
def join_session(token: str, display_name: str, function: str,
                 returning: int | None = None, browser: str = "") -> Participant | None:
    """Let a person in by a link. None when the link is wrong or rotated away.

    `returning` is the participant this browser joined the workshop as before, if any:
    joining again (a second tab, after leaving, by a new link) brings that participant
    back rather than making a second one; a removed one raises Banned. `browser`
    (sessions.access.browser_key) finds that participant too when the session does not
    say it yet: a join form sent twice at once."""
    found = session_for_token(token)
    if found is None:
        return None
    session, role = found
    if returning is None and browser:
        # One join at a time from a browser: the second of a double tap waits for the
        # first to commit, then finds who it made.
        WorkshopSession.objects.select_for_update().filter(pk=session.pk).exists()
        returning = (Participant.objects.filter(session__workshop_id=session.workshop_id,
                                                browser=browser)
                     .order_by("-joined_at").values_list("pk", flat=True).first())
    if returning is not None:
        again = (Participant.objects.select_for_update()
                 .filter(pk=returning, session__workshop_id=session.workshop_id).first())
        if again is not None:
            return _rejoin(again, session, role, token)
    participant = Participant.objects.create(
        session=session, display_name=display_name, function=function, role=role,
        joined_with=token, waiting=session.lobby, browser=browser,
    )
    record_event(session.workshop_id,
                 Kind.PARTICIPANT_KNOCKED if session.lobby else Kind.PARTICIPANT_JOINED,
                 "sessions", participant.pk, display_name)
    return participant


def _rejoin(participant: Participant, session: WorkshopSession, role: str,
            token: str) -> Participant:
    if participant.removed_at is not None:
        raise Banned
    if participant.is_active and participant.joined_with == token:
        return participant  # already in: the second tab, the double click
    participant.left_at = None
    participant.session, participant.role, participant.joined_with = session, role, token
    # Observers only watch: a co-facilitator who comes back by the observer link is one,
    # and their open sockets move to the room's audience (the event regroups them).
    stood_down = participant.is_cofacilitator and role != Role.PARTICIPANT
    if stood_down:
        participant.is_cofacilitator = False
    participant.save(update_fields=["left_at", "session", "role", "joined_with",
                                    "is_cofacilitator"])
    record_event(session.workshop_id, Kind.PARTICIPANT_JOINED, "sessions", participant.pk,
                 participant.display_name)
    if stood_down:
        record_event(session.workshop_id, Kind.ROOM_COFACILITATOR, "sessions",
                     participant.pk, participant.display_name)
    return participant
