"""`manage.py seed_demo`: one fully filled demo workshop, however often it runs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils.html import escape

from sessions.models import Participant, Role, WorkshopSession
from workshop.choices import Quadrant, Readiness, RoadmapPhase
from workshop.models import BoardEvent, Recipe, Workshop
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db

TITLE = "Northwind Reader — personalizing the subscription reading app"


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def demo_workshop() -> Workshop:
    return Workshop.objects.get(owner__username="demo", title=TITLE)


def snapshot() -> dict:
    """What the database holds, by content rather than by primary key."""
    return {
        "users": get_user_model().objects.count(),
        "workshops": Workshop.objects.count(),
        "sessions": WorkshopSession.objects.count(),
        "participants": sorted(Participant.objects.values_list("display_name", "role")),
        "north_star": [str(w.north_star) for w in Workshop.objects.all()],
        **{
            key: sorted(str(item) for item in section.model.objects.all())
            for key, section in LISTS.items()
        },
        "roadmap": sorted(Recipe.objects.values_list("title", "phase", "owner")),
    }


def test_second_run_changes_nothing():
    first = seed()
    before = snapshot()
    workshop = demo_workshop()
    events = BoardEvent.objects.count()

    second = seed()

    assert snapshot() == before
    assert before["workshops"] == 1
    assert BoardEvent.objects.count() == events
    again = demo_workshop()
    assert again.pk == workshop.pk and again.version == workshop.version
    assert "Created" in first
    assert "already there" in second


def test_reset_recreates_the_same_workshop():
    seed()
    before = snapshot()
    old_pk = demo_workshop().pk

    seed("--reset")

    assert snapshot() == before
    assert demo_workshop().pk != old_pk
    assert not Workshop.objects.filter(pk=old_pk).exists()


def test_every_section_is_filled():
    seed()
    workshop = demo_workshop()

    assert workshop.organisation
    north_star = workshop.north_star
    assert north_star.scope_level == "experience"
    assert north_star.objective and north_star.why_now and north_star.start_area
    for key, section in LISTS.items():
        assert section.items(workshop.pk).exists(), f"{key} is empty"
    assert all(goal.data_source_id for goal in workshop.goals.all())
    items = workshop.action_items.all()
    assert all(item.owner and item.due_date for item in items)


def test_readiness_quadrants_gates_and_roadmap():
    seed()
    workshop = demo_workshop()
    recipes = list(LISTS["recipes"].items(workshop.pk))

    assert {source.readiness for source in workshop.data_sources.all()} == set(Readiness)
    assert {recipe.quadrant for recipe in recipes} == set(Quadrant)

    gated = [recipe for recipe in recipes if recipe.is_gated]
    assert gated
    blocked_by_risk = [
        recipe for recipe in recipes if any(risk.blocks_roadmap for risk in recipe.risks.all())
    ]
    assert blocked_by_risk and all(recipe.is_gated for recipe in blocked_by_risk)
    assert any(risk.is_high and risk.mitigation for risk in workshop.risks.all())

    overridden = [recipe for recipe in recipes if recipe.has_override]
    assert overridden
    assert all(r.is_gated and r.phase == RoadmapPhase.NOW for r in overridden)
    assert all(r.gate_override_by and r.gate_override_at for r in overridden)
    # Whatever is in "now" got there legitimately: ready, or by a recorded override.
    now = [recipe for recipe in recipes if recipe.phase == RoadmapPhase.NOW]
    assert any(not recipe.is_gated for recipe in now)
    assert all(recipe.may_enter_now() for recipe in now)

    placed = [recipe for recipe in recipes if recipe.phase]
    assert {recipe.phase for recipe in placed} == {
        RoadmapPhase.NOW, RoadmapPhase.NEXT, RoadmapPhase.LATER
    }
    assert all(r.owner and r.exit_metric and r.dependencies for r in placed)


def test_a_session_is_running_with_participants_and_an_observer():
    seed()
    session = WorkshopSession.objects.get(workshop=demo_workshop())

    assert session.is_open
    people = list(session.participants.all())
    joined = [p for p in people if p.role == Role.PARTICIPANT]
    observers = [p for p in people if p.role == Role.OBSERVER]
    assert 5 <= len(joined) <= 6
    assert len({p.function for p in joined}) == len(joined)
    assert len(observers) == 1
    assert all(p.is_active for p in people)


def test_summary_names_the_board_the_links_and_the_login():
    out = seed()
    workshop = demo_workshop()
    session = workshop.sessions.get()

    assert f"/w/{workshop.pk}/" in out
    assert f"/join/{session.join_token}/" in out
    assert f"/join/{session.observer_token}/" in out
    assert "demo / demo" in out
    assert f"/join/{session.join_token}/" in seed()


def test_demo_logs_in_and_sees_the_board():
    seed()
    workshop = demo_workshop()
    client = Client(HTTP_HOST="127.0.0.1")

    response = client.post("/accounts/login/", {"username": "demo", "password": "demo"})
    assert response.status_code == 302

    response = client.get(f"/w/{workshop.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    for title in (
        "Continue where you left off",
        "Topic picks for new subscribers",
        "Household demographics (third-party enrichment)",
        "Stereotyped Home built from inferred demographics",
        workshop.north_star.start_area,
    ):
        assert escape(title) in page, title


def test_a_rerun_restores_the_demo_password():
    seed()
    user = get_user_model().objects.get(username="demo")
    user.set_password("changed-meanwhile")
    user.save()

    seed()

    # Signed in as a person would (django-axes needs the request a login comes with).
    response = Client(HTTP_HOST="127.0.0.1").post(
        "/accounts/login/", {"username": "demo", "password": "demo"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_join_link_from_the_summary_opens():
    seed()
    session = demo_workshop().sessions.get()

    response = Client(HTTP_HOST="127.0.0.1").get(f"/join/{session.join_token}/")

    assert response.status_code == 200


def test_the_summary_prints_full_clickable_addresses_from_the_base_url():
    out = seed("--base-url", "http://192.168.1.20:8000/")
    workshop = demo_workshop()
    session = workshop.sessions.get()
    assert f"Board:          http://192.168.1.20:8000/w/{workshop.pk}/" in out
    assert f"Join link:      http://192.168.1.20:8000/join/{session.join_token}/" in out
    assert f"Observer link:  http://192.168.1.20:8000/join/{session.observer_token}/" in out
