"""Getting people in: the QR code for the projector, links that look like what they do,
and a dead link that says what to do."""

from __future__ import annotations

import pytest
import segno
from django.test import override_settings

from sessions import services as session_services
from sessions.access import Membership
from sessions.models import Role
from workshop import services as workshop_services


def present_url(workshop, session) -> str:
    return f"/w/{workshop.pk}/sessions/{session.pk}/present/"


def test_the_present_view_shows_the_join_link_and_its_qr_code(facilitator_client, workshop,
                                                              live_session):
    response = facilitator_client.get(present_url(workshop, live_session))
    html = response.content.decode()
    assert response.status_code == 200
    url = f"http://testserver/join/{live_session.join_token}/"
    assert f"<code>{url}</code>" in html
    assert live_session.observer_token not in html  # the projector shows only the join link
    # The drawing is segno's code of exactly that link (same version, same modules).
    expected = segno.make(url, error="m", micro=False)
    assert f'viewBox="0 0 {expected.symbol_size()[0]} {expected.symbol_size()[1]}"' in html
    assert 'role="img" aria-label="QR code of the join link of' in html


def test_only_the_facilitators_can_present_the_link(participant_client, client, workshop,
                                                    live_session):
    assert participant_client.get(present_url(workshop, live_session)).status_code == 403
    assert client.get(present_url(workshop, live_session)).status_code == 404


def test_the_present_view_of_another_workshops_session_is_not_found(
        facilitator_client, facilitator, workshop, live_session):
    other = workshop_services.create_workshop(facilitator, "Another", "Northwind")
    theirs = session_services.start_session(
        Membership(other, Role.FACILITATOR, user=facilitator), "Theirs")
    url = f"/w/{workshop.pk}/sessions/{theirs.pk}/present/"
    assert facilitator_client.get(url).status_code == 404


def test_the_sessions_page_offers_the_board_the_qr_code_and_tells_the_links_apart(
        facilitator_client, workshop, live_session):
    html = facilitator_client.get(f"/w/{workshop.pk}/sessions/").content.decode()
    assert f'href="/w/{workshop.pk}/"' in html and "Open the board" in html
    assert present_url(workshop, live_session) in html
    assert 'class="link-row join-row"' in html and 'class="link-row observer-row"' in html
    assert "read-only" in html


def test_an_ended_sessions_link_is_not_presented(facilitator_client, host, workshop,
                                                 live_session):
    session_services.end_session(host, live_session.pk)
    html = facilitator_client.get(f"/w/{workshop.pk}/sessions/").content.decode()
    assert present_url(workshop, live_session) not in html


@pytest.mark.parametrize("debug", [False, True])
def test_a_dead_link_gets_a_page_that_says_what_to_do_in_every_mode(client, db, debug):
    with override_settings(DEBUG=debug):
        response = client.get("/join/no-such-link/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "This link doesn't open a board" in html
    assert "Scanning the QR code" in html
    assert "URLconf" not in html  # never Django's debug page with the URL list
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_a_link_of_an_ended_session_gets_the_same_page(client, host, live_session):
    session_services.end_session(host, live_session.pk)
    response = client.get(f"/join/{live_session.join_token}/")
    assert response.status_code == 404
    assert "This link doesn't open a board" in response.content.decode()


def test_the_present_view_of_an_ended_session_says_so_and_shows_no_code(
        facilitator_client, host, workshop, live_session):
    session_services.end_session(host, live_session.pk)
    html = facilitator_client.get(present_url(workshop, live_session)).content.decode()
    assert "This session has ended" in html
    assert "<svg" not in html and live_session.join_token not in html


def test_an_address_that_is_nothing_says_so_in_words(client, db):
    response = client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "This page does not exist" in html and "Resolver404" not in html


def test_a_page_not_for_this_role_leads_back_to_the_board(participant_client, workshop):
    response = participant_client.get(f"/w/{workshop.pk}/sessions/")
    assert response.status_code == 403
    assert f'href="/w/{workshop.pk}/"' in response.content.decode()


@pytest.mark.parametrize("path", ["/import/", "/w/new/"])
def test_the_home_pages_forms_opened_by_address_go_home(facilitator_client, path):
    response = facilitator_client.get(path)
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_join_form_asks_for_a_function_in_words(client, live_session):
    html = client.get(f"/join/{live_session.join_token}/").content.decode()
    assert "Choose your function…" in html and "---------" not in html
