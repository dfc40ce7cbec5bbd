"""Join and observer links: joining, identity across reloads, rotation and removal."""

import pytest
from django.test import Client
from samples import SAMPLES, prefixed

from sessions import services as session_services
from sessions.models import Participant, Role


def join(client: Client, token: str, name: str = "Pat", function: str = "design"):
    return client.post(f"/join/{token}/", {"display_name": name, "function": function})


def test_join_page_asks_for_name_and_function(client, live_session):
    response = client.get(f"/join/{live_session.join_token}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your name" in html and "Your function" in html
    for label in ["Product", "Design", "Engineering", "Data / analytics", "Marketing",
                  "Customer support", "Legal / privacy", "Leadership", "Other"]:
        assert label in html


def test_participant_joins_and_lands_on_the_board(client, live_session, workshop):
    response = join(client, live_session.join_token, "Pat", "engineering")
    assert response.status_code == 302 and response["Location"] == f"/w/{workshop.pk}/"
    person = Participant.objects.get()
    assert (person.display_name, person.function, person.role) == (
        "Pat", "engineering", Role.PARTICIPANT)
    board = client.get(f"/w/{workshop.pk}/")
    assert board.status_code == 200
    assert "Participant: Pat" in board.content.decode()


def test_identity_survives_a_reload_and_a_second_visit_of_the_link(client, live_session,
                                                                   workshop):
    join(client, live_session.join_token)
    assert client.get(f"/join/{live_session.join_token}/").status_code == 302
    assert client.get(f"/w/{workshop.pk}/").status_code == 200
    assert Participant.objects.count() == 1


def test_observer_sees_the_board_read_only(client, live_session, workshop, add):
    add("decisions")
    join(client, live_session.observer_token, "Olive")
    assert Participant.objects.get().role == Role.OBSERVER
    html = client.get(f"/w/{workshop.pk}/").content.decode()
    assert "Start with the home screen" in html
    assert "+ Add a" not in html
    assert f"/w/{workshop.pk}/s/decisions/" not in html  # no edit, move or delete controls
    response = client.post(f"/w/{workshop.pk}/s/decisions/add/",
                           prefixed(SAMPLES["decisions"], "add-decisions"))
    assert response.status_code == 403


@pytest.mark.parametrize("token", ["nope", "x" * 43])
def test_wrong_token_gets_the_same_clear_404(client, db, token):
    response = client.get(f"/join/{token}/")
    assert response.status_code == 404
    assert "This link doesn&#x27;t work" in response.content.decode()


def test_rotated_join_link_stops_working_and_signs_out_who_came_by_it(
    client, facilitator_client, live_session, workshop
):
    old = live_session.join_token
    join(client, old)
    response = facilitator_client.post(
        f"/w/{workshop.pk}/sessions/{live_session.pk}/rotate/participant/")
    assert response.status_code == 302
    live_session.refresh_from_db()
    assert live_session.join_token != old
    assert Client().get(f"/join/{old}/").status_code == 404
    assert client.get(f"/w/{workshop.pk}/").status_code == 404
    # The new link works.
    assert join(Client(), live_session.join_token).status_code == 302


def test_rotating_the_observer_link_leaves_participants_in(facilitator_client,
                                                          participant_client, live_session,
                                                          workshop):
    facilitator_client.post(f"/w/{workshop.pk}/sessions/{live_session.pk}/rotate/observer/")
    assert participant_client.get(f"/w/{workshop.pk}/").status_code == 200


def test_tokens_are_long_and_unguessable(host, live_session):
    other = session_services.start_session(host)
    tokens = {live_session.join_token, live_session.observer_token, other.join_token,
              other.observer_token}
    assert len(tokens) == 4
    assert all(len(token) >= 43 for token in tokens)  # 32 bytes, url-safe base64


def test_removed_participant_loses_access(facilitator_client, participant_client,
                                          live_session, workshop):
    person = Participant.objects.get(display_name="Pat")
    response = facilitator_client.post(f"/w/{workshop.pk}/people/{person.pk}/remove/")
    assert response.status_code == 302
    assert participant_client.get(f"/w/{workshop.pk}/").status_code == 404
    person.refresh_from_db()
    assert person.removed_at is not None


@pytest.mark.parametrize("role", ["participant", "observer", "outsider"])
def test_only_the_facilitator_runs_sessions(clients, live_session, workshop, role):
    status = 404 if role == "outsider" else 403
    client = clients[role]
    person = Participant.objects.first()
    assert client.get(f"/w/{workshop.pk}/sessions/").status_code == status
    assert client.post(f"/w/{workshop.pk}/sessions/start/").status_code == status
    rotate = f"/w/{workshop.pk}/sessions/{live_session.pk}/rotate/participant/"
    assert client.post(rotate).status_code == status
    remove = f"/w/{workshop.pk}/people/{person.pk}/remove/"
    assert client.post(remove).status_code == status
    person.refresh_from_db()
    assert person.removed_at is None


def test_facilitator_sees_links_and_people(facilitator_client, participant_client,
                                           live_session, workshop):
    html = facilitator_client.get(f"/w/{workshop.pk}/sessions/").content.decode()
    assert f"/join/{live_session.join_token}/" in html
    assert f"/join/{live_session.observer_token}/" in html
    assert "Pat" in html


def test_a_workshop_runs_over_several_sessions_on_one_board(facilitator_client, workshop,
                                                            live_session):
    facilitator_client.post(f"/w/{workshop.pk}/sessions/start/", {"title": "Sitting 2"})
    numbers = list(workshop.sessions.values_list("number", flat=True))
    assert sorted(numbers) == [1, 2]
    second = workshop.sessions.get(number=2)
    client = Client()
    join(client, second.join_token)
    assert client.get(f"/w/{workshop.pk}/").status_code == 200


def test_join_with_missing_name_is_a_form_error(client, live_session):
    response = client.post(f"/join/{live_session.join_token}/", {"function": "design"})
    assert response.status_code == 422
    assert "This field is required" in response.content.decode()
    assert not Participant.objects.exists()


def test_an_ended_sessions_links_let_nobody_new_in(facilitator_client, participant_client,
                                                   live_session, workshop):
    facilitator_client.post(f"/w/{workshop.pk}/sessions/{live_session.pk}/end/")
    assert join(Client(), live_session.join_token).status_code == 404
    assert participant_client.get(f"/w/{workshop.pk}/").status_code == 200
