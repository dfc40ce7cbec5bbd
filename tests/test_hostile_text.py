"""Hostile text through every text field (hypothesis): script tags, htmx attributes,
javascript: URLs, right-to-left overrides, NULs, lone surrogates, 10,000 characters.

Whatever is saved comes back as text in the board page, the websocket's fragments, the
Markdown, the CSV (formula cells neutralised) and the PDF; whatever is refused leaves
the board as it was. "Comes back as text" is checked the way a browser would see it:
the HTML is parsed, and no element or attribute the text tried to make exists.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from html.parser import HTMLParser
from itertools import count

import pytest
from django import forms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from samples import SAMPLES, prefixed

from sessions.fragments import event_frames
from workshop.models import BoardEvent, Workshop
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db
MARKS = count(1)

# Pieces a hostile person would paste; each example joins a few around a marker, so
# that the element or attribute they would make has a name found nowhere else.
PIECES = [
    "<zz{n} data-evil{n}=1>", "<script>alert({n})</script>", '"><img src=x onerror{n}=1>',
    "' hx-get{n}='/w/1/s/risks/1/delete/' hx-trigger='load'", "javascript:alert({n})",
    "<a href=\"javascript:alert({n})\">x</a>", "\u202egnp.exe", "{{{{ n }}}} {{% if %}}",
    "=HYPERLINK(\"http://evil.example\",\"{n}\")", "+{n}", "-{n}", "@SUM(A{n})",
    "</textarea><zz{n}>", "<!--", "]]>", "&amp;&lt;", "ﷺ مرحبا", "\U0001f525",
]


def text_fields(key: str) -> list[str]:
    return [name for name, field in LISTS[key].form.base_fields.items()
            if type(field) is forms.CharField]


FIELDS = [(key, name) for key in LISTS for name in text_fields(key)]


@st.composite
def hostile(draw) -> tuple[int, str]:
    n = next(MARKS)
    pieces = draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=4))
    filler = draw(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20))
    return n, filler.join(piece.format(n=n) for piece in pieces)


class Made(HTMLParser):
    """Every tag and attribute name a browser would make from some HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.names.add(tag)
        self.names.update(name for name, _ in attrs)

    handle_startendtag = handle_starttag


def made(html: str) -> set[str]:
    parser = Made()
    parser.feed(html)
    return parser.names


def assert_only_text(html: str, n: int) -> None:
    names = made(html)
    for name in (f"zz{n}", f"data-evil{n}", f"onerror{n}", f"hx-get{n}"):
        assert name not in names, name


def board_state(workshop: Workshop) -> tuple[int, int]:
    workshop.refresh_from_db()
    return workshop.version, BoardEvent.objects.filter(workshop=workshop).count()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), text=hostile())
def test_hostile_text_in_any_field_comes_back_as_text_everywhere_or_changes_nothing(
        facilitator_client, workshop, field, text):
    key, name = field
    n, value = text
    before = board_state(workshop)
    answer = facilitator_client.post(f"/w/{workshop.pk}/s/{key}/add/",
                                     prefixed(SAMPLES[key] | {name: value}, f"add-{key}"))
    if answer.status_code != 201:
        assert answer.status_code == 422, (answer.status_code, answer.content[:200])
        assert board_state(workshop) == before
        return
    assert_only_text(facilitator_client.get(f"/w/{workshop.pk}/").content.decode(), n)
    event = BoardEvent.objects.filter(workshop=workshop).last()
    for texts in event_frames(event).values():
        for frame in texts:
            for op in json.loads(frame).get("ops", []):
                assert_only_text(op.get("html", ""), n)
    card = facilitator_client.get(answer["Location"])
    assert_only_text(card.content.decode(), n)
    markdown = facilitator_client.get(f"/w/{workshop.pk}/export/roadmap.md").content.decode()
    # As a Markdown viewer that passes raw HTML through would show it.
    assert_only_text(MarkdownIt("commonmark", {"html": True}).render(markdown), n)
    assert "<script" not in MarkdownIt("commonmark", {"html": True}).render(markdown)
    for row in csv_rows(facilitator_client, workshop):
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell


def csv_rows(client, workshop) -> list[list[str]]:
    archive = zipfile.ZipFile(io.BytesIO(
        client.get(f"/w/{workshop.pk}/export/csv.zip").content))
    rows = []
    for name in archive.namelist():
        rows += list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))))[1:]
    return rows


@pytest.mark.parametrize("value", ["x" * 10_001, "before\x00after", "a\x00"])
@pytest.mark.parametrize(("key", "name"), [("decisions", "decision"),
                                           ("parking_lot", "question"),
                                           ("recipes", "title")])
def test_text_that_cannot_be_saved_is_refused_and_the_board_is_unchanged(
        facilitator_client, workshop, key, name, value):
    before = board_state(workshop)
    answer = facilitator_client.post(f"/w/{workshop.pk}/s/{key}/add/",
                                     prefixed(SAMPLES[key] | {name: value}, f"add-{key}"))
    assert answer.status_code == 422
    assert board_state(workshop) == before


def test_bytes_that_are_not_utf8_become_replacement_characters_not_errors(
        facilitator_client, workshop):
    """A lone surrogate cannot be sent as UTF-8; what a client can send is the bytes of
    one (ED A0 80), which Django reads as replacement characters."""
    body = (b"add-parking_lot-question=Before%ED%A0%80after")
    answer = facilitator_client.generic(
        "POST", f"/w/{workshop.pk}/s/parking_lot/add/", body,
        content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 201
    card = facilitator_client.get(answer["Location"]).content.decode()
    assert "Before\ufffd" in card


@pytest.mark.slow
def test_hostile_text_is_printed_as_text_in_the_pdf(facilitator_client, workshop):
    import pypdf

    # The right-to-left override last: it turns what follows it around, in print too.
    value = '<zz1 data-evil1=1> <script>alert(1)</script> javascript:alert(1) \u202eRTL'
    answer = facilitator_client.post(f"/w/{workshop.pk}/s/decisions/add/",
                                     prefixed(SAMPLES["decisions"] | {"decision": value},
                                              "add-decisions"))
    assert answer.status_code == 201
    pdf = facilitator_client.get(f"/w/{workshop.pk}/export/roadmap.pdf")
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(
        pdf.content)).pages)
    flat = " ".join(text.split())
    assert "<zz1 data-evil1=1>" in flat and "<script>alert(1)</script>" in flat
