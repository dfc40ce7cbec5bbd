"""The JSON format of a workshop: `{"schema": "attune.workshop", "version": 2, ...}`.

Version 2 adds the workshop's `round` (1 for a first workshop, N + 1 for one started as
the next round of another), `facilitator` (the owner's display name, for the record) and
`counts` (items per list: an import checks the file holds as many, so a file cut short
is refused, not imported half). A version 1 file imports as round 1 (`upgrade`).

One entry per list of the board, in an order where every reference points back to
an entry already listed. Each item carries every field of its model except the
database id, the workshop it belongs to and its edit counter (`version`); its
creation and change times ride along as `created_at` / `updated_at`, for the
record only. Items refer to each other by `ref`, a key unique within the file
(`"recipe-3"`), never by database id, so a file imports into any database.

An item in a group of similar items carries the group's name as `group` (null when in
none): items of one list with the same `group` are one group.

A data source carries `samples`: the profiles of the samples profiled for it (the
current one first, then the older ones, which keep only their size and scores); figures
and masked examples only, as the board keeps them (workshop.models.DataProfile).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from workshop.models import (
    ActionItem,
    AgendaPhase,
    BoardItem,
    DataSource,
    Decision,
    ExampleInteraction,
    Goal,
    NorthStar,
    ParkingLotItem,
    Recipe,
    Risk,
    Stakeholder,
)

SCHEMA = "attune.workshop"
VERSION = 2

# Not content: where the row lives, and its edit counter for lost-update checks.
SKIPPED = {"id", "workshop", "version", "created_at", "updated_at", "group",
           # an id in another workshop (the previous round's), meaningless in a file
           "carried_from"}
# The name of the item's group (workshop.models.ItemGroup), or null.
GROUP = "group"
# What says who wrote an item (their name, and their key, which the presence list pairs
# with the name): both blanked where the reader may not see authors (anonymous lists).
AUTHOR_FIELDS = ("author_name", "author")
TIMES = ("created_at", "updated_at")
SAMPLES = "samples"
SAMPLE_FIELDS = ("current", "by", "filename", "file_format", "encoding", "rows",
                 "column_count", "duplicate_rows", "completeness", "newest", "scores",
                 "columns", "findings", "notes", "created_at")


@dataclass(frozen=True)
class ListSpec:
    key: str  # the board's section key and the JSON key
    model: type[BoardItem]
    ref_prefix: str

    @property
    def fields(self) -> list[models.Field]:
        return content_fields(self.model)

    @property
    def links(self) -> dict[str, str]:
        """Field name -> the list its references point into."""
        return {
            field.name: TARGETS[field.related_model] for field in self.fields if field.is_relation
        }


def field_of(model: type[models.Model], name: str) -> models.Field:
    """A model's own field by name (never a reverse relation, which has no column)."""
    found = model._meta.get_field(name)
    assert isinstance(found, models.Field), (model, name)
    return found


def content_fields(model: type[models.Model]) -> list[models.Field]:
    concrete = [f for f in model._meta.get_fields() if f.concrete and not f.auto_created]
    return [f for f in concrete if f.name not in SKIPPED and not f.one_to_many]


# Dependency order: a list only refers to lists before it.
LISTS = [
    ListSpec("stakeholders", Stakeholder, "stakeholder"),
    ListSpec("interactions", ExampleInteraction, "interaction"),
    ListSpec("data_sources", DataSource, "data-source"),
    ListSpec("goals", Goal, "goal"),
    ListSpec("recipes", Recipe, "recipe"),
    ListSpec("risks", Risk, "risk"),
    ListSpec("decisions", Decision, "decision"),
    ListSpec("action_items", ActionItem, "action-item"),
    ListSpec("parking_lot", ParkingLotItem, "parking-lot"),
]
BY_KEY = {spec.key: spec for spec in LISTS}
TARGETS: dict[type[models.Model] | None, str] = {spec.model: spec.key for spec in LISTS}

WORKSHOP_FIELDS = ("title", "organisation", "method", "round")
AGENDA_FIELDS = [f.name for f in content_fields(AgendaPhase)]
NORTH_STAR_FIELDS = [f.name for f in content_fields(NorthStar)]
TOP_LEVEL = {
    "schema",
    "version",
    "exported_at",
    "generator",
    "workshop",
    "agenda",
    "north_star",
    "facilitator",
    "counts",
    *BY_KEY,
}


def _from_1(data: dict) -> dict:
    """Version 1 had no rounds, facilitator or counts: a first round."""
    workshop = data.get("workshop")
    if isinstance(workshop, dict):
        data["workshop"] = {**workshop, "round": 1}
    return {**data, "version": 2}


# An older file is brought up to VERSION one step at a time.
UPGRADES = {1: _from_1}


def upgrade(data: dict) -> dict:
    """The file's data in this version's shape (unchanged when it is already)."""
    while isinstance(data.get("version"), int) and data["version"] in UPGRADES:
        data = UPGRADES[data["version"]](data)
    return data
