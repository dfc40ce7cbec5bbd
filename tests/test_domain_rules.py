"""The rules the board derives: readiness, quadrants, risk scores and readiness gates."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from sessions import services as session_services
from sessions.access import Membership
from sessions.models import Role
from workshop import services
from workshop.choices import Quadrant, Readiness, RoadmapPhase
from workshop.forms import DataSourceForm
from workshop.models import NO_DATA_SOURCE, DataSource, Recipe, Risk
from workshop.sections import LISTS

GOOD = dict.fromkeys(DataSource.ASSESSMENT, "good")


@pytest.mark.parametrize(
    ("assessment", "consent", "expected"),
    [
        (GOOD, "Contract", Readiness.GREEN),
        (GOOD | {"accuracy": "fair"}, "Contract", Readiness.AMBER),
        (GOOD | {"timeliness": "unknown"}, "Contract", Readiness.AMBER),
        (GOOD | {"completeness": "poor"}, "Contract", Readiness.RED),
        (GOOD, "", Readiness.RED),
        (GOOD, "   ", Readiness.RED),
    ],
)
def test_readiness_is_derived_from_the_assessment_and_consent(assessment, consent, expected):
    source = DataSource(name="x", party="first", consent_basis=consent, **assessment)
    assert source.readiness == expected


def test_readiness_cannot_be_typed():
    assert "readiness" not in DataSourceForm.base_fields
    assert "readiness" not in {f.name for f in DataSource._meta.get_fields()}


@pytest.mark.parametrize(
    ("impact", "effort", "expected"),
    [
        (5, 1, Quadrant.QUICK_WIN), (3, 2, Quadrant.QUICK_WIN),
        (3, 3, Quadrant.BIG_BET), (5, 5, Quadrant.BIG_BET),
        (2, 2, Quadrant.FILL_IN), (1, 1, Quadrant.FILL_IN),
        (2, 3, Quadrant.MONEY_PIT), (1, 5, Quadrant.MONEY_PIT),
    ],
)
def test_quadrant_is_derived_from_impact_and_effort(impact, effort, expected):
    assert Recipe(impact=impact, effort=effort).quadrant == expected


@pytest.mark.parametrize(
    ("likelihood", "severity", "status", "mitigation", "blocks"),
    [
        (4, 3, "open", "", True),
        (3, 4, "mitigating", "", True),
        (4, 3, "open", "Human review of every segment", False),
        (4, 3, "mitigated", "", False),
        (3, 3, "open", "", False),
    ],
)
def test_open_high_risk_without_mitigation_blocks(likelihood, severity, status, mitigation,
                                                   blocks):
    risk = Risk(likelihood=likelihood, severity=severity, status=status, mitigation=mitigation)
    assert risk.blocks_roadmap is blocks


@pytest.fixture
def gated_recipe(add):
    source = add("data_sources", completeness="poor")
    recipe = add("recipes", data_sources=[source.pk])
    return recipe, source


def test_recipe_with_a_data_source_not_green_is_gated(gated_recipe):
    recipe, source = gated_recipe
    assert recipe.is_gated
    assert "Reading history" in recipe.gate_problems()[0]


@pytest.fixture
def ready_recipe(add):
    """A recipe whose only data source is green."""
    source = add("data_sources", completeness="good")
    return add("recipes", data_sources=[source.pk])


def test_recipe_with_no_data_source_is_gated_and_says_why(add):
    recipe = add("recipes")
    assert recipe.is_gated
    assert recipe.gate_problems() == [NO_DATA_SOURCE]


def test_recipe_with_no_data_source_cannot_enter_now_without_override(host, add):
    recipe = add("recipes")
    with pytest.raises(ValidationError, match="No data source is linked"):
        services.place_on_roadmap(host, recipe.pk, {"phase": RoadmapPhase.NOW}, recipe.version)
    recipe.refresh_from_db()
    assert recipe.phase == ""


def test_recipe_linked_to_a_high_unmitigated_risk_is_gated(add, ready_recipe):
    recipe = ready_recipe
    assert not recipe.is_gated
    add("risks", likelihood="4", severity="4", recipes=[recipe.pk])
    assert recipe.is_gated
    assert "likelihood × severity 16" in recipe.gate_problems()[0]


def test_gated_recipe_cannot_enter_now(host, gated_recipe):
    recipe, _ = gated_recipe
    with pytest.raises(ValidationError, match="readiness gate"):
        services.place_on_roadmap(host, recipe.pk, {"phase": RoadmapPhase.NOW}, recipe.version)
    recipe.refresh_from_db()
    assert recipe.phase == ""


def test_gated_recipe_may_enter_next_and_later(host, gated_recipe):
    recipe, _ = gated_recipe
    placed = services.place_on_roadmap(host, recipe.pk, {"phase": RoadmapPhase.NEXT},
                                       recipe.version)
    assert placed.phase == RoadmapPhase.NEXT


def test_override_with_a_reason_lets_a_gated_recipe_enter_now(host, gated_recipe):
    recipe, _ = gated_recipe
    recipe = services.override_gate(host, recipe.pk, "Pilot on 1% with consent banner")
    placed = services.place_on_roadmap(host, recipe.pk, {"phase": RoadmapPhase.NOW},
                                       recipe.version)
    assert placed.phase == RoadmapPhase.NOW
    assert placed.gate_override_by == "fran"
    assert placed.is_gated and placed.has_override


def test_ungated_recipe_enters_now_without_override(host, ready_recipe):
    recipe = ready_recipe
    placed = services.place_on_roadmap(host, recipe.pk, {"phase": RoadmapPhase.NOW}, 1)
    assert placed.phase == RoadmapPhase.NOW


def test_every_change_bumps_the_board_version_and_logs_an_event(host, add, workshop):
    workshop.refresh_from_db()
    start = workshop.version
    item = add("decisions")
    services.delete_item(host, LISTS["decisions"], item.pk)
    workshop.refresh_from_db()
    assert workshop.version == start + 2
    kinds = list(workshop.events.filter(version__gt=start).values_list("kind", flat=True))
    assert kinds == ["item.added", "item.deleted"]


def test_a_facilitator_places_a_gated_recipe_in_now_with_its_override_in_one_step(
        host, gated_recipe):
    recipe, _ = gated_recipe
    placed = services.place_on_roadmap(host, recipe.pk, {"phase": RoadmapPhase.NOW},
                                       recipe.version, override_reason=" Consent first ")
    assert placed.phase == RoadmapPhase.NOW
    assert (placed.gate_override_reason, placed.gate_override_by) == ("Consent first", "fran")


def test_only_a_facilitator_records_an_override_while_placing(live_session, gated_recipe):
    recipe, _ = gated_recipe
    person = session_services.join_session(live_session.join_token, "Pat", "design")
    pat = Membership(recipe.workshop, Role.PARTICIPANT, participant=person)
    with pytest.raises(PermissionDenied):
        services.place_on_roadmap(pat, recipe.pk, {"phase": RoadmapPhase.NOW},
                                  recipe.version, override_reason="Because")
    recipe.refresh_from_db()
    assert (recipe.phase, recipe.gate_override_reason) == ("", "")
