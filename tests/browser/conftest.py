"""Browser tests: Debian's chromium, driven by Playwright's sync API, against real daphne
workers from tests/servers.py. The servers keep their own database, so nothing here uses
pytest-django's `db`.

Also home to the helpers tests/test_live_faults.py shares (import `browser.conftest`):
people in separate browser contexts, and a TCP proxy that can drop connections or fail
over from one worker to another like a load balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from servers import ROOT, Stack, Worker, make_stack, seed_workshop, start_worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)

# Every page keeps the history of its connection state, so a test can tell that a page
# went through "reconnecting" even when it lasted a few milliseconds.
RECORD_STATES = """
window.__states = [];
// What the Content-Security-Policy blocked on this page (none, if the pages keep to it).
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " " + event.blockedURI);
});
document.addEventListener("DOMContentLoaded", function () {
  const el = document.getElementById("connection");
  if (!el) return;
  window.__states.push(el.dataset.state);
  new MutationObserver(function () { window.__states.push(el.dataset.state); })
    .observe(el, { attributes: true, attributeFilter: ["data-state"] });
});
"""

# Ids and headings of a list's items, in page order.
LIST_ITEMS = """(section) => Array.from(
  document.querySelectorAll('#list-' + section + ' > article'),
  (el) => [el.id, el.querySelector('h4') ? el.querySelector('h4').textContent.trim() : ''])"""


@contextlib.contextmanager
def launch_chromium() -> Iterator[Browser]:
    """One chromium. Playwright's sync API allows one instance at a time per thread, so
    use it from module-scoped fixtures (modules are torn down one after the other)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# People -----------------------------------------------------------------------

@dataclass(eq=False)
class Person:
    name: str
    context: BrowserContext
    page: Page
    artifacts: Path
    # Every websocket frame this page received, as text.
    frames: list[str] = field(default_factory=list)
    # What the Content-Security-Policy blocked, as the browser reported it.
    blocked: list[str] = field(default_factory=list)

    @property
    def workshop(self) -> str:
        return self.page.evaluate("document.getElementById('live').dataset.workshop")

    def shot(self, step: str) -> Path:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        number = len(list(self.artifacts.glob("*.png"))) + 1
        path = self.artifacts / f"{number:02d}-{slug(step)}-{slug(self.name)}.png"
        self.page.screenshot(path=str(path))
        return path

    def expect_state(self, state: str, timeout: int = WAIT_MS) -> None:
        expect(self.page.locator("#connection")).to_have_attribute(
            "data-state", state, timeout=timeout)

    def states(self) -> list[str]:
        return self.page.evaluate("window.__states.slice()")

    def version(self) -> int:
        """The board version this page has applied."""
        return self.page.evaluate("window.attuneLive.version")

    def server_version(self) -> int:
        """The board's version on the server, read over HTTP with this person's cookies."""
        html = self.page.request.get(self.page.url.split("#")[0]).text()
        return int(re.search(r'id="live"[^>]*data-version="(\d+)"', html)[1])

    def items(self, section: str) -> list[list[str]]:
        return self.page.evaluate(LIST_ITEMS, section)

    def wait_for_items(self, section: str, expected: list[list[str]],
                       timeout: int = WAIT_MS, ordered: bool = True) -> None:
        """Wait until this page's list shows exactly these items (in this order)."""
        if not ordered:
            expected = sorted(expected)
        try:
            self.page.wait_for_function(
                f"([section, expected, ordered]) => {{ const items = ({LIST_ITEMS})(section);"
                " if (!ordered) items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1"
                " : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));"
                " return JSON.stringify(items) === JSON.stringify(expected); }",
                arg=[section, expected, ordered], timeout=timeout)
        except Exception as error:
            raise AssertionError(f"{self.name} shows {section} {self.items(section)}, "
                                 f"expected {expected}") from error

    def open_add_form(self, section: str) -> None:
        details = self.page.locator(f"#add-{section}")
        if not details.evaluate("el => el.open"):
            details.locator("summary").click()

    def fill(self, prefix: str, **fields: str) -> None:
        for name, value in fields.items():
            field_ = self.page.locator(f"#id_{prefix}-{name}")
            if field_.evaluate("el => el.tagName") == "SELECT":
                field_.select_option(value)
            else:
                field_.fill(value)

    def add(self, section: str, **fields: str) -> str:
        """Add an item through the section's add form; returns its element id."""
        self.open_add_form(section)
        self.fill(f"add-{section}", **fields)
        with self.page.expect_response(
                lambda r: r.url.endswith(f"/s/{section}/add/")
                and r.request.method == "POST") as answer:
            self.page.locator(f"#add-{section} button.primary").click()
        response = answer.value
        assert response.status == 201, f"{self.name}: add {section} -> {response.status}"
        found = re.search(rf"/s/{section}/(\d+)/$", response.headers["location"])
        assert found, response.headers
        # The answer has no card: the page shows the item when its broadcast comes.
        expect(self.page.locator(f"#list-{section} > #{section}-{found[1]}")).to_be_attached()
        return f"{section}-{found[1]}"

    def room_bar_button(self, label: str):
        return self.page.locator("#room-bar button", has_text=label)


class Crowd:
    """The people of one test, each in their own browser context."""

    def __init__(self, browser: Browser, base_url: str, board: dict[str, str],
                 artifacts: Path, facilitator_state: dict | None = None):
        self.browser, self.base_url, self.board = browser, base_url, board
        self.artifacts = artifacts
        self.facilitator_state = facilitator_state
        self.people: list[Person] = []

    @property
    def board_path(self) -> str:
        return f"/w/{self.board['workshop']}/"

    def _person(self, name: str, storage_state: dict | None = None,
                viewport: tuple[int, int] = (1280, 900)) -> Person:
        width, height = viewport
        context = self.browser.new_context(viewport={"width": width, "height": height},
                                           storage_state=storage_state)
        context.add_init_script(RECORD_STATES)
        page = context.new_page()
        person = Person(name, context, page, self.artifacts)

        def listen(ws) -> None:
            ws.on("framereceived", lambda payload: person.frames.append(
                payload if isinstance(payload, str) else payload.decode()))

        page.on("websocket", listen)
        context.on("console", lambda message: person.blocked.append(message.text)
                   if "Content Security Policy" in message.text
                   or message.text.startswith("CSP violation") else None)
        self.people.append(person)
        return person

    def facilitator(self, base_url: str | None = None, name: str = "fran",
                    viewport: tuple[int, int] = (1280, 900)) -> Person:
        base = base_url or self.base_url
        person = self._person(name, self.facilitator_state, viewport)
        page = person.page
        if self.facilitator_state is None:  # sign in (outsiders get a 404, not a login)
            page.goto(f"{base}/accounts/login/?next={self.board_path}")
            page.fill("#id_username", self.board["user"])
            page.fill("#id_password", self.board["password"])
            page.locator("main form button").click()
            page.wait_for_url(f"**{self.board_path}")
        else:
            page.goto(base + self.board_path)
        person.expect_state("live")
        return person

    def participant(self, name: str, function: str = "product",
                    base_url: str | None = None,
                    viewport: tuple[int, int] = (1280, 900)) -> Person:
        base = base_url or self.base_url
        person = self._person(name, viewport=viewport)
        page = person.page
        page.goto(f"{base}/join/{self.board['join']}/")
        page.fill("#id_display_name", name)
        page.select_option("#id_function", function)
        page.locator("main form button.primary").click()
        page.wait_for_url(f"**{self.board_path}")
        person.expect_state("live")
        return person

    def observer(self, name: str, viewport: tuple[int, int] = (1280, 900)) -> Person:
        """Someone who joins by the observer link: they watch, and edit nothing."""
        person = self._person(name, viewport=viewport)
        page = person.page
        page.goto(f"{self.base_url}/join/{self.board['observe']}/")
        page.fill("#id_display_name", name)
        if page.locator("#id_function").count():
            page.select_option("#id_function", "legal")
        page.locator("main form button.primary").click()
        page.wait_for_url(f"**{self.board_path}")
        person.expect_state("live")
        return person

    def close(self) -> None:
        for person in self.people:
            with contextlib.suppress(Exception):
                person.context.close()


# Servers ------------------------------------------------------------------------

@dataclass
class Server:
    stack: Stack
    worker: Worker
    seed: dict[str, str]
    boards: list[dict[str, str]]

    def next_board(self) -> dict[str, str]:
        """A workshop of its own for each test, with an open session."""
        if not self.boards:
            self.boards.extend(seed_boards(self.stack, 4))
        return self.boards.pop(0)


def seed_boards(stack: Stack, count: int) -> list[dict[str, str]]:
    """More workshops for `fran` (made by seed_workshop), in one manage.py call."""
    out = stack.shell(
        "from django.contrib.auth import get_user_model\n"
        "from sessions.access import Membership\n"
        "from sessions import services as s\n"
        "from workshop import services as w\n"
        "u = get_user_model().objects.get(username='fran')\n"
        f"for i in range({count}):\n"
        "    ws = w.create_workshop(u, f'Live board {i + 2}', 'Northwind')\n"
        "    se = s.start_session(Membership(ws, 'facilitator', user=u), 'Sitting 1')\n"
        "    print('BOARD', ws.pk, se.join_token, se.observer_token)\n")
    boards = []
    for line in out.splitlines():
        if line.startswith("BOARD "):
            _, workshop, join, observe = line.split()
            boards.append({"workshop": workshop, "join": join, "observe": observe,
                           "user": "fran", "password": "fran-pass-123"})
    return boards


def seed_items(stack: Stack, workshop: str, section: str, rows: list[dict[str, str]]) -> None:
    """Put items on a board through the services, as its facilitator."""
    stack.shell(
        "from sessions.access import Membership\n"
        "from workshop import services as w\n"
        "from workshop.models import Workshop\n"
        "from workshop.sections import LISTS\n"
        f"ws = Workshop.objects.get(pk={int(workshop)})\n"
        "m = Membership(ws, 'facilitator', user=ws.owner)\n"
        f"section = LISTS[{section!r}]\n"
        f"for row in {rows!r}:\n"
        "    form = section.form(data=row, workshop=ws)\n"
        "    assert form.is_valid(), form.errors\n"
        "    w.add_item(m, section, form.cleaned_data)\n")


def open_editing(stack: Stack, workshop: str) -> None:
    """Let everyone on a board edit every item, as its facilitator would."""
    stack.shell(
        "from sessions.access import Membership\n"
        "from sessions.room import set_open_editing\n"
        "from workshop.models import Workshop\n"
        f"ws = Workshop.objects.get(pk={int(workshop)})\n"
        "set_open_editing(Membership(ws, 'facilitator', user=ws.owner), True)\n")


def login_state(browser: Browser, base_url: str, user: str, password: str) -> dict:
    """A signed-in facilitator's cookies, to open their pages without the login form."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(base_url + "/accounts/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", password)
        page.locator("main form button").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """One daphne worker on a fresh SQLite file and the in-memory channel layer."""
    tmp = tmp_path_factory.mktemp("live-board")
    stack = make_stack(tmp)
    try:
        worker = start_worker(stack, tmp)
        seed = seed_workshop(stack)
        yield Server(stack, worker, seed, [seed, *seed_boards(stack, 9)])
    finally:
        stack.close()


@pytest.fixture(scope="module")
def facilitator_state(browser, server) -> dict:
    return login_state(browser, server.worker.url, "fran", "fran-pass-123")


@pytest.fixture
def crowd(request, browser, server, facilitator_state) -> Iterator[Crowd]:
    artifacts = ARTIFACTS / slug(request.node.name)
    for old in artifacts.glob("*.png"):
        old.unlink()
    people = Crowd(browser, server.worker.url, server.next_board(), artifacts,
                   facilitator_state)
    try:
        yield people
    finally:
        people.close()
    # Every browser test is also a test of the policy: the pages ran nothing it blocks.
    assert not [(p.name, text) for p in people.people for text in p.blocked]


# A TCP proxy -----------------------------------------------------------------------

class TcpProxy:
    """Forwards connections to the first upstream port that accepts them, like a load
    balancer with health checks. `cut()` drops every open connection and refuses new ones
    (a network that went away); `restore()` lets connections through again. Runs its own
    asyncio loop in a thread, so the sync Playwright API keeps the main thread."""

    def __init__(self, *upstreams: int):
        self.upstreams = list(upstreams)
        self.down = self.websockets_down = False
        self.port = 0
        self.served: list[int] = []  # the upstream each connection went to
        self._open: set[asyncio.Transport] = set()
        self._websockets: set[asyncio.Transport] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="tcp-proxy")
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def start(self) -> TcpProxy:
        self._thread.start()
        self._server = self._call(self._listen())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _listen(self):
        return await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            head = await reader.read(65536)  # the request line and headers, at least
        except (ConnectionError, OSError):
            head = b""
        websocket = b"upgrade: websocket" in head.lower()
        if not head or self.down or (websocket and self.websockets_down):
            writer.transport.abort()
            return
        for port in self.upstreams:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            break
        else:
            writer.transport.abort()
            return
        self.served.append(port)
        up_writer.write(head)
        transports = {writer.transport, up_writer.transport}
        self._open |= transports
        if websocket:
            self._websockets |= transports
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._open -= transports
            self._websockets -= transports

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def cut(self, websockets_only: bool = False) -> None:
        """Drop open connections and refuse new ones: all of them (the network is gone),
        or only websockets (HTTP still works, the socket does not)."""
        def drop() -> None:
            if websockets_only:
                self.websockets_down, doomed = True, self._websockets
            else:
                self.down, doomed = True, self._open
            for transport in list(doomed):
                transport.abort()

        self._call(self._run(drop))

    def restore(self) -> None:
        def up() -> None:
            self.down = self.websockets_down = False

        self._call(self._run(up))

    @staticmethod
    async def _run(step) -> None:
        step()

    async def _shutdown(self) -> None:
        self.down = True
        for transport in list(self._open):
            transport.abort()
        if self._server is not None:
            self._server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if others:
            await asyncio.wait(others, timeout=5)

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._shutdown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop.close()
