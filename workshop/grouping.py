"""Grouping similar items of a list under a title (duplicates, or one theme), and the
likely duplicates offered to group.

Who groups: the facilitators, and everyone while the facilitator has opened editing to
all: a group moves other people's cards (workshop.services.may_change, for an item of
nobody's). A grouped item moves to sit with its group; a group shows only through its
items. Likely duplicates are found here, on the server, with rapidfuzz: no text leaves
it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from rapidfuzz import fuzz, process, utils

from sessions.access import EDIT, Membership
from sessions.room import check_unlocked

from .event_kinds import Kind
from .events import record_event
from .models import SHORT, BoardItem, ItemGroup
from .sections import Section
from .services import may_change, sees

NOT_ALLOWED = ("Only the facilitators group items, unless they let everyone edit "
               "everything.")
# Two items this alike (rapidfuzz's token set ratio, 0-100) are offered as duplicates.
ALIKE = 80
MOST_SUGGESTIONS = 12


def check_may_group(member: Membership, section: Section) -> None:
    member.require(EDIT)
    check_unlocked(member, section.key)
    if not may_change(member, ""):
        raise PermissionDenied(NOT_ALLOWED)


def _title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise ValidationError("Name the group: a few words that say what its items share.")
    if len(title) > SHORT:
        raise ValidationError(f"A group's name has at most {SHORT} characters.")
    return title


@transaction.atomic
def group_items(member: Membership, section: Section, item_ids: list[int], *,
                group_id: int | None = None, title: str = "") -> ItemGroup:
    """Put these items of one list in one of its groups, or in a new one named `title`;
    they move to sit together, after the group's items (a new group: where its first
    item was)."""
    check_may_group(member, section)
    workshop_id = member.workshop.pk
    rows = list(section.model.objects.select_for_update()
                .filter(workshop_id=workshop_id).order_by("position", "pk"))
    wanted = set(item_ids)
    moving = [item for item in rows if item.pk in wanted]
    if not moving or len(moving) != len(wanted) or not all(sees(member, i) for i in moving):
        raise section.model.DoesNotExist(f"No such {section.item_name} here")
    if group_id is not None:
        group = ItemGroup.objects.get(pk=group_id, workshop_id=workshop_id,
                                      section=section.key)
        if title:
            group.title = _title(title)
            group.save(update_fields=["title"])
    else:
        group = ItemGroup.objects.create(workshop_id=workshop_id, section=section.key,
                                         title=_title(title or str(moving[0])[:SHORT]))
    _sit_together(section, rows, moving, group)
    record_event(workshop_id, Kind.ITEMS_GROUPED, section.key, group.pk, member.name)
    return group


def _sit_together(section: Section, rows: list[BoardItem], moving: list[BoardItem],
                  group: ItemGroup) -> None:
    """Positions so that the group's items are next to each other, in one statement."""
    members = [item for item in rows if item.group_id == group.pk and item not in moving]
    rest = [item for item in rows if item not in moving]
    anchor = members[-1] if members else next(
        (item for item in reversed(rows[:rows.index(moving[0])]) if item in rest), None)
    at = rest.index(anchor) + 1 if anchor is not None else 0
    ordered = rest[:at] + moving + rest[at:]
    for item in moving:
        item.group_id = group.pk
    changed = []
    for position, item in enumerate(ordered, start=1):
        if item.position != position or item in moving:
            item.position = position
            changed.append(item)
    section.model.objects.bulk_update(changed, ["position", "group"])


@transaction.atomic
def ungroup_item(member: Membership, section: Section, item_id: int) -> None:
    """Take one item out of its group; it stays where it is."""
    check_may_group(member, section)
    item = section.model.objects.select_for_update().get(
        pk=item_id, workshop_id=member.workshop.pk)
    if not sees(member, item):
        raise section.model.DoesNotExist(f"No such {section.item_name} here")
    if item.group_id is None:
        return
    group_id, item.group_id = item.group_id, None
    item.save(update_fields=["group"])
    record_event(member.workshop.pk, Kind.ITEMS_GROUPED, section.key, group_id, member.name)


@transaction.atomic
def rename_group(member: Membership, section: Section, group_id: int, title: str) -> ItemGroup:
    check_may_group(member, section)
    group = ItemGroup.objects.select_for_update().get(
        pk=group_id, workshop_id=member.workshop.pk, section=section.key)
    group.title = _title(title)
    group.save(update_fields=["title"])
    record_event(member.workshop.pk, Kind.ITEMS_GROUPED, section.key, group.pk, member.name)
    return group


@transaction.atomic
def dissolve_group(member: Membership, section: Section, group_id: int) -> None:
    """Ungroup every item of the group; they stay where they are."""
    check_may_group(member, section)
    group = ItemGroup.objects.select_for_update().get(
        pk=group_id, workshop_id=member.workshop.pk, section=section.key)
    section.model.objects.filter(group_id=group.pk).update(group=None)
    group.delete()
    record_event(member.workshop.pk, Kind.ITEMS_GROUPED, section.key, group_id, member.name)


@dataclass(frozen=True)
class Suggestion:
    first: Any
    second: Any
    score: int


def likely_duplicates(member: Membership, section: Section) -> list[Suggestion]:
    """Pairs of items of the list that read alike and are not in one group yet, the
    most alike first: each item against those after it, by rapidfuzz's C loop (no
    numpy needed)."""
    items = [item for item in section.items(member.workshop.pk) if sees(member, item)]
    texts = [utils.default_process(str(item)) for item in items]
    found = []
    for i, text in enumerate(texts[:-1]):
        later = process.extract(text, texts[i + 1:], scorer=fuzz.token_set_ratio,
                                score_cutoff=ALIKE, limit=None)
        for _, score, offset in later:
            first, second = items[i], items[i + 1 + offset]
            if not (first.group_id and first.group_id == second.group_id):
                found.append(Suggestion(first, second, round(score)))
    found.sort(key=lambda s: (-s.score, s.first.position, s.second.position))
    return found[:MOST_SUGGESTIONS]


def groups_of(workshop_id: int, section: Section) -> list[ItemGroup]:
    """The list's groups that have items, for the "Add to group" choice."""
    used = section.model.objects.filter(workshop_id=workshop_id, group__isnull=False)
    return list(ItemGroup.objects.filter(pk__in=used.values("group_id")))
