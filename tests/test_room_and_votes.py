"""Leading the room and dot voting: the rules, enforced on every write."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions import room as room_services
from sessions import selectors, voting
from sessions.access import Membership
from sessions.models import Dot, Participant, Room
from workshop.sections import LISTS


@pytest.fixture
def pat_member(workshop, participant_client):
    return Membership(workshop, "participant",
                      participant=Participant.objects.get(display_name="Pat"))


def room_of(workshop) -> Room:
    return Room.objects.get(workshop=workshop)


def test_a_new_workshop_starts_its_room_on_the_first_phase(workshop):
    assert room_of(workshop).current_phase.key == "kickoff"


def test_next_and_back_skip_skipped_phases(host, workshop):
    workshop.phases.filter(key="stakeholders").update(skipped=True)
    assert room_services.step_room(host, 1).current_phase.key == "landscape"
    assert room_services.step_room(host, -1).current_phase.key == "kickoff"
    assert room_services.step_room(host, -1).current_phase.key == "kickoff"  # no further back


def test_moving_the_room_loads_the_phase_timebox(host, workshop):
    goals = workshop.phases.get(key="goals")
    room = room_services.move_room(host, goals.pk)
    assert (room.timer_running, room.seconds_left()) == (False, 15 * 60)


def test_timer_runs_pauses_adds_a_minute_and_resets(host, workshop):
    room = room_services.control_timer(host, "start")
    assert room.timer_running and 15 * 60 - 2 <= room.seconds_left() <= 15 * 60
    room.timer_ends_at = timezone.now() + timedelta(seconds=100)
    room.save()
    room = room_services.control_timer(host, "pause")
    assert not room.timer_running and 99 <= room.timer_remaining <= 100
    room = room_services.control_timer(host, "add_minute")
    assert 159 <= room.seconds_left() <= 160
    room = room_services.control_timer(host, "reset")
    assert room.seconds_left() == 15 * 60
    with pytest.raises(ValidationError):
        room_services.control_timer(host, "explode")


@pytest.mark.parametrize(("role", "status"), [("participant", 403), ("observer", 403),
                                              ("outsider", 404)])
@pytest.mark.parametrize(("path", "data"), [
    ("room/phase/", {"step": "next"}), ("room/timer/", {"action": "start"}),
    ("room/lock/", {"section": "board", "locked": "1"}),
    ("room/anonymous/", {"section": "risks", "anonymous": "1"}),
    ("vote/open/", {"budget": "3", "per_item": "2"}), ("vote/close/", {}),
])
def test_only_facilitators_lead_the_room(clients, workshop, role, status, path, data):
    before = room_of(workshop).__dict__.copy()
    assert clients[role].post(f"/w/{workshop.pk}/{path}", data).status_code == status
    after = room_of(workshop).__dict__
    assert {k: after[k] for k in ("current_phase_id", "board_locked", "timer_ends_at")} == {
        k: before[k] for k in ("current_phase_id", "board_locked", "timer_ends_at")}


def test_facilitator_leads_the_room_over_http(facilitator_client, workshop):
    assert facilitator_client.post(f"/w/{workshop.pk}/room/phase/",
                                   {"step": "next"}).status_code == 204
    assert room_of(workshop).current_phase.key == "stakeholders"
    response = facilitator_client.post(f"/w/{workshop.pk}/room/lock/",
                                       {"section": "nonsense", "locked": "1"})
    assert response.status_code == 400


def test_co_facilitator_gets_powers_that_do_not_move_with_connections(
    facilitator_client, participant_client, observer_client, workshop
):
    pat = Participant.objects.get(display_name="Pat")
    assert participant_client.post(f"/w/{workshop.pk}/room/timer/",
                                   {"action": "start"}).status_code == 403
    facilitator_client.post(f"/w/{workshop.pk}/people/{pat.pk}/cofacilitate/", {"on": "1"})
    assert participant_client.post(f"/w/{workshop.pk}/room/timer/",
                                   {"action": "start"}).status_code == 204
    olive = Participant.objects.get(display_name="Olive")
    response = facilitator_client.post(f"/w/{workshop.pk}/people/{olive.pk}/cofacilitate/",
                                       {"on": "1"})
    assert response.status_code == 400  # observers only watch
    # Pat, now co-facilitating, leads too: the same rule refuses an observer from Pat.
    assert participant_client.post(f"/w/{workshop.pk}/people/{olive.pk}/cofacilitate/",
                                   {"on": "1"}).status_code == 400


def test_participant_cannot_name_co_facilitators(participant_client, live_session, workshop):
    pat = Participant.objects.get(display_name="Pat")
    response = participant_client.post(f"/w/{workshop.pk}/people/{pat.pk}/cofacilitate/",
                                       {"on": "1"})
    assert response.status_code == 403
    pat.refresh_from_db()
    assert not pat.is_cofacilitator


def test_spotlight_takes_only_items_of_this_board(host, add, workshop):
    recipe = add("recipes")
    assert room_services.set_spotlight(host, f"recipes-{recipe.pk}").spotlight
    for target in ("recipes-99999", "nonsense-1", "<script>", "recipes-1; drop"):
        with pytest.raises(ValidationError):
            room_services.set_spotlight(host, target)


# Voting ------------------------------------------------------------------------------

@pytest.fixture
def two_recipes(add):
    return add("recipes", title="Nudge"), add("recipes", title="Digest")


def test_dots_are_limited_by_the_budget_and_per_recipe(host, pat_member, two_recipes):
    nudge, digest = two_recipes
    voting.open_vote(host, budget=3, per_item=2, hidden=True)
    voting.cast_dot(pat_member, nudge.pk)
    voting.cast_dot(pat_member, nudge.pk)
    with pytest.raises(voting.NoDotsLeft):
        voting.cast_dot(pat_member, nudge.pk)  # at most 2 on one recipe
    voting.cast_dot(pat_member, digest.pk)
    with pytest.raises(voting.NoDotsLeft):
        voting.cast_dot(pat_member, digest.pk)  # budget of 3 used
    assert selectors.ballot(pat_member)["left"] == 0
    voting.retract_dot(pat_member, nudge.pk)
    assert selectors.ballot(pat_member)["left"] == 1


def test_the_database_refuses_a_dot_beyond_the_budget(host, pat_member, two_recipes):
    nudge, _ = two_recipes
    vote = voting.open_vote(host, budget=1, per_item=1, hidden=True)
    voting.cast_dot(pat_member, nudge.pk)
    # What a second tab racing the first would try: the same slot, or a slot past the budget.
    for slot in (1, 2):
        with pytest.raises(IntegrityError), transaction.atomic():
            Dot.objects.create(vote=vote, voter=pat_member.person, recipe=nudge, slot=slot,
                               item_slot=slot, budget=1, per_item=1)
    assert Dot.objects.count() == 1


def test_closing_reveals_ranks_and_stores_results(host, pat_member, two_recipes):
    nudge, digest = two_recipes
    voting.open_vote(host, budget=3, per_item=3, hidden=True)
    voting.cast_dot(pat_member, digest.pk)
    voting.cast_dot(host, digest.pk)
    voting.cast_dot(host, nudge.pk)
    assert selectors.vote_context(host.workshop)["totals"] is None  # hidden while open
    vote = voting.close_vote(host)
    assert [(r["title"], r["dots"], r["rank"]) for r in vote.results] == [
        ("Digest", 2, 1), ("Nudge", 1, 2)]
    assert vote.session is not None
    assert selectors.vote_context(host.workshop)["dots_by_recipe"] == {digest.pk: 2, nudge.pk: 1}


def test_public_votes_show_live_totals(host, pat_member, two_recipes):
    nudge, _ = two_recipes
    voting.open_vote(host, budget=3, per_item=3, hidden=False)
    voting.cast_dot(pat_member, nudge.pk)
    totals = selectors.vote_context(host.workshop)["totals"]
    assert totals[0]["title"] == "Nudge" and totals[0]["dots"] == 1


def test_one_vote_at_a_time_and_sane_budgets(host, two_recipes):
    with pytest.raises(ValidationError):
        voting.open_vote(host, budget=0)
    with pytest.raises(ValidationError):
        voting.open_vote(host, budget=2, per_item=3)
    voting.open_vote(host)
    with pytest.raises(ValidationError):
        voting.open_vote(host)


def test_observers_cannot_vote(observer_client, host, workshop, two_recipes):
    voting.open_vote(host)
    response = observer_client.post(f"/w/{workshop.pk}/vote/ballot/",
                                    {"recipe": two_recipes[0].pk, "action": "add"})
    assert response.status_code == 403
    assert not Dot.objects.exists()


def test_voting_on_another_boards_recipe_is_404(participant_client, host, facilitator,
                                                workshop, two_recipes):
    from workshop import services

    other = services.create_workshop(facilitator, "Other")
    foreign = services.add_item(Membership(other, "facilitator", user=facilitator),
                                LISTS["recipes"],
                                {"title": "Theirs", "segment": "s", "action": "a",
                                 "content_model": "alert", "kind": "automation",
                                 "impact": 3, "effort": 3})
    voting.open_vote(host)
    response = participant_client.post(f"/w/{workshop.pk}/vote/ballot/",
                                       {"recipe": foreign.pk, "action": "add"})
    assert response.status_code == 404
    assert not Dot.objects.exists()
