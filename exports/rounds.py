"""The next round of a workshop: the board carried over, the people, sessions and votes
not. Round N + 1 is a new workshop made from round N's export (exports.services), with
each carried item knowing the item it came from (BoardItem.carried_from), so its roadmap
can say what changed since (exports.changes)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from sessions.access import FACILITATE, Membership
from sessions.selectors import next_round_blocker
from workshop.event_kinds import Kind
from workshop.models import Workshop
from workshop.sections import LISTS as BOARD_LISTS

from . import schema
from .json_export import export_workshop
from .services import import_workshop


@transaction.atomic
def start_next_round(member: Membership, owner: Any) -> Workshop:
    """Round N + 1 of the member's workshop, owned by `owner` (the owner only)."""
    member.require(FACILITATE)
    if not member.is_owner:
        raise PermissionDenied("Only the workshop's owner can start its next round.")
    workshop = Workshop.objects.select_for_update().get(pk=member.workshop.pk)
    blocker = next_round_blocker(workshop)
    if blocker:
        raise ValidationError(blocker)
    data = export_workshop(workshop)
    data["workshop"]["round"] = workshop.round + 1
    following = import_workshop(owner, data, title=workshop.title, kind=Kind.WORKSHOP_DUPLICATED)
    Workshop.objects.filter(pk=following.pk).update(previous_round=workshop)
    _carry(workshop, following)
    return Workshop.objects.get(pk=following.pk)


def _carry(before: Workshop, after: Workshop) -> None:
    """Each new item remembers the one it was made from: the export lists the items the
    room has seen in board order, and the import creates them in that order."""
    for spec in schema.LISTS:
        old = list(BOARD_LISTS[spec.key].revealed(before.pk).values_list("pk", flat=True))
        new = list(spec.model.objects.filter(workshop=after).order_by("pk"))
        assert len(old) == len(new), spec.key  # one transaction: nothing moved in between
        for item, origin in zip(new, old, strict=True):
            item.carried_from = origin
        spec.model.objects.bulk_update(new, ["carried_from"])
