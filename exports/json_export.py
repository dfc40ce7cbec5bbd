"""A workshop as one JSON document (format: exports/schema.py)."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from django.db import models
from django.utils import timezone

from workshop.models import DataProfile, Workshop, facilitator_name
from workshop.sections import LISTS as BOARD_LISTS

from . import schema


def _ref_order(ref: str) -> tuple[str, int]:
    prefix, _, number = ref.rpartition("-")
    return prefix, int(number)


def _value(field: models.Field, item: models.Model, refs: dict[Any, str]) -> Any:
    if field.many_to_many:
        return sorted(
            (refs[related] for related in getattr(item, field.name).all()), key=_ref_order
        )
    if field.is_relation:
        related = getattr(item, field.name)
        return None if related is None else refs[related]
    value = getattr(item, field.name)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _times(item: models.Model) -> dict[str, str]:
    return {name: getattr(item, name).isoformat() for name in schema.TIMES}


def _sample(profile: DataProfile, hide_author: bool = False) -> dict[str, Any]:
    found = {name: getattr(profile, name) for name in schema.SAMPLE_FIELDS}
    if hide_author:  # who profiled it is, in practice, who wrote the source
        found["by"] = ""
    found["created_at"] = profile.created_at.isoformat()
    # A finding's risk is a database id: the file names no ids.
    found["findings"] = [finding | {"risk": None} for finding in profile.findings]
    return found


def export_workshop(workshop: Workshop, hidden_authors: Collection[str] = ()) -> dict[str, Any]:
    """Every field of every item. `hidden_authors`: sections whose authors the reader
    may not see (anonymous sections, for anyone but a facilitator); left blank."""
    data: dict[str, Any] = {
        "schema": schema.SCHEMA,
        "version": schema.VERSION,
        "exported_at": timezone.now().isoformat(),
        "generator": "Attune",
        "workshop": {name: getattr(workshop, name) for name in schema.WORKSHOP_FIELDS},
        "facilitator": facilitator_name(workshop.owner),
        "agenda": [
            {name: getattr(phase, name) for name in schema.AGENDA_FIELDS}
            for phase in workshop.phases.order_by("position", "pk")
        ],
    }
    north_star = workshop.north_star
    data["north_star"] = {name: getattr(north_star, name) for name in schema.NORTH_STAR_FIELDS}
    if "north_star" in hidden_authors:
        data["north_star"].update(dict.fromkeys(schema.AUTHOR_FIELDS, ""))
    refs: dict[Any, str] = {}
    samples: dict[int, list[DataProfile]] = {}
    for profile in DataProfile.objects.filter(workshop=workshop).order_by("-current",
                                                                          "-created_at"):
        samples.setdefault(profile.data_source_id, []).append(profile)
    for spec in schema.LISTS:
        items = list(
            BOARD_LISTS[spec.key]
            .revealed(workshop.pk)
            .prefetch_related(*[field.name for field in spec.fields if field.many_to_many])
        )
        for number, item in enumerate(items, start=1):
            refs[item] = f"{spec.ref_prefix}-{number}"
        rows = []
        for item in items:
            row: dict[str, Any] = {"ref": refs[item]}
            row.update({field.name: _value(field, item, refs) for field in spec.fields})
            row[schema.GROUP] = item.group_title or None
            hidden = spec.key in hidden_authors
            if spec.key == "data_sources":
                row[schema.SAMPLES] = [_sample(profile, hidden)
                                       for profile in samples.get(item.pk, [])]
            if hidden:
                row.update(dict.fromkeys(schema.AUTHOR_FIELDS, ""))
            row.update(_times(item))
            rows.append(row)
        data[spec.key] = rows
    data["counts"] = {spec.key: len(data[spec.key]) for spec in schema.LISTS}
    return data


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
