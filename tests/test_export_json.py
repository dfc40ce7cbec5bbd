"""The JSON export, importing it as a new workshop, and duplicating a workshop."""

from __future__ import annotations

import copy
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from exports_factories import large_workshop, make_user, signed_in

from exports.schema import LISTS
from sessions.models import WorkshopSession
from workshop import services
from workshop.models import BoardEvent, Recipe, Risk, Workshop, facilitator_name


def comparable(data: dict) -> dict:
    """An export without what differs between two copies: when and which rows."""
    data = copy.deepcopy(data)
    data.pop("exported_at")
    for spec in LISTS:
        for row in data[spec.key]:
            row.pop("created_at")
            row.pop("updated_at")
    return data


def upload(data, name: str = "workshop.json") -> SimpleUploadedFile:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return SimpleUploadedFile(name, raw, content_type="application/json")


@pytest.fixture
def demo(db) -> Workshop:
    call_command("seed_demo", stdout=io.StringIO())
    return Workshop.objects.get(owner__username="demo")


@pytest.fixture
def owner_client(demo):
    return signed_in(demo.owner)


def export(client, workshop: Workshop) -> dict:
    response = client.get(f"/w/{workshop.pk}/export/workshop.json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_export_is_versioned_and_has_every_field_of_every_item(demo, owner_client):
    data = export(owner_client, demo)
    assert data["schema"] == "attune.workshop" and data["version"] == 2
    assert data["workshop"] == {
        "title": demo.title,
        "organisation": demo.organisation,
        "method": "prepersonalization",
        "round": 1,
    }
    assert data["facilitator"] == facilitator_name(demo.owner)
    assert data["counts"]["recipes"] == len(data["recipes"]) == Recipe.objects.filter(
        workshop=demo, private=False).count()
    assert len(data["agenda"]) == demo.phases.count()
    assert data["north_star"]["objective"] == demo.north_star.objective
    recipe = Recipe.objects.filter(workshop=demo).exclude(gate_override_reason="").first()
    row = next(r for r in data["recipes"] if r["title"] == recipe.title)
    for field in (
        "segment",
        "context",
        "action",
        "touchpoint",
        "content_model",
        "kind",
        "impact",
        "effort",
        "phase",
        "owner",
        "exit_metric",
        "dependencies",
        "gate_override_reason",
        "gate_override_by",
        "author_name",
        "position",
    ):
        assert row[field] == getattr(recipe, field), field
    assert row["gate_override_at"] == recipe.gate_override_at.isoformat()
    # Relations by stable keys, not database ids.
    sources = {r["ref"]: r["name"] for r in data["data_sources"]}
    assert sorted(sources[ref] for ref in row["data_sources"]) == sorted(
        recipe.data_sources.values_list("name", flat=True)
    )
    goals = {r["ref"]: r["metric"] for r in data["goals"]}
    assert goals[row["success_metric"]] == recipe.success_metric.metric
    risk = Risk.objects.filter(workshop=demo).exclude(recipes=None).first()
    risk_row = next(r for r in data["risks"] if r["risk"] == risk.risk)
    titles = {r["ref"]: r["title"] for r in data["recipes"]}
    assert {titles[ref] for ref in risk_row["recipes"]} == set(
        risk.recipes.values_list("title", flat=True)
    )
    for spec in LISTS:
        assert len(data[spec.key]) == spec.model.objects.filter(workshop=demo).count()
        for item in data[spec.key]:
            assert "id" not in item and "workshop" not in item


def test_export_import_export_gives_the_same_json(demo, owner_client):
    first = export(owner_client, demo)
    before = Workshop.objects.count()
    response = owner_client.post("/import/", {"file": upload(first)})
    assert response.status_code == 302
    assert Workshop.objects.count() == before + 1
    imported = Workshop.objects.exclude(pk=demo.pk).get(title=demo.title)
    assert imported.owner == demo.owner
    assert response["Location"] == f"/w/{imported.pk}/"
    assert comparable(export(owner_client, imported)) == comparable(first)
    # A new workshop: its own events, no sessions or people carried over.
    assert not WorkshopSession.objects.filter(workshop=imported).exists()
    assert BoardEvent.objects.filter(workshop=imported, kind="workshop.imported").count() == 1


def test_a_large_workshop_round_trips_too(db):
    user = make_user()
    workshop = large_workshop(user, recipes=20, risks=8, sources=6, stakeholders=4)
    client = signed_in(user)
    first = export(client, workshop)
    assert client.post("/import/", {"file": upload(first)}).status_code == 302
    copy_ = Workshop.objects.exclude(pk=workshop.pk).get(title=workshop.title)
    assert comparable(export(client, copy_)) == comparable(first)


def test_duplicate_makes_a_copy_with_the_same_board(demo, owner_client):
    response = owner_client.post(f"/w/{demo.pk}/duplicate/")
    assert response.status_code == 302
    duplicate = Workshop.objects.get(title=f"{demo.title} (copy)")
    assert response["Location"] == f"/w/{duplicate.pk}/"
    original, copied = export(owner_client, demo), export(owner_client, duplicate)
    copied["workshop"]["title"] = original["workshop"]["title"]
    assert comparable(copied) == comparable(original)
    assert BoardEvent.objects.filter(workshop=duplicate, kind="workshop.duplicated").exists()
    # The original is untouched.
    assert Recipe.objects.filter(workshop=demo).count() == len(original["recipes"])


def test_a_copy_of_a_long_title_stays_within_the_title_length(db):
    user = make_user()
    workshop = services.create_workshop(user, "T" * 200)
    response = signed_in(user).post(f"/w/{workshop.pk}/duplicate/")
    assert response.status_code == 302
    copy_ = Workshop.objects.exclude(pk=workshop.pk).get()
    assert len(copy_.title) == 200 and copy_.title.endswith(" (copy)")


def refused(client, data, status: int) -> str:
    before = {model: model.objects.count() for model in (Workshop, Recipe, Risk, BoardEvent)}
    response = client.post("/import/", {"file": upload(data)})
    assert response.status_code == status, response.content[:500]
    after = {model: model.objects.count() for model in (Workshop, Recipe, Risk, BoardEvent)}
    assert after == before  # nothing created
    return " ".join(response.content.decode().split())


@pytest.fixture
def good(demo, owner_client) -> dict:
    return export(owner_client, demo)


def test_a_file_that_is_not_json_is_refused(owner_client):
    page = refused(owner_client, b"%PDF-1.7 not json at all", 400)
    assert "not valid JSON" in page and "Nothing was created" in page
    page = refused(owner_client, b"\xff\xfe\x00garbage", 400)
    assert "UTF-8" in page


def test_a_file_of_another_schema_or_version_is_refused(owner_client, good):
    assert "not an Attune workshop export" in refused(owner_client, {"hello": 1}, 400)
    assert "not an Attune workshop export" in refused(owner_client, [1, 2, 3], 400)
    assert "version 3" in refused(owner_client, good | {"version": 3}, 400)
    assert "version 0" in refused(owner_client, good | {"version": 0}, 400)


def test_a_version_1_export_still_imports_as_a_first_round(owner_client, good):
    """A file written before rounds (version 1: no round, facilitator or counts)."""
    old = copy.deepcopy(good) | {"version": 1}
    for key in ("facilitator", "counts"):
        del old[key]
    del old["workshop"]["round"]
    response = owner_client.post("/import/", {"file": upload(old)})
    assert response.status_code == 302, response.content[:500]
    imported = Workshop.objects.order_by("-pk").first()
    assert imported.round == 1
    assert Recipe.objects.filter(workshop=imported).count() == len(good["recipes"])


def test_a_file_cut_short_is_refused_by_its_counts(owner_client, good):
    short = copy.deepcopy(good)
    short["recipes"] = short["recipes"][:-1]
    for risk in short["risks"]:  # no reference into what was cut
        risk["recipes"] = []
    page = refused(owner_client, short, 422)
    held = len(short["recipes"])
    assert f"counts.recipes: says {held + 1} but the file holds {held}" in page


def test_invalid_values_are_refused_with_where_they_are(owner_client, good):
    bad = copy.deepcopy(good)
    bad["recipes"][1]["impact"] = 9
    bad["recipes"][2]["phase"] = "someday"
    bad["risks"][0]["likelihood"] = "high"
    bad["data_sources"][0]["name"] = ""
    bad["decisions"][0]["decision"] = "x" * 201
    bad["action_items"][0]["due_date"] = "next week"
    bad["goals"][0]["colour"] = "blue"
    page = refused(owner_client, bad, 422)
    assert "recipes[1].impact: Ensure this value is less than or equal to 5." in page
    assert "recipes[2].phase: Value &#x27;someday&#x27; is not a valid choice." in page
    assert "risks[0].likelihood: must be a whole number, not a text." in page
    assert "data_sources[0].name: This field cannot be blank." in page
    assert "decisions[0].decision: is 201 characters long; at most 200 are allowed." in page
    assert "action_items[0].due_date: is not a date (YYYY-MM-DD)" in page
    assert "goals[0]: has fields Attune does not know: colour." in page


def test_dangling_and_repeated_references_are_refused(owner_client, good):
    bad = copy.deepcopy(good)
    bad["recipes"][0]["data_sources"] = ["data-source-999"]
    bad["risks"][0]["recipes"] = ["goal-1"]
    bad["goals"][1]["ref"] = bad["goals"][0]["ref"]
    page = refused(owner_client, bad, 422)
    assert "recipes[0].data_sources: refers to &#x27;data-source-999&#x27;" in page
    assert "risks[0].recipes: refers to &#x27;goal-1&#x27;, which is not an item of recipes" in page
    assert "goals[1].ref: repeats" in page


def test_an_unknown_method_and_a_missing_title_are_refused(owner_client, good):
    bad = copy.deepcopy(good)
    bad["workshop"] = {"organisation": "x", "method": "astrology"}
    page = refused(owner_client, bad, 422)
    assert "workshop.title: is missing." in page
    assert "workshop.method: names a method this Attune does not have" in page


@override_settings(EXPORTS_IMPORT_MAX_MB=1)
def test_a_file_that_is_too_big_is_refused(owner_client, good):
    padded = json.dumps(good | {"padding": "x" * (1024 * 1024)}).encode()
    assert "the most Attune imports is 1 MB" in refused(owner_client, padded, 413)


def test_no_file_is_refused(owner_client):
    response = owner_client.post("/import/", {})
    assert response.status_code == 400
    assert "Choose a JSON file" in response.content.decode()


def test_text_with_a_nul_character_is_refused(owner_client, good):
    """PostgreSQL cannot store NUL in text: the check catches it before any write."""
    bad = copy.deepcopy(good)
    bad["parking_lot"][0]["notes"] = "before\u0000after"
    bad["recipes"][0]["group"] = "Onboarding\u0000"
    bad["agenda"][0]["pitfalls"] = ["Overambitious\u0000 scope"]
    page = refused(owner_client, bad, 422)
    assert "parking_lot[0].notes: contains a NUL character" in page
    assert "recipes[0].group: must be the name of a group" in page
    assert "agenda[0].pitfalls: must be a list of texts" in page


@pytest.mark.parametrize("moment", ["2020-02-30T10:00:00", "9999-12-31T23:59:59-23:00",
                                    "0001-01-01T00:00:00+01:00"])
def test_a_time_that_is_no_time_is_refused_with_where_it_is(owner_client, good, moment):
    """February the 30th parses as ISO 8601 and is no day; the others leave the calendar
    once they are put in UTC, as the database keeps them."""
    bad = copy.deepcopy(good)
    bad["recipes"][0]["edited_at"] = moment
    assert "recipes[0].edited_at: is not a date and time" in refused(owner_client, bad, 422)
