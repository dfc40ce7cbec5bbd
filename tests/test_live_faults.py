"""Faults under a live session, in real browsers on PostgreSQL + Redis: the Redis server
restarts, and one of two daphne workers is killed. Pages say "reconnecting", come back,
and catch up from the database: no saved edit is lost (DESIGN.md rule 4).

Screenshots go to test-artifacts/browser/<test>/.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
from browser.conftest import ARTIFACTS, Crowd, Person, TcpProxy, launch_chromium, slug
from playwright.sync_api import Browser
from servers import make_stack, seed_workshop, service_up, start_worker

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]

REDIS_PORT = 6379
# Exactly how the machine's Redis is started: no persistence, so a restart is empty.
REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port",
               str(REDIS_PORT), "--save", "", "--appendonly", "no"]
# Reconnects back off with full jitter (1, 2, 4, 8 s... windows), so coming back after an
# outage may take several seconds longer than anything else here.
BACK_MS = 45_000


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.1)


def stop_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(REDIS_PORT), "shutdown",
                    "nosave"], capture_output=True, timeout=10, check=False)
    wait_until(lambda: not service_up(REDIS_PORT), 10, "Redis is down")


def start_redis() -> None:
    if not service_up(REDIS_PORT):
        subprocess.run(REDIS_START, capture_output=True, timeout=10, check=True)
    wait_until(lambda: subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(REDIS_PORT), "ping"],
        capture_output=True, text=True, timeout=5, check=False).stdout.strip() == "PONG",
        10, "Redis answers PONG")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not (service_up(5432) and service_up(REDIS_PORT)):
        pytest.fail("needs the local PostgreSQL and Redis servers: start them (see README)")
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def stack(tmp_path):
    made = make_stack(tmp_path, postgres=True, redis=True)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def crowd_for(request, browser):
    """Opens a Crowd on a base URL; closes every context at the end."""
    crowds: list[Crowd] = []
    artifacts = ARTIFACTS / slug(request.node.name)
    for old in artifacts.glob("*.png"):
        old.unlink()

    def open_crowd(base_url: str, board: dict[str, str]) -> Crowd:
        crowd = Crowd(browser, base_url, board, artifacts)
        crowds.append(crowd)
        return crowd

    yield open_crowd
    for crowd in crowds:
        crowd.close()


def converge(people: list[Person], section: str, expected: list[list[str]],
             timeout: int = BACK_MS) -> None:
    """Every page shows exactly the saved items. Not their order: an item a page missed is
    replayed at the end of its list (see the xfail in tests/browser), so a page that
    saved its own item meanwhile shows the two swapped until it reloads."""
    for person in people:
        person.wait_for_items(section, expected, timeout=timeout, ordered=False)


def test_redis_restart_mid_session_loses_no_saved_edit(stack, tmp_path, crowd_for):
    worker = start_worker(stack, tmp_path)
    board = seed_workshop(stack)
    crowd = crowd_for(worker.url, board)
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee")
    dana = crowd.participant("Dana Ruiz", "data")
    everyone = [fran, pat, dana]
    items = [[pat.add("parking_lot", question="Saved before the restart"),
              "Saved before the restart"]]
    converge(everyone, "parking_lot", items, timeout=10_000)
    marks = {person.name: len(person.states()) for person in everyone}

    try:
        stop_redis()
        for person in everyone:
            person.expect_state("reconnecting")
        # Writes still succeed while the channel layer is down: HTTP and the database.
        items.append([fran.add("parking_lot", question="Saved while Redis was down"),
                      "Saved while Redis was down"])
        items.append([dana.add("parking_lot", question="Also saved while it was down"),
                      "Also saved while it was down"])
        pat.shot("redis down reconnecting")
    finally:
        start_redis()

    for person in everyone:
        person.expect_state("live", timeout=BACK_MS)
    converge(everyone, "parking_lot", items)
    # And the pipe works again: a new edit reaches every page live.
    items.append([pat.add("parking_lot", question="Saved after the restart"),
                  "Saved after the restart"])
    converge(everyone, "parking_lot", items, timeout=10_000)
    for person in everyone:
        assert "reconnecting" in person.states()[marks[person.name]:], person.name
        person.expect_state("live")
    pat.shot("redis back caught up")

    log = worker.log.read_text()
    assert "Broadcast to board-" in log and "failed" in log, log[-3000:]
    # Nothing saved was lost: a fresh page shows all of it, in order.
    late = crowd.participant("Lou Chen", "legal")
    assert late.items("parking_lot") == items


def test_killed_worker_its_pages_reconnect_to_the_other_and_catch_up(stack, tmp_path,
                                                                      crowd_for):
    worker_a = start_worker(stack, tmp_path)
    worker_b = start_worker(stack, tmp_path)
    board = seed_workshop(stack)
    # A load balancer in front: worker A while it answers, else worker B.
    proxy = TcpProxy(worker_a.port, worker_b.port).start()
    try:
        via_proxy = crowd_for(proxy.url, board)
        fran = via_proxy.facilitator()
        pat = via_proxy.participant("Pat Lee")
        dana = crowd_for(worker_b.url, board).participant("Dana Ruiz", "data")
        assert set(proxy.served) == {worker_a.port}
        everyone, on_a = [fran, pat, dana], [fran, pat]
        # Across workers through Redis: A's pages see B's edits and the other way round.
        items = [[dana.add("parking_lot", question="Saved through worker B"),
                  "Saved through worker B"],
                 [pat.add("parking_lot", question="Saved through worker A"),
                  "Saved through worker A"]]
        converge(everyone, "parking_lot", items, timeout=10_000)
        marks = {person.name: len(person.states()) for person in on_a}

        worker_a.stop(hard=True)  # SIGKILL: no goodbye to anyone
        # An edit lands while A's pages are still finding their way to B.
        items.append([dana.add("parking_lot", question="Saved while A was dead"),
                      "Saved while A was dead"])
        for person in on_a:
            person.expect_state("live", timeout=BACK_MS)
        wait_until(lambda: worker_b.port in proxy.served, 10, "the proxy used worker B")
        converge(everyone, "parking_lot", items)
        for person in on_a:
            assert "reconnecting" in person.states()[marks[person.name]:], person.name
        pat.shot("reconnected to worker b")

        # Now served by B: edits from either side reach everyone live.
        items.append([fran.add("parking_lot", question="Saved through the proxy, now B"),
                      "Saved through the proxy, now B"])
        items.append([dana.add("parking_lot", question="Saved on B again"),
                      "Saved on B again"])
        converge(everyone, "parking_lot", items, timeout=10_000)
        for person in everyone:
            person.expect_state("live")
        assert worker_a.process.poll() is not None
        fran.shot("all on worker b")
    finally:
        proxy.close()
