"""What a hostile (or broken) client sends gets a clear 4xx or a typed error frame, and
changes nothing: ids, ballots, imports, websocket paths and frames, the timer."""

from __future__ import annotations

import json
import threading

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections
from live_helpers import Socket

from sessions import room as room_services
from sessions import voting
from sessions.access import Membership
from sessions.closecodes import NO_SUCH_SOCKET
from sessions.models import Dot, Participant
from workshop.asgi import application
from workshop.models import Workshop

TOO_LONG_ID = "9" * 30


@pytest.fixture
def pat_member(workshop, participant_client):
    return Membership(workshop, "participant",
                      participant=Participant.objects.get(display_name="Pat"))


@pytest.fixture
def recipe(add):
    return add("recipes", title="Nudge")


# Ids -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    f"/w/{TOO_LONG_ID}/",
    "/w/{pk}/s/recipes/" + TOO_LONG_ID + "/",
    "/w/{pk}/s/recipes/" + TOO_LONG_ID + "/edit/",
    "/w/{pk}/roadmap/" + TOO_LONG_ID + "/",
    "/w/{pk}/agenda/" + TOO_LONG_ID + "/",
])
def test_an_id_too_long_for_the_database_is_a_404(facilitator_client, workshop, path):
    response = facilitator_client.get(path.format(pk=workshop.pk))
    assert response.status_code == 404


# The ballot --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["abc", "", "-1", "1e3", TOO_LONG_ID])
def test_a_ballot_for_no_recipe_is_a_400_and_casts_nothing(participant_client, host,
                                                           workshop, recipe, value):
    voting.open_vote(host)
    response = participant_client.post(f"/w/{workshop.pk}/vote/ballot/", {"recipe": value})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "recipe" in response.content.decode()
    assert not Dot.objects.exists()


def test_a_locked_board_refuses_dots_with_423(participant_client, host, workshop, recipe):
    voting.open_vote(host)
    room_services.lock(host, ["board"], True)
    response = participant_client.post(f"/w/{workshop.pk}/vote/ballot/",
                                       {"recipe": recipe.pk})
    assert response.status_code == 423
    assert "locked" in response.content.decode()
    assert not Dot.objects.exists()


def test_a_locked_board_keeps_dots_already_cast(pat_member, host, recipe):
    voting.open_vote(host)
    voting.cast_dot(pat_member, recipe.pk)
    room_services.lock(host, ["board"], True)
    with pytest.raises(room_services.Locked):
        voting.retract_dot(pat_member, recipe.pk)
    assert Dot.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
                    reason="runs in the PostgreSQL pass: the casts race on connections of "
                           "their own, which SQLite's in-memory test database does not "
                           "serve at once")
@pytest.mark.parametrize(("budget", "granted"), [(8, 8), (3, 3)])
def test_concurrent_casts_within_the_budget_all_succeed(host, pat_member, recipe, budget,
                                                        granted):
    """Eight casts at once (tabs, double clicks): as many as the budget allows succeed,
    the rest are refused as "no dot left"; none is refused while a dot is left."""
    voting.open_vote(host, budget=budget, per_item=budget, hidden=True)
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def cast() -> None:
        start.wait()
        try:
            voting.cast_dot(pat_member, recipe.pk)
            outcomes.append("cast")
        except voting.NoDotsLeft:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=cast) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["cast"] * granted + ["refused"] * (8 - granted)
    assert Dot.objects.filter(voter=pat_member.person).count() == granted


# The timer ---------------------------------------------------------------------------

def test_an_unknown_timer_action_is_refused_in_plain_text_without_echoing_it(
        facilitator_client, workshop):
    action = '<img src=x onerror="alert(1)">'
    response = facilitator_client.post(f"/w/{workshop.pk}/room/timer/", {"action": action})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "<img" not in text and "start, pause, add_minute, reset" in text


# The JSON import ---------------------------------------------------------------------

def test_an_import_with_a_number_too_long_to_parse_is_a_400(facilitator_client):
    body = b'{"format": "attune-workshop", "version": ' + b"9" * 5000 + b"}"
    upload = SimpleUploadedFile("w.json", body, content_type="application/json")
    before = Workshop.objects.count()
    response = facilitator_client.post("/import/", {"file": upload})
    assert response.status_code == 400
    assert "number" in response.content.decode()
    assert Workshop.objects.count() == before


# The websocket -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/w/abc/", f"/ws/w/{TOO_LONG_ID}/", "/ws/nothing/"])
async def test_a_websocket_at_no_boards_address_gets_an_error_frame_and_a_close_code(path):
    socket = WebsocketCommunicator(application, path,
                                   headers=[(b"origin", b"http://testserver")])
    connected, _ = await socket.connect(timeout=5)
    assert connected
    frame = json.loads(await socket.receive_from(timeout=5))
    assert frame["type"] == "error" and frame["code"] == NO_SUCH_SOCKET
    assert (await socket.receive_output(timeout=5)) == {"type": "websocket.close",
                                                        "code": NO_SUCH_SOCKET}


@pytest.mark.django_db(transaction=True)
async def test_a_deeply_nested_frame_is_an_error_frame_and_the_socket_stays_open(
        participant_client, workshop):
    socket = Socket(participant_client, workshop.pk)
    await socket.open(version=None)
    await socket.comm.send_to(text_data="[" * 200_000 + "]" * 200_000)
    error = await socket.next(lambda f: f["type"] == "error")
    assert error["reason"] == "bad_frame"
    await socket.send({"type": "ping"})
    assert (await socket.next(lambda f: f["type"] == "pong"))["version"] == await db(
        lambda: Workshop.objects.get(pk=workshop.pk).version)()
    await socket.close()


# The roadmap PDF of a very large board -----------------------------------------------

def test_a_board_past_the_pdf_item_limit_is_refused_at_once_with_what_to_do(
        facilitator_client, workshop, add, settings):
    settings.EXPORTS_PDF_MAX_ITEMS = 5
    for n in range(6):
        add("parking_lot", question=f"Question {n}")
    response = facilitator_client.get(f"/w/{workshop.pk}/export/roadmap.pdf")
    assert response.status_code == 413
    page = response.content.decode()
    assert "too large to print as one PDF (6 items; the limit is 5)" in page
    assert "Markdown" in page and "Traceback" not in page


# Odd text and numbers: NUL characters (PostgreSQL refuses them in text), digits that
# are not ASCII ("²".isdigit() is true), and values of the wrong kind --------------------

@pytest.mark.parametrize("path", ["/join/ab%00cd/", "/join/ab%00cd/status/",
                                  "/join/%C2%B2/", "/join/" + "a" * 65 + "/"])
def test_a_link_that_is_no_link_is_a_404(client, live_session, path):
    assert client.get(path).status_code == 404


def test_a_group_name_with_a_nul_character_is_refused(facilitator_client, workshop, add):
    pair = [add("parking_lot", question=text).pk for text in ("Push?", "Push again?")]
    response = facilitator_client.post(f"/w/{workshop.pk}/s/parking_lot/duplicates/",
                                       {"items": pair, "title": "Push\x00"})
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    assert not workshop.groups.exists()


@pytest.mark.parametrize(("path", "data"), [
    ("/w/{pk}/room/phase/", {"phase": "abc"}),
    ("/w/{pk}/room/phase/", {"phase": "²"}),
    ("/w/{pk}/room/phase/", {}),
    ("/w/{pk}/sessions/{session}/expiry/", {"hours": "²"}),
])
def test_a_number_that_is_no_number_is_a_400(facilitator_client, workshop, live_session,
                                             path, data):
    before = Workshop.objects.get(pk=workshop.pk).version
    response = facilitator_client.post(path.format(pk=workshop.pk, session=live_session.pk),
                                       data)
    assert response.status_code == 400
    assert Workshop.objects.get(pk=workshop.pk).version == before


def test_a_fetch_of_an_id_in_other_digits_is_a_400(participant_client, workshop):
    response = participant_client.get(f"/w/{workshop.pk}/live/fragment/?t=item.recipes.²")
    assert response.status_code == 400


def test_a_sample_for_a_source_that_is_not_there_is_a_404(participant_client, workshop):
    sample = SimpleUploadedFile("crm.csv", b"id,city\n1,Leeds\n2,York\n")
    response = participant_client.post(f"/w/{workshop.pk}/s/data_sources/999999/sample/",
                                       {"sample": sample})
    assert response.status_code == 404


@pytest.fixture
def source(add):
    return add("data_sources", name="CRM export")


def sample_of(client, workshop, source, name: str, data: bytes):
    return client.post(f"/w/{workshop.pk}/s/data_sources/{source.pk}/sample/",
                       {"sample": SimpleUploadedFile(name, data)})


def test_a_json_lines_sample_with_nul_characters_is_profiled(facilitator_client, workshop,
                                                             source):
    """In JSON Lines a NUL is six plain characters (\\u0000): it reaches the profile in a
    name and in values, where it is replaced rather than refused with the whole file."""
    lines = [json.dumps({"id\u0000": index, "city": f"Leeds\u0000{index % 3}"})
             for index in range(20)]
    response = sample_of(facilitator_client, workshop, source, "events.jsonl",
                         "\n".join(lines).encode())
    assert response.status_code == 302
    profile = source.profiles.get(current=True)
    assert "\x00" not in json.dumps(profile.columns)
    assert "id\ufffd" in [column["name"] for column in profile.columns]


def test_a_sample_dated_after_the_year_9999_is_profiled_and_said_to_be_odd(
        facilitator_client, workshop, source):
    rows = "".join(f"{index},{10000 + index}-01-01\n" for index in range(5))
    response = sample_of(facilitator_client, workshop, source, "events.csv",
                         f"id,seen_at\n{rows}".encode())
    assert response.status_code == 302, response.content[:300]
    timeliness = source.profiles.get(current=True).scores["timeliness"]
    assert timeliness["score"] == "poor" and "no real record" in timeliness["evidence"]
