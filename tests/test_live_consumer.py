"""The board's websocket, on the in-memory layer and on the local Redis server:
who may connect, presence, every kind of event, resync, and what never leaks."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from channels.db import database_sync_to_async as db
from django.conf import settings as django_settings
from django.test import Client
from live_helpers import Socket, html_of, op_ids
from samples import SAMPLES, prefixed
from servers import service_up

from sessions import room as room_services
from sessions import services as session_services
from sessions import voting
from sessions.access import Membership
from sessions.models import Participant
from workshop import services
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db(transaction=True)


def join(session, token: str, name: str) -> Client:
    client = Client()
    response = client.post(f"/join/{token}/", {"display_name": name, "function": "design"})
    assert response.status_code == 302
    return client


@pytest.fixture
def pat(live_session):
    return join(live_session, live_session.join_token, "Pat")


@pytest.fixture
def kim(live_session):
    return join(live_session, live_session.join_token, "Kim")


def version_of(workshop) -> int:
    workshop.refresh_from_db()
    return workshop.version


def add_item(member: Membership, key: str, **overrides):
    section = LISTS[key]
    form = section.form(data=SAMPLES[key] | overrides, workshop=member.workshop)
    assert form.is_valid(), form.errors
    return services.add_item(member, section, form.cleaned_data)


def participant_member(workshop, name: str) -> Membership:
    person = Participant.objects.get(display_name=name, session__workshop=workshop)
    return Membership(workshop, "participant", participant=person)


# Who may connect ------------------------------------------------------------------

async def refused(client: Client, workshop_id: int) -> tuple[dict, int]:
    socket = Socket(client, workshop_id)
    await socket.open(version=None)
    code = await socket.closed()
    return socket.frames[0], code


async def test_outsider_is_refused(layer, outsider_client, workshop):
    frame, code = await refused(outsider_client, workshop.pk)
    assert code == 4403 and frame["type"] == "error"


async def test_removed_participant_is_refused(layer, pat, host, workshop):
    person = await db(Participant.objects.get)(display_name="Pat")
    await db(session_services.remove_participant)(host, person.pk)
    _, code = await refused(pat, workshop.pk)
    assert code == 4403


async def test_rotated_link_is_refused(layer, pat, host, live_session, workshop):
    await db(session_services.rotate_link)(host, live_session.pk, "participant")
    _, code = await refused(pat, workshop.pk)
    assert code == 4403


async def test_member_of_one_workshop_is_refused_on_another(layer, pat, facilitator):
    other = await db(services.create_workshop)(facilitator, "Another board")
    _, code = await refused(pat, other.pk)
    assert code == 4403


async def test_socket_takes_no_writes(layer, pat, workshop):
    socket = Socket(pat, workshop.pk)
    await socket.open()
    await socket.send({"type": "add", "section": "decisions"})
    error = await socket.next(lambda f: f["type"] == "error")
    assert "saved over HTTP" in error["message"]
    await socket.close()


# Presence --------------------------------------------------------------------------

async def test_presence_shows_who_joins_and_leaves(layer, facilitator_client, pat, workshop):
    host = Socket(facilitator_client, workshop.pk)
    await host.open()
    guest = Socket(pat, workshop.pk)
    await guest.open()
    joined = await host.next(lambda f: f["type"] == "presence" and "Pat" in html_of(f))
    assert "fran" in html_of(joined)
    await guest.close()
    left = await host.next(lambda f: f["type"] == "presence" and "Pat" not in html_of(f))
    assert "fran" in html_of(left)
    await host.close()


async def test_only_the_processs_hub_receives_from_the_channel_layer(
        layer, facilitator_client, pat, workshop, monkeypatch):
    """Every socket's page closes some time, and closing cancels the socket's receives;
    channels-redis loses the message a cancelled receive was popping, and in a process
    whose receivers share one key in Redis that is anyone's: the hub's next frame for
    every socket. So sockets receive nothing from the layer; the hub hands them their
    kick and regroup in the process (found as a lost presence frame, on PostgreSQL)."""
    from channels.layers import get_channel_layer

    from sessions.hub import hub

    channel_layer = get_channel_layer()
    receivers = []
    receive = channel_layer.receive

    async def counted(channel):
        receivers.append(channel)
        return await receive(channel)

    monkeypatch.setattr(channel_layer, "receive", counted)
    host = Socket(facilitator_client, workshop.pk)
    await host.open()
    the_hubs = hub(channel_layer).channel
    guest = Socket(pat, workshop.pk)
    await guest.open()
    await host.next(lambda f: f["type"] == "presence" and "Pat" in html_of(f))
    await guest.close()
    await host.next(lambda f: f["type"] == "presence" and "Pat" not in html_of(f))
    await host.close()
    assert receivers and set(receivers) == {the_hubs}


async def group_members(name: str) -> set[str]:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if hasattr(layer, "groups"):  # in memory
        return set(layer.groups.get(name, {}))
    connection = layer.connection(layer.consistent_hash(name))
    return {member.decode() for member in await connection.zrange(layer._group_key(name), 0,
                                                                     -1)}


async def test_a_room_is_one_member_of_its_group_per_process_and_every_socket_hears_it(
        layer, live_session, host, workshop):
    """The process's hub (sessions/hub.py) joins a board's audience group once: one
    frame is one layer message per process, however many sockets it has there."""
    from sessions.broadcast import group

    version = await db(version_of)(workshop)
    sockets = []
    for name in ("Ann", "Bo", "Cy"):
        client = await db(join)(live_session, live_session.join_token, name)
        sockets.append(Socket(client, workshop.pk))
        await sockets[-1].open(version=version)
    room = await group_members(group(workshop.pk, "room"))
    assert len(room) == 1
    decision = await db(add_item)(host, "decisions")
    card = f"decisions-{decision.pk}"
    for socket in sockets:
        await socket.next(lambda f: f["type"] == "event" and card in op_ids(f), timeout=5)
    for socket in sockets:
        await socket.close()
    assert await group_members(group(workshop.pk, "room")) == set()


# Every kind of event reaches every page ------------------------------------------------

async def test_every_kind_of_board_event_reaches_a_second_page(layer, pat, host, workshop):
    socket = Socket(pat, workshop.pk)
    await socket.open(version=await db(version_of)(workshop))

    async def expect(action, *ids):
        """Run a write; the page's next frame must redraw these ids (a callable id is
        given the write's result)."""
        start = await db(version_of)(workshop)
        result = await db(action)()
        frame = await socket.next(lambda f: f["type"] == "event" and f["version"] > start)
        wanted = {i(result) if callable(i) else i for i in ids}
        assert wanted <= op_ids(frame), (wanted, op_ids(frame))
        return result, frame

    source, _ = await expect(lambda: add_item(host, "data_sources"),
                             lambda s: f"data_sources-{s.pk}")
    # A recipe shows in three places: its card, its quadrant of the matrix and its lane
    # of the roadmap; each is sent on its own, never the whole matrix or roadmap.
    recipe, frame = await expect(lambda: add_item(host, "recipes", data_sources=[source.pk]),
                                 lambda r: f"recipes-{r.pk}", lambda r: f"matrix-{r.pk}",
                                 lambda r: f"roadmap-{r.pk}", "vote-panel")
    assert "Finish-the-series nudge" in html_of(frame)
    assert not {"roadmap-board", "prioritize-board"} & op_ids(frame)
    # An edit redraws where its item shows besides its own card, not whole lists: the
    # recipe that reads this source's readiness, and that recipe's roadmap gate.
    _, frame = await expect(lambda: services.update_item(
        host, LISTS["data_sources"], source.pk, {"completeness": "poor"}, 1),
        f"data_sources-{source.pk}", f"recipes-{recipe.pk}", f"roadmap-{recipe.pk}")
    assert not {"list-recipes", "list-goals", "roadmap-board"} & op_ids(frame)
    await expect(lambda: services.update_item(host, LISTS["recipes"], recipe.pk,
                                              {"title": "Renamed"}, 1), f"recipes-{recipe.pk}")
    decision = await db(add_item)(host, "decisions")
    await socket.event()
    await db(add_item)(host, "decisions", decision="Second")
    await socket.event()
    await expect(lambda: services.move_item(host, LISTS["decisions"], decision.pk, 1),
                 "list-decisions")
    deleted, frame = await expect(
        lambda: services.delete_item(host, LISTS["decisions"], decision.pk),
        f"decisions-{decision.pk}", "trash")
    assert next(op for op in frame["ops"] if op.get("id") == f"decisions-{decision.pk}")[
        "op"] == "remove"
    _, frame = await expect(lambda: services.restore_item(host, deleted.pk),
                            f"decisions-{decision.pk}", "trash")
    assert next(op for op in frame["ops"] if op.get("id") == f"decisions-{decision.pk}")[
        "op"] == "upsert"
    await expect(lambda: services.update_north_star(host, {"objective": "Habit"}, 1),
                 "north-star")
    _, frame = await expect(
        lambda: services.place_on_roadmap(host, recipe.pk, {"phase": "next"}, 2),
        f"roadmap-{recipe.pk}", f"recipes-{recipe.pk}")
    placed = next(op for op in frame["ops"] if op.get("id") == f"roadmap-{recipe.pk}")
    assert placed["list"] == "lane-next"
    await expect(lambda: services.override_gate(host, recipe.pk, "Pilot"),
                 f"roadmap-{recipe.pk}")
    phase = await db(lambda: workshop.phases.get(key="goals"))()
    await expect(lambda: services.update_phase(host, phase.pk, 30, False), "agenda", "room-bar")
    _, frame = await expect(lambda: room_services.move_room(host, phase.pk), "room-bar")
    state = next(op["state"] for op in frame["ops"] if op.get("id") == "room-bar")
    assert state["phase"] == "goals" and state["timer"]["remaining"] == 30 * 60
    _, frame = await expect(lambda: room_services.control_timer(host, "start"), "room-bar")
    state = next(op["state"] for op in frame["ops"] if op.get("id") == "room-bar")
    assert state["timer"]["running"] and state["timer"]["ends_at"] > state["timer"]["server_now"]
    _, frame = await expect(lambda: room_services.lock(host, ["board"], True), "room-bar")
    assert next(op["state"] for op in frame["ops"] if op.get("id") == "room-bar")["board_locked"]
    await expect(lambda: room_services.set_spotlight(host, f"recipes-{recipe.pk}"), "room-bar")
    await expect(lambda: room_services.set_anonymous(host, ["risks"], True), "list-risks")
    _, frame = await expect(lambda: voting.open_vote(host, 3, 2, True), "vote-panel")
    assert any(op.get("trigger") == "attune:ballot" for op in frame["ops"])
    await expect(lambda: voting.close_vote(host), "vote-panel", "roadmap-board")
    await socket.close()


async def test_locked_board_refuses_participant_writes_and_keeps_what_was_saved(
    layer, pat, host, workshop
):
    await db(room_services.lock)(host, ["board"], True)
    response = await db(pat.post)(f"/w/{workshop.pk}/s/decisions/add/",
                                  prefixed(SAMPLES["decisions"], "add-decisions"))
    assert response.status_code == 423
    assert b"locked the board" in response.content
    await db(room_services.lock)(host, ["board"], False)
    response = await db(pat.post)(f"/w/{workshop.pk}/s/decisions/add/",
                                  prefixed(SAMPLES["decisions"], "add-decisions"))
    assert response.status_code == 201


# Resync -----------------------------------------------------------------------------

async def test_reconnecting_page_gets_what_it_missed(layer, pat, host, workshop):
    socket = Socket(pat, workshop.pk)
    await socket.open(version=await db(version_of)(workshop))
    seen = await db(version_of)(workshop)
    await socket.close()
    first = await db(add_item)(host, "stakeholders")
    second = await db(add_item)(host, "goals")
    await db(services.delete_item)(host, LISTS["stakeholders"], first.pk)
    socket = Socket(pat, workshop.pk)
    sync = await socket.open(version=seen)
    assert sync["version"] == await db(version_of)(workshop)
    ops = {op.get("id"): op["op"] for op in sync["ops"]}
    assert ops[f"stakeholders-{first.pk}"] == "remove"
    assert ops[f"goals-{second.pk}"] == "upsert"
    assert "list-decisions" not in ops  # only what changed, not the whole board
    assert {"room-bar", "vote-panel"} <= set(ops)
    # Who is in the room follows at once, in a frame of its own (it is never kept).
    presence = await socket.next()
    assert presence["type"] == "presence" and presence["ops"][0]["id"] == "presence"
    await socket.close()


async def test_a_large_gap_gets_a_fresh_board(layer, pat, host, workshop):
    for index in range(105):
        await db(add_item)(host, "parking_lot", question=f"Question {index}")
    socket = Socket(pat, workshop.pk)
    sync = await socket.open(version=1)
    assert {f"list-{key}" for key in LISTS} <= op_ids(sync)
    assert "Question 104" in html_of(sync)
    await socket.close()


ARTICLE = re.compile(r'<article class="[^"]*" id="(?P<id>[a-z_]+-\d+)" data-version="(?P<v>\d+)"')


def list_items(html: str) -> dict[str, str]:
    return {m["id"]: m["v"] for m in ARTICLE.finditer(html) if m["id"].split("-")[0] in LISTS}


def apply_ops(state: dict[str, str], ops: list[dict]) -> None:
    for op in ops:
        if op["op"] == "remove":
            state.pop(op["id"], None)
        elif op["op"] == "upsert":
            state.update(list_items(op["html"]))
        elif op.get("id", "").startswith("list-"):
            key = op["id"][len("list-"):]
            for dom_id in [d for d in state if d.rsplit("-", 1)[0] == key]:
                del state[dom_id]
            state.update(list_items(op["html"]))


async def test_state_at_load_plus_events_equals_state_after_reload(layer, pat, kim, host,
                                                                   workshop):
    await db(add_item)(host, "decisions")
    page = (await db(pat.get)(f"/w/{workshop.pk}/")).content.decode()
    loaded = int(re.search(r'id="live"[^>]*data-version="(\d+)"', page)[1])
    state = list_items(page)
    socket = Socket(pat, workshop.pk)
    await socket.open(version=loaded)
    kim_member = await db(participant_member)(workshop, "Kim")
    source = await db(add_item)(kim_member, "data_sources")
    recipe = await db(add_item)(host, "recipes", data_sources=[source.pk])
    await db(add_item)(kim_member, "risks", recipes=[recipe.pk])
    second = await db(add_item)(kim_member, "decisions", decision="Later")
    await db(services.move_item)(host, LISTS["decisions"], second.pk, -1)
    await db(services.update_item)(kim_member, LISTS["data_sources"], source.pk,
                                   {"completeness": "poor"}, 1)
    await db(services.delete_item)(host, LISTS["recipes"], recipe.pk)
    final = await db(version_of)(workshop)
    while True:
        frame = await socket.event()
        apply_ops(state, frame["ops"])
        if frame["version"] == final:
            break
    reloaded = (await db(pat.get)(f"/w/{workshop.pk}/")).content.decode()
    assert state == list_items(reloaded)
    await socket.close()


# What never leaks -------------------------------------------------------------------

async def test_anonymous_authors_never_reach_other_participants(layer, pat, kim,
                                                                facilitator_client, host,
                                                                workshop):
    await db(room_services.set_anonymous)(host, ["risks"], True)
    watcher = Socket(kim, workshop.pk)
    await watcher.open(version=await db(version_of)(workshop))
    lead = Socket(facilitator_client, workshop.pk)
    await lead.open(version=await db(version_of)(workshop))
    response = await db(pat.post)(f"/w/{workshop.pk}/s/risks/add/",
                                  prefixed(SAMPLES["risks"], "add-risks"))
    assert response.status_code == 201
    seen_by_kim = await watcher.event()
    assert "Nudges feel like surveillance" in html_of(seen_by_kim)
    assert "Pat" not in html_of(seen_by_kim) and "Pat" not in seen_by_kim["announce"]
    seen_by_lead = await lead.event()
    assert "Added by Pat" in html_of(seen_by_lead)
    page = (await db(kim.get)(f"/w/{workshop.pk}/")).content.decode()
    assert "Nudges feel like surveillance" in page and "Added by Pat" not in page
    await watcher.close()
    await lead.close()


async def test_hidden_votes_reach_no_other_browser_until_revealed(layer, pat, kim, host,
                                                                  workshop):
    recipe = await db(add_item)(host, "recipes", title="Finish-the-series nudge")
    await db(voting.open_vote)(host, 3, 3, True)
    watcher = Socket(kim, workshop.pk)
    await watcher.open(version=await db(version_of)(workshop))
    for left in (2, 1):
        response = await db(pat.post)(f"/w/{workshop.pk}/vote/ballot/",
                                      {"recipe": recipe.pk, "action": "add"})
        assert response.status_code == 200
        assert f'"left">{left}</span> of 3 left' in response.content.decode()
    frame = await watcher.event()
    frame = await watcher.event()
    panel = html_of(frame)
    assert "1 of 2</strong> taking part has voted" in panel
    assert "tally" not in panel and "2 dots" not in panel
    kim_ballot = (await db(kim.get)(f"/w/{workshop.pk}/vote/ballot/")).content.decode()
    assert '"left">3</span> of 3 left' in kim_ballot
    page = (await db(kim.get)(f"/w/{workshop.pk}/")).content.decode()
    assert 'class="tally"' not in page
    await db(voting.close_vote)(host)
    revealed = await watcher.event()
    assert "2 dots" in html_of(revealed) and 'class="tally"' in html_of(revealed)
    await watcher.close()


async def test_removal_closes_the_persons_socket_with_a_reason(layer, pat, host, workshop):
    socket = Socket(pat, workshop.pk)
    await socket.open()
    person = await db(Participant.objects.get)(display_name="Pat")
    await db(session_services.remove_participant)(host, person.pk)
    assert await socket.closed() == 4001
    assert "removed you" in socket.frames[-1]["message"]


async def test_rotating_the_link_closes_the_sockets_of_who_came_by_it(layer, pat, host,
                                                                      live_session, workshop):
    socket = Socket(pat, workshop.pk)
    await socket.open()
    await db(session_services.rotate_link)(host, live_session.pk, "participant")
    assert await socket.closed() == 4002
    assert "replaced the link" in socket.frames[-1]["message"]


# Redis loses its data under open sockets -------------------------------------------

@pytest.mark.redis
async def test_a_socket_whose_groups_redis_lost_rejoins_and_hears_the_next_edit(
        settings, pat, host, workshop):
    """As after a Redis restart whose connections survived: the socket stays open but is
    in no group. The worker notices its own key is gone (sessions/layer_watch.py), puts
    the socket back and tells the page the version; no ping needed."""
    import redis

    assert service_up(6379), "This test needs the local Redis server on 127.0.0.1:6379."
    prefix = "attune-test-" + uuid.uuid4().hex[:8]
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "sessions.layer.TwoTripRedisChannelLayer",
        "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:6379/0", "socket_timeout": None}],
                   "prefix": prefix}}}
    socket = Socket(pat, workshop.pk)
    await socket.open(version=await db(version_of)(workshop))
    await asyncio.sleep(1.5)  # the worker's watch has looked once and set its key
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    lost = [key for key in client.scan_iter(match=f"{prefix}*")]
    assert lost, "the layer keeps its groups under its prefix"
    client.delete(*lost)  # what a restart does to this layer's groups, and nothing else
    pong = await socket.next(lambda f: f["type"] == "pong", timeout=5)
    assert pong["version"] == await db(version_of)(workshop)
    decision = await db(add_item)(host, "decisions")
    event = await socket.next(lambda f: f["type"] == "event", timeout=5)
    assert f"decisions-{decision.pk}" in op_ids(event)
    await socket.close()


# The broadcaster's own thread ---------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.skipif("postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
                    reason="runs in the PostgreSQL pass: the broadcaster's thread reads "
                           "with a connection of its own, which SQLite's in-memory test "
                           "database does not serve next to writes")
async def test_the_broadcast_thread_sends_every_event_in_commit_order(settings, pat, host,
                                                                      workshop):
    """As the servers run (BROADCAST_THREAD on): writes answer without rendering their
    broadcast, which the broadcaster's thread renders and sends, one at a time, in the
    order the writes committed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sessions.broadcast import BROADCASTER

    settings.BROADCAST_THREAD = True
    BROADCASTER.bind(asyncio.get_running_loop())
    socket = Socket(pat, workshop.pk)
    await socket.open(version=await db(version_of)(workshop))
    start = await db(version_of)(workshop)

    def add_and_watch(n: int):
        """Add, and say whether this thread rendered the broadcast (the item's render
        reads where it goes in its list: `previous_pk`)."""
        with CaptureQueriesContext(connection) as writer:
            item = add_item(host, "decisions", decision=f"Decision {n}")
        return item, any("previous_pk" in q["sql"] for q in writer.captured_queries)

    written = [await db(add_and_watch)(n) for n in range(8)]
    assert [rendered for _, rendered in written] == [False] * 8
    added = [item for item, _ in written]
    versions = []
    while len(versions) < len(added):
        frame = await socket.event()
        versions.append(frame["version"])
        assert any(f"decisions-{item.pk}" in op_ids(frame) for item in added)
    assert versions == list(range(start + 1, start + 1 + len(added)))
    assert BROADCASTER.thread is not None and BROADCASTER.thread.is_alive()
    await socket.close()


@pytest.mark.postgres
@pytest.mark.skipif("postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
                    reason="runs in the PostgreSQL pass: the broadcaster's thread reads "
                           "with a connection of its own, which SQLite's in-memory test "
                           "database does not serve next to writes")
async def test_with_the_broadcast_thread_a_removed_persons_socket_gets_nothing_saved_after(
        layer, settings, pat, kim, host, workshop):
    """As the servers run: the kick travels behind the events committed before it, on
    the broadcaster's thread, so the hubs close a removed person's sockets before any
    frame of a write saved after the removal (sent apart, from the request's thread, the
    kick could reach Redis after the broadcaster's next frames). Someone who stays gets
    all three writes."""
    from sessions.broadcast import BROADCASTER
    from sessions.closecodes import REMOVED

    settings.BROADCAST_THREAD = True
    BROADCASTER.bind(asyncio.get_running_loop())
    socket, stays = Socket(pat, workshop.pk), Socket(kim, workshop.pk)
    await socket.open(version=await db(version_of)(workshop))
    await stays.open(version=await db(version_of)(workshop))
    person = await db(Participant.objects.get)(display_name="Pat")

    def remove_then_write():
        session_services.remove_participant(host, person.pk)
        return [add_item(host, "decisions", decision=f"After Pat left {n}") for n in range(3)]

    after = await db(remove_then_write)()
    assert await socket.closed(timeout=10) == REMOVED
    seen = {op_id for frame in socket.frames if frame["type"] == "event"
            for op_id in op_ids(frame)}
    after_ids = {f"decisions-{item.pk}" for item in after}
    assert not seen & after_ids
    # The stayer's page gets every write after the removal (the test also ends only
    # once the broadcaster has sent them, not with its sends still on this test's loop).
    got: set[str] = set()
    while not after_ids <= got:
        got |= set(op_ids(await stays.event(timeout=10)))
    await stays.close()
