"""Limits on everything a person or a client can repeat, tested by behaviour with small
allowances set in the test: each answers 429 with Retry-After and a message (or an
error frame) and saves nothing; other people are not held back."""

from __future__ import annotations

import time

import httpx
import pytest
import redis
from channels.db import database_sync_to_async as db
from django.test import Client
from live_helpers import Socket
from samples import SAMPLES, prefixed
from servers import RedisServer, make_stack, seed_workshop, service_up, start_worker

from sessions.closecodes import TOO_MANY_SOCKETS
from workshop.models import ParkingLotItem, Workshop


def add_question(client: Client, workshop, text: str = "Who owns consent?"):
    return client.post(f"/w/{workshop.pk}/s/parking_lot/add/",
                       prefixed(SAMPLES["parking_lot"] | {"question": text},
                                "add-parking_lot"))


def join(token: str, name: str, address: str = "10.0.0.1") -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=address)
    answer = client.post(f"/join/{token}/", {"display_name": name, "function": "data"})
    return client, answer


def assert_limited(response, *words: str) -> None:
    assert response.status_code == 429, response.content[:300]
    assert int(response["Retry-After"]) >= 1
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/plain") or "<html" in text
    for word in words:
        assert word in text


# Logins (django-axes) --------------------------------------------------------------

def test_wrong_passwords_lock_the_account_for_that_address_only(facilitator, settings):
    settings.AXES_FAILURE_LIMIT = 3
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        wrong = attacker.post("/accounts/login/", {"username": "fran", "password": "nope"})
        assert wrong.status_code in (200, 429)
    right = attacker.post("/accounts/login/", {"username": "fran", "password": "pw-for-tests-only"})
    assert_limited(right, "Too many wrong passwords", "minutes")
    assert "_auth_user_id" not in attacker.session
    # Fran, from her own network, still signs in.
    fran = Client(REMOTE_ADDR="198.51.100.7")
    signed_in = fran.post("/accounts/login/", {"username": "fran", "password": "pw-for-tests-only"})
    assert signed_in.status_code == 302


# Writes per person -----------------------------------------------------------------

def test_a_person_saving_too_fast_is_told_to_wait_and_nothing_is_saved(
        participant_client, facilitator_client, workshop, settings):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"writes": (3, 60)}
    for n in range(3):
        assert add_question(participant_client, workshop, f"Question {n}").status_code == 201
    refused = add_question(participant_client, workshop, "One too many")
    assert_limited(refused, "saving faster than the board takes changes", "your text")
    assert not ParkingLotItem.objects.filter(question="One too many").exists()
    # Someone else's writes are not held back by Pat's.
    assert add_question(facilitator_client, workshop, "Fran's").status_code == 201


def test_items_per_person_per_list_are_capped_for_participants(
        participant_client, facilitator_client, workshop, settings):
    settings.MAX_ITEMS_PER_PERSON = 2
    for n in range(2):
        assert add_question(participant_client, workshop, f"Mine {n}").status_code == 201
    refused = add_question(participant_client, workshop, "Mine 3")
    assert refused.status_code == 400
    assert "the most one person may" in refused.content.decode()
    assert ParkingLotItem.objects.filter(workshop=workshop).count() == 2
    # Another list is another allowance; facilitators are not capped.
    decision = participant_client.post(
        f"/w/{workshop.pk}/s/decisions/add/",
        prefixed(SAMPLES["decisions"], "add-decisions"))
    assert decision.status_code == 201
    for n in range(3):
        assert add_question(facilitator_client, workshop, f"Fran {n}").status_code == 201


# Joining ---------------------------------------------------------------------------

def test_join_forms_per_address_are_limited(live_session, settings):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"joins": (2, 60)}
    for name in ("Ann", "Bo"):
        assert join(live_session.join_token, name)[1].status_code == 302
    assert_limited(join(live_session.join_token, "Cy")[1], "Wait", "Join again")
    assert join(live_session.join_token, "Cy", address="10.0.0.2")[1].status_code == 302


def test_join_forms_per_link_are_limited(live_session, settings):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"joins_per_link": (2, 60)}
    for n, name in enumerate(("Ann", "Bo")):
        assert join(live_session.join_token, name, f"10.0.1.{n}")[1].status_code == 302
    assert_limited(join(live_session.join_token, "Cy", "10.0.1.9")[1], "this link")


def test_guessing_join_links_stops_every_link_from_that_address(live_session, settings):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"bad_links": (3, 60)}
    guesser = Client(REMOTE_ADDR="10.9.9.9")
    for n in range(3):
        assert guesser.get(f"/join/guess-{n}/").status_code == 404
    assert_limited(guesser.get("/join/guess-4/"), "wrong join links")
    # Past the allowance a right link does not open either: guessing learns nothing.
    assert_limited(guesser.get(f"/join/{live_session.join_token}/"))
    assert Client(REMOTE_ADDR="10.9.9.10").get(
        f"/join/{live_session.join_token}/").status_code == 200


# The socket --------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
async def test_sockets_per_person_are_limited(participant_client, workshop, settings):
    settings.MAX_SOCKETS_PER_PERSON = 2
    tabs = [Socket(participant_client, workshop.pk) for _ in range(3)]
    for tab in tabs[:2]:
        await tab.open(version=None)
        await tab.next(lambda f: f["type"] == "presence")
    await tabs[2].open(version=None)
    error = await tabs[2].next(lambda f: f["type"] == "error")
    assert error["code"] == TOO_MANY_SOCKETS and "too many of your tabs" in error["message"]
    assert await tabs[2].closed() == TOO_MANY_SOCKETS
    for tab in tabs[:2]:
        await tab.close()
    again = Socket(participant_client, workshop.pk)  # a closed tab frees its place
    assert (await again.open())["type"] == "sync"
    await again.close()


@pytest.mark.django_db(transaction=True)
async def test_a_flood_of_resyncs_gets_one_or_two_whole_boards(participant_client, workshop):
    socket = Socket(participant_client, workshop.pk)
    await socket.open(version=None)
    for _ in range(50):
        await socket.send({"type": "resync", "version": None})
    await socket.send({"type": "ping"})
    await socket.next(lambda f: f["type"] == "pong")
    while not await socket.quiet(0.5):
        await socket.next()
    syncs = [f for f in socket.frames if f["type"] == "sync" and f["part"] == 1]
    # The first is answered at once; the 49 that follow within the catch-up gap fold
    # into one more (without the folding: 50).
    assert len(syncs) in (1, 2), len(syncs)
    version = await db(lambda: Workshop.objects.get(pk=workshop.pk).version)()
    assert syncs[-1]["version"] == version
    await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_pings_faster_than_the_page_sends_them_get_no_answer(participant_client,
                                                                   workshop, settings):
    settings.SOCKET_PING_GAP = 5.0
    socket = Socket(participant_client, workshop.pk)
    await socket.open()
    for _ in range(20):
        await socket.send({"type": "ping"})
    await socket.next(lambda f: f["type"] == "pong")
    while not await socket.quiet(0.5):
        await socket.next()
    assert [f["type"] for f in socket.frames].count("pong") == 1
    warnings = [f for f in socket.frames if f.get("reason") == "too_many_pings"]
    assert len(warnings) == 1 and "15 s" in warnings[0]["message"]
    await socket.close()


# Across workers ----------------------------------------------------------------------



def join_over_http(http: httpx.Client, url: str, token: str) -> tuple[int, int]:
    """Join a worker's board by its link as a browser does: (page status, join status)."""
    page = http.get(f"{url}/join/{token}/")
    joined = http.post(f"{url}/join/{token}/", data={
        "display_name": "Pat", "function": "product",
        "csrfmiddlewaretoken": http.cookies["csrftoken"]})
    return page.status_code, joined.status_code


def question_over_http(http: httpx.Client, url: str, workshop: int, n: int) -> int:
    """Add a parking-lot question over HTTP, as the page does: the answer's status."""
    return http.post(f"{url}/w/{workshop}/s/parking_lot/add/",
                     data={"add-parking_lot-question": f"Question {n}"},
                     headers={"X-CSRFToken": http.cookies["csrftoken"],
                              "HX-Request": "true"}).status_code


def received(server: redis.Redis) -> int:
    """The connections Redis has received since it started."""
    return server.info("stats")["total_connections_received"]


def connections_once_quiet(server: redis.Redis, quiet: float = 1.0,
                           timeout: float = 20.0) -> int:
    """`received`, once no new connection has come for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    seen, since = received(server), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = received(server)
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return seen
    raise AssertionError(f"Redis kept receiving connections for {timeout} s")


@pytest.mark.own_servers
@pytest.mark.redis
def test_the_write_counters_keep_one_redis_connection_across_requests(tmp_path):
    """Under ASGI each request has a context of its own, and Django's `caches` one cache
    object per context: counted through it, every write opened a new Redis connection.
    The counters' client is the worker's one (workshop/limits.py)."""
    redis_server = RedisServer(tmp_path / "redis").start()  # no other test's connections
    stack = make_stack(tmp_path, postgres=False, redis=redis_server)
    try:
        board = seed_workshop(stack)
        worker = start_worker(stack, tmp_path)
        http = httpx.Client(timeout=10)
        join_over_http(http, worker.url, board["join"])

        def add(n: int) -> int:
            return question_over_http(http, worker.url, board["workshop"], n)

        assert add(0) == 201
        with redis.Redis.from_url(redis_server.url) as server:
            # The first write's broadcast opens the channel layer's connection on the
            # broadcaster's own time (once, late on a loaded machine): not a write's.
            before = connections_once_quiet(server)
            assert [add(n) for n in range(1, 11)] == [201] * 10
            opened = received(server) - before
    finally:
        stack.close()
        redis_server.stop()
    assert opened == 0  # was one per write


@pytest.mark.own_servers
@pytest.mark.postgres
@pytest.mark.redis
def test_the_write_limit_holds_across_workers(tmp_path):
    """Two workers on PostgreSQL and Redis: a person's writes count together, whichever
    worker takes them (the counters are in Redis)."""
    if not (service_up(5432) and service_up(6379)):
        pytest.fail("needs the local PostgreSQL (5432) and Redis (6379) servers")
    stack = make_stack(tmp_path, postgres=True, redis=True)
    try:
        stack.env["LIMIT_WRITES"] = "4/120"
        board = seed_workshop(stack)
        a, b = start_worker(stack, tmp_path), start_worker(stack, tmp_path)
        http = httpx.Client(timeout=10)
        assert join_over_http(http, a.url, board["join"]) == (200, 302)
        statuses = [question_over_http(http, worker.url, board["workshop"], n)
                    for n, worker in enumerate([a, b, a, b, a, b])]
        assert statuses == [201, 201, 201, 201, 429, 429]
    finally:
        stack.close()
