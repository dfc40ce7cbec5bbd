"""The live board never gets stuck: frames a client sends are checked and answered, every
frame the server sends fits its bound whatever the board holds, audiences follow roles
on open sockets, the heartbeat tells a page it is behind, presence cleans itself, and a
broadcast that fails to render hurts nothing else. Runs on both database passes."""

from __future__ import annotations

import json
import logging
import socket as sockets
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from django.db import models
from django.test import Client
from django.utils import timezone
from live_helpers import Socket, html_of
from page_model import PageModel
from samples import SAMPLES

from sessions import fragments, voting
from sessions import room as room_services
from sessions.access import Membership
from sessions.closecodes import TRY_AGAIN
from sessions.fragments import FRAME_LIMIT
from sessions.models import Participant, Presence, Role
from workshop import services
from workshop.event_kinds import Kind
from workshop.models import BoardEvent, Workshop
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db(transaction=True)


def version_of(workshop) -> int:
    return Workshop.objects.get(pk=workshop.pk).version


def add_item(member: Membership, key: str, **overrides):
    section = LISTS[key]
    form = section.form(data=SAMPLES[key] | overrides, workshop=member.workshop)
    assert form.is_valid(), form.errors
    return services.add_item(member, section, form.cleaned_data)


def fill(workshop, key: str, count: int, **fields) -> None:
    """Many items at once, as a two-day workshop accumulates them (bulk: the test is
    about what the board sends, not how the items got there)."""
    model = LISTS[key].model
    model.objects.bulk_create(model(workshop=workshop, position=index, author_name="Pat",
                                    **{name: value.format(index=index)
                                       for name, value in fields.items()})
                              for index in range(1, count + 1))
    Workshop.objects.filter(pk=workshop.pk).update(version=models.F("version") + 1)


def sizes(sock: Socket) -> list[int]:
    return [len(json.dumps(frame, separators=(",", ":"))) for frame in sock.frames]


# Frames a client sends -----------------------------------------------------------

@pytest.mark.parametrize("version", [True, False, "7", -1, 1.5, 2**60, [3], {"v": 1}])
async def test_a_hello_with_a_bad_version_gets_a_typed_error_and_the_socket_stays(
        participant_client, workshop, version):
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=None)
    await sock.send({"type": "hello", "version": version})
    error = await sock.next(lambda f: f["type"] == "error")
    assert error["reason"] == "bad_version" and "whole number" in error["message"]
    sync = await sock.hello(await db(version_of)(workshop))
    assert sync["type"] == "sync"
    await sock.close()


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "not json", "[1, 2]",
                                  '{"type": "add"}', '"hello"'])
async def test_frames_that_are_not_hello_resync_or_ping_get_an_error_frame_not_a_close(
        participant_client, workshop, text):
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=None)
    await sock.comm.send_to(text_data=text)
    error = await sock.next(lambda f: f["type"] == "error")
    assert error["reason"] in ("bad_frame", "unknown_type")
    await sock.send({"type": "ping"})
    assert (await sock.next(lambda f: f["type"] == "pong"))["type"] == "pong"
    await sock.close()


async def test_hello_with_no_version_gets_the_whole_board(participant_client, workshop, host):
    await db(add_item)(host, "decisions")
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=None)
    await sock.send({"type": "hello", "version": None})
    sync = await sock.next(lambda f: f["type"] == "sync")
    assert {op.get("list") for op in sync["ops"] if op["op"] == "order"} >= {
        f"list-{key}" for key in LISTS}
    await sock.close()


# Every frame fits -------------------------------------------------------------------

@pytest.mark.slow
async def test_a_board_of_5000_items_syncs_on_connect_in_bounded_parts(participant_client,
                                                                        workshop):
    await db(fill)(workshop, "parking_lot", 5000, question="Question {index} " + "x" * 150)
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=None)
    await sock.send({"type": "hello", "version": None})
    page = PageModel()
    while True:
        frame = await sock.next(lambda f: f["type"] == "sync", timeout=60)
        page.receive(json.dumps(frame))
        if frame["part"] == frame["parts"]:
            break
    assert frame["parts"] > 4  # the board did not fit one frame, and was split
    assert max(sizes(sock)) <= FRAME_LIMIT
    assert len(page.lists["list-parking_lot"]) == 5000
    assert page.version == await db(version_of)(workshop)
    await sock.close()


async def test_a_move_sends_the_lists_order_not_its_html(participant_client, workshop, host):
    await db(fill)(workshop, "decisions", 800, decision="Decision {index}",
                   rationale="y" * 1500)
    first = await db(lambda: LISTS["decisions"].model.objects.filter(workshop=workshop)
                     .order_by("position").first())()
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=await db(version_of)(workshop))
    await db(services.move_item)(host, LISTS["decisions"], first.pk, 1)
    frame = await sock.event()
    assert [op["op"] for op in frame["ops"]] == ["order"]
    assert frame["ops"][0]["pks"][1] == first.pk
    assert len(json.dumps(frame)) < 8 * 1024
    await sock.close()


@pytest.mark.slow
async def test_making_a_long_list_anonymous_is_sent_in_parts_that_each_fit(
        participant_client, facilitator_client, workshop, host):
    await db(fill)(workshop, "risks", 1200, risk="Risk {index}", category="privacy",
                   likelihood="2", severity="2", mitigation="z" * 600)
    guest = Socket(participant_client, workshop.pk)
    lead = Socket(facilitator_client, workshop.pk)
    await guest.open(version=await db(version_of)(workshop))
    await lead.open(version=await db(version_of)(workshop))
    await db(room_services.set_anonymous)(host, ["risks"], True)
    for sock, authors in ((guest, False), (lead, True)):
        parts = []
        while not parts or parts[-1]["part"] < parts[-1]["parts"]:
            parts.append(await sock.next(lambda f: f["type"] == "event", timeout=30))
        assert len(parts) > 1 and len({p["version"] for p in parts}) == 1
        assert max(sizes(sock)) <= FRAME_LIMIT
        assert ("Added by Pat" in "".join(html_of(p) for p in parts)) is authors
        await sock.close()


@pytest.mark.django_db
def test_making_one_list_anonymous_redraws_that_list_not_the_others(workshop, host):
    fill(workshop, "risks", 300, risk="Risk {index}", category="privacy",
         likelihood="2", severity="2")
    fill(workshop, "decisions", 3, decision="Decision {index}")
    room_services.set_anonymous(host, ["decisions"], True)
    event = BoardEvent.objects.filter(workshop=workshop).last()
    frames = fragments.event_frames(event)
    sent = "".join(text for texts in frames.values() for text in texts)
    assert '"list-decisions"' in sent and "Decision 1" in sent
    assert "Risk 1" not in sent  # a list of 300 cards that did not change
    assert max(len(text) for texts in frames.values() for text in texts) < 64 * 1024


@pytest.mark.slow
async def test_a_region_too_large_for_a_frame_is_fetched_over_http(participant_client,
                                                                    workshop, host):
    await db(fill)(workshop, "recipes", 900, title="Recipe {index} " + "t" * 180,
                   segment="s", action="a", content_model="make_easier",
                   kind="personalization", impact="4", effort="2")
    await db(voting.open_vote)(host, 3, 2, True)
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=await db(version_of)(workshop))
    # Closing a vote puts its dots on every roadmap card: the whole roadmap, too large.
    await db(voting.close_vote)(host)
    parts = [await sock.event(timeout=30)]
    while parts[-1]["part"] < parts[-1]["parts"]:
        parts.append(await sock.event(timeout=30))
    fetches = [op["url"] for p in parts for op in p["ops"] if op["op"] == "fetch"]
    assert fetches and max(sizes(sock)) <= FRAME_LIMIT
    answer = await db(participant_client.get)(fetches[0])
    assert answer.status_code == 200
    assert answer.json()["ops"][0]["op"] in ("replace", "upsert")
    await sock.close()


async def test_a_fetch_url_that_names_nothing_is_refused(participant_client, workshop):
    for target in ("region.nowhere.0", "item.recipes.x", "list.auth_user.0", ""):
        answer = await db(participant_client.get)(
            f"/w/{workshop.pk}/live/fragment/?t={target}")
        assert answer.status_code == 400


# Audiences follow roles -----------------------------------------------------------

@pytest.fixture
def kim(live_session, workshop) -> Membership:
    """A second participant, who writes while Pat's role changes."""
    person = Participant.objects.create(session=live_session, display_name="Kim",
                                        function="data", role="participant",
                                        joined_with=live_session.join_token)
    return Membership(workshop, Role.PARTICIPANT, participant=person)


async def test_a_promoted_and_demoted_cofacilitators_open_socket_follows_the_role(
        participant_client, workshop, host, kim):
    await db(room_services.set_anonymous)(host, ["risks"], True)
    pat = await db(Participant.objects.get)(display_name="Pat")
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=await db(version_of)(workshop))

    async def risk_seen() -> str:
        await db(add_item)(kim, "risks", risk="Seen by whom?")
        frame = await sock.next(lambda f: f["type"] == "event" and "Seen by whom" in
                                html_of(f))
        return html_of(frame)

    assert "Added by Kim" not in await risk_seen()
    await db(room_services.name_cofacilitator)(host, pat.pk, True)
    sync = await sock.next(lambda f: f["type"] == "sync")
    assert sync["audience"] == "facilitators"
    assert "Added by Kim" in await risk_seen()
    await db(room_services.name_cofacilitator)(host, pat.pk, False)
    sync = await sock.next(lambda f: f["type"] == "sync")
    assert sync["audience"] == "room"
    assert "Added by Kim" not in await risk_seen()
    await sock.close()


async def test_a_demoted_cofacilitator_gets_no_author_saved_before_the_socket_regrouped(
        participant_client, workshop, host, kim):
    """Kim adds to an anonymous list while Pat is being demoted: the frame for
    facilitators is queued to Pat's socket before it has handled the regroup (which
    needs the database thread this write holds). The socket must drop it."""
    await db(room_services.set_anonymous)(host, ["risks"], True)
    pat = await db(Participant.objects.get)(display_name="Pat")
    await db(room_services.name_cofacilitator)(host, pat.pk, True)
    sock = Socket(participant_client, workshop.pk)
    assert (await sock.open(version=await db(version_of)(workshop)))["audience"] == \
        "facilitators"

    def demote_as_kim_adds() -> None:
        room_services.name_cofacilitator(host, pat.pk, False)
        add_item(kim, "risks", risk="Seen by whom?")

    await db(demote_as_kim_adds)()
    await sock.next(lambda f: f["type"] == "sync" and f["audience"] == "room")
    while not await sock.quiet(0.5):  # keep every frame that comes
        await sock.next()
    seen = [f for f in sock.frames if "Seen by whom" in html_of(f)]
    assert seen, "the risk never reached Pat's page"
    assert all("Added by Kim" not in html_of(f) for f in sock.frames)
    await sock.close()


async def test_a_page_away_while_its_role_changed_gets_the_whole_board_for_the_new_role(
        participant_client, live_session, workshop, host):
    """Pat's page shows the room's board when Pat is named co-facilitator with the page
    closed; its hello says so, and it gets every list as facilitators see them (the
    promotion's own event redraws only the room bar and presence)."""
    await db(room_services.set_anonymous)(host, ["risks"], True)
    pat = await db(Participant.objects.get)(display_name="Pat")
    await db(add_item)(host, "risks", risk="Who said this?")
    shown = await db(version_of)(workshop)
    await db(room_services.name_cofacilitator)(host, pat.pk, True)
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=None)
    await sock.send({"type": "hello", "version": shown, "audience": "room"})
    await sock.next(lambda f: f["type"] == "sync" and f.get("part", 1) == f.get("parts", 1))
    syncs = [f for f in sock.frames if f["type"] == "sync"]
    assert {f["audience"] for f in syncs} == {"facilitators"}
    risk = [op for f in syncs for op in f["ops"] if "Who said this?" in op.get("html", "")]
    assert risk and "Added by" in risk[0]["html"]
    await sock.close()


@pytest.mark.parametrize("audience", ["everyone", 1, True, ["room"]])
async def test_a_hello_with_an_unknown_audience_gets_a_typed_error(participant_client,
                                                                    workshop, audience):
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=None)
    await sock.send({"type": "hello", "version": 0, "audience": audience})
    error = await sock.next(lambda f: f["type"] == "error")
    assert error["reason"] == "bad_frame" and "audience" in error["message"]
    assert (await sock.hello(await db(version_of)(workshop)))["type"] == "sync"
    await sock.close()


async def test_every_role_gets_each_change_live_and_only_what_its_audience_may_see(
        facilitator_client, participant_client, observer_client, live_session, workshop,
        host, kim):
    """The facilitator, a co-facilitator, a participant and an observer on one board
    with an anonymous list: Kim's add reaches all four sockets at the same version;
    only the two facilitators' frames name her."""
    await db(room_services.set_anonymous)(host, ["risks"], True)
    cleo_client = Client()
    joined = await db(cleo_client.post)(f"/join/{live_session.join_token}/",
                                        {"display_name": "Cleo", "function": "legal"})
    assert joined.status_code == 302
    cleo = await db(Participant.objects.get)(display_name="Cleo")
    await db(room_services.name_cofacilitator)(host, cleo.pk, True)
    clients = {"facilitator": facilitator_client, "co-facilitator": cleo_client,
               "participant": participant_client, "observer": observer_client}
    version = await db(version_of)(workshop)
    sockets = {}
    for role, client in clients.items():
        sockets[role] = Socket(client, workshop.pk)
        sync = await sockets[role].open(version=version)
        wanted = "facilitators" if "facilitator" in role else "room"
        assert sync["audience"] == wanted, role
    risk = await db(add_item)(kim, "risks", risk="Who raised this?")
    for role, sock in sockets.items():
        frame = await sock.next(lambda f: f["type"] == "event"
                                and f"risks-{risk.pk}" in html_of(f))
        assert frame["version"] == version + 1, role
        assert ("Added by Kim" in html_of(frame)) == ("facilitator" in role), role
        await sock.close()


async def test_a_cofacilitators_socket_goes_live_and_shows_the_role(participant_client,
                                                                      workshop, host):
    pat = await db(Participant.objects.get)(display_name="Pat")
    await db(room_services.name_cofacilitator)(host, pat.pk, True)
    sock = Socket(participant_client, workshop.pk)
    sync = await sock.open(version=await db(version_of)(workshop))
    assert sync["audience"] == "facilitators"
    row = await db(Presence.objects.get)(person=f"p{pat.pk}")
    assert row.role == Role.COFACILITATOR
    presence = [f for f in sock.frames if f["type"] == "presence" and "Pat" in html_of(f)]
    assert presence and "Co-facilitator" in html_of(presence[-1])
    await sock.close()


# Heartbeat and presence ----------------------------------------------------------

async def test_the_heartbeat_tells_a_page_the_boards_version(participant_client, workshop,
                                                             host):
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=await db(version_of)(workshop))
    await db(add_item)(host, "decisions")
    await sock.send({"type": "ping"})
    pong = await sock.next(lambda f: f["type"] == "pong")
    assert pong["version"] == await db(version_of)(workshop)
    await sock.close()


async def test_rows_of_dead_sockets_are_swept_and_the_room_told(participant_client,
                                                                 workshop):
    await db(Presence.objects.create)(
        workshop=workshop, channel_name="gone!worker", person="p999", name="Ghost",
        role=Role.PARTICIPANT, seen_at=timezone.now() - timedelta(minutes=5))
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=await db(version_of)(workshop))
    await db(Presence.objects.create)(
        workshop=workshop, channel_name="gone!again", person="p998", name="Phantom",
        role=Role.PARTICIPANT, seen_at=timezone.now() - timedelta(minutes=5))
    while not await sock.quiet(0.2):  # the catch-up's own presence frame, and the room's
        await sock.next()
    await sock.send({"type": "ping"})
    frame = await sock.next(lambda f: f["type"] == "presence")
    assert "Pat" in html_of(frame) and "Phantom" not in html_of(frame)
    assert not await db(Presence.objects.filter(name__in=["Ghost", "Phantom"]).exists)()
    await sock.close()


async def test_leaving_deletes_presence_at_once(participant_client, workshop):
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=await db(version_of)(workshop))
    assert await db(Presence.objects.filter(workshop=workshop).count)() == 1
    await sock.close()
    assert await db(Presence.objects.filter(workshop=workshop).count)() == 0


# Failures that must stay small -----------------------------------------------------

def free_port() -> int:
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_with_the_channel_layer_down_a_socket_hears_why_and_may_retry(
        participant_client, workshop, settings):
    # A Redis nobody listens on: the layer is down, as in an outage.
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "sessions.layer.TwoTripRedisChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{free_port()}/0",
                              "socket_timeout": None}]}}}
    sock = Socket(participant_client, workshop.pk)
    connected, _ = await sock.comm.connect(timeout=10)
    assert connected  # accepted: no HTTP 500 that would make the page back off for long
    code = await sock.closed(timeout=10)
    assert code == TRY_AGAIN  # come back soon: the page reconnects after it
    assert sock.frames[-1]["reason"] == "unavailable"
    assert not await db(Presence.objects.filter(workshop=workshop).exists)()


async def test_a_broadcast_that_fails_to_render_is_logged_and_hurts_nothing_else(
        participant_client, workshop, host, monkeypatch, caplog):
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=await db(version_of)(workshop))
    real = fragments.Renderer.region_vote

    def broken(self, viewer):
        raise RuntimeError("a template bug")

    monkeypatch.setattr(fragments.Renderer, "region_vote", broken)
    with caplog.at_level(logging.ERROR, logger="sessions.fragments"):
        recipe = await db(add_item)(host, "recipes", title="Still arrives")
    frame = await sock.event()
    ops = {op["op"] for op in frame["ops"]}
    assert "Still arrives" in html_of(frame) and "fetch" in ops
    assert "Could not render region.vote" in caplog.text
    monkeypatch.setattr(fragments.Renderer, "region_vote", real)
    fetch = next(op["url"] for op in frame["ops"] if op["op"] == "fetch")
    answer = await db(participant_client.get)(fetch)
    assert answer.status_code == 200 and answer.json()["ops"][0]["id"] == "vote-panel"
    await db(services.update_item)(host, LISTS["recipes"], recipe.pk, {"title": "Next"}, 1)
    assert "Next" in html_of(await sock.event())
    await sock.close()


# Bounded columns ---------------------------------------------------------------

def bounded_char_fields():
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.CharField) and field.choices and field.max_length:
                yield model, field


def test_every_choice_fits_its_column():
    for model, field in bounded_char_fields():
        longest = max(len(str(value)) for value, _ in field.flatchoices)
        assert longest <= field.max_length, (model.__name__, field.name, longest)


def test_what_the_live_board_writes_fits_its_columns():
    assert max(len(value) for value in Role.values) <= Presence._meta.get_field(
        "role").max_length
    assert max(len(kind) for kind in Kind) <= BoardEvent._meta.get_field("kind").max_length
    assert max(len(key) for key in (*LISTS, "north_star", "roadmap", "agenda", "room",
                                    "vote", "sessions")) <= BoardEvent._meta.get_field(
        "section").max_length


async def test_a_socket_that_beats_keeps_its_groups_and_a_crashed_one_drops_out(
        participant_client, workshop, host, settings):
    import asyncio

    from channels.layers import get_channel_layer

    from sessions.broadcast import group

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer",
                                           "CONFIG": {"group_expiry": 1}}}
    sock = Socket(participant_client, workshop.pk)
    await sock.open(version=await db(version_of)(workshop))
    layer = get_channel_layer()
    room = group(workshop.pk, "room")
    await layer.group_add(room, "crashed.socket!without-goodbye")  # never refreshed
    await asyncio.sleep(2.5)  # past the (test's short) group expiry, in whole seconds
    await sock.send({"type": "ping"})  # the heartbeat re-joins the socket's groups
    await sock.next(lambda f: f["type"] == "pong")
    await db(add_item)(host, "decisions", decision="After the expiry")
    assert "After the expiry" in html_of(await sock.event())
    assert "crashed.socket!without-goodbye" not in layer.groups.get(room, {})
    await sock.close()


def test_an_outage_logs_one_line_going_and_one_back_even_when_it_flaps(caplog):
    from sessions.outage import Outage

    outage = Outage("The test layer")
    with caplog.at_level(logging.WARNING, logger="sessions.outage"):
        for _ in range(50):
            outage.failed(ConnectionError("refused"))
        outage.succeeded()
        outage.failed(ConnectionError("stale pooled connection"))  # right after: the tail
        outage.succeeded()
        outage.succeeded()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "unavailable" in lines[0] and "is back" in lines[1] and "50 operations" in lines[1]
