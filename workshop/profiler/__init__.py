"""Profile a data sample in the room: what it holds, how complete, fresh and
consistent it is, and which columns look personal. Only the profile is kept; the
sample is read from memory and released (reading.py); personal columns keep masked
examples only, no values, no top values, no ranges.

    with open(path, "rb") as file:
        profile = profile_sample(file, "customers.csv")
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from . import personal
from .reading import MAX_BYTES, MAX_COLUMNS, MAX_ROWS, SampleRefused, readable
from .stats import DATE, DATETIME, SECONDS, Column, Stats, compute

__all__ = ["MAX_BYTES", "MAX_COLUMNS", "MAX_ROWS", "Profile", "SampleRefused",
           "percent", "profile_sample", "score"]

EXAMPLES = 3
CHARS = 80  # the longest example or top value kept
MIXED = 0.5  # a text column this much numeric is numbers mixed with text


@dataclass
class Profile:
    file_format: str
    encoding: str
    rows: int
    duplicate_rows: int
    columns: list[dict[str, Any]]
    findings: list[personal.Finding]
    notes: list[str] = field(default_factory=list)

    @property
    def duplicate_share(self) -> float:
        return self.duplicate_rows / self.rows if self.rows else 0.0

    @property
    def completeness(self) -> float:
        """The share of cells that hold a value."""
        if not self.columns:
            return 0.0
        return sum(column["completeness"] for column in self.columns) / len(self.columns)

    def dated(self) -> list[dict[str, Any]]:
        """Columns whose newest value says how fresh the data is: dates and times,
        not dates of birth."""
        return [column for column in self.columns
                if column["type"] in (DATE, DATETIME) and column.get("newest")]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    return str(value)[:CHARS]


def _column(column: Column, rows: int, finding: personal.Finding | None) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": column.name, "type": column.kind,
        "completeness": column.filled / rows if rows else 0.0,
        "uniqueness": column.distinct / column.filled if column.filled else 0.0,
        "personal": finding.kind if finding else "",
    }
    seen: list[Any] = []
    for value in column.values:
        if value not in seen:
            seen.append(value)
        if len(seen) == EXAMPLES:
            break
    if finding:  # the shape of a value, never the value
        described["examples"] = [personal.mask(value) for value in seen]
        return described
    described["examples"] = [_plain(value) for value in seen]
    described["top"] = [[_plain(value), count / rows] for value, count in column.top
                        if count > 1][:5]
    if column.low is not None:
        described["low"], described["high"] = _plain(column.low), _plain(column.high)
        if column.kind in (DATE, DATETIME):
            described["newest"], described["oldest"] = described["high"], described["low"]
    if column.formulas:
        described["formulas"] = column.formulas
    # Mostly numbers, some text ("n/a", "three"): a column that will not add up.
    if column.kind == "text" and MIXED <= column.numeric_text / max(column.filled, 1) < 1:
        described["numeric_text"] = column.numeric_text / column.filled
    return described


def _notes(stats: Stats) -> list[str]:
    notes = []
    formulas = sum(column.formulas for column in stats.columns)
    if formulas:
        notes.append(f"{formulas:,} cells begin with =, + or @, like spreadsheet "
                     "formulas; they were read as text and never evaluated.")
    return notes


def profile_sample(stream: BinaryIO, filename: str, seconds: float = SECONDS,
                   max_rows: int | None = MAX_ROWS) -> Profile:
    """Profile the sample in `stream`; SampleRefused says why one cannot be.
    (`max_rows=None`: no limit, for the benchmark's larger files.)"""
    with readable(stream, filename) as table:
        stats = compute(table, seconds, max_rows)
    findings: list[personal.Finding] = []
    columns = []
    for column in stats.columns:
        finding = personal.find(column)
        if finding:
            findings.append(finding)
        columns.append(_column(column, stats.rows, finding))
        column.values = []  # the sampled values go no further than this function
    findings = [dataclasses.replace(f, column=_storable(f.column), evidence=_storable(
        f.evidence)) for f in findings]
    return Profile(table.file_format, table.encoding, stats.rows, stats.duplicate_rows,
                   _storable(columns), findings, _storable(_notes(stats)))


def _storable(value: Any) -> Any:
    """`value` with every NUL character in its texts replaced: JSON Lines may hold one
    (as \\u0000) in a name or a value, and PostgreSQL's jsonb refuses it."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list | tuple):
        return type(value)(_storable(each) for each in value)
    if isinstance(value, dict):
        return {_storable(key): _storable(each) for key, each in value.items()}
    return value


from .readiness import percent, score  # noqa: E402 - it reads Profile
