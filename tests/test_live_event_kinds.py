"""Every kind of board event, walked from the event table: a page that saw it live, and a
page that missed it (and any run of events before it) and caught up, both show exactly
what a reload shows, for the room and for the facilitators."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone
from page_model import COMPARED_REGIONS, PageModel, cards_drawn_afresh
from sample_files import customers
from samples import add_as

from exports.services import duplicate_workshop
from sessions import lifecycle, voting
from sessions import room as room_services
from sessions import services as session_services
from sessions.access import Membership
from sessions.fragments import Deliveries, catch_up, event_deliveries
from sessions.models import Participant, Role
from sessions.viewer import FACILITATORS, ROOM
from workshop import data_profiles, grouping, services
from workshop.event_kinds import TOUCHES, Kind
from workshop.models import BoardEvent, Workshop
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db


class Board:
    """A filled board, its people, and one write of every kind of event."""

    def __init__(self, host: Membership, session, pat: Client, fran: Client):
        self.host, self.session, self.pat, self.fran = host, session, pat, fran
        self.workshop = host.workshop
        person = Participant.objects.get(session=session, display_name="Pat")
        self.pat_member = Membership(self.workshop, Role.PARTICIPANT, participant=person)
        self.source = add_as(host, "data_sources")
        self.goal = add_as(host, "goals", data_source=self.source.pk)
        self.recipe = add_as(host, "recipes", data_sources=[self.source.pk],
                          success_metric=self.goal.pk)
        self.risk = add_as(self.pat_member, "risks", recipes=[self.recipe.pk])
        self.first = add_as(self.pat_member, "decisions", decision="First")
        self.second = add_as(host, "decisions", decision="Second")
        for key in ("stakeholders", "interactions", "action_items", "parking_lot"):
            add_as(self.pat_member, key)
        room_services.set_anonymous(host, ["risks"], True)  # the audiences differ

    def version(self) -> int:
        return Workshop.objects.get(pk=self.workshop.pk).version

    def page(self, client: Client, workshop: Workshop | None = None, *,
             drawn: bool = False) -> PageModel:
        """The page as it loads: with the cards kept for its audience, or all `drawn`
        afresh (what the kept cards must equal)."""
        url = f"/w/{(workshop or self.workshop).pk}/"
        if drawn:
            with cards_drawn_afresh():
                response = client.get(url)
        else:
            response = client.get(url)
        assert response.status_code == 200
        return PageModel.from_html(response.content.decode())

    def scenarios(self) -> dict[Kind, Callable[[], object]]:
        host, ws = self.host, self.workshop
        phase = ws.phases.get(key="goals")
        other = session_services.join_session(self.session.join_token, "Kim", "legal")
        gone = session_services.join_session(self.session.join_token, "Ida", "data")
        Participant.objects.filter(pk=gone.pk).update(removed_at=timezone.now())
        leaver = Membership(ws, Role.PARTICIPANT, participant=session_services.join_session(
            self.session.join_token, "Lee", "support"))
        waiting = Participant.objects.create(session=self.session, display_name="Ned",
                                             function="data", role=Role.PARTICIPANT,
                                             joined_with=self.session.join_token,
                                             waiting=True)
        # Removed while waiting, then restored: they leave the lobby and come back to it.
        knocker = Participant.objects.create(session=self.session, display_name="Wes",
                                             function="legal", role=Role.PARTICIPANT,
                                             joined_with=self.session.join_token,
                                             waiting=True)
        return {
            # Pat writes the next recipe privately: the kinds that follow redraw it,
            # move it, link to its source, all while only Pat and the facilitators see it.
            Kind.ROOM_PRIVATE: lambda: room_services.set_private(host, ["recipes"]),
            Kind.ITEM_ADDED: lambda: add_as(self.pat_member, "recipes", title="Streak saver",
                                         data_sources=[self.source.pk]),
            Kind.ITEM_UPDATED: lambda: services.update_item(
                host, LISTS["data_sources"], self.source.pk, {"completeness": "poor"}, None),
            # A sample sets the source's scores (its recipes' readiness follows) and
            # proposes risks; accepting one adds a risk as well (its own item.added).
            Kind.DATA_PROFILED: lambda: data_profiles.upload_sample(
                host, self.source.pk, io.BytesIO(customers(40)[0]), "crm <export>.csv"),
            Kind.DATA_FINDING: lambda: data_profiles.accept_finding(
                host, self.source.pk, self.source.profiles.get(current=True).pk, 0),
            # A recipe: the matrix, the roadmap, the vote and risk cards list recipes
            # in the same order.
            Kind.ITEM_MOVED: lambda: services.move_item(
                host, LISTS["recipes"], LISTS["recipes"].model.objects.filter(
                    workshop=ws).order_by("position").last().pk, -1),
            Kind.NORTH_STAR_UPDATED: lambda: services.update_north_star(
                host, {"objective": "Readers finish what they start"}, None),
            Kind.ROADMAP_PLACED: lambda: services.place_on_roadmap(
                host, self.recipe.pk, {"phase": "next", "owner": "Growth"}, None),
            Kind.GATE_OVERRIDDEN: lambda: services.override_gate(host, self.recipe.pk,
                                                                 "Pilot on 5% of readers"),
            Kind.AGENDA_UPDATED: lambda: services.update_phase(host, phase.pk, 25, False),
            Kind.ROOM_PHASE: lambda: room_services.move_room(host, phase.pk),
            Kind.ROOM_TIMER: lambda: room_services.control_timer(host, "add_minute"),
            Kind.ROOM_LOCK: lambda: room_services.lock(host, ["risks"], True),
            Kind.ROOM_SPOTLIGHT: lambda: room_services.set_spotlight(
                host, f"recipes-{self.recipe.pk}"),
            Kind.ROOM_EDITING: lambda: room_services.set_open_editing(host, True),
            # The recipes' whole list is redrawn, Pat's private recipe among them.
            Kind.ITEMS_GROUPED: lambda: grouping.group_items(
                host, LISTS["recipes"], [self.recipe.pk], title="Onboarding <emails> & co"),
            Kind.WORKSHOP_RENAMED: lambda: services.rename_workshop(
                host, "Reader app <2027>", "Northwind & Co"),
            Kind.ROOM_ANONYMOUS: lambda: room_services.set_anonymous(host, ["decisions"],
                                                                     True),
            Kind.ROOM_COFACILITATOR: lambda: room_services.name_cofacilitator(
                host, other.pk, True),
            Kind.ROOM_READY: lambda: room_services.set_ready(self.pat_member, True),
            Kind.ROOM_HAND: lambda: room_services.set_hand(self.pat_member, True),
            Kind.ROOM_REVEALED: lambda: room_services.reveal(host, ["recipes"]),
            Kind.VOTE_OPENED: lambda: voting.open_vote(host, 3, 2, hidden=False),
            Kind.VOTE_CHANGED: lambda: voting.raise_limits(host, 4, 3),
            Kind.VOTE_CAST: lambda: voting.cast_dot(self.pat_member, self.recipe.pk),
            Kind.VOTE_CLOSED: lambda: voting.close_vote(host),
            Kind.ITEM_DELETED: lambda: services.delete_item(host, LISTS["data_sources"],
                                                            self.source.pk),
            # The source comes back, with the goal and the recipes that named it.
            Kind.ITEM_RESTORED: lambda: services.restore_item(
                host, BoardEvent.objects.filter(workshop=ws, kind=Kind.ITEM_DELETED)
                .latest("version").pk),
            Kind.SESSION_STARTED: lambda: session_services.start_session(host, "Sitting 2"),
            Kind.SESSION_ENDED: lambda: session_services.end_session(
                host, ws.sessions.get(title="Sitting 2").pk),
            Kind.LINK_ROTATED: lambda: session_services.rotate_link(
                host, self.session.pk, Role.OBSERVER),
            Kind.PARTICIPANT_JOINED: lambda: session_services.join_session(
                self.session.join_token, "Lou", "support"),
            Kind.PARTICIPANT_REMOVED: lambda: [session_services.remove_participant(
                host, person.pk) for person in (knocker, other)],
            Kind.PARTICIPANT_RESTORED: lambda: [session_services.restore_participant(
                host, person.pk) for person in (knocker, gone)],
            Kind.PARTICIPANT_LEFT: lambda: session_services.leave(leaver),
            Kind.LINKS_EXPIRY: lambda: session_services.set_links_expiry(
                host, self.session.pk, 24),
            Kind.LOBBY_SET: lambda: session_services.set_lobby(host, self.session.pk, True),
            Kind.PARTICIPANT_KNOCKED: lambda: session_services.join_session(
                self.session.join_token, "Mo", "legal"),
            Kind.PARTICIPANT_ADMITTED: lambda: session_services.answer_knock(
                host, waiting.pk, admit=True),
            Kind.PARTICIPANT_DECLINED: lambda: session_services.answer_knock(
                host, Participant.objects.get(display_name="Mo").pk, admit=False),
            # Archived and restored last (archiving ends the sessions), at once:
            # in between, every write is refused.
            Kind.WORKSHOP_ARCHIVED: lambda: lifecycle.set_archived(host, True),
            Kind.WORKSHOP_UNARCHIVED: lambda: lifecycle.set_archived(
                Membership(Workshop.objects.get(pk=ws.pk), Role.FACILITATOR, user=host.user),
                False),
        }


NEW_BOARD_KINDS = {Kind.WORKSHOP_CREATED, Kind.WORKSHOP_IMPORTED, Kind.WORKSHOP_DUPLICATED}
# What can be done on the page changes: every open page is closed with the news and
# reloads (test_archive_and_delete.py reads those close frames), so no page applies them.
PAGES_CLOSED = {Kind.WORKSHOP_ARCHIVED, Kind.WORKSHOP_UNARCHIVED}


@pytest.fixture
def board(host, live_session, facilitator_client):
    pat = Client()
    assert pat.post(f"/join/{live_session.join_token}/",
                    {"display_name": "Pat", "function": "design"}).status_code == 302
    return Board(host, live_session, pat, facilitator_client)


def pages(board: Board) -> dict[str, tuple[Client, str, str]]:
    """Whose pages are compared: each one's client, audience and person."""
    return {"participant": (board.pat, ROOM, board.pat_member.person),
            "facilitator": (board.fran, FACILITATORS, "")}


def frames_of(deliveries: Deliveries, audience: str, person: str) -> list[str]:
    """What one person's page receives of an event: their own frames if they have any
    (their private writing), else their audience's."""
    return deliveries.persons.get(person) or deliveries.audiences[audience]


def test_every_kind_has_a_table_entry_and_a_scenario(board):
    assert set(TOUCHES) == set(Kind)
    assert set(board.scenarios()) | NEW_BOARD_KINDS == set(Kind)


@pytest.mark.slow
def test_each_kind_seen_live_or_caught_up_equals_a_reload(board):
    """One write of every kind in turn; after each, a page that applied the event's
    frames and a page that missed them and caught up both equal a fresh load."""
    for kind, write in board.scenarios().items():
        version = board.version()
        before = {who: (board.page(client), board.page(client))
                  for who, (client, _, _) in pages(board).items()}
        write()
        # A write may record more than one event (accepting a finding adds a risk too).
        events = list(BoardEvent.objects.filter(workshop=board.workshop, version__gt=version))
        assert events[-1].kind == kind, (events[-1].kind, kind)
        deliveries = [event_deliveries(event) for event in events]
        for who, (client, audience, person) in pages(board).items():
            live, missed = before[who]
            for each in deliveries:
                for text in frames_of(each, audience, person):
                    live.receive(text)
            for text in catch_up(board.workshop.pk, missed.version, audience, person):
                missed.receive(text)
            reload = board.page(client, drawn=True)
            assert_not_vacuous(reload)
            assert live.version == missed.version == reload.version, (kind, who)
            if kind in PAGES_CLOSED:
                continue
            # The cards kept before the write, if the event table says it changed none.
            assert board.page(client).differences(reload) == [], (kind, who, "kept cards")
            assert live.differences(reload) == [], (kind, who, "live")
            assert missed.differences(reload) == [], (kind, who, "caught up")
            assert not live.fetches and not missed.fetches


@pytest.mark.slow
def test_any_run_of_missed_events_catches_up_to_a_reload(board):
    """Pages loaded at every version of a session with every kind of event: whichever
    version a page stopped at, and whichever frames it then dropped, it ends equal to a
    fresh load once it catches up."""
    loaded: list[dict[str, str]] = []
    for kind, write in board.scenarios().items():
        if kind != Kind.WORKSHOP_UNARCHIVED:  # an archived page is closed on restore
            loaded.append({who: client.get(f"/w/{board.workshop.pk}/").content.decode()
                           for who, (client, _, _) in pages(board).items()})
        write()
    events = list(BoardEvent.objects.filter(workshop=board.workshop,
                                            version__gt=PageModel.from_html(
                                                loaded[0]["participant"]).version))
    deliveries = [event_deliveries(event) for event in events]
    for who, (client, audience, person) in pages(board).items():
        frames = [frames_of(each, audience, person) for each in deliveries]
        reload = board.page(client)
        for start, pages_then in enumerate(loaded):
            for keep in (lambda i: False, lambda i: i % 2 == 0, lambda i: i != 0):
                page = PageModel.from_html(pages_then[who])
                later = [f for f in frames if json_version(f[0]) > page.version]
                for index, frame in enumerate(later):
                    if keep(index):
                        for text in frame:
                            page.receive(text)
                if page.early:
                    page.give_up_waiting()
                for text in catch_up(board.workshop.pk, page.version, audience, person):
                    page.receive(text)
                assert page.version == reload.version
                assert page.differences(reload) == [], (who, start)


def assert_not_vacuous(page: PageModel) -> None:
    """The comparison sees real content: lists with items, and every compared region."""
    assert page.lists["list-decisions"] and page.lists["list-recipes"]
    assert set(page.regions) == set(COMPARED_REGIONS)


def json_version(text: str) -> int:
    import json

    return json.loads(text)["version"]


@pytest.mark.parametrize("kind", sorted(NEW_BOARD_KINDS))
def test_a_new_board_catches_up_from_nothing(kind, board, facilitator, facilitator_client):
    from exports.json_export import export_workshop
    from exports.services import import_workshop

    if kind == Kind.WORKSHOP_CREATED:
        made = services.create_workshop(facilitator, "Fresh board")
    elif kind == Kind.WORKSHOP_IMPORTED:
        made = import_workshop(facilitator, export_workshop(board.workshop))
    else:
        made = duplicate_workshop(board.host, facilitator)
    assert BoardEvent.objects.filter(workshop=made).last().kind == kind
    page = PageModel()
    for text in catch_up(made.pk, None, FACILITATORS):
        page.receive(text)
    assert page.differences(board.page(facilitator_client, made)) == []
