"""The roadmap as a document a VP reads without editing (issue 14): a small workshop is a
few pages, every part of the board is in it with its count, empty parts collapse into
one line, words agree with their numbers in every export, and the PDF is tagged
(PDF/UA-1) or archivable (PDF/A-3b).

veraPDF is reachable neither from Debian nor from PyPI here, so the variants are checked
with what pypdf and qpdf can see: the tag tree and its kinds, the chart's alternate text,
the language, the XMP identification, the output intent, every font embedded, and a
file qpdf finds no fault in."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from exports_factories import large_workshop, make_user, signed_in, small_workshop
from pypdf import PdfReader

from exports import markdown
from exports.context import build_roadmap
from sessions.models import Room, Vote
from workshop import words

pytestmark = pytest.mark.slow  # renders PDFs in a child process


def squash(text: str) -> str:
    return re.sub(r"\s+,", ",", " ".join(text.split()))


def page_texts(document: bytes) -> list[str]:
    return [squash(page.extract_text()) for page in PdfReader(io.BytesIO(document)).pages]


@pytest.fixture
def fran(db):
    return make_user("fran", first_name="Fran", last_name="Ng")


@pytest.fixture
def small(fran):
    return small_workshop(fran)


def download(user, workshop, variant: str = "") -> bytes:
    response = signed_in(user).get(f"/w/{workshop.pk}/export/roadmap.pdf?variant={variant}")
    assert response.status_code == 200, response.content[:300]
    return response.content


# --- Counted words -----------------------------------------------------------------------

@pytest.mark.parametrize(("count", "phrase", "said"), [
    (0, "recipe", "0 recipes"), (1, "recipe", "1 recipe"), (2, "recipe", "2 recipes"),
    (1, "open action item", "1 open action item"), (3, "open action item", "3 open action items"),
    (1, "person|people", "1 person"), (2, "person|people", "2 people"), (2, "person", "2 people"),
    (2, "category", "2 categories"), (2, "day", "2 days"), (1200, "row", "1,200 rows"),
    (1, "recipe placed|recipes placed", "1 recipe placed"),
])
def test_counted_words_agree_with_their_number(count, phrase, said):
    assert words.counted(count, phrase) == said


ONE_OF_A_KIND = re.compile(
    r"(?<![\d,.])1 ?(recipes|risks|dots|votes|interactions|people|persons|items|action items|"
    r"data sources|decisions|questions|goals|stakeholders|rows|columns)\b")


def test_no_export_or_page_says_one_with_a_plural(fran, small):
    """A workshop with one of each thing: "1 recipes", "1 open action items" nowhere."""
    from exports_factories import add
    add(small, "action_items", action="Book the legal review")
    client = signed_in(fran)
    texts = {
        "pdf": " ".join(page_texts(download(fran, small))),
        "markdown": markdown.render(build_roadmap(small)),
        "board": client.get(f"/w/{small.pk}/").content.decode(),
    }
    for where, text in texts.items():
        assert not ONE_OF_A_KIND.search(text), (where, ONE_OF_A_KIND.search(text))
    pdf = texts["pdf"]
    assert re.search(r"\b1 ?open action item\b(?!s)", pdf) and "Top 2 recipes by priority" in pdf
    # One word for dots everywhere: the summary's tag says what the chart page says.
    assert "2 dots" in pdf and " votes" not in pdf.replace("votes first", "")


# --- The small workshop ------------------------------------------------------------------

def test_a_two_recipe_workshop_fits_in_four_pages_with_every_part(fran, small):
    document = download(fran, small)
    reader = PdfReader(io.BytesIO(document))
    assert len(reader.pages) <= 4
    text = " ".join(page_texts(document))
    # The landscape of connected experience is in the document.
    assert "Example interactions" in text and "Spotify's Discover Weekly" in text
    assert "Admire" in text and "Fresh picks every Monday" in text
    # Display names, never login names.
    assert "Fran Ng" in text and "fran" not in text.replace("Fran", "")
    # Attendance by function, with the count.
    assert "2 people joined by link: Product 1 · Legal / privacy 1" in text
    # Who voted how many, and the vote in the summary.
    assert "Pat Lee 2 dots" in text
    assert "1 person voted in the latest vote, 2 dots in all (2 dots each)." in text
    # Counts per part in the contents, and the parts not covered in one line.
    for count in ("1 interaction", "2 recipes", "1 recipe placed", "1 data source", "1 risk",
                  "1 decision"):
        assert count in page_texts(document)[0], count
    assert ("Not covered in this workshop: nothing was recorded for goals and success "
            "metrics, stakeholders, action items or parking lot.") in text
    for gone in ("No goals recorded", "No stakeholders recorded", "Nothing parked"):
        assert gone not in text
    # The board's address, as a link.
    board = f"http://testserver/w/{small.pk}/"
    assert board in text
    links = [annotation.get_object()["/A"]["/URI"] for page in reader.pages
             for annotation in page.get("/Annots") or []
             if "/URI" in annotation.get_object().get("/A", {})]
    assert board in links


def test_a_recipe_with_no_data_source_is_never_called_ready(fran, small):
    text = " ".join(page_texts(download(fran, small)))
    lane = text[text.index("Not placed yet"):]
    bundle = lane[lane.index("Bundle suggestions"):][:400]
    assert "No data source linked Gate not met" in bundle and "Ready" not in bundle
    md = markdown.render(build_roadmap(small))
    assert "**Readiness gate:** Gate not met (no data source linked)" in md


def test_a_secret_vote_does_not_say_who_voted(fran, small):
    Room.objects.update_or_create(workshop=small, defaults={"anonymous_sections": ["recipes"]})
    assert Vote.objects.get(workshop=small).hidden
    text = " ".join(page_texts(download(fran, small)))
    assert "Pat Lee 2 dots" not in text
    assert "A secret vote: who voted how is not recorded here." in text
    assert "Pat Lee 2 dots" not in markdown.render(build_roadmap(small))


def test_markdown_carries_the_same_parts_counts_and_people(small):
    md = markdown.render(build_roadmap(small, "https://attune.example/w/1/"))
    for line in ("## Example interactions (1 interaction)", "## Prioritization matrix (2 recipes)",
                 "## Ethics and bias register (1 risk)", "**Who voted:** Pat Lee 2 dots",
                 "- **Took part:** 2 people joined by link (Product 1, Legal / privacy 1)",
                 "- **Board:** <https://attune.example/w/1/>",
                 "**Not covered in this workshop:** nothing was recorded for goals and success "
                 "metrics, stakeholders, action items or parking lot."):
        assert line in md, line
    assert "## Goals and success metrics" not in md and "## Stakeholders" not in md


def test_a_large_workshop_keeps_a_landscape_matrix_and_reads_in_order(db, tmp_path):
    workshop = large_workshop(make_user("lg"))
    document = download(workshop.owner, workshop)
    reader = PdfReader(io.BytesIO(document))
    assert 12 <= len(reader.pages) <= 26
    landscape = [n for n, page in enumerate(reader.pages)
                 if float(page.mediabox.width) > float(page.mediabox.height)]
    assert landscape and "Prioritization matrix" in page_texts(document)[landscape[0]]
    titles = [entry.title for entry in reader.outline if not isinstance(entry, list)]
    assert titles[:3] == ["Cover", "Executive summary", "Goals and success metrics"]


# --- Tagged and archival PDF -------------------------------------------------------------

def structure_kinds(root: Any) -> tuple[dict[str, int], list[str]]:
    kinds: dict[str, int] = {}
    alts: list[str] = []

    def walk(node: Any) -> None:
        node = node.get_object()
        if not isinstance(node, dict):
            return
        kind = node.get("/S")
        if kind:
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind == "/Figure":
                alts.append(str(node.get("/Alt", "")))
        children = node.get("/K")
        for child in children if isinstance(children, list) else [children]:
            if hasattr(child, "get_object") or isinstance(child, dict):
                walk(child)

    walk(root["/StructTreeRoot"])
    return kinds, alts


def fonts_of(reader: PdfReader) -> list[Any]:
    fonts = []
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts") or [font]:
                fonts.append(descendant.get_object())
    return fonts


def xmp(root: Any) -> str:
    return root["/Metadata"].get_object().get_data().decode()


def qpdf_finds_no_fault(document: bytes, folder: Path) -> None:
    path = folder / "roadmap.pdf"
    path.write_bytes(document)
    checked = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No syntax or stream encoding errors found" in checked.stdout


@pytest.mark.parametrize("variant", ["", "archive"])
def test_both_pdfs_are_tagged_with_headings_tables_and_the_charts_alt_text(
        fran, small, variant, tmp_path):
    document = download(fran, small, variant)
    reader = PdfReader(io.BytesIO(document))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en"
    assert root["/ViewerPreferences"]["/DisplayDocTitle"]
    kinds, alts = structure_kinds(root)
    for kind in ("/Document", "/H1", "/H2", "/P", "/Table", "/TH", "/TD", "/L", "/LI",
                 "/Link", "/Figure"):
        assert kinds.get(kind), (kind, kinds)
    assert kinds["/TH"] >= 20  # every table has its header cells tagged
    assert alts == [
        "Prioritization matrix of 2 recipes by impact and effort. Quick win: 1. Basket "
        "reminder (impact 4, effort 2); Big bet: 2. Bundle suggestions (impact 3, effort 4)."]
    fonts = fonts_of(reader)
    assert fonts and all(
        any(key in font["/FontDescriptor"] for key in ("/FontFile", "/FontFile2", "/FontFile3"))
        for font in fonts), "a font is not embedded"
    metadata = xmp(root)
    assert "Checkout personalization · Personalization roadmap" in metadata
    assert "<rdf:li>Fran Ng</rdf:li>" in metadata
    if variant == "archive":
        assert 'pdfaid:part="3" pdfaid:conformance="B"' in metadata
        intent = root["/OutputIntents"][0].get_object()
        assert intent["/S"] == "/GTS_PDFA1" and "/DestOutputProfile" in intent
    else:
        assert 'pdfuaid:part="1"' in metadata
    qpdf_finds_no_fault(document, tmp_path)


def test_an_unknown_variant_is_refused_with_what_is_offered(fran, small):
    response = signed_in(fran).get(f"/w/{small.pk}/export/roadmap.pdf?variant=pdf-x")
    assert response.status_code == 400
    assert "archive" in response.content.decode()


def test_the_download_menu_offers_the_archive_copy(fran, small):
    page = signed_in(fran).get(f"/w/{small.pk}/").content.decode()
    assert f"/w/{small.pk}/export/roadmap.pdf?variant=archive" in page


def test_reading_the_roadmap_takes_as_many_queries_for_a_large_board_as_a_small_one(small):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from exports_factories import add

    def queries(workshop) -> int:
        with CaptureQueriesContext(connection) as captured:
            build_roadmap(workshop)
        return len(captured.captured_queries)

    before = queries(small)
    source = add(small, "data_sources", name="Clickstream", party="first")
    for index in range(30):
        recipe = add(small, "recipes", title=f"Recipe {index}", segment="everyone",
                     action="help", content_model="alert", kind="automation", impact=3,
                     effort=3, data_sources=[source])
        add(small, "risks", risk=f"Risk {index}", category="privacy", likelihood=2,
            severity=2, recipes=[recipe])
        add(small, "interactions", what=f"Example {index}", sentiment="familiar")
    assert queries(small) == before
