"""Archiving a workshop, restoring it, deleting it: what each does to its room.

Archived, a workshop leaves its owner's list for "Archived", is read-only for everyone
(sessions.access.Membership: every write's permission check says so) and its running
sessions end, so its links let nobody in; it can still be read and exported. Only the
owner archives, restores or deletes, and every open page is closed with the news, as
what it may do there changed."""

from __future__ import annotations

import logging
import re
import unicodedata

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from workshop.event_kinds import Kind
from workshop.events import record_event
from workshop.models import Workshop

from .access import Membership
from .closecodes import ARCHIVE_CHANGED, DELETED

log = logging.getLogger(__name__)

NOT_OWNER = "Only the workshop's owner can archive, restore or delete it."


def require_owner(member: Membership) -> None:
    if not member.is_owner:
        raise PermissionDenied(NOT_OWNER)


@transaction.atomic
def set_archived(member: Membership, archived: bool) -> Workshop:
    """Archive the workshop (ending its running sessions) or restore it."""
    require_owner(member)
    workshop = Workshop.objects.select_for_update().get(pk=member.workshop.pk)
    if (workshop.archived_at is not None) == archived:
        return workshop  # the second click, the other tab
    now = timezone.now()
    workshop.archived_at = now if archived else None
    workshop.save(update_fields=["archived_at", "updated_at"])
    if archived:
        workshop.sessions.filter(ended_at__isnull=True).update(ended_at=now)
    record_event(workshop.pk, Kind.WORKSHOP_ARCHIVED if archived else Kind.WORKSHOP_UNARCHIVED,
                 "workshop", workshop.pk, member.name)
    reason = ("The facilitator archived this workshop: it is read-only now. Reload the "
              "page to read it." if archived else
              "The facilitator restored this workshop. Reload the page to work on it.")
    _close_every_page(workshop.pk, ARCHIVE_CHANGED, reason)
    return workshop


def check_deletable(member: Membership, typed_title: str) -> None:
    """Deleting cannot be undone: the owner types the workshop's name to confirm it."""
    require_owner(member)
    if _as_typed(typed_title) != _as_typed(member.workshop.title):
        raise ValidationError("Type the workshop's name exactly as it is shown to delete "
                              "it; nothing was deleted.")


# What a keyboard types for what the title shows: dashes and quotes of any kind, spaces
# of any width (the letters and their case are the title's: the field does not
# capitalize by itself, templates/sessions/delete.html).
_DASHES = re.compile("[\u2010-\u2015\u2212]")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def _as_typed(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).translate(_QUOTES)
    return " ".join(_DASHES.sub("-", text).split())


@transaction.atomic
def delete_workshop(member: Membership, typed_title: str) -> str:
    """Delete the workshop and everything in it (board, sessions, people, votes, event
    log); returns its title, for the owner's confirmation."""
    check_deletable(member, typed_title)
    workshop = Workshop.objects.select_for_update().get(pk=member.workshop.pk)
    title, pk = workshop.title, workshop.pk
    workshop.delete()
    # No event: the event log goes with the board. The server's log keeps the fact.
    log.info("Workshop %s deleted by its owner %s", pk, member.person)
    _close_every_page(pk, DELETED, "The facilitator deleted this workshop: there is "
                                   "nothing left to show here.")
    return title


def _close_every_page(workshop_id: int, code: int, reason: str) -> None:
    from .broadcast import kick_everyone

    transaction.on_commit(lambda: kick_everyone(workshop_id, code, reason))
