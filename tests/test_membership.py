"""Membership that sticks: a removal is a ban until a facilitator lifts it, joining
again from the same browser returns the same participant, people can leave, and a
session's links can expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from django.test import Client
from django.utils import timezone
from live_helpers import Socket

from sessions import lifecycle
from sessions.closecodes import LEFT
from sessions.models import Participant
from workshop.event_kinds import Kind
from workshop.models import BoardEvent, Workshop


def join(client: Client, token: str, name: str = "Pat"):
    return client.post(f"/join/{token}/", {"display_name": name, "function": "design"})


@pytest.fixture
def pat_browser(live_session) -> Client:
    client = Client()
    assert join(client, live_session.join_token).status_code == 302
    return client


def pat(workshop) -> Participant:
    return Participant.objects.get(session__workshop=workshop, display_name="Pat")


def test_joining_twice_from_one_browser_is_one_participant(pat_browser, live_session,
                                                           facilitator_client, workshop):
    # A second tab's join form, sent after the first.
    assert join(pat_browser, live_session.join_token, "Pat again").status_code == 302
    assert Participant.objects.filter(session__workshop=workshop).count() == 1
    # Removing that one participant leaves this browser with nothing.
    facilitator_client.post(f"/w/{workshop.pk}/people/{pat(workshop).pk}/remove/")
    assert pat_browser.get(f"/w/{workshop.pk}/").status_code == 404


def tapped_twice(token: str) -> tuple[Client, Client]:
    """A phone's join form sent twice: both requests carry the cookies the page had
    (its CSRF cookie, no session yet), whichever answer comes back last."""
    first = Client()
    assert first.get(f"/join/{token}/").status_code == 200
    second = Client()
    second.cookies["csrftoken"] = first.cookies["csrftoken"].value
    return first, second


def test_a_join_form_sent_twice_is_one_participant(live_session, workshop):
    first, second = tapped_twice(live_session.join_token)
    assert join(first, live_session.join_token).status_code == 302
    assert join(second, live_session.join_token).status_code == 302
    assert Participant.objects.filter(session__workshop=workshop).count() == 1
    assert second.get(f"/w/{workshop.pk}/").status_code == 200
    # Another browser is another person, whatever name they give.
    assert join(Client(), live_session.join_token).status_code == 302
    assert Participant.objects.filter(session__workshop=workshop).count() == 2


def test_a_removed_person_cannot_join_again_until_let_back_in(pat_browser, live_session,
                                                               facilitator_client, workshop):
    person = pat(workshop)
    facilitator_client.post(f"/w/{workshop.pk}/people/{person.pk}/remove/")
    for answer in (pat_browser.get(f"/join/{live_session.join_token}/"),
                   join(pat_browser, live_session.join_token, "Pat in disguise")):
        assert answer.status_code == 403
        assert b"removed you from this workshop" in answer.content
    assert Participant.objects.filter(session__workshop=workshop).count() == 1
    people = facilitator_client.get(f"/w/{workshop.pk}/sessions/").content.decode()
    assert "Let Pat back in" in people
    facilitator_client.post(f"/w/{workshop.pk}/people/{person.pk}/restore/")
    assert join(pat_browser, live_session.join_token).status_code == 302
    assert pat_browser.get(f"/w/{workshop.pk}/").status_code == 200
    assert list(Participant.objects.filter(session__workshop=workshop)) == [person]


def cofacilitate(facilitator_client, workshop, person: Participant) -> None:
    answer = facilitator_client.post(f"/w/{workshop.pk}/people/{person.pk}/cofacilitate/",
                                     {"on": "1"})
    assert answer.status_code == 302


def test_a_cofacilitator_removed_and_let_back_in_is_a_participant_again(
        pat_browser, live_session, facilitator_client, workshop):
    person = pat(workshop)
    cofacilitate(facilitator_client, workshop, person)
    assert pat_browser.get(f"/w/{workshop.pk}/sessions/").status_code == 200
    facilitator_client.post(f"/w/{workshop.pk}/people/{person.pk}/remove/")
    facilitator_client.post(f"/w/{workshop.pk}/people/{person.pk}/restore/")
    assert pat_browser.get(f"/w/{workshop.pk}/").status_code == 200
    assert pat_browser.get(f"/w/{workshop.pk}/sessions/").status_code == 403
    assert pat_browser.post(f"/w/{workshop.pk}/room/lock/",
                            {"section": "risks", "locked": "1"}).status_code == 403


def test_a_cofacilitator_who_comes_back_by_the_observer_link_only_watches(
        pat_browser, live_session, facilitator_client, workshop):
    cofacilitate(facilitator_client, workshop, pat(workshop))
    assert join(pat_browser, live_session.observer_token).status_code == 302
    assert pat(workshop).role == "observer" and not pat(workshop).is_cofacilitator
    assert pat_browser.get(f"/w/{workshop.pk}/sessions/").status_code == 403
    assert pat_browser.post(f"/w/{workshop.pk}/room/lock/",
                            {"section": "risks", "locked": "1"}).status_code == 403
    assert BoardEvent.objects.filter(workshop=workshop, kind=Kind.ROOM_COFACILITATOR,
                                     item_id=pat(workshop).pk).count() == 2  # named, stood down


def test_nobody_leaves_an_archived_board(pat_browser, host, workshop):
    lifecycle.set_archived(host, True)
    before = Workshop.objects.get(pk=workshop.pk).version
    assert pat_browser.post(f"/w/{workshop.pk}/leave/").status_code == 403
    assert Workshop.objects.get(pk=workshop.pk).version == before
    assert pat(workshop).left_at is None


def test_a_person_who_leaves_comes_back_as_themselves(pat_browser, live_session, workshop):
    person = pat(workshop)
    left = pat_browser.post(f"/w/{workshop.pk}/leave/")
    assert left.status_code == 200 and b"You left" in left.content
    assert pat_browser.get(f"/w/{workshop.pk}/").status_code == 404
    assert pat_browser.get(f"/join/{live_session.join_token}/").status_code == 200
    assert join(pat_browser, live_session.join_token).status_code == 302
    assert pat_browser.get(f"/w/{workshop.pk}/").status_code == 200
    assert list(Participant.objects.filter(session__workshop=workshop)) == [person]


def test_the_facilitator_cannot_leave_their_own_workshop(facilitator_client, workshop):
    answer = facilitator_client.post(f"/w/{workshop.pk}/leave/")
    assert answer.status_code == 400


@pytest.mark.django_db(transaction=True)
async def test_leaving_closes_the_persons_sockets_with_a_reason(pat_browser, workshop):
    socket = Socket(pat_browser, workshop.pk)
    await socket.open()
    await db(pat_browser.post)(f"/w/{workshop.pk}/leave/")
    error = await socket.next(lambda f: f["type"] == "error")
    assert error["code"] == LEFT and "You left" in error["message"]
    assert await socket.closed() == LEFT


def test_expired_links_let_nobody_new_in_and_keep_who_is_in(pat_browser, live_session,
                                                            facilitator_client, workshop):
    answer = facilitator_client.post(
        f"/w/{workshop.pk}/sessions/{live_session.pk}/expiry/", {"hours": "2"})
    assert answer.status_code == 302
    live_session.refresh_from_db()
    assert timedelta(minutes=119) < live_session.links_expire_at - timezone.now() \
        <= timedelta(hours=2)
    assert join(Client(), live_session.join_token, "Early").status_code == 302
    type(live_session).objects.filter(pk=live_session.pk).update(
        links_expire_at=timezone.now() - timedelta(seconds=1))
    late = Client()
    assert late.get(f"/join/{live_session.join_token}/").status_code == 404
    assert join(late, live_session.join_token, "Late").status_code == 404
    assert pat_browser.get(f"/w/{workshop.pk}/").status_code == 200
    # "Never" again, and the link works.
    facilitator_client.post(f"/w/{workshop.pk}/sessions/{live_session.pk}/expiry/",
                            {"hours": "never"})
    assert join(late, live_session.join_token, "Late").status_code == 302


@pytest.mark.parametrize("hours", ["0", "-3", "soon", "99999", ""])
def test_a_bad_expiry_is_a_400_and_changes_nothing(facilitator_client, workshop,
                                                   live_session, hours):
    answer = facilitator_client.post(
        f"/w/{workshop.pk}/sessions/{live_session.pk}/expiry/", {"hours": hours})
    assert answer.status_code == 400
    live_session.refresh_from_db()
    assert live_session.links_expire_at is None


# Lobby mode ---------------------------------------------------------------------------

@pytest.fixture
def lobby(facilitator_client, workshop, live_session):
    answer = facilitator_client.post(f"/w/{workshop.pk}/sessions/{live_session.pk}/lobby/",
                                     {"on": "1"})
    assert answer.status_code == 302
    return live_session


def status(client: Client, token: str):
    return client.get(f"/join/{token}/status/", HTTP_HX_REQUEST="true")


def test_in_lobby_mode_a_new_person_waits_until_let_in(lobby, facilitator_client, workshop):
    mo = Client()
    knocked = join(mo, lobby.join_token, "Mo")
    assert knocked.status_code == 302 and knocked["Location"] == f"/join/{lobby.join_token}/"
    waiting = mo.get(knocked["Location"])
    assert b"Waiting for the facilitator to let you in" in waiting.content
    assert mo.get(f"/w/{workshop.pk}/").status_code == 404
    assert status(mo, lobby.join_token).status_code == 204
    assert "HX-Redirect" not in status(mo, lobby.join_token)
    # A second tab knocks no second time.
    assert b"Waiting" in join(mo, lobby.join_token, "Mo").content
    assert Participant.objects.filter(display_name="Mo").count() == 1
    board = facilitator_client.get(f"/w/{workshop.pk}/").content.decode()
    assert "Waiting to join" in board and "Let in Mo" in board
    person = Participant.objects.get(display_name="Mo")
    assert facilitator_client.post(
        f"/w/{workshop.pk}/lobby/{person.pk}/admit/").status_code == 204
    assert status(mo, lobby.join_token)["HX-Redirect"] == f"/w/{workshop.pk}/"
    assert mo.get(f"/w/{workshop.pk}/").status_code == 200
    assert "Let in Mo" not in facilitator_client.get(f"/w/{workshop.pk}/").content.decode()


def test_a_declined_knock_is_told_and_stays_out(lobby, facilitator_client, workshop):
    ned = Client()
    join(ned, lobby.join_token, "Ned")
    person = Participant.objects.get(display_name="Ned")
    assert facilitator_client.post(
        f"/w/{workshop.pk}/lobby/{person.pk}/decline/").status_code == 204
    assert status(ned, lobby.join_token)["HX-Redirect"] == f"/join/{lobby.join_token}/"
    assert ned.get(f"/join/{lobby.join_token}/").status_code == 403
    again = facilitator_client.post(f"/w/{workshop.pk}/lobby/{person.pk}/admit/")
    assert again.status_code == 400 and b"not waiting" in again.content


def test_people_already_in_stay_in_when_the_lobby_opens(pat_browser, lobby, workshop):
    assert pat_browser.get(f"/w/{workshop.pk}/").status_code == 200


def test_only_facilitators_answer_knocks(pat_browser, lobby, workshop):
    mo = Client()
    join(mo, lobby.join_token, "Mo")
    person = Participant.objects.get(display_name="Mo")
    assert pat_browser.post(f"/w/{workshop.pk}/lobby/{person.pk}/admit/").status_code == 403
    assert Participant.objects.get(pk=person.pk).waiting


@pytest.mark.django_db(transaction=True)
async def test_a_knock_reaches_the_facilitators_live_and_never_the_room(
        pat_browser, lobby, facilitator_client, workshop):
    fran = Socket(facilitator_client, workshop.pk)
    pat_socket = Socket(pat_browser, workshop.pk)
    await fran.open()
    await pat_socket.open()
    await db(join)(Client(), lobby.join_token, "Mo Knocks")
    knock = await fran.next(lambda f: f["type"] == "event" and "Mo Knocks" in json_of(f))
    assert "Let in Mo Knocks" in json_of(knock)
    await pat_socket.next(lambda f: f["type"] == "event" and any(
        op.get("id") == "lobby" for op in f["ops"]))
    assert all("Mo Knocks" not in json_of(f) for f in pat_socket.frames)
    await fran.close()
    await pat_socket.close()


def json_of(frame: dict) -> str:
    import json

    return json.dumps(frame)
