"""Archiving a workshop (read-only for everyone, its sessions ended, off the owner's list),
restoring it, and deleting it for good after typing its name: only its owner may, and
every open page is closed with the news."""

from __future__ import annotations

from html import unescape

import pytest
from channels.db import database_sync_to_async as db
from django.test import Client
from live_helpers import Socket
from samples import SAMPLES

from sessions import lifecycle, room
from sessions.access import ARCHIVED, Membership
from sessions.closecodes import ARCHIVE_CHANGED, DELETED
from sessions.models import Participant, Role, WorkshopSession
from workshop import services
from workshop.event_kinds import Kind
from workshop.models import BoardEvent, Decision, Workshop

pytestmark = pytest.mark.django_db


@pytest.fixture
def cofacilitator_client(live_session, host) -> Client:
    client = Client()
    client.post(f"/join/{live_session.join_token}/", {"display_name": "Cleo",
                                                      "function": "design"})
    cleo = Participant.objects.get(display_name="Cleo")
    room.name_cofacilitator(host, cleo.pk, True)
    return client


def archive(client: Client, workshop: Workshop):
    return client.post(f"/w/{workshop.pk}/archive/")


def add_decision(client: Client, workshop: Workshop):
    data = {f"add-decisions-{k}": v for k, v in SAMPLES["decisions"].items()}
    return client.post(f"/w/{workshop.pk}/s/decisions/add/", data)


@pytest.mark.parametrize("who, status", [("participant", 403), ("observer", 403),
                                         ("outsider", 404)])
def test_only_the_owner_archives_restores_or_deletes(clients, workshop, who, status):
    client = clients[who]
    for url in ("archive/", "unarchive/", "delete/"):
        assert client.post(f"/w/{workshop.pk}/{url}", {"title": workshop.title}
                           ).status_code == status, url
    assert Workshop.objects.get(pk=workshop.pk).archived_at is None


def test_a_co_facilitator_is_not_the_owner(cofacilitator_client, workshop):
    response = archive(cofacilitator_client, workshop)
    assert response.status_code == 403
    assert lifecycle.NOT_OWNER in unescape(response.content.decode())
    assert cofacilitator_client.get(f"/w/{workshop.pk}/delete/").status_code == 403


def test_the_archive_page_says_what_archiving_does_and_changes_nothing(
        facilitator_client, workshop):
    page = facilitator_client.get(f"/w/{workshop.pk}/archive/").content.decode()
    assert "read-only" in page and "Archive it" in page
    assert Workshop.objects.get(pk=workshop.pk).archived_at is None


def test_an_archived_workshop_refuses_every_write_and_says_why(
        facilitator_client, participant_client, observer_client, workshop):
    assert archive(facilitator_client, workshop).status_code == 302
    for client in (facilitator_client, participant_client):
        refused = add_decision(client, workshop)
        assert refused.status_code == 403 and ARCHIVED in unescape(refused.content.decode())
    phase = workshop.phases.last()
    for url, data in ((f"/w/{workshop.pk}/room/phase/", {"phase": phase.pk}),
                      (f"/w/{workshop.pk}/vote/open/", {"budget": "3", "per_item": "2"}),
                      (f"/w/{workshop.pk}/rename/", {"title": "New name"}),
                      (f"/w/{workshop.pk}/room/ready/", {"ready": "1"})):
        client = participant_client if "ready" in url else facilitator_client
        answer = client.post(url, data)
        assert answer.status_code == 403 and ARCHIVED in unescape(answer.content.decode()), url
    # An observer is told what an observer is always told.
    assert "Observers can watch" in add_decision(observer_client, workshop).content.decode()
    assert Decision.objects.filter(workshop=workshop).count() == 0
    assert Workshop.objects.get(pk=workshop.pk).title == "Reader app personalization"


def test_an_archived_workshop_is_read_and_exported_but_lets_nobody_new_in(
        facilitator_client, participant_client, workshop, live_session, add):
    add("decisions", decision="Start with the welcome email")
    archive(facilitator_client, workshop)
    assert WorkshopSession.objects.get(pk=live_session.pk).ended_at is not None
    newcomer = Client().post(f"/join/{live_session.join_token}/",
                             {"display_name": "Nia", "function": "data"})
    assert newcomer.status_code == 404
    for client in (facilitator_client, participant_client):
        board = client.get(f"/w/{workshop.pk}/").content.decode()
        assert "This board is read-only" in board and "Start with the welcome email" in board
        assert " archived" in board.split("<body", 1)[1].split(">", 1)[0]
        assert 'class="board-page role-' in board
    assert "Restore it" in facilitator_client.get(f"/w/{workshop.pk}/").content.decode()
    assert "Restore it" not in participant_client.get(f"/w/{workshop.pk}/").content.decode()
    markdown = participant_client.get(f"/w/{workshop.pk}/export/roadmap.md")
    assert markdown.status_code == 200 and b"Start with the welcome email" in markdown.content
    assert facilitator_client.get(f"/w/{workshop.pk}/export/workshop.json").status_code == 200


def test_archived_workshops_are_listed_apart_and_restoring_brings_one_back(
        facilitator_client, participant_client, workshop):
    archive(facilitator_client, workshop)
    home = facilitator_client.get("/").content.decode()
    assert home.count('class="workshop-list"') == 1  # none in progress, one archived
    assert workshop.title in home.split("Archived (1)")[1]
    assert facilitator_client.post(f"/w/{workshop.pk}/unarchive/").status_code == 302
    assert "Archived (" not in facilitator_client.get("/").content.decode()
    assert add_decision(participant_client, workshop).status_code == 201


def test_archiving_or_restoring_twice_records_it_once(host, workshop):
    for archived in (True, True, False, False):
        lifecycle.set_archived(Membership(Workshop.objects.get(pk=workshop.pk),
                                          Role.FACILITATOR, user=host.user), archived)
    kinds = list(BoardEvent.objects.filter(workshop=workshop).values_list("kind", flat=True))
    assert kinds[-2:] == [Kind.WORKSHOP_ARCHIVED, Kind.WORKSHOP_UNARCHIVED]
    assert kinds.count(Kind.WORKSHOP_ARCHIVED) == 1


def test_the_delete_page_counts_what_goes(facilitator_client, workshop, add,
                                          participant_client, observer_client):
    add("decisions")
    add("risks")
    page = facilitator_client.get(f"/w/{workshop.pk}/delete/").content.decode()
    assert "2 items" in page and "1 session" in page and "2 people" in page
    assert "JSON export" in page


def test_deleting_needs_the_exact_name_and_a_wrong_one_deletes_nothing(
        facilitator_client, workshop):
    for typed in ("", "Reader app", "reader app personalization"):
        answer = facilitator_client.post(f"/w/{workshop.pk}/delete/", {"title": typed})
        assert answer.status_code == 422
        assert "Type the workshop's name exactly" in unescape(answer.content.decode())
    assert Workshop.objects.filter(pk=workshop.pk).exists()
    assert 'value="reader app personalization"' in answer.content.decode()  # kept


def test_the_name_typed_on_a_phone_deletes_whatever_its_dashes_and_quotes(
        facilitator_client, workshop):
    Workshop.objects.filter(pk=workshop.pk).update(title="Reader — “Finish” ’26")
    answer = facilitator_client.post(f"/w/{workshop.pk}/delete/",
                                     {"title": " Reader -  \"Finish\" '26 "})
    assert answer.status_code == 302
    assert not Workshop.objects.filter(pk=workshop.pk).exists()


def test_deleting_removes_the_workshop_and_everything_in_it(
        facilitator_client, participant_client, workshop, add):
    add("decisions")
    answer = facilitator_client.post(f"/w/{workshop.pk}/delete/",
                                     {"title": " Reader app personalization "})
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert not Workshop.objects.filter(pk=workshop.pk).exists()
    for model in (Decision, BoardEvent, WorkshopSession):
        assert not model.objects.filter(workshop_id=workshop.pk).exists(), model
    assert not Participant.objects.filter(session__workshop_id=workshop.pk).exists()
    assert participant_client.get(f"/w/{workshop.pk}/").status_code == 404
    assert "and everything in it are deleted" in facilitator_client.get("/").content.decode()


def test_a_hostile_title_is_escaped_on_every_page_that_names_it(facilitator_client, host):
    hostile = '<script>alert("x")</script>'
    services.rename_workshop(host, hostile, "")
    pk = host.workshop.pk
    for url in (f"/w/{pk}/archive/", f"/w/{pk}/delete/"):
        assert "<script>alert" not in facilitator_client.get(url).content.decode(), url
    archive(facilitator_client, host.workshop)
    assert "<script>alert" not in facilitator_client.get("/").content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write, code, says", [
    (lambda client, ws: client.post(f"/w/{ws.pk}/archive/"), ARCHIVE_CHANGED, "read-only"),
    (lambda client, ws: client.post(f"/w/{ws.pk}/delete/", {"title": ws.title}), DELETED,
     "deleted this workshop"),
])
async def test_every_open_page_is_closed_with_the_news(
        layer, write, code, says, facilitator_client, participant_client, observer_client,
        workshop):
    sockets = [Socket(client, workshop.pk)
               for client in (facilitator_client, participant_client, observer_client)]
    for socket in sockets:
        await socket.open()
    await db(write)(facilitator_client, workshop)
    for socket in sockets:
        error = await socket.next(lambda f: f["type"] == "error")
        assert error["code"] == code and says in error["message"]
        assert await socket.closed() == code


@pytest.mark.django_db(transaction=True)
async def test_restoring_closes_the_read_only_pages_too(layer, facilitator_client,
                                                       participant_client, workshop):
    await db(archive)(facilitator_client, workshop)
    socket = Socket(participant_client, workshop.pk)
    await socket.open()
    await db(facilitator_client.post)(f"/w/{workshop.pk}/unarchive/")
    error = await socket.next(lambda f: f["type"] == "error")
    assert error["code"] == ARCHIVE_CHANGED and "restored" in error["message"]
    assert await socket.closed() == ARCHIVE_CHANGED
