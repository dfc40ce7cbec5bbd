"""Who may do what on a workshop: the one getter every view and consumer uses."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from workshop.models import Workshop, facilitator_name

from .models import Participant, Role

SESSION_KEY = "attune_participants"

VIEW = "view"
EDIT = "edit"
FACILITATE = "facilitate"
DENIED = {
    EDIT: "Observers can watch the board but not change it.",
    FACILITATE: "Only the workshop's facilitator can do this.",
}
ARCHIVED = ("This workshop is archived: it can be read and exported, not changed. Its owner "
            "can restore it from their list of workshops.")


@dataclass(frozen=True)
class Membership:
    workshop: Workshop
    role: str
    user: Any = None
    participant: Participant | None = None

    @property
    def is_facilitator(self) -> bool:
        return self.role in (Role.FACILITATOR, Role.COFACILITATOR)

    @property
    def can_edit(self) -> bool:
        return self.allows(EDIT)

    @property
    def archived(self) -> bool:
        """An archived workshop is read-only for everyone, its owner too (who may
        restore it: sessions/lifecycle.py)."""
        return self.workshop.archived_at is not None

    @property
    def is_owner(self) -> bool:
        return self.role == Role.FACILITATOR and self.user is not None

    @property
    def person(self) -> str:
        """A stable key for this person in this workshop (votes, presence, kicks)."""
        if self.participant is not None:
            return f"p{self.participant.pk}"
        return f"u{self.user.pk}"

    def get_role_display(self) -> str:
        return Role(self.role).label

    @property
    def name(self) -> str:
        if self.participant is not None:
            return self.participant.display_name
        return facilitator_name(self.user)

    def require(self, need: str) -> None:
        if not self.role_allows(need):
            raise PermissionDenied(DENIED[need])
        if not self.allows(need):
            raise PermissionDenied(ARCHIVED)

    def allows(self, need: str) -> bool:
        return self.role_allows(need) and (need == VIEW or not self.archived)

    def role_allows(self, need: str) -> bool:
        if need == FACILITATE:
            return self.is_facilitator
        if need == EDIT:
            return self.role != Role.OBSERVER
        return True


def find_membership(user: Any, session: Mapping, workshop_id: int) -> Membership | None:
    """The membership of a person in a workshop, or None for an outsider.

    `session` is the Django session of the request or of the websocket scope.
    """
    if user is not None and user.is_authenticated:
        workshop = _found(_WORKSHOP.filter(pk=workshop_id))
        if workshop is None:
            return None
        if workshop.owner_id == user.pk:
            return Membership(workshop, Role.FACILITATOR, user=user)
    participant_id = joined_as(session, workshop_id)
    if participant_id is None:
        return None
    # A participant's row and its workshop in one query: every write of the room starts
    # here, and each query is about a millisecond of Django's on PostgreSQL.
    participant = _found(_PARTICIPANT.filter(pk=participant_id,
                                             session__workshop_id=workshop_id))
    if participant is None or not participant.is_active:
        return None
    cofacilitating = participant.is_cofacilitator and participant.role == Role.PARTICIPANT
    role = Role.COFACILITATOR if cofacilitating else participant.role
    return Membership(participant.session.workshop, role, participant=participant)


# The room too: nearly every request checks a lock or renders with it.
_WORKSHOP = Workshop.objects.select_related("owner", "room", "room__current_phase")
_PARTICIPANT = Participant.objects.select_related(
    "session__workshop__owner", "session__workshop__room",
    "session__workshop__room__current_phase")


def _found(query: QuerySet) -> Any:
    """The one row of `query`, or None."""
    try:
        return query.get()
    except query.model.DoesNotExist:
        return None


def joined_as(session: Mapping, workshop_id: int) -> int | None:
    """The participant this browser session joined the workshop as, if it did."""
    return session.get(SESSION_KEY, {}).get(str(workshop_id))


def get_membership(request: HttpRequest, workshop_id: int, need: str = VIEW) -> Membership:
    """The caller's membership, or 404 for outsiders and 403 for a role too small.

    Outsiders get 404, not 403, so a workshop's existence is not revealed.
    """
    membership = find_membership(request.user, request.session, workshop_id)
    if membership is None:
        raise Http404("No workshop here, or your link is no longer valid: the facilitator may "
                      "have replaced it or removed you. Ask them for the current link.")
    membership.require(need)
    return membership


def browser_key(request: HttpRequest) -> str:
    """Who this browser is before it has a session that says so: a hash of its CSRF
    cookie's secret (the same for a form sent twice), or "" without one."""
    secret = request.META.get("CSRF_COOKIE", "")
    return hashlib.sha256(secret.encode()).hexdigest() if secret else ""


def remember_participant(request: HttpRequest, participant: Participant) -> None:
    joined = dict(request.session.get(SESSION_KEY, {}))
    joined[str(participant.session.workshop_id)] = participant.pk
    request.session[SESSION_KEY] = joined
