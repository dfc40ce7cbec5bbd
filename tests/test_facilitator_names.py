"""A facilitator's display name: set at sign-up or on its own page, and shown instead of
the login name in the room, on what they write and override, and on the roadmap's cover."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from pypdf import PdfReader

from exports.context import build_roadmap
from exports.pdf import print_html
from sessions import room as room_services
from sessions.access import Membership
from sessions.models import Participant, Role
from workshop import services

pytestmark = pytest.mark.django_db

HOSTILE = '<img src=x onerror="alert(1)"> Ana & Co'


def set_name(client: Client, name: str):
    return client.post("/accounts/name/", {"display_name": name})


def test_signing_up_with_a_name_makes_it_the_one_the_room_sees(settings):
    settings.ALLOW_SIGNUP = True
    client = Client()
    response = client.post("/accounts/signup/", {
        "username": "ana", "display_name": "  Ana Gómez ", "password1": "a-long-pass-9281",
        "password2": "a-long-pass-9281"})
    assert response.status_code == 302, response.content
    user = get_user_model().objects.get(username="ana")
    assert user.get_full_name() == "Ana Gómez"
    assert "Ana Gómez" in client.get("/").content.decode()


def test_the_name_page_sets_the_name_and_a_blank_one_goes_back_to_the_login(
        facilitator_client, facilitator):
    assert set_name(facilitator_client, "Fran Okafor").status_code == 302
    facilitator.refresh_from_db()
    assert Membership(None, Role.FACILITATOR, user=facilitator).name == "Fran Okafor"
    page = facilitator_client.get("/accounts/name/").content.decode()
    assert 'value="Fran Okafor"' in page and "You sign in as <strong>fran</strong>" in page
    assert set_name(facilitator_client, "   ").status_code == 302
    facilitator.refresh_from_db()
    assert Membership(None, Role.FACILITATOR, user=facilitator).name == "fran"


def test_a_name_too_long_is_refused_with_the_limit_and_the_old_one_kept(
        facilitator_client, facilitator):
    set_name(facilitator_client, "Fran")
    response = set_name(facilitator_client, "x" * 81)
    assert response.status_code == 422
    assert "at most 80 characters" in response.content.decode()
    facilitator.refresh_from_db()
    assert facilitator.first_name == "Fran"


def test_only_a_signed_in_person_has_a_name_page(client):
    response = client.get("/accounts/name/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_header_escapes_the_name(facilitator_client):
    set_name(facilitator_client, HOSTILE)
    page = facilitator_client.get("/").content.decode()
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Ana &amp; Co" in page


def test_what_the_facilitator_writes_and_overrides_carries_their_name(
        facilitator_client, facilitator, workshop, add):
    set_name(facilitator_client, "Fran Okafor")
    facilitator.refresh_from_db()
    host = Membership(workshop, Role.FACILITATOR, user=facilitator)
    source = add("data_sources", consent_basis="")
    recipe = add("recipes", data_sources=[source.pk])
    assert recipe.author_name == "Fran Okafor"  # `add` is the facilitator's own service call
    recipe = services.override_gate(host, recipe.pk, "Pilot behind a consent banner")
    assert recipe.gate_override_by == "Fran Okafor"
    board = facilitator_client.get(f"/w/{workshop.pk}/").content.decode()
    assert "Fran Okafor" in board and ">fran<" not in board


def test_the_roadmap_cover_names_the_facilitator_and_who_co_facilitated(
        facilitator_client, facilitator, workshop, live_session, participant_client):
    set_name(facilitator_client, HOSTILE)
    facilitator.refresh_from_db()
    host = Membership(workshop, Role.FACILITATOR, user=facilitator)
    pat = Participant.objects.get(display_name="Pat")
    room_services.name_cofacilitator(host, pat.pk, True)
    roadmap = build_roadmap(workshop)
    assert (roadmap.facilitator, roadmap.cofacilitators) == (HOSTILE, ["Pat"])
    html = print_html(roadmap)
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Ana &amp; Co" in html
    assert "with Pat (co-facilitating)" in html
    markdown = facilitator_client.get(f"/w/{workshop.pk}/export/roadmap.md").content.decode()
    assert "with Pat (co-facilitating)" in markdown
    assert "**Facilitator:** \\<img src=x" in markdown  # Markdown's own escape: shown, inert


@pytest.mark.slow
def test_the_printed_cover_carries_the_display_name(facilitator_client, workshop):
    set_name(facilitator_client, "Fran Okafor")
    response = facilitator_client.get(f"/w/{workshop.pk}/export/roadmap.pdf")
    assert response.status_code == 200
    cover = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "FACILITATOR Fran Okafor" in " ".join(cover.split())  # small caps in print
