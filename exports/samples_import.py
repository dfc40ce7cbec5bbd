"""Checking the `samples` of a data source in a workshop file: profiles as the board
keeps them (workshop.models.DataProfile), each value of the shape the pages render,
so that a file can hold nothing a profile could not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from workshop.choices import Quality
from workshop.models import NAME, SHORT, DataProfile
from workshop.profiler import MAX_COLUMNS, MAX_ROWS
from workshop.profiler.personal import KINDS
from workshop.profiler.stats import COLUMN_TYPES

from . import schema

Problem = Callable[[str, str], None]
MAX_SAMPLES = 50
WORDS = 300  # the longest evidence, label or note
DIMENSIONS = ("completeness", "timeliness", "consistency")
STATUSES = (DataProfile.PROPOSED, DataProfile.ACCEPTED, DataProfile.DISMISSED)
COLUMN_KEYS = {"name", "type", "completeness", "uniqueness", "personal", "examples", "top",
               "low", "high", "newest", "oldest", "formulas", "numeric_text"}
FINDING_KEYS = {"column", "kind", "label", "evidence", "special", "status", "risk"}


def moment_of(raw: Any) -> datetime | None:
    """An aware date and time from ISO 8601 text (a time without a zone is UTC), or None
    for text that is none: one that does not parse, a day that does not exist (February
    the 30th parses), or a moment that leaves the calendar once put in UTC, as the
    database keeps it."""
    if not isinstance(raw, str):
        return None
    try:
        moment = parse_datetime(raw)
        if moment is None:
            return None
        moment = moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)
        moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return moment


def _text(value: Any, most: int) -> bool:
    return isinstance(value, str) and len(value) <= most and "\x00" not in value


def _scalar(value: Any) -> bool:
    return _text(value, 80) or (isinstance(value, int | float) and not isinstance(value, bool))


def _share(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _count(value: Any, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most


def _column_problem(column: Any) -> str:
    if not isinstance(column, dict) or set(column) - COLUMN_KEYS:
        return "must be an object with a column's figures only"
    checks = [
        _text(column.get("name"), SHORT), column.get("type") in COLUMN_TYPES,
        _share(column.get("completeness")), _share(column.get("uniqueness")),
        column.get("personal", "") in ("", *KINDS),
        isinstance(column.get("examples", []), list) and len(column.get("examples", [])) <= 3
        and all(_scalar(each) for each in column.get("examples", [])),
        isinstance(column.get("top", []), list) and len(column.get("top", [])) <= 5
        and all(isinstance(pair, list) and len(pair) == 2 and _scalar(pair[0])
                and _share(pair[1]) for pair in column.get("top", [])),
        all(_scalar(column[key]) for key in ("low", "high", "newest", "oldest")
            if key in column),
        _count(column.get("formulas", 0), MAX_ROWS), _share(column.get("numeric_text", 0)),
    ]
    return "" if all(checks) else "has a figure of the wrong kind"


def _finding_problem(finding: Any) -> str:
    if not isinstance(finding, dict) or set(finding) != FINDING_KEYS:
        return f"must be an object with {', '.join(sorted(FINDING_KEYS))}"
    ok = (_text(finding["column"], SHORT) and _text(finding["kind"], SHORT)
          and finding["kind"] in KINDS
          and _text(finding["label"], WORDS) and _text(finding["evidence"], WORDS)
          and isinstance(finding["special"], bool) and _text(finding["status"], SHORT)
          and finding["status"] in STATUSES)
    return "" if ok else "has a value of the wrong kind"


def _scores_problem(scores: Any) -> str:
    if not isinstance(scores, dict) or set(scores) - set(DIMENSIONS):
        return f"must be an object of {', '.join(DIMENSIONS)}"
    for scored in scores.values():
        if (not isinstance(scored, dict) or set(scored) != {"score", "evidence"}
                or scored["score"] not in Quality.values
                or not _text(scored["evidence"], WORDS)):
            return "must give each dimension a score and its evidence"
    return ""


def check_samples(where: str, raw: Any, problem: Problem) -> list[DataProfile]:
    """The profiles of one data source, unsaved (no source or workshop yet)."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_SAMPLES:
        problem(where, f"must be a list of at most {MAX_SAMPLES} sample profiles.")
        return []
    found = []
    for index, entry in enumerate(raw):
        at = f"{where}[{index}]"
        profile = _check_sample(at, entry, problem)
        if profile is not None:
            found.append(profile)
    if sum(profile.current for profile in found) > 1:
        problem(where, "has more than one current sample.")
    return found


def _check_sample(at: str, entry: Any, problem: Problem) -> DataProfile | None:
    if not isinstance(entry, dict) or set(entry) != set(schema.SAMPLE_FIELDS):
        problem(at, f"must be an object with {', '.join(schema.SAMPLE_FIELDS)}.")
        return None
    rows = entry["rows"]
    wrong = [name for name, ok in (
        ("current", isinstance(entry["current"], bool)),
        ("by", _text(entry["by"], NAME)), ("filename", _text(entry["filename"], SHORT)),
        ("file_format", _text(entry["file_format"], 20)),
        ("encoding", _text(entry["encoding"], 40)), ("rows", _count(rows, MAX_ROWS)),
        ("column_count", _count(entry["column_count"], MAX_COLUMNS)),
        ("duplicate_rows", _count(entry["duplicate_rows"], rows if _count(rows, MAX_ROWS)
                                  else 0)),
        ("completeness", _share(entry["completeness"])),
        ("newest", _text(entry["newest"], 40)),
        ("created_at", moment_of(entry["created_at"]) is not None),
        ("notes", isinstance(entry["notes"], list) and len(entry["notes"]) <= 10
         and all(_text(note, WORDS) for note in entry["notes"])),
    ) if not ok]
    for name in wrong:
        problem(f"{at}.{name}", "is not a value a sample profile can hold.")
    checks = [("scores", _scores_problem(entry["scores"]))]
    columns, findings = entry["columns"], entry["findings"]
    if not isinstance(columns, list) or len(columns) > MAX_COLUMNS:
        checks.append(("columns", f"must be a list of at most {MAX_COLUMNS} columns"))
    else:
        checks += [(f"columns[{i}]", _column_problem(c)) for i, c in enumerate(columns)]
    if not isinstance(findings, list) or len(findings) > MAX_COLUMNS:
        checks.append(("findings", "must be a list of findings"))
    else:
        checks += [(f"findings[{i}]", _finding_problem(f)) for i, f in enumerate(findings)]
    for name, message in checks:
        if message:
            problem(f"{at}.{name}", f"{message}.")
    if wrong or any(message for _, message in checks):
        return None
    values = {name: entry[name] for name in schema.SAMPLE_FIELDS if name != "created_at"}
    values["findings"] = [finding | {"risk": None} for finding in findings]
    profile = DataProfile(**values)
    moment = moment_of(entry["created_at"])
    assert moment is not None  # checked above
    profile.created_at = moment
    return profile
