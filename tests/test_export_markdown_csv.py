"""The Markdown roadmap (for wikis) and the CSV zip (for spreadsheets)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.management import call_command
from exports_factories import add, make_user, signed_in

from exports.csv_export import safe
from exports.markdown import esc
from workshop import services
from workshop.models import DataSource, Recipe, Risk, Workshop

MARKDOWN_SECTIONS = [
    "## North Star",
    "## Executive summary",
    "## Goals and success metrics",
    "## Example interactions",
    "## Prioritization matrix",
    "### Vote results",
    "## Phased roadmap",
    "## Data readiness",
    "## Ethics and bias register",
    "## Stakeholders",
    "## Decisions",
    "## Action items",
    "## Parking lot",
]


@pytest.fixture
def demo(db) -> Workshop:
    call_command("seed_demo", stdout=io.StringIO())
    return Workshop.objects.get(owner__username="demo")


def markdown_of(workshop: Workshop) -> str:
    response = signed_in(workshop.owner).get(f"/w/{workshop.pk}/export/roadmap.md")
    assert response.status_code == 200
    return response.content.decode()


def csv_files(workshop: Workshop) -> dict[str, list[dict[str, str]]]:
    response = signed_in(workshop.owner).get(f"/w/{workshop.pk}/export/csv.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return {
        name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
        for name in archive.namelist()
    }


def test_markdown_follows_the_pdf_structure_in_order(demo):
    text = markdown_of(demo)
    assert text.startswith(f"# {esc(demo.title)}\n")
    # Each part's heading says what it holds: "## Ethics and bias register (4 risks)".
    positions = [text.find(f"\n{heading}") for heading in MARKDOWN_SECTIONS]
    assert -1 not in positions, dict(zip(MARKDOWN_SECTIONS, positions, strict=True))
    assert positions == sorted(positions)
    lanes = [
        "### Now: experiments and quick wins",
        "### Next: always-on automations",
        "### Later: product features",
        "### Not placed yet",
    ]
    at = [text.find(lane) for lane in lanes]
    assert -1 not in at and at == sorted(at)


def test_markdown_has_every_recipe_with_owner_phase_gate_and_override(demo):
    text = markdown_of(demo)
    for recipe in Recipe.objects.filter(workshop=demo):
        assert esc(recipe.title) in text
        if recipe.owner:
            assert f"- **Owner:** {esc(recipe.owner)}" in text
    overridden = Recipe.objects.filter(workshop=demo).exclude(gate_override_reason="").get()
    assert "- **Readiness gate:** Gate overridden" in text
    assert esc(overridden.gate_override_reason)[:60] in text
    for source in DataSource.objects.filter(workshop=demo):
        assert esc(source.name) in text
    assert "**Unmitigated high risk:**" in text
    assert "| Recipe | Dots |" in text  # the demo's closed dot vote


def test_markdown_escapes_user_text_so_it_cannot_become_markup(db):
    user = make_user()
    workshop = services.create_workshop(user, "# Not a heading <b>")
    add(
        workshop,
        "decisions",
        decision='<img src=x onerror="alert(1)">',
        rationale="*not bold* | not a column\n- not a list",
    )
    text = markdown_of(workshop)
    assert text.startswith("# \\# Not a heading \\<b\\>\n")
    assert '**\\<img src=x onerror="alert(1)"\\>**' in text
    assert "\\*not bold\\* \\| not a column / \\- not a list" in text
    assert "<img" not in text.replace("\\<img", "")


def test_csv_zip_has_one_file_per_section_with_every_item(demo):
    files = csv_files(demo)
    assert set(files) == {
        "north_star.csv",
        "stakeholders.csv",
        "interactions.csv",
        "data_sources.csv",
        "goals.csv",
        "recipes.csv",
        "risks.csv",
        "decisions.csv",
        "action_items.csv",
        "parking_lot.csv",
    }
    recipes = files["recipes.csv"]
    assert [row["title"] for row in recipes] == list(
        Recipe.objects.filter(workshop=demo).values_list("title", flat=True)
    )
    continue_row = next(row for row in recipes if row["title"] == "Continue where you left off")
    assert continue_row["roadmap phase"] == "Now: experiments and quick wins"
    assert continue_row["owner"] == "Tomás Alvarez (Engineering)"
    assert continue_row["quadrant"] == "Quick win"
    assert continue_row["data sources"] == "Reading and listening history"
    sources = {row["name"]: row for row in files["data_sources.csv"]}
    assert sources["Household demographics (third-party enrichment)"]["readiness"] == "Red"
    risks = files["risks.csv"]
    assert {row["risk"] for row in risks} == set(
        Risk.objects.filter(workshop=demo).values_list("risk", flat=True)
    )
    assert any(row["unmitigated high risk"] == "yes" for row in risks)
    assert files["north_star.csv"][0]["workshop"] == demo.title


def test_csv_cells_that_look_like_formulas_are_quoted(db):
    user = make_user()
    workshop = services.create_workshop(user, "Formulas")
    add(
        workshop,
        "parking_lot",
        question='=HYPERLINK("http://evil.example","click")',
        notes="+1 and -2 and @sum",
    )
    row = csv_files(workshop)["parking_lot.csv"][0]
    assert row["question"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["notes"] == "'+1 and -2 and @sum"
    assert safe("plain") == "plain" and safe(None) == "" and safe(True) == "yes"


def test_a_recipe_with_no_data_source_is_not_ready_in_the_roadmap(db):
    workshop = services.create_workshop(make_user(), "Gate")
    add(workshop, "recipes", title="Unlinked idea", segment="Everyone", action="do it",
        impact=4, effort=2, kind="personalization", content_model="make_easier")
    text = markdown_of(workshop)
    assert "- **Readiness gate:** Gate not met (no data source linked)" in text
    assert "- **Readiness gate:** Ready" not in text
