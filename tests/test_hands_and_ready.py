"""Ready and raised hands: a participant says they are done with the phase or asks to
speak; the facilitators see "n of m ready" and the hands in order; both hold for the
phase only, so the next phase starts clear (with no write to clear them)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied

from sessions import room as room_services
from sessions import services as session_services
from sessions.access import Membership
from sessions.fragments import event_frames
from sessions.models import Participant, Role
from sessions.selectors import room_for, room_state
from workshop.models import BoardEvent


@pytest.fixture
def people(live_session, workshop):
    """Three participants and an observer who joined by the links."""
    def join(name, token=live_session.join_token):
        person = session_services.join_session(token, name, "design")
        role = Role.OBSERVER if person.role == Role.OBSERVER else Role.PARTICIPANT
        return Membership(workshop, role, participant=person)
    return {"pat": join("Pat"), "dana": join("Dana"), "lou": join("Lou <b>"),
            "olu": join("Olu", live_session.observer_token)}


def state(workshop) -> dict:
    workshop.refresh_from_db()
    room = room_for(workshop)
    room.refresh_from_db()
    return room_state(room)


def test_ready_counts_the_participants_taking_part(workshop, people):
    room_services.set_ready(people["pat"], True)
    room_services.set_ready(people["dana"], True)
    got = state(workshop)
    assert got["taking_part"] == 3  # the observer does not count
    assert got["ready"] == sorted([people["pat"].participant.pk, people["dana"].participant.pk])
    room_services.set_ready(people["dana"], False)
    assert state(workshop)["ready"] == [people["pat"].participant.pk]


def test_hands_are_listed_in_the_order_they_went_up(workshop, people):
    for name in ("lou", "pat", "dana"):
        room_services.set_hand(people[name], True)
    room_services.set_hand(people["lou"], True)  # raising again keeps one's place
    assert [name for _, name in state(workshop)["hands"]] == ["Lou <b>", "Pat", "Dana"]
    room_services.set_hand(people["pat"], False)
    assert [name for _, name in state(workshop)["hands"]] == ["Lou <b>", "Dana"]


def test_a_facilitator_lowers_a_hand(host, workshop, people):
    room_services.set_hand(people["pat"], True)
    room_services.lower_hand(host, people["pat"].participant.pk)
    assert state(workshop)["hands"] == []


def test_the_next_phase_starts_with_nobody_ready_and_no_hand_up(host, workshop, people):
    room_services.set_ready(people["pat"], True)
    room_services.set_hand(people["dana"], True)
    room_services.step_room(host, +1)
    got = state(workshop)
    assert (got["ready"], got["hands"]) == ([], [])
    room_services.step_room(host, -1)  # nor are they back when the room returns
    got = state(workshop)
    assert (got["ready"], got["hands"]) == ([], [])


def test_who_left_or_was_removed_is_not_counted(host, workshop, people):
    room_services.set_ready(people["pat"], True)
    session_services.remove_participant(host, people["pat"].participant.pk)
    session_services.leave(people["dana"])
    got = state(workshop)
    assert (got["taking_part"], got["ready"]) == (1, [])


@pytest.mark.parametrize("who", ["olu", "facilitator"])
def test_only_participants_say_ready_or_raise_a_hand(host, people, who):
    member = host if who == "facilitator" else people[who]
    with pytest.raises(PermissionDenied):
        room_services.set_ready(member, True)
    with pytest.raises(PermissionDenied):
        room_services.set_hand(member, True)


def test_only_facilitators_lower_someone_elses_hand(people):
    room_services.set_hand(people["dana"], True)
    with pytest.raises(PermissionDenied):
        room_services.lower_hand(people["pat"], people["dana"].participant.pk)


@pytest.mark.parametrize(("role", "status"), [("participant", 204), ("observer", 403),
                                              ("facilitator", 403), ("outsider", 404)])
def test_the_ready_and_hand_endpoints_answer_each_role(clients, workshop, role, status):
    for path, data in (("ready", {"ready": "1"}), ("hand", {"raised": "1"})):
        response = clients[role].post(f"/w/{workshop.pk}/room/{path}/", data)
        assert response.status_code == status, (path, response.content[:200])


def test_the_frame_carries_who_is_ready_and_the_hands_to_both_audiences(workshop, people):
    room_services.set_hand(people["lou"], True)
    event = BoardEvent.objects.filter(workshop=workshop).last()
    frames = event_frames(event)
    for audience in ("room", "facilitators"):
        ops = [op for text in frames[audience] for op in json.loads(text)["ops"]]
        bar = next(op for op in ops if op.get("id") == "room-bar")
        assert bar["state"]["hands"] == [[people["lou"].participant.pk, "Lou <b>"]]
        # The name travels as JSON text (the page sets it as text), never as markup.
        assert "Lou <b>" not in bar["html"]


def test_the_page_knows_whose_state_is_its_own(participant_client, workshop):
    html = participant_client.get(f"/w/{workshop.pk}/").content.decode()
    pat = Participant.objects.get(display_name="Pat")
    assert f'data-participant="{pat.pk}"' in html
    assert 'class="me-ready"' in html and 'class="me-hand"' in html


def test_the_facilitators_page_hides_the_participants_buttons(facilitator_client, workshop,
                                                              live_session):
    # The room bar is one rendering for every audience; the page's role class hides
    # what is not for it (body.is-facilitator .room-me).
    html = facilitator_client.get(f"/w/{workshop.pk}/").content.decode()
    assert "is-facilitator" in html and 'class="room-me"' in html


def test_a_cofacilitator_lowers_hands_and_is_not_counted_as_taking_part(host, workshop, people):
    room_services.name_cofacilitator(host, people["dana"].participant.pk, True)
    dana = Participant.objects.get(pk=people["dana"].participant.pk)
    cofacilitator = Membership(workshop, Role.COFACILITATOR, participant=dana)
    room_services.set_hand(people["pat"], True)
    room_services.lower_hand(cofacilitator, people["pat"].participant.pk)
    got = state(workshop)
    assert got["hands"] == []
    assert got["taking_part"] == 2  # a co-facilitator leads: Pat and Lou take part
