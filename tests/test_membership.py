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

from sessions.closecodes import LEFT
from sessions.models import Participant


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
