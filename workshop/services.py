"""Every change to a board goes through one of these functions.

Each takes the actor's membership and validated data, checks permission,
writes in one transaction, bumps the board version and records a board event.
Views, commands, tests and the admin all call them (docs/architecture.md, rule 2).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ManyToManyField, Max, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from sessions.access import EDIT, FACILITATE, Membership
from sessions.models import Room
from sessions.room import check_unlocked
from sessions.selectors import room_for

from .choices import RoadmapPhase
from .event_kinds import Kind
from .events import lock_board, record_event
from .methods import get_method
from .models import (
    AgendaPhase,
    BoardEvent,
    BoardItem,
    NorthStar,
    Recipe,
    Workshop,
    facilitator_name,
    visible,
)
from .sections import LISTS, Section

Item = TypeVar("Item", bound=BoardItem)


class ConflictError(Exception):
    """An edit was based on an older version of the item than the one saved."""

    def __init__(self, current: BoardItem):
        super().__init__(f"{current} changed since it was opened")
        self.current = current


def _apply(item: BoardItem, data: dict[str, Any]) -> list[int]:
    """Save the item with `data`; returns the pks its links pointed to before and no
    longer do (pages redraw those items too)."""
    many = {}
    for name, value in data.items():
        if item._meta.get_field(name).many_to_many:
            many[name] = value
        else:
            setattr(item, name, value)
    adding = item._state.adding
    item.save()
    unlinked: list[int] = []
    for name, value in many.items():
        # A new item links to nothing yet: adding its links saves reading them first.
        # An edited one drops its links, learning which they were in the same
        # statement, and adds the posted ones: one DELETE and one INSERT.
        if not adding:
            kept = {target.pk for target in value}
            unlinked += [pk for pk in _drop_links(item, name) if pk not in kept]
        getattr(item, name).add(*value)
    return unlinked


def _drop_links(item: BoardItem, name: str) -> list[int]:
    """Delete the item's links of many-to-many field `name`; returns whom they named."""
    field = item._meta.get_field(name)
    assert isinstance(field, ManyToManyField)  # the callers name many-to-many fields
    through = getattr(type(item), name).through
    source = through._meta.get_field(field.m2m_field_name()).column
    target = through._meta.get_field(field.m2m_reverse_field_name()).column
    table = through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{table}" WHERE "{source}" = %s RETURNING "{target}"',  # noqa: S608 - names are the model's
            [item.pk])
        return [row[0] for row in cursor.fetchall()]


def _locked(model: type[Item], member: Membership, item_id: int) -> Item:
    """The item, its row locked for this write; one written privately by someone else
    is not there for a participant (they cannot see it until the reveal)."""
    item = model.objects.select_for_update().get(workshop_id=member.workshop.pk, pk=item_id)
    if not sees(member, item):
        raise model.DoesNotExist(f"No {model.__name__} {item_id} here")
    return item


def may_change(member: Membership, author: str) -> bool:
    """Whether this member may edit, move, delete or restore an item by `author`: its
    author and the facilitators may, and everyone while the facilitator has opened
    editing to all (sessions.room.set_open_editing)."""
    return (member.is_facilitator or (bool(author) and author == member.person)
            or room_for(member.workshop).open_editing)


def check_may_change(member: Membership, section: Section, author: str) -> None:
    if not may_change(member, author):
        raise PermissionDenied(
            f"Only its author and the facilitators can change this {section.item_name}. "
            "Add your own, or ask the facilitator to let everyone edit.")


def sees(member: Membership, item: BoardItem) -> bool:
    """Whether this member may see the item: everyone, unless it was written privately
    and is not yet revealed, when only its author and the facilitators may."""
    return visible(item.private, item.author, member.person, member.is_facilitator)


def _check_version(item: BoardItem, base_version: int | None) -> None:
    if base_version is not None and base_version != item.version:
        raise ConflictError(item)


def check_allowance(member: Membership, section: Section) -> None:
    """A participant adds at most MAX_ITEMS_PER_PERSON items to a list: a board is for
    the room, and one script or stuck key must not bury it. Facilitators are trusted."""
    if member.is_facilitator:
        return
    most = settings.MAX_ITEMS_PER_PERSON
    added = section.model.objects.filter(workshop_id=member.workshop.pk,
                                         author=member.person).count()
    if added >= most:
        raise ValidationError(
            f"You have added {added} items to {section.title}, the most one person may. "
            f"Edit one of yours, or ask the facilitator to add what is left.")


@transaction.atomic
def add_item(member: Membership, section: Section, data: dict[str, Any]) -> BoardItem:
    # The board first: two adds at once count the person's items and take the next
    # position one after the other (on PostgreSQL both would read the same count).
    version = lock_board(member.workshop.pk)
    item = insert_item(member, section, data)
    record_event(member.workshop.pk, Kind.ITEM_ADDED, section.key, item.pk, member.name,
                 version=version)
    return item


def insert_item(member: Membership, section: Section, data: dict[str, Any]) -> BoardItem:
    """Add an item, checked as `add_item` checks it, leaving its event to the caller
    (a write that records it with others: workshop.data_profiles.accept_finding)."""
    member.require(EDIT)
    check_unlocked(member, section.key)
    workshop_id = member.workshop.pk
    check_allowance(member, section)
    # Last in its list, computed by the INSERT itself (one query, not a read first).
    top = (section.model.objects.filter(workshop_id=workshop_id).order_by()
           .values("workshop_id").annotate(top=Max("position")).values("top")[:1])
    item = section.model(
        workshop_id=workshop_id,
        position=Coalesce(Subquery(top), Value(0)) + 1,
        author_name=member.name,
        author=member.person,
        private=section.key in room_for(member.workshop).private_sections,
    )
    _apply(item, data)
    del item.position  # the expression, not the value: read again if anything asks
    return item


@transaction.atomic
def update_item(
    member: Membership, section: Section, item_id: int, data: dict[str, Any],
    base_version: int | None,
) -> BoardItem:
    member.require(EDIT)
    check_unlocked(member, section.key)
    item = _locked(section.model, member, item_id)
    check_may_change(member, section, item.author)
    _check_version(item, base_version)
    item.version += 1
    item.edited_at = timezone.now()
    unlinked = _apply(item, data)
    record_event(member.workshop.pk, Kind.ITEM_UPDATED, section.key, item.pk, member.name,
                 unlinked)
    return item


@transaction.atomic
def delete_item(member: Membership, section: Section, item_id: int) -> BoardEvent:
    """Delete an item, keeping it as it was in the event, so that whoever could delete
    it can restore it (`restore_item`)."""
    member.require(EDIT)
    check_unlocked(member, section.key)
    item = _locked(section.model, member, item_id)
    check_may_change(member, section, item.author)
    kept = snapshot(item)
    item.delete()
    return record_event(member.workshop.pk, Kind.ITEM_DELETED, section.key, item_id,
                        member.name, snapshot=kept)


def _linking(item: BoardItem) -> list[tuple[Any, str]]:
    """The relations by which items of other lists link to this one: (model, field)."""
    board_models = {section.model for section in LISTS.values()}
    return [(relation.related_model, relation.field.name)
            for relation in item._meta.related_objects
            if relation.related_model in board_models]


def snapshot(item: BoardItem) -> dict[str, Any]:
    """The item as Django's serializer writes it (its fields, its links' ids), and the
    items of other lists that link to it (read in one query), to link again on
    restore."""
    relations = _linking(item)
    reads = [model._default_manager.filter(**{field: item.pk}).order_by()
             .annotate(relation=Value(index)).values_list("relation", "pk")
             for index, (model, field) in enumerate(relations)]
    pairs = list(reads[0].union(*reads[1:], all=True)) if reads else []
    linked = [[model._meta.label, field, [pk for index, pk in pairs if index == number]]
              for number, (model, field) in enumerate(relations)]
    return {"object": json.loads(serializers.serialize("json", [item])),
            "linked": [entry for entry in linked if entry[2]]}


@transaction.atomic
def restore_item(member: Membership, event_id: int) -> BoardItem:
    """Put a deleted item back as it was, with its links to what is still on the board;
    whoever could delete it may (its author, the facilitators, everyone while editing is
    open to all)."""
    member.require(EDIT)
    event = (BoardEvent.objects.select_for_update()
             .get(workshop_id=member.workshop.pk, pk=event_id, kind=Kind.ITEM_DELETED))
    section = LISTS[event.section]
    check_unlocked(member, section.key)
    back = ValidationError(f"That {section.item_name} is back on the board already.")
    if not event.snapshot:
        raise back
    [found] = serializers.deserialize("json", json.dumps(event.snapshot["object"]))
    item = found.object
    assert isinstance(item, BoardItem)  # the snapshot of a board list's item
    if not sees(member, item):  # someone else's private writing: not on their board
        raise BoardEvent.DoesNotExist(f"No deleted {section.item_name} {event_id} here")
    check_may_change(member, section, item.author)
    _drop_gone_choices(item)
    # Private only while its list still is (the reveal may have come meanwhile).
    item.private = item.private and section.key in room_for(member.workshop).private_sections
    try:
        with transaction.atomic():
            item.save(force_insert=True)
    except IntegrityError:
        raise back from None
    for name, pks in (found.m2m_data or {}).items():
        field = item._meta.get_field(name)
        assert isinstance(field, ManyToManyField)
        _link_rows(field, item.pk, list(pks), source_is_item=True)
    for label, name, pks in event.snapshot.get("linked", []):
        field = apps.get_model(label)._meta.get_field(name)
        if isinstance(field, ManyToManyField):
            _link_rows(field, item.pk, pks, source_is_item=False)
        else:  # a foreign key: only where nothing was chosen meanwhile
            field.model._default_manager.filter(
                workshop_id=member.workshop.pk, pk__in=pks,
                **{f"{name}__isnull": True}).update(**{name: item})
    record_event(member.workshop.pk, Kind.ITEM_RESTORED, section.key, item.pk, member.name)
    return item


def _column(model: Any, name: str) -> str:
    return model._meta.get_field(name).column


def _drop_gone_choices(item: BoardItem) -> None:
    """Clear the item's choices (a goal's data source) that were deleted meanwhile."""
    for field in item._meta.concrete_fields:
        target = field.related_model
        if field.many_to_one and target is not None and target is not Workshop:
            pk = getattr(item, field.attname)
            if pk is not None and not target._default_manager.filter(pk=pk).exists():
                setattr(item, field.attname, None)


def _link_rows(field: ManyToManyField, item_pk: int, pks: list[int], *,
               source_is_item: bool) -> None:
    """Link the item again, in one statement, to those of `pks` still on the board:
    `field` is the item's own many-to-many (source_is_item) or another model's that
    names the item."""
    through = field.remote_field.through
    others = field.related_model if source_is_item else field.model
    if not pks or through is None or not isinstance(others, type):
        return
    source = _column(through, field.m2m_field_name())
    target = _column(through, field.m2m_reverse_field_name())
    mine, theirs = (source, target) if source_is_item else (target, source)
    marks = ", ".join(["%s"] * len(pks))
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{through._meta.db_table}" ("{mine}", "{theirs}") '  # noqa: S608 - names are the model's
            f'SELECT %s, "id" FROM "{others._meta.db_table}" WHERE "id" IN ({marks})',
            [item_pk, *pks])


@transaction.atomic
def move_item(member: Membership, section: Section, item_id: int, offset: int) -> None:
    """Move an item one place earlier (-1) or later (+1) in its list."""
    member.require(EDIT)
    check_unlocked(member, section.key)
    # The list's order, locked (not whole items: a list may hold a thousand), sorted
    # once locked: PostgreSQL sorts before it locks, so a move that waited on another
    # would see the new positions in the old order.
    rows = sorted(section.model.objects.select_for_update()
                  .filter(workshop_id=member.workshop.pk)
                  .values_list("position", "pk", "private", "author"))
    index = next((i for i, row in enumerate(rows) if row[1] == item_id), None)
    if index is None or not visible(rows[index][2], rows[index][3], member.person,
                                    member.is_facilitator):
        raise section.model.DoesNotExist(f"No {section.item_name} {item_id} here")
    check_may_change(member, section, rows[index][3])
    target = index + offset
    if not 0 <= target < len(rows):
        return
    (mine, _, _, _), (theirs, other, _, _) = rows[index], rows[target]
    objects = section.model.objects
    if mine != theirs:  # the two swap places: two rows written, whatever the list's length
        objects.filter(pk=item_id).update(position=theirs)
        objects.filter(pk=other).update(position=mine)
    else:  # equal positions (ordered by pk): number the list afresh, once
        order = [row[1] for row in rows]
        order[index], order[target] = order[target], order[index]
        renumbered = []
        for position, pk in enumerate(order, start=1):
            item = section.model(position=position)
            item.pk = pk  # only the position is written
            renumbered.append(item)
        objects.bulk_update(renumbered, ["position"])
    record_event(member.workshop.pk, Kind.ITEM_MOVED, section.key, item_id, member.name)


@transaction.atomic
def update_north_star(
    member: Membership, data: dict[str, Any], base_version: int | None
) -> NorthStar:
    member.require(EDIT)
    check_unlocked(member, "north_star")
    north_star = NorthStar.objects.select_for_update().get(workshop_id=member.workshop.pk)
    _check_version(north_star, base_version)
    north_star.version += 1
    north_star.author_name = north_star.author_name or member.name
    _apply(north_star, data)
    record_event(member.workshop.pk, Kind.NORTH_STAR_UPDATED, "north_star", north_star.pk,
                 member.name)
    return north_star


@transaction.atomic
def place_on_roadmap(
    member: Membership, recipe_id: int, data: dict[str, Any], base_version: int | None,
    override_reason: str = "",
) -> Recipe:
    """Put a recipe in a roadmap phase. A gated recipe enters 'now' only with an override,
    which a facilitator may record in the same step (`override_reason`)."""
    member.require(EDIT)
    check_unlocked(member, "roadmap")
    recipe = _locked(Recipe, member, recipe_id)
    _check_version(recipe, base_version)
    if override_reason.strip():
        member.require(FACILITATE)
        _record_override(recipe, member, override_reason)
        record_event(member.workshop.pk, Kind.GATE_OVERRIDDEN, "roadmap", recipe.pk,
                     member.name)
    if (
        data.get("phase") == RoadmapPhase.NOW
        and recipe.phase != RoadmapPhase.NOW
        and not recipe.may_enter_now()
    ):
        raise ValidationError(
            {"phase": "This recipe's readiness gate is not met: "
                      + "; ".join(recipe.gate_problems())
                      + ". It can enter “now” only with the facilitator's recorded override."}
        )
    recipe.version += 1
    _apply(recipe, data)
    record_event(member.workshop.pk, Kind.ROADMAP_PLACED, "roadmap", recipe.pk, member.name)
    return recipe


def _record_override(recipe: Recipe, member: Membership, reason: str) -> None:
    reason = reason.strip()
    recipe.gate_override_reason = reason
    recipe.gate_override_by = member.name if reason else ""
    recipe.gate_override_at = timezone.now() if reason else None


@transaction.atomic
def override_gate(member: Membership, recipe_id: int, reason: str) -> Recipe:
    """Record why a gated recipe may go ahead; an empty reason withdraws the override."""
    member.require(FACILITATE)
    recipe = _locked(Recipe, member, recipe_id)
    _record_override(recipe, member, reason)
    recipe.version += 1
    recipe.save()
    record_event(member.workshop.pk, Kind.GATE_OVERRIDDEN, "roadmap", recipe.pk, member.name)
    return recipe


@transaction.atomic
def update_phase(member: Membership, phase_id: int, minutes: int, skipped: bool) -> AgendaPhase:
    member.require(FACILITATE)
    phase = AgendaPhase.objects.select_for_update().get(workshop_id=member.workshop.pk,
                                                        pk=phase_id)
    phase.minutes, phase.skipped = minutes, skipped
    phase.save(update_fields=["minutes", "skipped"])
    record_event(member.workshop.pk, Kind.AGENDA_UPDATED, "agenda", phase.pk, member.name)
    return phase


@transaction.atomic
def move_phase(member: Membership, phase_id: int, offset: int) -> list[AgendaPhase]:
    """Move a phase up (-1) or down (+1) the agenda; returns the agenda in its new order."""
    member.require(FACILITATE)
    phases = list(AgendaPhase.objects.select_for_update().filter(workshop_id=member.workshop.pk))
    index = next((i for i, phase in enumerate(phases) if phase.pk == phase_id), None)
    if index is None:
        raise AgendaPhase.DoesNotExist(f"No phase {phase_id} in this workshop")
    target = index + offset
    if 0 <= target < len(phases):
        phases[index], phases[target] = phases[target], phases[index]
        for position, phase in enumerate(phases):
            phase.position = position
        AgendaPhase.objects.bulk_update(phases, ["position"])
        record_event(member.workshop.pk, Kind.AGENDA_UPDATED, "agenda", phase_id, member.name)
    return phases


@transaction.atomic
def rename_workshop(member: Membership, title: str, organisation: str) -> Workshop:
    """Rename the workshop and its organisation (the board's header, the roadmap)."""
    member.require(FACILITATE)
    workshop = Workshop.objects.select_for_update().get(pk=member.workshop.pk)
    workshop.title, workshop.organisation = title, organisation
    workshop.save(update_fields=["title", "organisation"])
    record_event(workshop.pk, Kind.WORKSHOP_RENAMED, "workshop", workshop.pk, member.name)
    return workshop


@transaction.atomic
def create_workshop(owner: Any, title: str, organisation: str = "",
                    method: str = "prepersonalization") -> Workshop:
    """A new workshop with the method's agenda and an empty North Star."""
    template = get_method(method)
    workshop = Workshop.objects.create(
        owner=owner, title=title, organisation=organisation, method=method
    )
    AgendaPhase.objects.bulk_create(
        AgendaPhase(
            workshop=workshop, key=phase.key, title=phase.title, section=phase.section,
            prompt=phase.prompt, pitfalls=list(phase.pitfalls), minutes=phase.minutes,
            position=position,
        )
        for position, phase in enumerate(template.phases)
    )
    NorthStar.objects.create(workshop=workshop)
    first = workshop.phases.first()
    Room.objects.create(workshop=workshop, current_phase=first,
                        timer_remaining=first.minutes * 60 if first else None)
    record_event(workshop.pk, Kind.WORKSHOP_CREATED, actor=facilitator_name(owner))
    return workshop


def set_facilitator_name(user: Any, name: str) -> None:
    """The name the room sees for this facilitator from now on (blank: their login name).
    What they wrote before keeps the name it was signed with, like the event log."""
    user.first_name, user.last_name = name.strip(), ""
    user.save(update_fields=["first_name", "last_name"])
