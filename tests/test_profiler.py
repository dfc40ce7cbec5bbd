"""The profiler on generated files: the figures of a realistic sample exactly, and a
clear refusal for every kind of bad file (workshop/profiler)."""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import io
import json
import time
import zipfile

import pytest
from sample_files import PERSONAL, customers

from workshop.profiler import SampleRefused, personal, profile_sample, score
from workshop.profiler.reading import MAX_COLUMNS, MAX_ROWS

TODAY = dt.date(2026, 12, 3)


def profile(data: bytes, filename: str = "sample.csv"):
    return profile_sample(io.BytesIO(data), filename)


def refused(data: bytes, filename: str = "sample.csv") -> str:
    with pytest.raises(SampleRefused) as refusal:
        profile(data, filename)
    return str(refusal.value)


def by_name(found) -> dict:
    return {column["name"]: column for column in found.columns}


# A realistic sample ----------------------------------------------------------------------

@pytest.mark.slow
def test_a_200000_row_sample_shows_its_known_completeness_duplicates_and_personal_columns():
    data, known = customers(200_000)
    found = profile(data)
    assert (found.rows, found.duplicate_rows) == (200_000, 2_000)
    assert len(found.columns) == 20
    columns = by_name(found)
    for name, share in known.items():
        if name in columns:
            assert columns[name]["completeness"] == pytest.approx(share, abs=1e-12), name
    assert {f.column: f.kind for f in found.findings} == PERSONAL
    assert columns["last_order_at"]["type"] == "datetime"
    assert columns["last_order_at"]["newest"] == "2026-11-30T18:30:00"
    assert columns["signup_date"]["type"] == "date"
    assert columns["orders"]["type"] == "integer"
    assert columns["lifetime_value"]["type"] == "decimal"
    assert columns["marketing_consent"]["type"] == "boolean"
    assert columns["loyalty_tier"]["type"] == "category"
    scores = score(found, TODAY)
    assert scores["timeliness"] == {
        "score": "good", "evidence": "newest “last_order_at” is 2026-11-30 (3 days old)"}
    assert scores["consistency"]["score"] == "good"  # 1% duplicated, nothing mixed


def test_small_sample_figures_are_exact():
    data, known = customers(1_000)
    found = profile(data)
    columns = by_name(found)
    assert found.rows == 1_000 and found.duplicate_rows == 10
    assert columns["phone"]["completeness"] == known["phone"]
    assert columns["health_condition"]["completeness"] == known["health_condition"]
    tiers = dict((value, share) for value, share in columns["loyalty_tier"]["top"])
    assert set(tiers) == {"bronze", "silver", "gold"}
    assert sum(tiers.values()) == pytest.approx(1.0)


def test_personal_columns_keep_masked_examples_only():
    data, _ = customers(500)
    found = profile(data)
    text = json.dumps(found.columns)
    for column in found.columns:
        if column["personal"]:
            assert "top" not in column and "low" not in column
            assert all("•" in example for example in column["examples"])
    assert "@example.com" not in text
    assert "+44 7911" not in text
    assert "diabetes" not in text
    assert "1950-" not in text  # no date of birth, not even as a range


# Personal data by name and by values ---------------------------------------------------

@pytest.mark.parametrize(("header", "values", "kind"), [
    ("contact", ["ann@example.org", "bo@example.com", "cy@mail.net"], "email"),
    ("reach_on", ["+44 20 7946 0018", "+1 212 555 0143", "+49 30 901820"], "phone"),
    ("payment", ["4111 1111 1111 1111", "5500 0000 0000 0004", "3400 0000 0000 009"], "card"),
    ("seen_from", ["203.0.113.7", "198.51.100.23", "2001:db8::1"], "ip"),
    ("ref", ["123-45-6789", "987-65-4321", "111-22-3333"], "national_id"),
    ("faith_group", ["Christian", "Muslim", "Hindu"], "religion"),
    ("notes_medical", ["asthma", "diabetes", "asthma"], "health"),
    ("sexual_orientation", ["x", "y", "z"], "sexuality"),
    ("union_member", ["yes", "no", "yes"], "union"),
    ("Date of Birth", ["1980-01-02", "1975-05-06", "1990-07-08"], "birth"),
])
def test_personal_data_is_found_by_name_or_by_values(header, values, kind):
    rows = "\n".join(f'"{value}",{index}' for index, value in enumerate(values * 4))
    found = profile(f"{header},n\n{rows}\n".encode())
    assert [(f.column, f.kind) for f in found.findings] == [(header, kind)]


def test_coordinates_are_personal_when_precise():
    precise = profile(b"lat,lon\n51.50735,-0.12776\n53.80076,-1.54908\n")
    rough = profile(b"lat,lon\n51.5,-0.1\n53.8,-1.5\n")
    assert {f.kind for f in precise.findings} == {"location"}
    assert rough.findings == []


def test_an_ordinary_table_has_no_findings():
    found = profile(b"sku,price,colour\nA1,3.50,red\nB2,4.00,blue\nC3,5.25,red\n")
    assert found.findings == []


def test_a_finding_proposes_a_prefilled_privacy_risk():
    risk = personal.proposed_risk(personal.Finding("religion", "religion", "its name"), "CRM")
    assert risk["category"] == "privacy" and risk["severity"] == 5
    assert risk["risk"] == "Religious beliefs in “religion” of CRM"
    assert "explicit consent" in risk["mitigation"]
    assert risk["user_control"]


def test_luhn_tells_card_numbers_from_other_long_numbers():
    assert personal.luhn("4111 1111 1111 1111")
    assert not personal.luhn("4111 1111 1111 1112")
    assert not personal.luhn("12345")
    assert not personal.luhn("4111 1111 1111 111²")  # "²".isdigit() is true


def test_numbers_in_other_digits_are_profiled_not_crashed_on():
    rows = "".join(f"{index},4111 1111 1111 11{index}²,٤١١١\n" for index in range(10))
    profiled = profile_sample(io.BytesIO(f"id,card,amount\n{rows}".encode()), "odd.csv")
    assert profiled.rows == 10 and not profiled.findings


# Readiness from the profile ------------------------------------------------------------

def test_scores_follow_completeness_freshness_and_duplicates():
    fresh = b"id,seen\n1,2026-11-20\n2,2026-11-21\n3,\n4,2026-11-22\n"
    scores = score(profile(fresh), TODAY)
    assert scores["completeness"]["score"] == "fair"  # 7 of 8 cells
    assert scores["completeness"]["evidence"] == (
        "87.5% of cells filled; emptiest column “seen” 75%")
    assert scores["timeliness"]["score"] == "good"
    stale = score(profile(b"id,seen\n1,2019-01-01\n1,2019-01-01\n"), TODAY)
    assert stale["timeliness"]["score"] == "poor"
    assert stale["consistency"]["score"] == "poor"  # half the rows duplicated
    undated = score(profile(b"id,name\n1,a\n2,b\n"), TODAY)
    assert undated["timeliness"] == {"score": "unknown",
                                     "evidence": "no date or time column to tell"}


def test_numbers_mixed_with_text_make_a_column_inconsistent():
    values = ["1", "2", "three", "4", "n/a", "6", "7", "8"]
    rows = "".join(f"{value},{index}\n" for index, value in enumerate(values))
    scores = score(profile(f"amount,row\n{rows}".encode()), TODAY)
    assert scores["consistency"] == {
        "score": "fair", "evidence": "0% of rows fully duplicated; numbers mixed with "
                                     "text in “amount”"}


# Formats and encodings -----------------------------------------------------------------

def test_tsv_semicolons_and_json_lines_are_read():
    assert profile(b"a\tb\n1\tx\n2\ty\n", "s.tsv").file_format == "TSV"
    assert profile(b"a;b\n1;x\n2;y\n").rows == 2
    lines = b'{"id": 1, "city": "Leeds"}\n{"id": 2, "city": "York"}\n'
    found = profile(lines, "s.jsonl")
    assert (found.file_format, found.rows) == ("JSON Lines", 2)
    assert by_name(found)["id"]["type"] == "integer"


@pytest.mark.parametrize(("encoded", "encoding"), [
    ("name,city\nZoë,Zürich\nJosé,Málaga\n".encode(), "UTF-8"),
    (codecs.BOM_UTF8 + "name,city\nZoë,Zürich\nJosé,Málaga\n".encode(), "UTF-8 with BOM"),
    ("name,city\nZoë,Zürich\nJosé,Málaga\n".encode("cp1252"), "Windows-1252 (Latin-1)"),
    ("name,city\nZoë,Zürich\nJosé,Málaga\n".encode("utf-16"), "UTF-16"),
])
def test_the_encoding_is_detected_and_named(encoded, encoding):
    found = profile(encoded)
    assert found.encoding == encoding
    assert [value for value, _ in by_name(found)["city"]["top"]] == [] and (
        set(by_name(found)["city"]["examples"]) == {"Zürich", "Málaga"})


def test_quoted_newlines_stay_in_their_row():
    found = profile(b'id,comment\n1,"first line\nsecond line"\n2,plain\n')
    assert found.rows == 2
    assert "first line\nsecond line" in by_name(found)["comment"]["examples"]


def test_formula_cells_are_read_as_text_and_said():
    found = profile(b'id,note\n1,=HYPERLINK("http://x")\n2,+1+2\n3,ok\n')
    assert by_name(found)["note"]["formulas"] == 2
    assert found.notes == ["2 cells begin with =, + or @, like spreadsheet formulas; they "
                           "were read as text and never evaluated."]


def test_an_excel_workbook_is_read_through_calamine():
    xlsx = excel([["name", "score"], ["a", 1], ["b", 2], ["c", 3]])
    found = profile(xlsx, "s.xlsx")
    assert (found.file_format, found.rows) == ("Excel", 3)


OOXML = "http://schemas.openxmlformats.org"
MAIN = f"{OOXML}/spreadsheetml/2006/main"
RELS = f"{OOXML}/package/2006/relationships"
DOC_RELS = f"{OOXML}/officeDocument/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def excel(rows: list[list]) -> bytes:
    """A minimal .xlsx written by hand (no writer library is a dependency)."""
    cells = "".join(
        "<row>" + "".join(
            f'<c t="inlineStr"><is><t>{value}</t></is></c>' if isinstance(value, str)
            else f"<c><v>{value}</v></c>" for value in row) + "</row>" for row in rows)
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{OOXML}/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{SHEET_TYPE}.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{SHEET_TYPE}.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{MAIN}"><sheetData>{cells}</sheetData></worksheet>'),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


# Bad files: each refused with what to do -----------------------------------------------

@pytest.mark.parametrize(("data", "says"), [
    (b"", "This file is empty"),
    (b"   \n\n", "This file is empty"),
    (b"a,b,c\n", "a header but no rows"),
    (b"a,b,c\n1,2,3\n4,5\n6,7,8\n", "Line 3 has 2 values where the first line names 3 columns"),
    (b"a,b,c\n1,2,3\n4,5,6,7\n", "has 4 values where the first line names 3 columns"),
    (b"1,2,3\n4,5,6\n", "The first line looks like data, not column names"),
    (b"a,,c\n1,2,3\n", "Column 2 has no name"),
    (b"id,ID\n1,2\n", "Two columns are named “ID”"),
    (b"Dear team, here are my notes about the launch plan\n", "no rows"),
    (b"Just some prose without separators\nand another line\n", "does not look like a table"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    (bytes(range(256)) * 64, "binary"),
    (b'a,b\n1,"never closed\n2,x\n', "could not be read as a table"),
    # mtime=0: the same bytes, so the same test id, in every xdist worker
    (gzip.compress(b"a,b\n1,2\n", mtime=0), "gzip-compressed"),
])
def test_bad_files_are_refused_with_a_message(data, says):
    assert says in refused(data)


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    assert "zip archive" in refused(out.getvalue(), "data.zip")


def test_a_zip_bomb_is_refused_from_its_directory():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (210 * 1024 * 1024))
    packed = out.getvalue()
    assert len(packed) < 1024 * 1024
    assert "unpacks to 210 MB" in refused(packed, "bomb.xlsx")


def test_a_20000_column_file_is_refused_before_it_is_read():
    header = ",".join(f"c{i}" for i in range(20_000))
    assert f"Attune profiles at most {MAX_COLUMNS}" in refused(f"{header}\n".encode())


def test_more_rows_than_the_limit_are_refused():
    rows = "".join(f"{index},1\n" for index in range(MAX_ROWS + 1))
    assert f"at most {MAX_ROWS:,}" in refused(f"n,m\n{rows}".encode())


def test_bytes_that_break_the_detected_encoding_are_refused():
    data = b"name,city\n" + "Zoë,x\n".encode() * 200_000 + b"Jos\xe9,y\n"
    assert "not UTF-8 text" in refused(data)


def test_a_profile_past_its_time_is_stopped_and_said():
    data, _ = customers(50_000)  # reading it takes a tenth of a second at the least
    with pytest.raises(SampleRefused, match="took longer than 0 seconds"):
        profile_sample(io.BytesIO(data), "slow.csv", seconds=0.001)


def test_a_profile_past_its_time_between_two_queries_is_stopped_too(monkeypatch):
    """DuckDB's interrupt stops the query running when it comes: one that came while
    Python worked between two queries (a busy machine: CI saw it) was lost, and the
    profile ran on."""
    from workshop.profiler import stats

    real = stats.source

    def slow(*args, **kwargs):  # the time runs out here, between queries
        time.sleep(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(stats, "source", slow)
    data, _ = customers(5_000)
    with pytest.raises(SampleRefused, match="took longer than 0 seconds"):
        profile_sample(io.BytesIO(data), "slow.csv", seconds=0.001)


def test_a_value_past_the_inferred_rows_that_does_not_fit_makes_its_column_text():
    rows = [f"{index},{index * 2}" for index in range(30_000)]
    rows[25_000] = "25000,n/a"  # DuckDB infers types from the first 20,480 rows
    found = profile(("id,amount\n" + "\n".join(rows) + "\n").encode())
    amount = by_name(found)["amount"]
    assert found.rows == 30_000 and amount["type"] == "text"
    assert amount["completeness"] == 1.0
    assert amount["numeric_text"] == pytest.approx(29_999 / 30_000)
