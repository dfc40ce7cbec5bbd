"""Who may download, import and duplicate: members download, outsiders see nothing."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client
from exports_factories import add, host, joined, make_user, signed_in

from sessions import room
from sessions import services as live
from workshop import services
from workshop.models import Workshop

DOWNLOADS = {
    "roadmap.pdf": "application/pdf",
    "roadmap.md": "text/markdown; charset=utf-8",
    "csv.zip": "application/zip",
    "workshop.json": "application/json; charset=utf-8",
}
# A PDF render takes seconds: slow, so the fast loop (make check) leaves it out.
RENDERED = [pytest.param(name, marks=pytest.mark.slow) if name.endswith(".pdf") else name
            for name in DOWNLOADS]


@pytest.fixture
def board(db):
    owner = make_user("owner")
    workshop = services.create_workshop(owner, "Permissions", "Org")
    add(workshop, "decisions", decision="Ship the continue row", rationale="Most value")
    add(
        workshop,
        "recipes",
        title="Continue row",
        segment="readers",
        action="resume",
        content_model="make_easier",
        kind="automation",
        impact=4,
        effort=2,
    )
    session = live.start_session(host(workshop), "Sitting 1")
    return workshop, session


@pytest.mark.parametrize("name", DOWNLOADS)
def test_an_outsider_gets_404_for_every_download(board, name):
    workshop, _ = board
    stranger = signed_in(make_user("stranger"))
    assert stranger.get(f"/w/{workshop.pk}/export/{name}").status_code == 404
    assert Client().get(f"/w/{workshop.pk}/export/{name}").status_code == 404


@pytest.mark.parametrize("name", RENDERED)
def test_facilitator_participant_and_observer_can_download(board, name):
    workshop, session = board
    for client in (
        signed_in(workshop.owner),
        joined(session.join_token, "Pat"),
        joined(session.observer_token, "Olga", "leadership"),
    ):
        response = client.get(f"/w/{workshop.pk}/export/{name}")
        assert response.status_code == 200, (name, response.content[:300])
        assert response["Content-Type"] == DOWNLOADS[name]
        assert "attachment" in response["Content-Disposition"]
        assert response["Content-Disposition"].endswith(f'permissions-{name}"')


def test_a_removed_participant_can_no_longer_download(board):
    workshop, session = board
    client = joined(session.join_token, "Pat")
    participant = session.participants.get(display_name="Pat")
    live.remove_participant(host(workshop), participant.pk)
    assert client.get(f"/w/{workshop.pk}/export/roadmap.md").status_code == 404


def test_the_board_offers_every_member_the_download_menu(board):
    workshop, session = board
    for client in (signed_in(workshop.owner), joined(session.observer_token, "Olga")):
        page = client.get(f"/w/{workshop.pk}/").content.decode()
        assert "Download roadmap" in page
        for name in DOWNLOADS:
            assert f"/w/{workshop.pk}/export/{name}" in page


def test_only_the_facilitator_may_duplicate(board):
    workshop, session = board
    before = Workshop.objects.count()
    assert joined(session.join_token, "Pat").post(f"/w/{workshop.pk}/duplicate/").status_code == 403
    assert signed_in(make_user("stranger")).post(f"/w/{workshop.pk}/duplicate/").status_code == 404
    assert signed_in(workshop.owner).get(f"/w/{workshop.pk}/duplicate/").status_code == 405
    assert Workshop.objects.count() == before


def test_import_needs_a_signed_in_person(db):
    response = Client().post("/import/", {})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_authors_of_anonymous_sections_stay_hidden_from_the_room(board):
    workshop, session = board
    room.set_anonymous(host(workshop), ["decisions"], True)
    as_participant = json.loads(
        joined(session.join_token, "Pat").get(f"/w/{workshop.pk}/export/workshop.json").content
    )
    as_facilitator = json.loads(
        signed_in(workshop.owner).get(f"/w/{workshop.pk}/export/workshop.json").content
    )
    # Nor their key, which the presence list pairs with a name.
    assert as_participant["decisions"][0]["author_name"] == ""
    assert as_participant["decisions"][0]["author"] == ""
    assert as_facilitator["decisions"][0]["author_name"] == "owner"
    key = as_facilitator["decisions"][0]["author"]
    assert key
    assert as_participant["recipes"][0]["author_name"] == "owner"  # not anonymous
    csv_zip = joined(session.join_token, "Quinn").get(f"/w/{workshop.pk}/export/csv.zip")
    decisions = zipfile.ZipFile(io.BytesIO(csv_zip.content)).read("decisions.csv").decode()
    assert "owner" not in decisions.splitlines()[1]
    assert key not in decisions.splitlines()[1].split(",")
