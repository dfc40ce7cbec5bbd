"""What a sample says about itself, computed by DuckDB while it streams the file.

Four scans after the type inference, each with bounded memory: rows and fully
duplicated rows; the column aggregates (completeness, distinct values (HyperLogLog),
min/max, top candidates); exact counts of the top candidates; and a reservoir sample
of rows, for examples and personal-data checks.
DuckDB infers the types (over the whole file: `sample_size=-1`), so no date or number
is parsed here by hand. It never spills to disk: what it reads is the sample itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb

from .reading import CSV, JSONL, MAX_ROWS, TSV, SampleRefused, Table

MEMORY_LIMIT = "256MB"
SECONDS = 20
TOP = 5
SAMPLE_ROWS = 1000
# A text column with at most this many distinct values, repeated, is a category.
CATEGORY_MAX = 50
# What a spreadsheet would run: "=...", "@...", "+..." that is not a phone number.
FORMULA = r"'^(=|@|\+.*[^0-9\s()\-])'"

INTEGER, DECIMAL, BOOLEAN, DATE, DATETIME, TEXT, CATEGORY = (
    "integer", "decimal", "boolean", "date", "datetime", "text", "category")
_TYPES = {"TINYINT": INTEGER, "SMALLINT": INTEGER, "INTEGER": INTEGER, "BIGINT": INTEGER,
          "HUGEINT": INTEGER, "UTINYINT": INTEGER, "USMALLINT": INTEGER,
          "UINTEGER": INTEGER, "UBIGINT": INTEGER, "FLOAT": DECIMAL, "DOUBLE": DECIMAL,
          "BOOLEAN": BOOLEAN, "DATE": DATE, "TIMESTAMP": DATETIME,
          "TIMESTAMP WITH TIME ZONE": DATETIME}
RANGED = (INTEGER, DECIMAL, DATE, DATETIME)
COLUMN_TYPES = (INTEGER, DECIMAL, BOOLEAN, DATE, DATETIME, TEXT, CATEGORY)


@dataclass
class Column:
    name: str
    kind: str
    filled: int = 0
    distinct: int = 0
    low: Any = None
    high: Any = None
    numeric_text: int = 0  # text values that read as numbers: a mixed column
    formulas: int = 0
    top: list[tuple[Any, int]] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)  # sampled, non-empty


@dataclass
class Stats:
    rows: int
    duplicate_rows: int
    columns: list[Column]


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def connection(seconds: float = SECONDS) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB bounded in memory and time, that never writes to disk: a
    query over the limits fails instead of spilling the sample into a temp file."""
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 2,
                                 "max_temp_directory_size": "0B",
                                 "enable_external_access": True})
    con.execute("SET enable_progress_bar = false")  # it would draw on the server's stderr
    # Past the time, interrupt again and again until the profile ends: DuckDB's interrupt
    # stops the query running at that moment only, and one that came between two
    # queries (a busy machine) would be lost, letting the profile run on unbounded.
    done = threading.Event()

    def interrupt_past_time() -> None:
        if done.wait(seconds):
            return
        while True:
            con.interrupt()
            if done.wait(0.02):
                return

    watcher = threading.Thread(target=interrupt_past_time, daemon=True)
    watcher.start()
    try:
        yield con
    except duckdb.InterruptException:
        raise SampleRefused(f"This sample took longer than {seconds:.0f} seconds to "
                            "profile. Upload fewer rows or columns.") from None
    except duckdb.OutOfMemoryException:
        raise SampleRefused("This sample needs more memory than Attune gives one "
                            "profile. Upload fewer rows or columns.") from None
    finally:
        done.set()
        watcher.join()
        con.close()


def source(table: Table, types: list[tuple[str, str]] | None = None) -> str:
    """The table function that reads the sample: the first time it infers the types
    from every row; given them, the later scans skip that (it costs a scan)."""
    path = literal(table.path)
    if types is None:
        # JSON Lines: every row (a later mismatch fails the read); CSV: the first rows,
        # and `compute` retypes a column a later value does not fit.
        detect = "sample_size=-1" if table.file_format == JSONL else "sample_size=20480"
    else:
        listed = ", ".join(f"{literal(name)}: {literal(kind)}" for name, kind in types)
        detect = f"columns={{{listed}}}, auto_detect=false"
    if table.file_format == JSONL:
        return (f"read_json({path}, format='newline_delimited', {detect}, "
                "maximum_object_size=1048576)")
    delim = literal(table.delimiter)
    return (f"read_csv({path}, header=true, delim={delim}, quote='\"', escape='\"', "
            f"{detect}, strict_mode=true, store_rejects=true, null_padding=false, "
            "max_line_size=1048576)")


def describe(con: duckdb.DuckDBPyConnection, table: Table) -> list[tuple[str, str]]:
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source(table)}").fetchall()  # noqa: S608
    except duckdb.InterruptException:
        raise
    except duckdb.Error as error:
        raise SampleRefused(_unreadable(table, error)) from None
    return [(row[0], row[1]) for row in described]


def _unreadable(table: Table, error: duckdb.Error) -> str:
    if table.file_format == JSONL:
        return ("Some lines of this file are not JSON objects. Each line of a JSON "
                "Lines file holds one object, such as {\"id\": 1, \"city\": \"Leeds\"}.")
    text = str(error)
    if "quote" in text.lower() or "dialect" in text.lower():
        return ("This file could not be read as a table: a quoted value is never closed, "
                "or rows use different separators. Export it again as CSV.")
    return "This file could not be read as a table. Export it again as CSV (UTF-8)."


def _kind(duck_type: str) -> str:
    return _TYPES.get(duck_type, TEXT)


def _aggregates(columns: list[Column]) -> list[str]:
    parts = []
    for column in columns:
        c = ident(column.name)
        if column.kind == TEXT:
            value = f"nullif(trim(CAST({c} AS VARCHAR)), '')"
            parts += [f"count({value})", f"approx_count_distinct({value})",
                      f"count(TRY_CAST({value} AS DOUBLE))",
                      f"count(*) FILTER (WHERE regexp_matches({value}, {FORMULA}))",
                      f"approx_top_k({value}, {TOP})"]
        else:
            parts += [f"count({c})", f"approx_count_distinct({c})"]
            parts += [f"min({c})", f"max({c})"] if column.kind in RANGED else []
            parts += [f"approx_top_k({c}, {TOP})"]
    return parts


def _read_aggregates(columns: list[Column], values: list[Any]) -> None:
    at = 0
    for column in columns:
        # approx_count_distinct (HyperLogLog) can overshoot by a little: never past filled.
        column.filled, column.distinct = values[at], min(values[at + 1], values[at])
        at += 2
        if column.kind == TEXT:
            column.numeric_text, column.formulas = values[at], values[at + 1]
            at += 2
        elif column.kind in RANGED:
            column.low, column.high = values[at], values[at + 1]
            at += 2
        column.top = [(value, 0) for value in values[at] or []]
        at += 1


def _rejected(con: duckdb.DuckDBPyConnection) -> None:
    try:
        rows = con.execute("SELECT line, error_type, error_message FROM reject_errors "
                           "ORDER BY line LIMIT 1").fetchall()
    except duckdb.CatalogException:  # nothing was rejected: the table was never made
        return
    if not rows:
        return
    line, kind, message = rows[0]
    found = message.rsplit(":", 1)[-1].strip() if "Found" in message else ""
    expected = message.split("Columns:", 1)[-1].split("Found")[0].strip() if found else ""
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS") and found:
        raise SampleRefused(
            f"Line {line} has {found} values where the first line names {expected} "
            "columns. Fix that row (or quote a value that holds the separator) and "
            "upload again.")
    raise SampleRefused(f"Line {line} could not be read ({kind.lower()}). Fix it and "
                        "upload again.")


def _exact_top(con: duckdb.DuckDBPyConnection, src: str, columns: list[Column]) -> None:
    """Exact counts of each column's top candidates, all in one scan."""
    wanted = [(column, value) for column in columns for value, _ in column.top]
    if not wanted:
        return
    parts = [f"count(*) FILTER (WHERE {_value_of(column)} IS NOT DISTINCT FROM ?)"
             for column, _ in wanted]
    counts = con.execute(f"SELECT {', '.join(parts)} FROM {src}",  # noqa: S608 - identifiers quoted
                         [value for _, value in wanted]).fetchone() or ()
    for column in columns:
        column.top = []
    for (column, value), count in zip(wanted, counts, strict=True):
        column.top.append((value, count))
    for column in columns:
        column.top.sort(key=lambda pair: -pair[1])


def _value_of(column: Column) -> str:
    if column.kind == TEXT:
        return f"nullif(trim(CAST({ident(column.name)} AS VARCHAR)), '')"
    return ident(column.name)


def _sample(con: duckdb.DuckDBPyConnection, src: str, columns: list[Column]) -> None:
    selected = ", ".join(_value_of(column) for column in columns)
    rows = con.execute(f"SELECT {selected} FROM {src} "  # noqa: S608 - identifiers quoted
                   f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)").fetchall()
    for index, column in enumerate(columns):
        column.values = [row[index] for row in rows if row[index] is not None]


BATCH = 40


def _batches(columns: list[Column]) -> list[list[Column]]:
    return [columns[at:at + BATCH] for at in range(0, len(columns), BATCH)]


def _count_rows(con: duckdb.DuckDBPyConnection, table: Table, src: str) -> tuple[int, int]:
    """Rows and distinct rows, in a scan of their own: beside other aggregates, DuckDB
    would hold every column's values for the DISTINCT. (fetchall, not fetchone: the
    rejects are stored once the scan is done.)"""
    try:
        rows, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT hash(t)) FROM {src} t").fetchall()[0]  # noqa: S608
    except (duckdb.InterruptException, duckdb.OutOfMemoryException):
        raise
    except duckdb.Error as error:
        raise SampleRefused(_unreadable(table, error)) from None
    return rows, distinct


def _cast_failures(con: duckdb.DuckDBPyConnection) -> set[str]:
    try:
        found = con.execute("SELECT DISTINCT column_name FROM reject_errors "
                            "WHERE error_type = 'CAST'").fetchall()
    except duckdb.CatalogException:  # nothing was rejected
        return set()
    return {name for (name,) in found}


def compute(table: Table, seconds: float = SECONDS, max_rows: int | None = MAX_ROWS) -> Stats:
    with connection(seconds) as con:
        described = describe(con, table)
        columns = [Column(name, _kind(duck_type)) for name, duck_type in described]
        src = source(table, described)
        rows, distinct_rows = _count_rows(con, table, src)
        # The types were inferred from the first rows; a later value that does not fit
        # makes its column text (as a full inference would have), and the scan again.
        recast = _cast_failures(con)
        if recast:
            described = [(name, "VARCHAR" if name in recast else duck_type)
                         for name, duck_type in described]
            columns = [Column(name, _kind(duck_type)) for name, duck_type in described]
            src = source(table, described)
            con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
            rows, distinct_rows = _count_rows(con, table, src)
        if table.file_format in (CSV, TSV):
            _rejected(con)
        if rows == 0:
            raise SampleRefused("This file has a header but no rows: there is nothing "
                                "to profile. Upload a sample with data in it.")
        if max_rows is not None and rows > max_rows:
            raise SampleRefused(f"This sample has {rows:,} rows; Attune profiles at most "
                                f"{max_rows:,}. Upload a sample of them.")
        # A few dozen columns a query: planning one of thousands of expressions costs
        # seconds, more than the scans it saves.
        for batch in _batches(columns):
            aggregates = ", ".join(_aggregates(batch))
            values = con.execute(f"SELECT {aggregates} FROM {src}").fetchall()[0]  # noqa: S608
            _read_aggregates(batch, list(values))
        for column in columns:
            if (column.kind == TEXT and column.distinct <= CATEGORY_MAX
                    and column.distinct * 2 <= column.filled):
                column.kind = CATEGORY
        for batch in _batches(columns):
            _exact_top(con, src, batch)
        _sample(con, src, columns)
        return Stats(rows=rows, duplicate_rows=rows - distinct_rows, columns=columns)
