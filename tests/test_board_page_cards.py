"""The board page keeps its cards (and add forms) per change to the board's cards, for
everyone who sees them alike (templates/board/_list.html, workshop.selectors.cards_version
and cards_variant): a room joining a big board draws them once. That every kind of event
the event table calls cardless leaves the kept cards equal to freshly drawn ones is
tests/test_live_event_kinds.py's. Kept cards must never show anyone what their own
rendering would not: authors of anonymous lists, other people's private writing,
facilitators' or editors' controls, or a board older than the page."""

from __future__ import annotations

import pytest
from django.test import Client
from page_model import PageModel
from samples import SAMPLES, add_as, prefixed
from test_live_event_kinds import Board
from test_query_counts import fill
from test_write_queries import make_board

from sessions import room as room_services
from sessions.access import Membership
from sessions.models import Participant, Role
from workshop import selectors, services

pytestmark = pytest.mark.django_db

CARD_RENDER = "board/_item_actions.html"  # rendered once per card drawn


@pytest.fixture
def board() -> Board:
    """A board with an item in every list, Pat's risk in the anonymous risks."""
    return make_board(0)[0]


def cards_drawn(client: Client, workshop_id: int) -> tuple[int, str]:
    response = client.get(f"/w/{workshop_id}/")
    assert response.status_code == 200
    return (sum(t.name == CARD_RENDER for t in response.templates),
            response.content.decode())


def cards(page: str, key: str) -> str:
    """The cards of one list of a page, as its HTML."""
    model = PageModel.from_html(page)
    return "".join(model.items[dom_id] for dom_id in model.lists[f"list-{key}"])


def joined(board: Board, name: str, token: str = "") -> tuple[Client, Membership]:
    client = Client()
    response = client.post(f"/join/{token or board.session.join_token}/",
                           {"display_name": name, "function": "data"})
    assert response.status_code == 302
    person = Participant.objects.get(session=board.session, display_name=name)
    role = Role.OBSERVER if person.role == Role.OBSERVER else Role.PARTICIPANT
    return client, Membership(board.workshop, role, participant=person)


def test_the_next_person_to_join_gets_the_cards_without_drawing_them(board):
    fill(board.workshop, 20)
    drawn, pat_page = cards_drawn(board.pat, board.workshop.pk)
    assert drawn > 180  # every card of nine lists of 20 and more
    # Joining moves the board's version, not its cards' (the event table: it shows in
    # who takes part only), so each of a room joining one after another finds them kept.
    lou, _ = joined(board, "Lou")
    drawn, lou_page = cards_drawn(lou, board.workshop.pk)
    assert drawn == 0
    lou_view, pat_view = (PageModel.from_html(page).view() for page in (lou_page, pat_page))
    assert lou_view["lists"] == pat_view["lists"]
    assert lou_view["regions"] == pat_view["regions"]
    assert lou_view["room"]["taking_part"] == pat_view["room"]["taking_part"] + 1
    assert PageModel.from_html(lou_page).version > PageModel.from_html(pat_page).version


def test_a_change_is_on_the_next_page_load_of_someone_whose_cards_were_kept(board):
    cards_drawn(board.pat, board.workshop.pk)
    response = board.fran.post(
        f"/w/{board.workshop.pk}/s/parking_lot/add/",
        {"add-parking_lot-question": "Should we personalise the weekly digest?"})
    assert response.status_code == 201
    drawn, page = cards_drawn(board.pat, board.workshop.pk)
    assert drawn > 0
    assert "Should we personalise the weekly digest?" in page
    # The add forms list the board's items as choices: they are kept by version too.
    response = board.fran.post(f"/w/{board.workshop.pk}/s/data_sources/add/",
                               prefixed(SAMPLES["data_sources"] | {"name": "Listening history"},
                                        "add-data_sources"))
    assert response.status_code == 201, response.content
    _, page = cards_drawn(board.pat, board.workshop.pk)
    assert page.count(">Listening history</option>") >= 1


def test_the_facilitators_kept_cards_never_show_the_room_an_anonymous_author(board):
    # The board's risks are anonymous to the room (the fixture), and Pat wrote one.
    lou, _ = joined(board, "Lou")
    _, facilitators = cards_drawn(board.fran, board.workshop.pk)
    assert "Added by Pat" in cards(facilitators, "risks")
    _, room = cards_drawn(lou, board.workshop.pk)
    risks = cards(room, "risks")
    assert "Pat" not in risks
    assert "Added by" not in risks


def test_private_writing_stays_on_its_authors_page_when_cards_are_kept(board):
    room_services.set_private(board.host, ["parking_lot"])
    add_as(board.pat_member, "parking_lot", question="Private question by Pat")
    lou, lou_member = joined(board, "Lou")
    _, pat_page = cards_drawn(board.pat, board.workshop.pk)
    assert "Private question by Pat" in pat_page
    _, lou_page = cards_drawn(lou, board.workshop.pk)
    assert "Private question by Pat" not in lou_page
    # And the other way round: Lou's cards, kept first, are not what Pat's page shows.
    add_as(lou_member, "parking_lot", question="Private question by Lou")
    _, lou_page = cards_drawn(lou, board.workshop.pk)
    _, pat_page = cards_drawn(board.pat, board.workshop.pk)
    assert "Private question by Lou" in lou_page
    assert "Private question by Lou" not in pat_page
    assert "Private question by Pat" in pat_page
    _, facilitators = cards_drawn(board.fran, board.workshop.pk)
    assert "Private question by Pat" in facilitators and "Private question by Lou" in facilitators


def test_an_observer_gets_no_editing_controls_from_a_participants_kept_cards(board):
    olive, _ = joined(board, "Olive", board.session.observer_token)
    cards_drawn(board.pat, board.workshop.pk)
    drawn, page = cards_drawn(olive, board.workshop.pk)
    assert drawn > 0  # drawn for an observer: it may not edit
    assert 'class="card-actions"' not in page
    assert 'class="add"' not in page


def test_a_change_to_a_data_source_shows_on_the_kept_recipe_cards_that_use_it(board):
    _, before = cards_drawn(board.pat, board.workshop.pk)
    source = board.source
    assert f"rag-dot-{source.readiness}" in cards(before, "recipes")
    response = board.fran.post(
        f"/w/{board.workshop.pk}/s/data_sources/{source.pk}/edit/",
        prefixed(SAMPLES["data_sources"] | {"completeness": "poor", "accuracy": "poor"},
                 f"data_sources-{source.pk}") | {"version": source.version})
    assert response.status_code == 204, response.content
    source.refresh_from_db()
    _, after = cards_drawn(board.pat, board.workshop.pk)
    assert f"rag-dot-{source.readiness}" in cards(after, "recipes")
    assert cards(after, "recipes") != cards(before, "recipes")


def test_private_writing_saved_while_a_page_loads_is_not_kept_for_the_room(board,
                                                                           monkeypatch):
    room_services.set_private(board.host, ["parking_lot"])
    lou, _ = joined(board, "Lou")
    read_rows = selectors.card_rows

    def then_pat_writes(workshop_id, viewer):
        rows = read_rows(workshop_id, viewer)
        if viewer.person == board.pat_member.person:  # from another tab of hers, say
            add_as(board.pat_member, "parking_lot", question="Private question by Pat")
        return rows

    monkeypatch.setattr(selectors, "card_rows", then_pat_writes)
    cards_drawn(board.pat, board.workshop.pk)  # her page gets it from its event
    _, lou_page = cards_drawn(lou, board.workshop.pk)
    assert "Private question by Pat" not in lou_page


def test_a_change_saved_while_a_page_loads_is_not_hidden_from_later_pages(board,
                                                                          monkeypatch):
    lou, _ = joined(board, "Lou")
    recipe, read = board.recipe, selectors.seen

    def then_someone_edits(section, workshop_id, viewer):
        items = read(section, workshop_id, viewer)
        if section.key == "recipes":  # just after the page read the recipes
            services.update_item(board.host, section, recipe.pk, {"title": "Renamed"}, None)
        return items

    monkeypatch.setattr(selectors, "seen", then_someone_edits)
    cards_drawn(board.pat, board.workshop.pk)
    monkeypatch.setattr(selectors, "seen", read)
    _, lou_page = cards_drawn(lou, board.workshop.pk)
    assert "Renamed" in cards(lou_page, "recipes")
