"""Importing a workshop file, and duplicating a workshop (an export imported again).

Each runs in one transaction: the file is checked completely first, and a failure
anywhere leaves nothing behind. The new workshop starts like any other (through
workshop.services.create_workshop: agenda, North Star, room, its creation event)
and then receives the file's board, recorded as one more board event.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models, transaction

from sessions.access import FACILITATE, Membership
from workshop.event_kinds import Kind
from workshop.events import record_event
from workshop.models import (
    SHORT,
    AgendaPhase,
    DataProfile,
    ItemGroup,
    NorthStar,
    Workshop,
    facilitator_name,
)
from workshop.services import create_workshop

from . import schema
from .json_export import export_workshop
from .json_import import Plan, Row, check

COPY_SUFFIX = " (copy)"


def copy_title(title: str) -> str:
    return title[: SHORT - len(COPY_SUFFIX)].rstrip() + COPY_SUFFIX


def _replace_agenda(workshop: Workshop, phases: list[AgendaPhase]) -> None:
    """The file's agenda instead of the method's: same keys updated, others added/removed."""
    existing = {phase.key: phase for phase in workshop.phases.all()}
    for phase in phases:
        current = existing.pop(phase.key, None)
        if current is None:
            phase.workshop = workshop
            phase.save()
            continue
        for name in schema.AGENDA_FIELDS:
            setattr(current, name, getattr(phase, name))
        current.save()
    for leftover in existing.values():
        leftover.delete()


def _create_lists(workshop: Workshop, plan: Plan) -> None:
    created: dict[tuple[str, str], Any] = {}
    for spec in schema.LISTS:
        rows = plan.lists[spec.key]
        many = [name for name in spec.links if spec.model._meta.get_field(name).many_to_many]
        groups: dict[str, ItemGroup] = {}
        for row in rows:
            row.item.workshop = workshop
            if row.group:
                row.item.group = groups.get(row.group) or groups.setdefault(
                    row.group, ItemGroup.objects.create(workshop=workshop, section=spec.key,
                                                        title=row.group))
            for name, target in spec.links.items():
                if name not in many:
                    ref = row.links[name]
                    setattr(row.item, name, created[(target, ref)] if ref else None)
        spec.model.objects.bulk_create([row.item for row in rows])
        for row in rows:
            created[(spec.key, row.ref)] = row.item
        _create_samples(workshop, rows)
        for name in many:
            field = schema.field_of(spec.model, name)
            assert isinstance(field, models.ManyToManyField)
            through: Any = field.remote_field.through
            source, target_name = field.m2m_field_name(), field.m2m_reverse_field_name()
            target = spec.links[name]
            through.objects.bulk_create(
                through(
                    **{f"{source}_id": row.item.pk, f"{target_name}_id": created[(target, ref)].pk}
                )
                for row in rows
                for ref in dict.fromkeys(row.links[name])  # a repeated ref counts once
            )


def _create_samples(workshop: Workshop, rows: list[Row]) -> None:
    """A data source's sample profiles, with the times the file gives them."""
    samples = []
    for row in rows:
        for profile in row.samples:
            profile.workshop, profile.data_source_id = workshop, row.item.pk
            samples.append(profile)
    created = {id(profile): profile.created_at for profile in samples}
    DataProfile.objects.bulk_create(samples)  # auto_now_add sets created_at: put it back
    for profile in samples:
        profile.created_at = created[id(profile)]
    DataProfile.objects.bulk_update(samples, ["created_at"])


@transaction.atomic
def import_workshop(
    owner: Any, data: Any, *, title: str | None = None, kind: Kind = Kind.WORKSHOP_IMPORTED
) -> Workshop:
    """A new workshop owned by `owner` from an export's data; ImportRefused if invalid."""
    plan = check(data)
    workshop = create_workshop(owner, title or plan.title, plan.organisation, plan.method)
    if plan.round != 1:
        Workshop.objects.filter(pk=workshop.pk).update(round=plan.round)
    if plan.agenda is not None:
        _replace_agenda(workshop, plan.agenda)
    if plan.north_star:
        NorthStar.objects.filter(workshop=workshop).update(**plan.north_star)
    _create_lists(workshop, plan)
    record_event(workshop.pk, kind, actor=facilitator_name(owner))
    return Workshop.objects.get(pk=workshop.pk)


def duplicate_workshop(member: Membership, owner: Any) -> Workshop:
    """A copy of the member's workshop, titled "… (copy)", owned by `owner`: the board
    and agenda, not the sessions, people or votes. Facilitators only."""
    member.require(FACILITATE)
    if owner is None or not owner.is_authenticated:
        raise PermissionDenied("Sign in to duplicate a workshop: the copy needs an owner.")
    data = export_workshop(member.workshop)
    return import_workshop(
        owner, data, title=copy_title(member.workshop.title), kind=Kind.WORKSHOP_DUPLICATED
    )
