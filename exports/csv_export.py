"""Every list of the board as CSV, one file per section, in one zip (for spreadsheets).

Columns are the item's fields (choices by their label, relations by the related
items' names), the name of its group of similar items, then what the board derives
(readiness and what the current data sample showed, quadrant, score, gate).
Cells that a spreadsheet would run as a formula are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Collection, Iterable
from typing import Any

from django.db import models

from workshop.models import NorthStar, Workshop, facilitator_name
from workshop.profiler import percent
from workshop.sections import LISTS as BOARD_LISTS

from . import schema

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
def _sampled(read: Any) -> Any:
    """A figure of the source's current sample, or blank when none was profiled."""
    return lambda item: read(item.profile) if item.profile else ""


DERIVED = {
    "data_sources": [
        ("readiness", lambda item: item.get_readiness_display()),
        ("sample profiled", _sampled(lambda profile: f"{profile.created_at:%Y-%m-%d}")),
        ("sample rows", _sampled(lambda profile: profile.rows)),
        ("sample completeness", _sampled(lambda profile: percent(profile.completeness))),
        ("sample duplicated rows", _sampled(lambda profile: profile.duplicate_rows)),
        ("personal data found", _sampled(lambda profile: "; ".join(
            f"{finding['label']} ({finding['column']})" for finding in profile.findings))),
    ],
    "recipes": [
        ("quadrant", lambda item: item.get_quadrant_display()),
        ("gate", lambda item: "; ".join(item.gate_problems()) or "met"),
    ],
    "risks": [
        ("score", lambda item: item.score),
        ("unmitigated high risk", lambda item: "yes" if item.blocks_roadmap else "no"),
    ],
}


def safe(value: Any) -> str:
    """A cell's text; one a spreadsheet would evaluate as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _cell(field: models.Field, item: models.Model) -> Any:
    if field.many_to_many:
        return "; ".join(str(related) for related in getattr(item, field.name).all())
    if field.choices:
        return getattr(item, f"get_{field.name}_display")()
    value = getattr(item, field.name)
    return value.isoformat() if hasattr(value, "isoformat") else value


def _csv(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([safe(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM tells Excel it is UTF-8


def _title(field: models.Field) -> str:
    return str(field.verbose_name)


def section_csv(workshop: Workshop, key: str, hide_authors: bool) -> bytes:
    spec = schema.BY_KEY[key]
    fields = spec.fields
    many = [field.name for field in fields if field.many_to_many]
    items = BOARD_LISTS[key].revealed(workshop.pk).prefetch_related(*many)
    derived = DERIVED.get(key, [])
    header = [_title(field) for field in fields] + ["group"] + [name for name, _ in derived]
    rows = []
    for item in items:
        row = [_cell(field, item) for field in fields]
        if hide_authors:
            _blank_authors(row, fields)
        rows.append(row + [item.group_title] + [compute(item) for _, compute in derived])
    return _csv(header, rows)


def _blank_authors(row: list[str], fields: list) -> None:
    names = [field.name for field in fields]
    for name in schema.AUTHOR_FIELDS:
        if name in names:
            row[names.index(name)] = ""


def north_star_csv(workshop: Workshop, hide_authors: bool) -> bytes:
    north_star = NorthStar.objects.get(workshop=workshop)
    fields = [
        schema.field_of(NorthStar, name) for name in schema.NORTH_STAR_FIELDS if name != "position"
    ]
    row = [_cell(field, north_star) for field in fields]
    if hide_authors:
        _blank_authors(row, fields)
    # The workshop's round, its facilitator by name and what each list holds, as the
    # JSON's head carries them.
    counts = {spec.key: BOARD_LISTS[spec.key].revealed(workshop.pk).count()
              for spec in schema.LISTS}
    header = (["workshop", "organisation", "round", "facilitator"]
              + [_title(field) for field in fields] + [f"{key} count" for key in counts])
    return _csv(header, [[workshop.title, workshop.organisation, workshop.round,
                          facilitator_name(workshop.owner), *row, *counts.values()]])


def zip_archive(workshop: Workshop, hidden_authors: Collection[str] = ()) -> bytes:
    """The zip: north_star.csv, then one CSV per list of the board."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("north_star.csv", north_star_csv(workshop, "north_star" in hidden_authors))
        for spec in schema.LISTS:
            archive.writestr(
                f"{spec.key}.csv", section_csv(workshop, spec.key, spec.key in hidden_authors)
            )
    return buffer.getvalue()
