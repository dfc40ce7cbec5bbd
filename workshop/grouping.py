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
from django.db.models import F
from rapidfuzz import fuzz, process, utils

from sessions.access import EDIT, Membership
from sessions.room import check_unlocked

from .event_kinds import Kind
from .events import record_event
from .models import SHORT, ItemGroup, visible, visible_q
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
    if "\x00" in title:  # no text column holds one (PostgreSQL refuses it)
        raise ValidationError("A group's name cannot hold a NUL character.")
    return title


@dataclass(frozen=True)
class _Row:
    pk: int
    position: int
    group_id: int | None
    private: bool
    author: str


@transaction.atomic
def group_items(member: Membership, section: Section, item_ids: list[int], *,
                group_id: int | None = None, title: str = "") -> ItemGroup:
    """Put these items of one list in one of its groups, or in a new one named `title`;
    they move to sit together, after the group's items (a new group: where its first
    item was)."""
    check_may_group(member, section)
    workshop_id = member.workshop.pk
    rows = _rows(section, workshop_id)
    wanted = set(item_ids)
    moving = [row for row in rows if row.pk in wanted]
    if not moving or len(moving) != len(wanted) or not all(
            visible(row.private, row.author, member.person, member.is_facilitator)
            for row in moving):
        raise section.model.DoesNotExist(f"No such {section.item_name} here")
    if group_id is not None:
        if group_id not in {group.pk for group in groups_of(member, section)}:
            raise ItemGroup.DoesNotExist(f"No such group of {section.item_name}s here")
        group = ItemGroup.objects.get(pk=group_id, workshop_id=workshop_id,
                                      section=section.key)
        if title:
            group.title = _title(title)
            group.save(update_fields=["title"])
    else:
        if not title:  # named after its first item, unless that is private writing
            title = (f"Similar {section.item_name}s" if moving[0].private
                     else str(section.model.objects.get(pk=moving[0].pk))[:SHORT])
        group = ItemGroup.objects.create(workshop_id=workshop_id, section=section.key,
                                         title=_title(title))
    members = [row for row in rows if row.group_id == group.pk and row.pk not in wanted]
    _place(section, workshop_id, rows, moving, group.pk,
           members[-1] if members else _before(rows, moving))
    # Renamed too: every card of the group shows the name; else only the ones that moved.
    changed = [row.pk for row in rows if row.group_id == group.pk or row.pk in wanted] if (
        title and group_id) else [row.pk for row in moving]
    _record(member, section, group.pk, changed)
    return group


def _rows(section: Section, workshop_id: int) -> list[_Row]:
    """The list's order and who may see what, locked; not whole items (a list may have
    a thousand). Sorted once locked: PostgreSQL sorts before it locks, so rows a
    concurrent write moved would come in their old order."""
    rows = [_Row(*values) for values in section.model.objects.select_for_update()
            .filter(workshop_id=workshop_id).order_by("position", "pk")
            .values_list("pk", "position", "group_id", "private", "author")]
    return sorted(rows, key=lambda row: (row.position, row.pk))


def _before(rows: list[_Row], moving: list[_Row]) -> _Row | None:
    """Where a new group goes: where its first item was, but never inside another
    group's run of cards (then just after it)."""
    first = rows.index(moving[0])
    if not first:
        return None
    moved = {row.pk for row in moving}
    rest = [row for row in rows[first - 1:] if row.pk not in moved]
    anchor = rest[0]
    for row in rest[1:]:
        if anchor.group_id is None or row.group_id != anchor.group_id:
            break
        anchor = row
    return anchor


def _place(section: Section, workshop_id: int, rows: list[_Row], moving: list[_Row],
           group_id: int | None, anchor: _Row | None) -> None:
    """Put the moving items, in `group_id`, right after `anchor` (None: first), in two
    statements whatever the list's length: the items after that place shift by as many
    as move in, and those take the gap (positions need not be consecutive)."""
    moved = {row.pk for row in moving}
    after = anchor.position if anchor is not None else 0
    section.model.objects.filter(workshop_id=workshop_id, position__gt=after).exclude(
        pk__in=moved).update(position=F("position") + len(moving))
    placed = []
    for offset, row in enumerate(moving, start=1):
        item = section.model(position=after + offset, group_id=group_id)
        item.pk = row.pk  # only the two fields are written
        placed.append(item)
    section.model.objects.bulk_update(placed, ["position", "group"])


@transaction.atomic
def ungroup_item(member: Membership, section: Section, item_id: int) -> None:
    """Take one item out of its group: it moves just after the group's other cards, so
    that they still sit together."""
    check_may_group(member, section)
    rows = _rows(section, member.workshop.pk)
    item = next((row for row in rows if row.pk == item_id), None)
    if item is None or not visible(item.private, item.author, member.person,
                                   member.is_facilitator):
        raise section.model.DoesNotExist(f"No such {section.item_name} here")
    if item.group_id is None:
        return
    others = [row for row in rows if row.group_id == item.group_id and row.pk != item.pk]
    if others:
        _place(section, member.workshop.pk, rows, [item], None, others[-1])
    else:  # the last of its group: it stays where it is
        section.model.objects.filter(pk=item.pk).update(group=None)
    _record(member, section, item.group_id, [item.pk])


@transaction.atomic
def rename_group(member: Membership, section: Section, group_id: int, title: str) -> ItemGroup:
    check_may_group(member, section)
    group = ItemGroup.objects.select_for_update().get(
        pk=group_id, workshop_id=member.workshop.pk, section=section.key)
    group.title = _title(title)
    group.save(update_fields=["title"])
    _record(member, section, group.pk, _items_of(section, group.pk))
    return group


@transaction.atomic
def dissolve_group(member: Membership, section: Section, group_id: int) -> None:
    """Ungroup every item of the group; they stay where they are."""
    check_may_group(member, section)
    # The list's rows before the group, as grouping takes them: in the other order a
    # dissolve and a grouping into the same group at once deadlock on PostgreSQL.
    _rows(section, member.workshop.pk)
    group = ItemGroup.objects.select_for_update().get(
        pk=group_id, workshop_id=member.workshop.pk, section=section.key)
    items = _items_of(section, group.pk)
    section.model.objects.filter(pk__in=items).update(group=None)
    group.delete()
    _record(member, section, group_id, items)


def _items_of(section: Section, group_id: int) -> list[int]:
    return list(section.model.objects.filter(group_id=group_id).values_list("pk", flat=True))


def _record(member: Membership, section: Section, group_id: int, items: list[int]) -> None:
    """One event per change; it names the items whose cards change (sessions/fragments
    redraws those, the list's order and where the list's items show)."""
    record_event(member.workshop.pk, Kind.ITEMS_GROUPED, section.key, group_id, member.name,
                 snapshot={"items": items})


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


def groups_of(member: Membership, section: Section) -> list[ItemGroup]:
    """The list's groups that hold an item this member sees, for the "Add to group"
    choice: a group of someone else's private writing is not on their board."""
    used = section.model.objects.filter(
        visible_q(member.person, member.is_facilitator), workshop_id=member.workshop.pk,
        group__isnull=False)
    return list(ItemGroup.objects.filter(pk__in=used.values("group_id")))
