"""From uploaded bytes to a UTF-8 table DuckDB can read, or a clear refusal.

The bytes live in memory only (the upload handler keeps them there, capped while it
reads); the UTF-8 copy DuckDB reads is an anonymous in-memory file (memfd), which
has no name on any disk and is gone when closed or when the process ends. Where
memfd does not exist, a private temporary directory stands in and is deleted in the
same `finally`.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from charset_normalizer import from_bytes

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 500
# An Excel file is a zip: what it unpacks to is bounded too (a zip bomb is refused
# from its directory, before anything is inflated).
MAX_XLSX_UNPACKED = 200 * 1024 * 1024

CSV, TSV, JSONL, XLSX = "CSV", "TSV", "JSON Lines", "Excel"
DELIMITERS = {",": CSV, "\t": TSV, ";": CSV, "|": CSV}
COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ": "xz",
              b"7z\xbc\xaf": "7-Zip", b"Rar!": "RAR", b"(\xb5/\xfd": "zstd"}


class SampleRefused(Exception):
    """A sample that cannot be profiled, with what the person can do about it."""


@dataclass(frozen=True)
class Table:
    """A sample ready for DuckDB: where to read it and how."""

    path: str
    file_format: str
    encoding: str
    delimiter: str = ","


def _is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def check_not_packed(data: bytes, filename: str) -> None:
    for magic, name in COMPRESSED.items():
        if data.startswith(magic):
            raise SampleRefused(
                f"This is a {name}-compressed file. Attune does not unpack uploads: "
                "upload the CSV, TSV or JSON Lines file itself.")
    if _is_zip(data) and not filename.lower().endswith(".xlsx"):
        raise SampleRefused(
            "This is a zip archive. Attune does not unpack uploads: upload the CSV, "
            "TSV, JSON Lines or .xlsx file itself.")


HEAD = 1024 * 1024  # what detection reads: the rest only streams through


def detect(head: bytes) -> tuple[str, str]:
    """The codec and the name of the encoding the file is in, from its first MB: a
    byte-order mark first (UTF-8, UTF-16), then strict UTF-8, then what
    charset-normalizer finds among what spreadsheets write (Windows-1252 / Latin-1,
    UTF-16 without a mark)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "UTF-8 with BOM"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16"
    if b"\x00" not in head:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            return "utf-8", "UTF-8"
        except UnicodeDecodeError:
            pass
    best = from_bytes(head, cp_isolation=["cp1252", "latin_1", "utf_16_le", "utf_16_be"]).best()
    if best is None or (b"\x00" in head and not best.encoding.startswith("utf_16")):
        raise SampleRefused(
            "This file is not text Attune can read (it looks like binary data). Export "
            "the table as CSV (UTF-8) from the tool it comes from.")
    label = {"cp1252": "Windows-1252 (Latin-1)", "latin_1": "Latin-1",
             "utf_16_le": "UTF-16", "utf_16_be": "UTF-16"}[best.encoding]
    return best.encoding, label


def _decoded_head(head: bytes, codec: str) -> str:
    text = codecs.getincrementaldecoder(codec)(errors="replace").decode(head, final=False)
    if "\x00" in text or "\ufffd" in text[:10_000]:
        raise SampleRefused("This file holds binary data, not a table of text. Export "
                            "the table as CSV (UTF-8).")
    return text


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0].rstrip("\r")


def sniff_format(text: str, filename: str) -> tuple[str, str]:
    """(format, delimiter) from the name and the first line: JSON Lines when it is an
    object, else the delimiter the header uses most."""
    stripped = text.lstrip()
    if not stripped:
        raise SampleRefused("This file is empty: there is nothing to profile.")
    if filename.lower().endswith((".jsonl", ".ndjson")) or stripped.startswith("{"):
        return JSONL, ""
    header = _first_line(stripped)
    counts = {d: header.count(d) for d in DELIMITERS}
    delimiter = max(counts, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        raise SampleRefused(
            "This does not look like a table: its first line has no commas, tabs or "
            "semicolons between column names. Upload a CSV, TSV or JSON Lines file "
            "whose first line names the columns.")
    columns = counts[delimiter] + 1
    if columns > MAX_COLUMNS:
        raise SampleRefused(
            f"This file has about {columns:,} columns; Attune profiles at most "
            f"{MAX_COLUMNS}. Keep the columns the workshop talks about and upload again.")
    return DELIMITERS[delimiter], delimiter


def check_header(text: str, delimiter: str) -> list[str]:
    """The column names, refused when blank, repeated, or when the first line looks
    like data (every cell a number or a date) rather than names."""
    names = next(csv.reader(io.StringIO(_first_line(text.lstrip())), delimiter=delimiter))
    names = [name.strip() for name in names]
    if any(not name for name in names):
        position = names.index("") + 1
        raise SampleRefused(f"Column {position} has no name in the first line. Name "
                            "every column, then upload again.")
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise SampleRefused(f"Two columns are named “{name}”. Give each column its "
                                "own name, then upload again.")
        seen.add(name.lower())
    if all(_looks_like_data(name) for name in names):
        raise SampleRefused(
            "The first line looks like data, not column names (every cell is a number "
            "or a date). Add a first line that names the columns.")
    return names


def _looks_like_data(cell: str) -> bool:
    digits = cell.replace(".", "").replace("-", "").replace("/", "").replace(":", "")
    return digits.replace(" ", "").isdigit()


def xlsx_to_csv(data: bytes) -> str:
    """The first sheet of an Excel workbook as CSV text, read by python-calamine after
    the zip's directory says it unpacks to a bounded size."""
    from python_calamine import CalamineWorkbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise SampleRefused("This .xlsx file is damaged: open it in Excel and save it "
                            "again, or export the sheet as CSV.") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise SampleRefused(
            f"This workbook unpacks to {unpacked / 2**20:,.0f} MB, more than Attune "
            f"reads ({MAX_XLSX_UNPACKED // 2**20} MB). Export the sheet as CSV.")
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
    except Exception:  # calamine's own errors: any unreadable workbook
        raise SampleRefused("This workbook could not be read. Export the sheet as CSV "
                            "and upload that.") from None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for count, row in enumerate(sheet.iter_rows()):
        if count > MAX_ROWS + 1:
            break
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue()


def _transcode(head: bytes, stream: BinaryIO, codec: str, out: BinaryIO) -> None:
    """Copy the stream into `out` as UTF-8, chunk by chunk; a byte that is not in the
    detected encoding refuses the file (nothing is guessed)."""
    decoder = codecs.getincrementaldecoder(codec)()
    chunk = head
    try:
        while chunk:
            out.write(decoder.decode(chunk).encode("utf-8"))
            chunk = stream.read(HEAD)
        out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as error:
        raise SampleRefused(
            f"Part of this file is not {codec.upper()} text (byte {error.start:,} of a "
            "chunk). Save it again as UTF-8 CSV and upload that.") from None


@contextmanager
def in_memory_file() -> Iterator[tuple[BinaryIO, str]]:
    """A file DuckDB can open by path, gone when the block ends: anonymous memory
    (memfd) on Linux, else a private temporary folder removed in the same finally."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("attune-sample", os.MFD_CLOEXEC)
        with os.fdopen(fd, "w+b") as file:
            yield file, f"/proc/self/fd/{fd}"
        return
    folder = tempfile.mkdtemp(prefix="attune-sample-")
    try:
        path = os.path.join(folder, "sample")
        with open(path, "w+b") as file:
            yield file, path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def readable(stream: BinaryIO, filename: str) -> Iterator[Table]:
    """The sample as a Table DuckDB reads, checked for what can be refused before it
    is read. A UTF-8 file that is on disk already (the benchmark's) is read where it
    is; anything else is copied as UTF-8 into memory that is released whatever
    happens."""
    head = stream.read(HEAD)
    if not head.strip():
        raise SampleRefused("This file is empty: there is nothing to profile.")
    check_not_packed(head, filename)
    if _is_zip(head):
        text = xlsx_to_csv(head + stream.read())
        check_header(text, ",")
        with in_memory_file() as (file, path):
            file.write(text.encode("utf-8"))
            file.flush()
            del text
            yield Table(path, XLSX, "Excel workbook", ",")
        return
    codec, encoding = detect(head)
    text = _decoded_head(head, codec)
    file_format, delimiter = sniff_format(text, filename)
    if file_format != JSONL:
        check_header(text, delimiter)
    on_disk = getattr(stream, "name", None)
    if codec == "utf-8" and isinstance(on_disk, str) and os.path.isfile(on_disk):
        yield Table(on_disk, file_format, encoding, delimiter)
        return
    with in_memory_file() as (file, path):
        _transcode(head, stream, codec, file)
        file.flush()
        yield Table(path, file_format, encoding, delimiter)
