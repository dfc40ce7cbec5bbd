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
