"""Reading a workshop JSON file: everything is checked before anything is written.

`read_upload` turns the bytes into data; `check` turns the data into a Plan of
unsaved rows with their references resolved, or raises ImportRefused listing
what is wrong, each problem with where it is (`recipes[2].impact: ...`). Values
are checked by the model fields' own rules (choices, lengths, 1-5 scores), so the
file can hold nothing a person could not have typed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from workshop.methods import all_methods
from workshop.models import SHORT, AgendaPhase, BoardItem, DataProfile, NorthStar, Workshop

from . import schema
from .samples_import import check_samples, moment_of

MiB = 1024 * 1024
MAX_ITEMS = 2000  # per list; a workshop with more is not a workshop
MAX_PROBLEMS = 40


class ImportRefused(Exception):
    """The file cannot be imported; `problems` says why, `status` is the HTTP status."""

    def __init__(self, problems: list[str], status: int = 422):
        super().__init__("; ".join(problems))
        self.problems = problems[:MAX_PROBLEMS]
        self.more = max(0, len(problems) - MAX_PROBLEMS)
        self.status = status


@dataclass
class Row:
    """One item to create: its model instance and the refs its relations point to."""

    ref: str
    item: BoardItem
    links: dict[str, Any] = field(default_factory=dict)  # field name -> ref or [refs]
    group: str | None = None  # the name of its group of similar items
    samples: list[DataProfile] = field(default_factory=list)  # a data source's profiles


@dataclass
class Plan:
    title: str
    organisation: str
    method: str
    agenda: list[AgendaPhase] | None
    north_star: dict[str, Any]
    lists: dict[str, list[Row]]
    round: int = 1


def read_upload(upload: Any, max_bytes: int) -> Any:
    """The JSON in an uploaded file, read no further than `max_bytes`."""
    if upload is None:
        raise ImportRefused(["Choose a JSON file exported from Attune."], 400)
    if upload.size is not None and upload.size > max_bytes:
        raise ImportRefused(
            [
                f"The file is {upload.size / MiB:.1f} MB; the most Attune "
                f"imports is {max_bytes / MiB:.0f} MB."
            ],
            413,
        )
    raw = upload.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ImportRefused(
            [f"The file is larger than {max_bytes / MiB:.0f} MB, the most Attune imports."], 413
        )
    return parse(raw)


def parse(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportRefused(["The file is not text in UTF-8: is it a JSON export?"], 400) from None
    except json.JSONDecodeError as error:
        raise ImportRefused(
            [
                f"The file is not valid JSON: {error.msg} at line "
                f"{error.lineno}, column {error.colno}."
            ],
            400,
        ) from None
    except ValueError:
        # json's other ValueError: an integer past Python's 4,300-digit guard.
        raise ImportRefused(["The file holds a number far too long to be a workshop's."],
                            400) from None
    except RecursionError:
        raise ImportRefused(["The file is nested too deeply to be a workshop."], 400) from None


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    # One value, by the model field's rules ------------------------------------

    def value(self, where: str, model_field: models.Field, raw: Any) -> Any:
        kind = model_field.get_internal_type()
        if raw is None:
            if model_field.null:
                return None
            self.problem(where, "must not be empty (null).")
            return None
        expected = {
            "CharField": str,
            "TextField": str,
            "SlugField": str,
            "BooleanField": bool,
            "PositiveSmallIntegerField": int,
            "PositiveIntegerField": int,
            "DateField": str,
            "DateTimeField": str,
            "JSONField": list,
        }.get(kind)
        if expected is None:
            self.problem(where, f"has a type this importer does not know ({kind}).")
            return None
        if not isinstance(raw, expected) or (expected is int and isinstance(raw, bool)):
            self.problem(where, f"must be {_TYPE_NAMES[expected]}, not {_type_name(raw)}.")
            return None
        if kind == "JSONField":
            if not isinstance(raw, list) or not all(
                    isinstance(each, str) and "\x00" not in each for each in raw):
                self.problem(where, "must be a list of texts.")
                return None
            return raw
        if kind in ("DateTimeField", "DateField"):
            return self.moment(where, kind, raw)
        if isinstance(raw, str) and "\x00" in raw:
            self.problem(where, "contains a NUL character, which no text field can hold.")
            return None
        if isinstance(raw, str) and model_field.max_length and len(raw) > model_field.max_length:
            # TextField's max_length is only a form rule in Django; the file obeys it too.
            self.problem(
                where,
                f"is {len(raw)} characters long; at most {model_field.max_length} are allowed.",
            )
            return None
        try:
            return model_field.clean(raw, None)
        except ValidationError as error:
            self.problem(where, " ".join(error.messages))
            return None

    def moment(self, where: str, kind: str, raw: Any) -> Any:
        """A date or a date and time, from ISO 8601 text."""
        if not isinstance(raw, str):
            self.problem(where, f"must be text, not {_type_name(raw)}.")
            return None
        if kind == "DateTimeField":
            moment = moment_of(raw)
            if moment is None:
                self.problem(where, f"is not a date and time (ISO 8601): {raw[:40]!r}.")
            return moment
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.problem(where, f"is not a date (YYYY-MM-DD): {raw[:40]!r}.")
            return None

    def fields(
        self,
        where: str,
        model: type[models.Model],
        names: list[str],
        data: Any,
        extra: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """The checked values of one object's fields; missing ones take the default."""
        if not isinstance(data, dict):
            self.problem(where, f"must be an object, not {_type_name(data)}.")
            return {}
        unknown = sorted(set(data) - set(names) - set(extra))
        if unknown:
            self.problem(where, f"has fields Attune does not know: {', '.join(unknown[:8])}.")
        values = {}
        for name in names:
            model_field = schema.field_of(model, name)
            if name in data:
                values[name] = self.value(f"{where}.{name}", model_field, data[name])
            elif model_field.has_default() or model_field.blank:
                values[name] = (
                    model_field.get_default()
                    if model_field.has_default()
                    else ("" if not model_field.null else None)
                )
            else:
                self.problem(f"{where}.{name}", "is missing.")
        return values

    # The file ---------------------------------------------------------------

    def plan(self, data: Any) -> Plan | None:
        if not isinstance(data, dict) or data.get("schema") != schema.SCHEMA:
            raise ImportRefused(
                [
                    'This is not an Attune workshop export (its "schema" '
                    f'should be "{schema.SCHEMA}").'
                ],
                400,
            )
        data = schema.upgrade(data)
        if data.get("version") != schema.VERSION:
            raise ImportRefused(
                [
                    f"This export is version {data.get('version')!r} of the "
                    f"format; this Attune reads versions 1 to {schema.VERSION}."
                ],
                400,
            )
        unknown = sorted(set(data) - schema.TOP_LEVEL)
        if unknown:
            self.problem("file", f"has entries Attune does not know: {', '.join(unknown[:8])}.")
        head = self.fields("workshop", Workshop, list(schema.WORKSHOP_FIELDS), data.get("workshop"))
        method = head.get("method")
        if method and method not in all_methods():
            self.problem(
                "workshop.method", f"names a method this Attune does not have: {method!r}."
            )
        agenda = self.agenda(data.get("agenda"))
        north_star = (
            self.fields("north_star", NorthStar, schema.NORTH_STAR_FIELDS, data["north_star"])
            if data.get("north_star") is not None
            else {}
        )
        lists = {spec.key: self.rows(spec, data.get(spec.key, [])) for spec in schema.LISTS}
        self.links(lists)
        self.counts(data.get("counts"), data)
        if self.problems:
            return None
        return Plan(head["title"], head["organisation"], head["method"], agenda, north_star, lists,
                    head["round"])

    def counts(self, raw: Any, data: dict) -> None:
        """The file says how many items each list holds: a file cut short or edited by
        hand to lose items is refused rather than imported with fewer."""
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.problem("counts", f"should be an object, not {_type_name(raw)}.")
            return
        for key, said in raw.items():
            held = data.get(key)
            if key not in schema.BY_KEY:
                self.problem(f"counts.{key}", "names a list Attune does not have.")
            elif not isinstance(said, int) or isinstance(said, bool):
                self.problem(f"counts.{key}", f"should be a whole number, not {_type_name(said)}.")
            elif isinstance(held, list) and len(held) != said:
                self.problem(f"counts.{key}",
                             f"says {said} but the file holds {len(held)}: it may have been cut "
                             f"short. Export the workshop again.")

    def agenda(self, raw: Any) -> list[AgendaPhase] | None:
        if raw is None:
            return None  # the method's own agenda
        if not isinstance(raw, list):
            self.problem("agenda", f"must be a list, not {_type_name(raw)}.")
            return None
        phases, keys = [], set()
        for index, entry in enumerate(raw[:200]):
            values = self.fields(f"agenda[{index}]", AgendaPhase, schema.AGENDA_FIELDS, entry)
            if values.get("key") in keys:
                self.problem(f"agenda[{index}].key", f"repeats {values['key']!r}.")
            keys.add(values.get("key"))
            phases.append(AgendaPhase(**values))
        return phases

    def rows(self, spec: schema.ListSpec, raw: Any) -> list[Row]:
        if not isinstance(raw, list):
            self.problem(spec.key, f"must be a list, not {_type_name(raw)}.")
            return []
        if len(raw) > MAX_ITEMS:
            self.problem(spec.key, f"has {len(raw)} items; at most {MAX_ITEMS} are allowed.")
            return []
        links = spec.links
        plain = [f.name for f in spec.fields if f.name not in links]
        rows, seen = [], set()
        for index, entry in enumerate(raw):
            where = f"{spec.key}[{index}]"
            values = self.fields(
                where, spec.model, plain, entry,
                extra=frozenset({"ref", schema.GROUP, *links, *schema.TIMES,
                                 *([schema.SAMPLES] if spec.key == "data_sources" else [])})
            )
            if not isinstance(entry, dict):
                continue
            ref = entry.get("ref")
            if not isinstance(ref, str) or not ref or len(ref) > 100:
                self.problem(f"{where}.ref", "must be a short text naming this item.")
            elif ref in seen:
                self.problem(f"{where}.ref", f"repeats {ref!r}.")
            seen.add(ref)
            row = Row(ref if isinstance(ref, str) else "", spec.model(**values),
                      group=self.group(f"{where}.{schema.GROUP}", entry.get(schema.GROUP)),
                      samples=check_samples(f"{where}.{schema.SAMPLES}",
                                            entry.get(schema.SAMPLES), self.problem))
            for name in links:
                row.links[name] = entry.get(
                    name, [] if spec.model._meta.get_field(name).many_to_many else None
                )
            rows.append(row)
        return rows

    def group(self, where: str, raw: Any) -> str | None:
        if raw is None:
            return None
        title = " ".join(raw.split()) if isinstance(raw, str) else ""
        if not title or len(title) > SHORT or "\x00" in title:
            self.problem(where, f"must be the name of a group (1 to {SHORT} characters) "
                                "or null.")
            return None
        return title

    def links(self, lists: dict[str, list[Row]]) -> None:
        """Every reference must name an item of the right list in this file."""
        known = {key: {row.ref for row in rows} for key, rows in lists.items()}
        for spec in schema.LISTS:
            for index, row in enumerate(lists[spec.key]):
                for name, target in spec.links.items():
                    value = row.links[name]
                    where = f"{spec.key}[{index}].{name}"
                    many = spec.model._meta.get_field(name).many_to_many
                    if many and not isinstance(value, list):
                        self.problem(where, "must be a list of refs.")
                        continue
                    for ref in value if many else [value]:
                        if ref is None and not many:
                            continue
                        if not isinstance(ref, str) or ref not in known[target]:
                            self.problem(
                                where,
                                f"refers to {ref!r}, which is not an item "
                                f"of {target} in this file.",
                            )


_TYPE_NAMES = {str: "a text", bool: "true or false", int: "a whole number", list: "a list"}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return {
        str: "a text",
        int: "a whole number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def check(data: Any) -> Plan:
    """The plan of the workshop to create from `data`, or ImportRefused."""
    checker = _Checker()
    plan = checker.plan(data)
    if plan is None:
        raise ImportRefused(checker.problems, 422)
    return plan
