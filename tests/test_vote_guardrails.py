"""Votes with guardrails: no vote on nothing; the facilitators see "n of m voted" and
who has not (the room sees the count only); limits go up mid-vote and keep every dot
cast; a vote can keep people off their own recipes; "+ dot" says when it is off."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from samples import SAMPLES

from sessions import voting
from sessions.access import Membership
from sessions.fragments import event_frames
from sessions.models import Dot, Role
from sessions.selectors import ballot
from workshop import services
from workshop.models import BoardEvent
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(live_session, workshop):
    """Pat and Kim take part (each with a client and a membership)."""
    found = {}
    for name in ("Pat", "Kim"):
        client = Client()
        response = client.post(f"/join/{live_session.join_token}/",
                               {"display_name": name, "function": "design"})
        assert response.status_code == 302
        person = live_session.participants.get(display_name=name)
        found[name.lower()] = (client, Membership(workshop, Role.PARTICIPANT,
                                                  participant=person))
    return found


def frames_of(workshop) -> dict[str, str]:
    event = BoardEvent.objects.filter(workshop=workshop).last()
    return {audience: "".join(texts) for audience, texts in event_frames(event).items()}


def test_no_vote_opens_on_a_board_without_recipes(facilitator_client, workshop, host, add):
    response = facilitator_client.post(f"/w/{workshop.pk}/vote/open/",
                                       {"budget": "3", "per_item": "2", "hidden": "on"})
    assert response.status_code == 400
    assert "no recipes to vote on yet" in response.content.decode()
    add("recipes")
    voting.open_vote(host)


def test_facilitators_see_who_has_not_voted_and_the_room_only_the_count(
        people, host, add, workshop):
    recipe = add("recipes")
    voting.open_vote(host, 3, 3)
    voting.cast_dot(people["pat"][1], recipe.pk)
    voting.cast_dot(host, recipe.pk)  # a facilitator's dot counts nobody taking part
    frames = frames_of(workshop)
    for audience in ("room", "facilitators"):
        panel = json.loads(frames[audience])["ops"][0]["html"]
        assert "<strong>1 of 2</strong> taking part has voted" in panel, audience
    assert "Not voted yet: 1" in frames["facilitators"] and "<li>Kim</li>" in frames[
        "facilitators"]
    assert "Not voted yet" not in frames["room"] and "Kim" not in frames["room"]


def test_limits_go_up_mid_vote_and_every_dot_cast_stays(people, host, add, workshop,
                                                        facilitator_client):
    recipes = [add("recipes", title=f"Idea {n}") for n in range(2)]
    voting.open_vote(host, 2, 1)
    pat = people["pat"][1]
    for recipe in recipes:
        voting.cast_dot(pat, recipe.pk)
    with pytest.raises(ValidationError):
        voting.cast_dot(pat, recipes[0].pk)
    response = facilitator_client.post(f"/w/{workshop.pk}/vote/limits/",
                                       {"budget": "4", "per_item": "2"})
    assert response.status_code == 204
    voting.cast_dot(pat, recipes[0].pk)
    voting.cast_dot(pat, recipes[1].pk)
    assert Dot.objects.filter(voter=pat.person).count() == 4
    response = facilitator_client.post(f"/w/{workshop.pk}/vote/limits/",
                                       {"budget": "3", "per_item": "2"})
    assert response.status_code == 400
    assert "Limits only go up during a vote" in response.content.decode()
    assert Dot.objects.filter(voter=pat.person).count() == 4
    assert "4 dots each, at most 2 on one recipe" in " ".join(frames_of(workshop).values())
    with pytest.raises(PermissionDenied):
        voting.raise_limits(pat, 5, 2)
    assert people["pat"][0].post(f"/w/{workshop.pk}/vote/limits/",
                                 {"budget": "5", "per_item": "2"}).status_code == 403


def test_a_vote_can_keep_people_off_their_own_recipes(people, host, add, workshop,
                                                      facilitator_client):
    client, pat = people["pat"]
    form = LISTS["recipes"].form(data=SAMPLES["recipes"] | {"title": "Pat's own"},
                                 workshop=workshop)
    assert form.is_valid()
    own = services.add_item(pat, LISTS["recipes"], form.cleaned_data)
    other = add("recipes", title="Someone else's")
    response = facilitator_client.post(f"/w/{workshop.pk}/vote/open/",
                                       {"budget": "3", "per_item": "3"})
    assert response.status_code == 204
    assert not voting.open_vote_of(workshop.pk).own_dots
    response = client.post(f"/w/{workshop.pk}/vote/ballot/", {"recipe": own.pk})
    assert response.status_code == 400
    assert "nobody puts dots on a recipe they wrote" in response.content.decode()
    ballot = client.post(f"/w/{workshop.pk}/vote/ballot/", {"recipe": other.pk})
    html = ballot.content.decode()
    assert "Pat&#x27;s own</span> <span class=\"tag\">yours</span>" in html
    assert 'disabled title="Your own recipe"' in html
    # Kim may put dots on Pat's recipe.
    voting.cast_dot(people["kim"][1], own.pk)


def test_plus_dot_says_when_a_recipe_has_all_it_may_take(people, host, add, workshop):
    client, _ = people["pat"]
    recipe = add("recipes")
    add("recipes", title="Second")
    voting.open_vote(host, 3, 2)
    for _ in range(2):
        html = client.post(f"/w/{workshop.pk}/vote/ballot/",
                           {"recipe": recipe.pk}).content.decode()
    assert 'disabled title="At the most one recipe takes"' in html
    assert "(at the most one recipe takes)" in html
    assert html.count("disabled title=") == 1  # Second still takes a dot


def test_the_dots_left_drop_with_each_cast_for_everyone_after_a_raise(people, host, add):
    recipe = add("recipes")
    voting.open_vote(host, 1, 1)
    voting.cast_dot(people["kim"][1], recipe.pk)
    voting.raise_limits(host, 3, 1)
    mine = ballot(people["kim"][1])
    assert mine["left"] == 2
    assert mine["rows"][0]["full"] == "At the most one recipe takes"
