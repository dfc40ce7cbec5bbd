"""The roadmap PDF: the demo workshop's document, edge cases, the chart, the bound."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from exports_factories import add, host, huge_workshop, make_user
from PIL import Image
from pypdf import PdfReader

from exports import pdf
from exports.chart import matrix
from exports.context import build_roadmap
from workshop import services
from workshop.models import Recipe, Workshop

SECTION_HEADINGS = [
    "Executive summary",
    "Goals and success metrics",
    "Example interactions",
    "Prioritization matrix",
    "Phased roadmap",
    "Data readiness",
    "Ethics and bias register",
    "Stakeholders",
    "Decisions",
    "Action items",
    "Parking lot",
]

pytestmark = pytest.mark.slow  # each test renders PDFs in a child process


def pdf_text(document: bytes) -> str:
    reader = PdfReader(io.BytesIO(document))
    # Table cells wrap: compare with all whitespace runs (and hyphen-free wraps) joined.
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def pdf_pages(document: bytes) -> list[str]:
    return [squash(page.extract_text()) for page in PdfReader(io.BytesIO(document)).pages]


def squash(text: str) -> str:
    return " ".join(text.split())


def section_pages(document: bytes) -> dict[str, int]:
    """Where each bookmark points: title -> page index."""
    reader = PdfReader(io.BytesIO(document))
    found = {}

    def walk(entries):
        for entry in entries:
            if isinstance(entry, list):
                walk(entry)
            else:
                found.setdefault(entry.title, reader.get_destination_page_number(entry))

    walk(reader.outline)
    return found


def outline_titles(reader: PdfReader) -> list[str]:
    titles = []

    def walk(entries):
        for entry in entries:
            if isinstance(entry, list):
                walk(entry)
            else:
                titles.append(entry.title)

    walk(reader.outline)
    return titles


@pytest.fixture
def demo(db) -> Workshop:
    call_command("seed_demo", stdout=io.StringIO())
    return Workshop.objects.get(owner__username="demo")


@pytest.fixture
def demo_pdf(demo) -> bytes:
    client = Client()
    client.force_login(demo.owner)
    response = client.get(f"/w/{demo.pk}/export/roadmap.pdf")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    return response.content


def test_demo_pdf_has_every_section_in_order_and_every_recipe(demo, demo_pdf):
    pages = pdf_pages(demo_pdf)
    starts = section_pages(demo_pdf)
    first = [starts[heading] for heading in SECTION_HEADINGS]
    assert first == sorted(first) and first[0] == 1  # right after the cover
    # Sections flow: a page holds more than one of them (it used to be one each).
    assert len(set(first)) < len(first)
    for heading in SECTION_HEADINGS:
        assert heading in pages[starts[heading]]
    roadmap = " ".join(pages[starts["Phased roadmap"] : starts["Data readiness"]])
    for recipe in Recipe.objects.filter(workshop=demo):
        assert squash(recipe.title) in roadmap
        if recipe.phase:
            assert squash(recipe.owner) in roadmap, recipe.owner
    # Each recipe is printed under its own phase of the roadmap.
    lanes = [
        "Now: experiments and quick wins",
        "Next: always-on automations",
        "Later: product features",
        "Not placed yet",
    ]
    at = [roadmap.find(lane) for lane in lanes]
    assert -1 not in at and at == sorted(at)
    for recipe in Recipe.objects.filter(workshop=demo):
        lane = lanes.index(recipe.get_phase_display()) if recipe.phase else 3
        position = roadmap.find(squash(recipe.title), roadmap.find(lanes[0]))
        assert at[lane] < position < (at[lane + 1] if lane < 3 else len(roadmap)), recipe


def test_demo_pdf_has_outline_metadata_and_a_sensible_length(demo, demo_pdf):
    reader = PdfReader(io.BytesIO(demo_pdf))
    assert 8 <= len(reader.pages) <= 16
    titles = outline_titles(reader)
    assert titles[0] == "Cover"
    for heading in SECTION_HEADINGS:
        assert heading in titles
    for lane in ("Now: experiments and quick wins", "Next: always-on automations"):
        assert lane in titles
    assert reader.metadata.title == f"{demo.title} · Personalization roadmap"
    assert reader.metadata.author == "Dana Whitfield"  # the facilitator's name, not login


def test_every_page_after_the_cover_carries_title_header_and_page_x_of_y(demo, demo_pdf):
    reader = PdfReader(io.BytesIO(demo_pdf))
    total = len(reader.pages)
    for number, page in enumerate(reader.pages[1:], start=2):
        text = squash(page.extract_text())
        assert f"Page {number} of {total}" in text
        assert demo.title[:40] in text


def test_the_executive_summary_is_one_page(demo_pdf):
    starts = section_pages(demo_pdf)
    pages = pdf_pages(demo_pdf)
    summary = pages[starts["Executive summary"]]
    assert "WHY PERSONALIZE" in summary and "Key decisions" in summary
    assert "Key decisions" not in pages[starts["Executive summary"] + 1]


def test_the_executive_summary_stays_one_page_when_every_field_is_at_its_longest(db):
    user = make_user()
    workshop = services.create_workshop(user, "W" * 200)
    services.update_north_star(
        host(workshop),
        {
            "objective": "Objective words " * 125,
            "why_now": "Why now words " * 142,
            "scope_level": "product",
            "start_area": "S" * 200,
        },
        None,
    )
    for index in range(3):
        add(
            workshop,
            "recipes",
            title=f"{index} " + "Title words " * 16,
            segment="Segment words " * 14,
            context="Context " * 25,
            action="Action " * 280,
            content_model="enrich",
            kind="automation",
            impact=5,
            effort=1,
        )
    for index in range(6):
        add(
            workshop,
            "decisions",
            decision=f"{index} " + "Decision words " * 13,
            rationale="Rationale words " * 120,
        )
    document = pdf.render_pdf(pdf.print_html(build_roadmap(workshop))).pdf
    starts = section_pages(document)
    # A full summary: what follows starts on the next page, and nothing of the summary
    # spills over (its height is capped, the overflow clipped).
    assert starts["Prioritization matrix"] == starts["Executive summary"] + 1
    assert "Key decisions" in pdf_pages(document)[starts["Executive summary"]]
    assert "Key decisions" not in pdf_pages(document)[starts["Executive summary"] + 1]


def test_the_pdf_embeds_only_the_bundled_fonts(demo_pdf):
    reader = PdfReader(io.BytesIO(demo_pdf))
    fonts = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    assert fonts
    assert all(name.startswith("Attune") for name in fonts), fonts


def test_the_chart_plots_and_labels_every_recipe_without_overlaps(demo):
    roadmap = build_roadmap(demo)
    chart = matrix(roadmap.recipes)
    assert len(chart.placements) == len(roadmap.recipes) == 8
    for recipe in roadmap.recipes:
        assert f'data-rank="{recipe.rank}"' in chart.svg
        assert f"<title>{recipe.title.replace(chr(39), '&#x27;')}</title>" in chart.svg
    boxes = [placement.box for placement in chart.placements]
    for index, box in enumerate(boxes):
        assert box.inside(chart.placements[index].cell)
        for other in boxes[index + 1 :]:
            assert not box.overlaps(other)


def test_the_chart_still_labels_sixty_recipes_in_few_cells_without_overlaps(db):
    user = make_user()
    workshop = services.create_workshop(user, "Crowded")
    for index in range(60):
        add(
            workshop,
            "recipes",
            title=f"Crowded recipe number {index}",
            segment="anyone",
            action="act",
            content_model="enrich",
            kind="automation",
            impact=4 + index % 2,
            effort=1 + index % 2,
        )
    chart = matrix(build_roadmap(workshop).recipes)
    assert len(chart.placements) == 60 and not chart.overflow
    for index, placement in enumerate(chart.placements):
        assert placement.box.inside(placement.cell)
        for other in chart.placements[index + 1 :]:
            assert not placement.box.overlaps(other.box)


def test_an_empty_workshop_prints_on_two_pages_naming_what_was_not_covered(db):
    user = make_user()
    workshop = services.create_workshop(user, "Nothing yet")
    result = pdf.render_pdf(pdf.print_html(build_roadmap(workshop)))
    text = re.sub(r"\s+,", ",", pdf_text(result.pdf))  # a line may wrap before a comma
    assert "No North Star written yet" in text
    assert ("Not covered in this workshop: nothing was recorded for goals and success "
            "metrics, example interactions, prioritization matrix, phased roadmap, data "
            "readiness, ethics and bias register, stakeholders, decisions, action items or "
            "parking lot.") in text
    assert len(PdfReader(io.BytesIO(result.pdf)).pages) == 2  # the cover and the summary


def test_accents_arabic_hebrew_and_cjk_print_with_bundled_glyphs_right_to_left(db):
    user = make_user()
    workshop = services.create_workshop(user, "Café Ærø — 个性化路线图", "Société Générale")
    add(workshop, "decisions", decision="مرحبا بالعالم", rationale="שלום עולם")
    add(workshop, "decisions", decision="ユーザー体験を改善する 사용자 경험", rationale="Überall")
    html = pdf.print_html(build_roadmap(workshop))
    assert '<li dir="rtl"><strong>مرحبا بالعالم</strong>' in html
    result = pdf.render_pdf(html)
    text = pdf_text(result.pdf)
    assert "Café Ærø" in text and "个性化路线图" in text and "Société Générale" in text
    assert "ユーザー体験を改善する" in text and "사용자 경험" in text
    # Arabic comes out shaped and right to left; pypdf gives it back in reading order.
    assert "بالعالم" in text or "مرحبا" in text
    reader = PdfReader(io.BytesIO(result.pdf))
    fonts = {
        str(font.get_object()["/BaseFont"]).split("+", 1)[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert {"Attune-CJK", "Attune-Arabic", "Attune-Hebrew"} <= {
        f.split("-Bold")[0] for f in fonts
    }, fonts


def test_long_text_wraps_inside_the_page(db, tmp_path):
    user = make_user()
    workshop = services.create_workshop(user, "Long words")
    url = "https://example.com/" + "averyveryverylongpathsegment" * 6
    add(workshop, "decisions", decision="A decision with a long link", rationale=url)
    add(
        workshop,
        "recipes",
        title="W" * 150,
        segment="x" * 190,
        action="y" * 1900,
        content_model="enrich",
        kind="automation",
        impact=3,
        effort=3,
    )
    result = pdf.render_pdf(pdf.print_html(build_roadmap(workshop)))
    text = pdf_text(result.pdf).replace("\u200b", "")
    assert "averyveryverylongpathsegment" in text
    # Nothing is drawn beyond the right edge of any page: poppler places every word
    # (chart text inside its SVG form included) within its page's width.
    for page_width, words in word_boxes(result.pdf, tmp_path):
        assert words and all(x_min >= 0 and x_max <= page_width for x_min, x_max in words)


def word_boxes(document: bytes, folder: Path) -> list[tuple[float, list[tuple[float, float]]]]:
    """Per page: its width and each word's left and right edge, from pdftotext -bbox."""
    source = folder / "words.pdf"
    source.write_bytes(document)
    html = subprocess.run(["pdftotext", "-bbox", str(source), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    pages = []
    for page in re.finditer(r'<page width="([\d.]+)"[^>]*>(.*?)</page>', html, re.S):
        words = [(float(a), float(b)) for a, b in
                 re.findall(r'<word xMin="([\d.-]+)" yMin="[\d.-]+" xMax="([\d.-]+)"', page[2])]
        pages.append((float(page[1]), words))
    return pages


def test_pages_render_to_images_with_content(demo_pdf, tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.fail("pdftoppm is missing: apt-get install poppler-utils (.ci/run does)")
    source = tmp_path / "roadmap.pdf"
    source.write_bytes(demo_pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(source), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == len(PdfReader(io.BytesIO(demo_pdf)).pages)
    for image in images:
        pixels = Image.open(image).convert("L")
        inked = sum(1 for value in pixels.get_flattened_data() if value < 200)
        assert inked > 500, image.name  # not a blank page
    landscape = [image for image in images if Image.open(image).width > Image.open(image).height]
    # Up to ten recipes, the matrix flows with the rest; past ten it has a landscape
    # page (tests/test_roadmap_document.py).
    assert not landscape


def test_a_huge_workshop_is_refused_quickly_with_a_clear_message(db):
    user = make_user()
    workshop = huge_workshop(user, recipes=500, text=10_000)
    client = Client()
    client.force_login(user)
    started = time.monotonic()
    response = client.get(f"/w/{workshop.pk}/export/roadmap.pdf")
    assert time.monotonic() - started < 30
    assert response.status_code == 413
    page = squash(response.content.decode())
    assert "too large to print as one PDF" in page
    assert "Markdown" in page  # and where to get the content instead


@override_settings(EXPORTS_PDF_MAX_HTML_MB=64, EXPORTS_PDF_TIMEOUT=4)
def test_a_render_past_its_deadline_is_stopped_within_the_bound(db):
    user = make_user()
    workshop = huge_workshop(user, recipes=500, text=10_000)
    html = pdf.print_html(build_roadmap(workshop))
    started = time.monotonic()
    with pytest.raises(pdf.TimedOut) as refused:
        pdf.render_pdf(html)
    assert time.monotonic() - started < 4 + 3
    assert refused.value.status == 503
    # The renderer is not left behind: the next PDF comes out normally.
    small = services.create_workshop(user, "Small one")
    assert pdf.render_pdf(pdf.print_html(build_roadmap(small))).pdf.startswith(b"%PDF")


@override_settings(EXPORTS_PDF_MEMORY_MB=200)
def test_a_render_past_its_memory_ceiling_fails_cleanly(db):
    user = make_user()
    workshop = huge_workshop(user, recipes=120, text=2_000)
    with pytest.raises(pdf.TooLarge) as refused:
        pdf.render_pdf(pdf.print_html(build_roadmap(workshop)))
    assert refused.value.status == 413
    assert "memory" in str(refused.value)


def test_the_page_image_for_the_readme_is_in_docs():
    image = Path(__file__).resolve().parent.parent / "docs" / "roadmap-page.png"
    assert image.exists()
    assert re.match(rb"\x89PNG", image.read_bytes()[:4])


def test_an_unchanged_board_is_printed_once_and_any_change_prints_it_again(db, pdf_prints):
    from exports_factories import signed_in

    user = make_user()
    workshop = services.create_workshop(user, "Printed once")
    add(workshop, "decisions", decision="Start with the home screen")
    printed = pdf_prints
    client = signed_in(user)
    url = f"/w/{workshop.pk}/export/roadmap.pdf"
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and len(printed) == 1
    add(workshop, "decisions", decision="Ship the continue row first")
    third = client.get(url)
    assert len(printed) == 2
    assert "Ship the continue row first" in pdf_text(third.content)
