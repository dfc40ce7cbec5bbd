"""Placing recipes on the roadmap through the page, with readiness gates and overrides."""

import pytest
from samples import prefixed


@pytest.fixture
def gated(add):
    source = add("data_sources", consent_basis="")
    return add("recipes", data_sources=[source.pk])


def place(client, workshop, recipe, phase, version=1):
    data = prefixed({"phase": phase, "owner": "Mina", "exit_metric": "+2pt retention"},
                    f"roadmap-{recipe.pk}") | {"version": str(version)}
    return client.post(f"/w/{workshop.pk}/roadmap/{recipe.pk}/", data)


def test_gated_recipe_is_flagged_on_the_board(facilitator_client, workshop, gated):
    html = facilitator_client.get(f"/w/{workshop.pk}/").content.decode()
    assert "Readiness gate not met" in html
    assert "Data source “Reading history” is red" in html


def test_placing_a_gated_recipe_in_now_is_refused_with_the_reason(participant_client,
                                                                  workshop, gated):
    response = place(participant_client, workshop, gated, "now")
    assert response.status_code == 422
    assert "readiness gate is not met" in response.content.decode()
    gated.refresh_from_db()
    assert gated.phase == "" and gated.owner == ""


def test_placing_in_next_moves_it_to_that_lane(participant_client, workshop, gated):
    response = place(participant_client, workshop, gated, "next")
    assert response.status_code == 204
    board = participant_client.get(f"/w/{workshop.pk}/").content.decode()
    lane = board[board.index('id="lane-next"'):board.index('id="lane-later"')]
    assert f'id="roadmap-{gated.pk}"' in lane
    gated.refresh_from_db()
    assert (gated.phase, gated.owner) == ("next", "Mina")


def test_facilitator_override_lets_it_into_now(facilitator_client, workshop, gated):
    url = f"/w/{workshop.pk}/roadmap/{gated.pk}/override/"
    refused = facilitator_client.post(url, {"reason": "  "})
    assert (refused.status_code, refused.content) == (400, b"This field is required.")
    response = facilitator_client.post(url, {"reason": "Consent banner ships first"})
    assert response.status_code == 204
    card = facilitator_client.get(f"/w/{workshop.pk}/roadmap/{gated.pk}/").content.decode()
    assert "Consent banner ships first" in card
    assert place(facilitator_client, workshop, gated, "now", version=2).status_code == 204
    gated.refresh_from_db()
    assert gated.phase == "now" and gated.gate_override_by == "fran"


@pytest.mark.parametrize(("role", "status"), [("participant", 403), ("observer", 403),
                                              ("outsider", 404)])
def test_only_the_facilitator_overrides_a_gate(clients, workshop, gated, role, status):
    url = f"/w/{workshop.pk}/roadmap/{gated.pk}/override/"
    assert clients[role].post(url, {"reason": "Because"}).status_code == status
    gated.refresh_from_db()
    assert gated.gate_override_reason == ""


def test_observer_cannot_place_recipes(observer_client, workshop, gated):
    assert place(observer_client, workshop, gated, "later").status_code == 403


def test_a_facilitator_is_offered_the_override_in_the_place_form(facilitator_client,
                                                                 participant_client,
                                                                 workshop, gated):
    url = f"/w/{workshop.pk}/roadmap/{gated.pk}/?edit"
    field = f'name="roadmap-{gated.pk}-override_reason"'
    assert field in facilitator_client.get(url).content.decode()
    assert field not in participant_client.get(url).content.decode()


def test_a_refused_placement_keeps_what_was_typed_and_offers_the_override(
        facilitator_client, workshop, gated):
    response = place(facilitator_client, workshop, gated, "now")
    html = response.content.decode()
    assert response.status_code == 422
    assert "readiness gate is not met" in html
    assert 'value="Mina"' in html and 'value="+2pt retention"' in html
    assert f'name="roadmap-{gated.pk}-override_reason"' in html


def test_placing_in_now_with_a_reason_records_the_override_in_the_same_step(
        facilitator_client, workshop, gated):
    data = prefixed({"phase": "now", "owner": "Mina", "exit_metric": "+2pt",
                     "override_reason": "Pilot on 1% behind a consent banner"},
                    f"roadmap-{gated.pk}") | {"version": "1"}
    response = facilitator_client.post(f"/w/{workshop.pk}/roadmap/{gated.pk}/", data)
    assert response.status_code == 204
    gated.refresh_from_db()
    assert (gated.phase, gated.owner) == ("now", "Mina")
    assert gated.gate_override_reason == "Pilot on 1% behind a consent banner"
    assert gated.gate_override_by == "fran"


def test_a_participant_cannot_slip_an_override_into_a_placement(participant_client,
                                                                workshop, gated):
    data = prefixed({"phase": "now", "owner": "Mina", "override_reason": "Because I say so"},
                    f"roadmap-{gated.pk}") | {"version": "1"}
    response = participant_client.post(f"/w/{workshop.pk}/roadmap/{gated.pk}/", data)
    assert response.status_code == 422
    gated.refresh_from_db()
    assert (gated.phase, gated.gate_override_reason) == ("", "")
