"""What one write costs in SQL queries on a board of 200 items in every list, for every
kind of board event, sent over HTTP as a page sends it.

Two budgets, measured apart (docs/architecture.md, "Costs"):
- the request: authorize (session, user or participant, workshop), write and event (a
  write answers with no fragment: the sender's page gets the broadcast too): at most 10
  for every kind, an add and an edit in every list, and edits that change links;
- the broadcast's render (`event_deliveries`, run once per write after commit, for every
  audience, on the broadcaster's thread in production): the same on a board of 200
  items as on a board of 3, and within a budget per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from sample_files import customers
from samples import SAMPLES, prefixed
from test_live_event_kinds import Board
from test_query_counts import fill

from sessions import services as session_services
from sessions.access import Membership
from sessions.fragments import event_deliveries
from sessions.models import Participant, Role, WorkshopSession
from workshop import services
from workshop.event_kinds import Kind
from workshop.models import BoardEvent, NorthStar, ParkingLotItem, Recipe
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db

REQUEST_BUDGET = 10
# The broadcast's render, by kind: measured, flat in the board's size. The largest
# redraw what a change shows in more than one place (a recipe: its card, its matrix
# entry and roadmap card, the vote; anonymity: every list for both audiences, and the
# room bar, whose state reads who is ready and whose hand is up, and the data sources'
# current sample profiles).
RENDER_CEILINGS = {"room.anonymous": 21}
DEFAULT_RENDER_CEILING = 12


# Every kind a request makes on a running board (creating, importing and duplicating
# a workshop make a new board).
BOARD_KINDS = set(Kind) - {Kind.WORKSHOP_CREATED, Kind.WORKSHOP_IMPORTED,
                           Kind.WORKSHOP_DUPLICATED}


@dataclass
class Write:
    kind: Kind
    who: str  # "fran", "pat" or "new" (someone who has not joined yet)
    url: str | Callable[[], str]
    data: Callable[[], dict]


def item_writes(board: Board) -> list[Write]:
    """An add by a participant and an edit by the facilitator, in every list."""
    ws = board.workshop.pk

    def first(key: str):
        return LISTS[key].model.objects.filter(workshop_id=ws).order_by("pk").first()

    def edit_data(key: str) -> Callable[[], dict]:
        def data() -> dict:
            item = first(key)
            return prefixed(SAMPLES[key], f"{key}-{item.pk}") | {"version": item.version}
        return data

    found = []
    for key in LISTS:
        found.append(Write(Kind.ITEM_ADDED, "pat", f"/w/{ws}/s/{key}/add/",
                           lambda key=key: prefixed(SAMPLES[key], f"add-{key}")))
        found.append(Write(Kind.ITEM_UPDATED, "fran",
                           lambda key=key: f"/w/{ws}/s/{key}/{first(key).pk}/edit/",
                           edit_data(key)))
    return found


def finding_url(ws: int, source) -> str:
    """Accepting the first finding of the source's current profile."""
    profile = source.profiles.get(current=True)
    return f"/w/{ws}/s/data_sources/{source.pk}/profiles/{profile.pk}/findings/0/"


def writes(board: Board, kim: int) -> list[Write]:
    ws = board.workshop.pk
    source, recipe = board.source, board.recipe
    phase = board.workshop.phases.get(key="goals")

    def version_of(model, pk: int) -> Callable[[], dict]:
        return lambda: {"version": model.objects.get(pk=pk).version}

    return [*item_writes(board),
        Write(Kind.ITEM_ADDED, "pat", f"/w/{ws}/s/recipes/add/",
              lambda: prefixed(SAMPLES["recipes"], "add-recipes")
              | {"add-recipes-data_sources": [source.pk]}),
        Write(Kind.ITEM_UPDATED, "fran", f"/w/{ws}/s/data_sources/{source.pk}/edit/",
              lambda: prefixed(SAMPLES["data_sources"] | {"completeness": "poor"},
                               f"data_sources-{source.pk}")
              | version_of(type(source), source.pk)()),
        # A data sample profiled, and the risk one of its findings proposes accepted.
        Write(Kind.DATA_PROFILED, "fran", f"/w/{ws}/s/data_sources/{source.pk}/sample/",
              lambda: {"sample": SimpleUploadedFile("crm.csv", customers(40)[0])}),
        Write(Kind.DATA_FINDING, "fran", lambda: finding_url(ws, source), dict),
        # Edits that change links: the form checks them, the write replaces them.
        Write(Kind.ITEM_UPDATED, "fran", f"/w/{ws}/s/recipes/{recipe.pk}/edit/",
              lambda: prefixed(SAMPLES["recipes"] | {"data_sources": [source.pk]},
                               f"recipes-{recipe.pk}") | version_of(Recipe, recipe.pk)()),
        Write(Kind.ITEM_UPDATED, "fran", f"/w/{ws}/s/risks/{board.risk.pk}/edit/",
              lambda: prefixed(SAMPLES["risks"] | {"recipes": [recipe.pk]},
                               f"risks-{board.risk.pk}")
              | version_of(type(board.risk), board.risk.pk)()),
        Write(Kind.ITEM_MOVED, "fran", f"/w/{ws}/s/recipes/{recipe.pk}/move/",
              lambda: {"direction": "down"}),
        Write(Kind.NORTH_STAR_UPDATED, "fran", f"/w/{ws}/north-star/",
              lambda: {"north-star-objective": "Readers finish what they start",
                       "north-star-scope_level": "product",
                       "version": NorthStar.objects.get(workshop_id=ws).version}),
        Write(Kind.ROADMAP_PLACED, "fran", f"/w/{ws}/roadmap/{recipe.pk}/",
              lambda: {f"roadmap-{recipe.pk}-phase": "next",
                       f"roadmap-{recipe.pk}-owner": "Growth"}
              | version_of(Recipe, recipe.pk)()),
        Write(Kind.GATE_OVERRIDDEN, "fran", f"/w/{ws}/roadmap/{recipe.pk}/override/",
              lambda: {"reason": "Pilot on 5% of readers"}),
        Write(Kind.AGENDA_UPDATED, "fran", f"/w/{ws}/agenda/{phase.pk}/",
              lambda: {"minutes": "25"}),
        Write(Kind.ROOM_PHASE, "fran", f"/w/{ws}/room/phase/", lambda: {"step": "next"}),
        Write(Kind.ROOM_TIMER, "fran", f"/w/{ws}/room/timer/",
              lambda: {"action": "add_minute"}),
        Write(Kind.ROOM_LOCK, "fran", f"/w/{ws}/room/lock/",
              lambda: {"section": "risks", "locked": "1"}),
        Write(Kind.ROOM_SPOTLIGHT, "fran", f"/w/{ws}/room/spotlight/",
              lambda: {"target": f"recipes-{recipe.pk}"}),
        Write(Kind.ROOM_ANONYMOUS, "fran", f"/w/{ws}/room/anonymous/",
              lambda: {"section": "decisions", "anonymous": "1"}),
        Write(Kind.ROOM_COFACILITATOR, "fran", f"/w/{ws}/people/{kim}/cofacilitate/",
              lambda: {"on": "1"}),
        Write(Kind.ROOM_READY, "pat", f"/w/{ws}/room/ready/", lambda: {"ready": "1"}),
        Write(Kind.ROOM_HAND, "pat", f"/w/{ws}/room/hand/", lambda: {"raised": "1"}),
        # Private writing: a recipe written privately, edits that redraw it (for its
        # author apart), then the reveal (the whole list, for everyone).
        Write(Kind.ROOM_PRIVATE, "fran", f"/w/{ws}/room/private/",
              lambda: {"section": "recipes", "private": "1"}),
        Write(Kind.ITEM_ADDED, "pat", f"/w/{ws}/s/recipes/add/",
              lambda: prefixed(SAMPLES["recipes"], "add-recipes")
              | {"add-recipes-data_sources": [source.pk]}),
        Write(Kind.ITEM_UPDATED, "fran", f"/w/{ws}/s/data_sources/{source.pk}/edit/",
              lambda: prefixed(SAMPLES["data_sources"] | {"completeness": "good"},
                               f"data_sources-{source.pk}")
              | version_of(type(source), source.pk)()),
        Write(Kind.ITEM_MOVED, "fran", f"/w/{ws}/s/recipes/{recipe.pk}/move/",
              lambda: {"direction": "up"}),
        Write(Kind.ROOM_REVEALED, "fran", f"/w/{ws}/room/private/",
              lambda: {"section": "recipes", "private": "0"}),
        Write(Kind.VOTE_OPENED, "fran", f"/w/{ws}/vote/open/",
              lambda: {"budget": "3", "per_item": "2"}),
        Write(Kind.VOTE_CHANGED, "fran", f"/w/{ws}/vote/limits/",
              lambda: {"budget": "4", "per_item": "3"}),
        Write(Kind.VOTE_CAST, "pat", f"/w/{ws}/vote/ballot/", lambda: {"recipe": recipe.pk}),
        Write(Kind.VOTE_CLOSED, "fran", f"/w/{ws}/vote/close/", lambda: {}),
        Write(Kind.ITEM_DELETED, "fran", f"/w/{ws}/s/data_sources/{source.pk}/delete/",
              lambda: {}),
        Write(Kind.ITEM_RESTORED, "fran", lambda: "/w/{}/restore/{}/".format(
            ws, BoardEvent.objects.filter(workshop_id=ws, kind=Kind.ITEM_DELETED)
            .latest("version").pk), dict),
        Write(Kind.ROOM_EDITING, "fran", f"/w/{ws}/room/editing/", lambda: {"open": "1"}),
        Write(Kind.ITEMS_GROUPED, "fran", f"/w/{ws}/s/recipes/{recipe.pk}/group/",
              lambda: {"title": "Onboarding"}),
        Write(Kind.WORKSHOP_RENAMED, "fran", f"/w/{ws}/rename/",
              lambda: {"title": "Reader app 2027", "organisation": "Northwind"}),
        Write(Kind.SESSION_STARTED, "fran", f"/w/{ws}/sessions/start/",
              lambda: {"title": "Sitting 2"}),
        Write(Kind.SESSION_ENDED, "fran", lambda: "/w/{}/sessions/{}/end/".format(
            ws, WorkshopSession.objects.get(workshop_id=ws, title="Sitting 2").pk), dict),
        Write(Kind.PARTICIPANT_JOINED, "new", f"/join/{board.session.join_token}/",
              lambda: {"display_name": "Lou", "function": "support"}),
        Write(Kind.LINK_ROTATED, "fran",
              f"/w/{ws}/sessions/{board.session.pk}/rotate/observer/", lambda: {}),
        Write(Kind.PARTICIPANT_REMOVED, "fran", f"/w/{ws}/people/{kim}/remove/",
              lambda: {}),
        Write(Kind.PARTICIPANT_RESTORED, "fran", f"/w/{ws}/people/{kim}/restore/",
              lambda: {}),
        Write(Kind.LINKS_EXPIRY, "fran", f"/w/{ws}/sessions/{board.session.pk}/expiry/",
              lambda: {"hours": "24"}),
        Write(Kind.LOBBY_SET, "fran", f"/w/{ws}/sessions/{board.session.pk}/lobby/",
              lambda: {"on": "1"}),
        Write(Kind.PARTICIPANT_KNOCKED, "new", f"/join/{board.session.join_token}/",
              lambda: {"display_name": "Mona Knock", "function": "legal"}),
        Write(Kind.PARTICIPANT_ADMITTED, "fran", lambda: "/w/{}/lobby/{}/admit/".format(
            ws, Participant.objects.get(display_name="Mona Knock", session__workshop_id=ws).pk),
            dict),
        Write(Kind.PARTICIPANT_KNOCKED, "new", f"/join/{board.session.join_token}/",
              lambda: {"display_name": "Ned Knock", "function": "data"}),
        Write(Kind.PARTICIPANT_DECLINED, "fran", lambda: "/w/{}/lobby/{}/decline/".format(
            ws, Participant.objects.get(display_name="Ned Knock", session__workshop_id=ws).pk),
            dict),
        Write(Kind.PARTICIPANT_LEFT, "pat", f"/w/{ws}/leave/", lambda: {}),
        # Last: archiving ends the sessions.
        Write(Kind.WORKSHOP_ARCHIVED, "fran", f"/w/{ws}/archive/", dict),
        Write(Kind.WORKSHOP_UNARCHIVED, "fran", f"/w/{ws}/unarchive/", dict),
    ]


USERS = iter(range(1, 1000))


def make_board(size: int) -> tuple[Board, int]:
    """A board of its own, filled with `size` items in every list; Pat and Kim joined."""
    user = get_user_model().objects.create_user(f"fran{next(USERS)}",
                                                password="pw-for-tests-only")
    host = Membership(services.create_workshop(user, "Reader app"), Role.FACILITATOR,
                      user=user)
    session = session_services.start_session(host, "Sitting 1")
    fran, pat = Client(), Client()
    fran.force_login(user)
    assert pat.post(f"/join/{session.join_token}/",
                    {"display_name": "Pat", "function": "design"}).status_code == 302
    board = Board(host, session, pat, fran)
    kim = session_services.join_session(session.join_token, "Kim", "legal")
    fill(board.workshop, size)
    return board, kim.pk


@dataclass
class Cost:
    what: str
    request: int
    render: int


def walk(board: Board, kim: int) -> list[Cost]:
    """Every write in turn, and what it cost."""
    found = []
    for write in writes(board, kim):
        client = {"fran": board.fran, "pat": board.pat}.get(write.who) or Client()
        url = write.url() if callable(write.url) else write.url
        data = write.data()
        with CaptureQueriesContext(connection) as request:
            response = client.post(url, data, HTTP_HX_REQUEST="true")
        assert response.status_code < 400, (url, response.status_code,
                                            response.content[:300])
        event = BoardEvent.objects.filter(workshop=board.workshop).last()
        assert event.kind == write.kind, (url, event.kind)
        with CaptureQueriesContext(connection) as render:
            event_deliveries(event)  # for the audiences and for authors of private writing
        what = f"{write.kind.value} {url.split('/', 3)[-1]}"
        found.append(Cost(what, counted(request), counted(render)))
    return found


def counted(captured: CaptureQueriesContext) -> int:
    # Savepoints are the test's own transaction; in production the write commits.
    return sum(1 for query in captured.captured_queries if "SAVEPOINT" not in query["sql"])


@pytest.mark.slow
def test_every_kind_of_write_stays_within_its_query_budget_on_a_big_board():
    found = walk(*make_board(200))
    over = [(cost.what, cost.request) for cost in found if cost.request > REQUEST_BUDGET]
    assert over == [], f"requests over the budget of {REQUEST_BUDGET}: {over}"
    assert {cost.what.split()[0] for cost in found} == {kind.value for kind in BOARD_KINDS}


@pytest.mark.slow
def test_a_broadcasts_render_reads_as_much_on_a_big_board_as_on_a_small_one():
    small = walk(*make_board(3))
    big = walk(*make_board(200))
    grew = [(b.what, a.render, b.render) for a, b in zip(small, big, strict=True)
            if b.render > a.render]
    assert grew == [], f"renders that read more on a big board (small, big): {grew}"
    over = [(cost.what, cost.render) for cost in big
            if cost.render > RENDER_CEILINGS.get(cost.what.split()[0], DEFAULT_RENDER_CEILING)]
    assert over == [], f"renders over their budget: {over}"


def test_a_participants_add_reads_who_they_are_in_two_queries_and_its_broadcast_in_one():
    """On the path of every edit to every screen: the person (their session, then their
    row with its workshop and room) and, after the commit, the item with its workshop
    and room for the frames. Each query is about a millisecond of Django's on
    PostgreSQL, in the time from an edit to every screen (README, "Live board")."""
    board, _ = make_board(3)
    with CaptureQueriesContext(connection) as request:
        response = board.pat.post(f"/w/{board.workshop.pk}/s/parking_lot/add/",
                                  {"add-parking_lot-question": "Who owns consent?"},
                                  HTTP_HX_REQUEST="true")
    assert response.status_code == 201
    reads = [query["sql"] for query in request.captured_queries
             if query["sql"].startswith("SELECT")]
    # The session, the participant with the board, the person's quota in the list.
    assert len(reads) == 3, reads
    assert "django_session" in reads[0] and '"workshop_workshop"' in reads[1]
    event = BoardEvent.objects.filter(workshop=board.workshop).last()
    with CaptureQueriesContext(connection) as render:
        frames = event_deliveries(event).audiences
    assert counted(render) == 1
    assert all("Who owns consent?" in texts[0] for texts in frames.values())


@pytest.mark.parametrize("size", [3, 1000])
def test_a_move_writes_two_rows_whatever_the_lists_length(host, size):
    """Moving an item swaps it with its neighbour: the same statements on a list of
    3 and of 1,000 (it renumbered the whole list, in more batches the longer it was)."""
    ParkingLotItem.objects.bulk_create(
        ParkingLotItem(workshop=host.workshop, question=f"Q{i}", position=i + 1)
        for i in range(size))
    items = list(ParkingLotItem.objects.filter(workshop=host.workshop)
                 .order_by("position").values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as moved:
        services.move_item(host, LISTS["parking_lot"], items[1], -1)
    writes = [query["sql"] for query in moved.captured_queries
              if query["sql"].startswith("UPDATE") and "parking" in query["sql"]]
    assert len(writes) == 2, writes
    assert counted(moved) == 5  # the rows locked, the two rows, the version, the event
    after = list(ParkingLotItem.objects.filter(workshop=host.workshop)
                 .order_by("position", "pk").values_list("pk", flat=True))
    assert after == [items[1], items[0], *items[2:]]


def test_a_move_among_equal_positions_numbers_the_list_afresh(host):
    """Older boards may hold equal positions (ordered by pk): a swap of equal positions
    would change nothing, so the list is numbered once, in its new order."""
    ParkingLotItem.objects.bulk_create(
        ParkingLotItem(workshop=host.workshop, question=f"Q{i}", position=1) for i in range(3))
    items = list(ParkingLotItem.objects.filter(workshop=host.workshop)
                 .order_by("position", "pk").values_list("pk", flat=True))
    services.move_item(host, LISTS["parking_lot"], items[2], -1)
    after = ParkingLotItem.objects.filter(workshop=host.workshop).order_by("position", "pk")
    assert [(item.pk, item.position) for item in after] == [
        (items[0], 1), (items[2], 2), (items[1], 3)]
