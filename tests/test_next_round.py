"""The next round (issue 14): "Start the next round" on a finished workshop makes round 2
from its board (not its sessions, people or votes), and round 2's roadmap, PDF and
Markdown, opens with what changed since round 1."""

from __future__ import annotations

import io
import json

import pytest
from exports_factories import add, host, joined, make_user, signed_in, small_workshop
from pypdf import PdfReader

from exports import markdown
from exports.context import build_roadmap
from exports.rounds import start_next_round
from sessions import services as room
from sessions.access import Membership
from sessions.models import Participant, Role, Vote, WorkshopSession
from workshop import services
from workshop.choices import Quality, RiskStatus, RoadmapPhase
from workshop.models import ActionItem, DataSource, Recipe, Risk, Workshop
from workshop.sections import LISTS


@pytest.fixture
def fran(db):
    return make_user("fran", first_name="Fran", last_name="Ng")


@pytest.fixture
def finished(fran):
    """Round 1, its session over."""
    workshop = small_workshop(fran)
    add(workshop, "action_items", action="Book the legal review")
    for session in workshop.sessions.all():
        room.end_session(host(workshop), session.pk)
    return workshop


def next_round_of(workshop: Workshop) -> Workshop:
    return start_next_round(host(workshop), workshop.owner)


def test_the_next_round_carries_the_board_and_not_the_room(finished):
    second = next_round_of(finished)
    assert (second.round, second.previous_round_id, second.title) == (2, finished.pk,
                                                                      finished.title)
    for key in ("recipes", "risks", "data_sources", "interactions", "decisions",
                "action_items"):
        model = LISTS[key].model
        before = list(model.objects.filter(workshop=finished).order_by("pk"))
        after = list(model.objects.filter(workshop=second).order_by("pk"))
        assert [item.pk for item in before] == [item.carried_from for item in after], key
    assert not WorkshopSession.objects.filter(workshop=second).exists()
    assert not Participant.objects.filter(session__workshop=second).exists()
    assert not Vote.objects.filter(workshop=second).exists()
    # Round 1 is left as it was.
    assert Recipe.objects.filter(workshop=finished).count() == 2
    assert Vote.objects.filter(workshop=finished).count() == 1


def test_a_round_follows_once(finished):
    """The button pressed twice (the answer was slow): one round 2, and the second press
    is told where it is."""
    client = signed_in(finished.owner)
    assert client.post(f"/w/{finished.pk}/next-round/").status_code == 302
    again = client.post(f"/w/{finished.pk}/next-round/", follow=True).content.decode()
    assert "Round 2, “" in again and "follows this workshop already" in again
    assert Workshop.objects.filter(previous_round=finished).count() == 1


def test_a_running_session_or_none_held_refuses_the_next_round_with_why(fran):
    workshop = small_workshop(fran)  # its Kickoff session is still running
    client = signed_in(fran)
    response = client.post(f"/w/{workshop.pk}/next-round/", follow=True)
    says = "A session is still running: end it below (“End this session”)"
    assert says in response.content.decode()
    fresh = services.create_workshop(fran, "Not run yet")
    response = client.post(f"/w/{fresh.pk}/next-round/", follow=True)
    assert "No session has been held yet" in response.content.decode()
    assert Workshop.objects.filter(round=2).count() == 0


def test_only_the_owner_starts_the_next_round(finished):
    session = room.start_session(host(finished), "Readout")
    participant = joined(session.join_token, "Pat Lee")
    assert participant.post(f"/w/{finished.pk}/next-round/").status_code == 403
    co = room.join_session(session.join_token, "Cora Co", "product")
    co.is_cofacilitator = True
    co.role = Role.COFACILITATOR
    co.save()
    with pytest.raises(Exception, match="Only the workshop's owner"):
        start_next_round(Membership(finished, Role.COFACILITATOR, participant=co), None)
    assert Workshop.objects.filter(round=2).count() == 0


def test_the_sessions_page_offers_the_next_round_once_the_workshop_has_run(fran, finished):
    page = signed_in(fran).get(f"/w/{finished.pk}/sessions/").content.decode()
    assert "Start the next round" in page and f"/w/{finished.pk}/next-round/" in page
    response = signed_in(fran).post(f"/w/{finished.pk}/next-round/", follow=True)
    second = Workshop.objects.get(round=2)
    assert response.redirect_chain[-1][0] == f"/w/{second.pk}/"
    assert "Round 2 of “Checkout personalization” is ready" in response.content.decode()
    page = signed_in(fran).get(f"/w/{second.pk}/sessions/").content.decode()
    assert "Round 2, after" in page and f'href="/w/{finished.pk}/"' in page


def change_round_two(second: Workshop) -> None:
    member = host(second)
    reminder = Recipe.objects.get(workshop=second, title="Basket reminder")
    bundles = Recipe.objects.get(workshop=second, title="Bundle suggestions")
    services.update_item(member, LISTS["recipes"], reminder.pk,
                         {"title": "Basket reminder by email"}, None)  # renamed: same recipe
    services.place_on_roadmap(member, reminder.pk, {"phase": RoadmapPhase.NEXT}, None)
    services.delete_item(member, LISTS["recipes"], bundles.pk)
    add(second, "recipes", title="Saved-for-later nudges", segment="shoppers",
        action="nudge them", content_model="alert", kind="automation", impact=3, effort=2)
    source = DataSource.objects.get(workshop=second)
    services.update_item(member, LISTS["data_sources"], source.pk,
                         {"timeliness": Quality.POOR}, None)
    risk = Risk.objects.get(workshop=second)
    services.update_item(member, LISTS["risks"], risk.pk, {"status": RiskStatus.MITIGATED}, None)
    action = ActionItem.objects.get(workshop=second)
    services.update_item(member, LISTS["action_items"], action.pk, {"done": True}, None)


def test_round_two_opens_with_what_changed_since_round_one(fran, finished):
    second = next_round_of(finished)
    change_round_two(second)
    response = signed_in(fran).get(f"/w/{second.pk}/export/roadmap.pdf")
    reader = PdfReader(io.BytesIO(response.content))
    assert reader.outline[1].title == "What changed since round 1"
    page = " ".join(reader.pages[1].extract_text().split())
    for said in ("What changed since round 1", "Recipes added 1 Saved-for-later nudges",
                 "Recipes dropped 1 Bundle suggestions",
                 "Basket reminder by email: Now → Next",
                 "Order history worsened: Green → Red",
                 "Reminders feel like nagging: Open → Mitigated",
                 "Actions done 1 Book the legal review"):
        assert said in page, said
    assert "PERSONALIZATION ROADMAP · ROUND 2" in reader.pages[0].extract_text()
    md = markdown.render(build_roadmap(second))
    for said in ("## What changed since round 1", "### Recipes added (1)",
                 "- Saved-for-later nudges", "- Bundle suggestions",
                 "- **Basket reminder by email**: Now → Next",
                 "- **Order history** worsened: Green → Red",
                 "- **Reminders feel like nagging**: Open → Mitigated",
                 "- Book the legal review", "*Personalization roadmap* · round 2"):
        assert said in md, said


def test_an_unchanged_round_two_says_so_and_a_first_round_has_no_such_part(finished):
    assert build_roadmap(finished).changes is None
    assert "What changed" not in markdown.render(build_roadmap(finished))
    second = next_round_of(finished)
    changes = build_roadmap(second).changes
    assert changes is not None and changes.nothing
    assert "Nothing changed on the board since round 1." in markdown.render(
        build_roadmap(second))


def test_the_json_of_round_two_says_its_round_and_imports_as_round_two(fran, finished):
    second = next_round_of(finished)
    client = signed_in(fran)
    data = json.loads(client.get(f"/w/{second.pk}/export/workshop.json").content)
    assert data["version"] == 2 and data["workshop"]["round"] == 2
    assert "carried_from" not in data["recipes"][0]
    from django.core.files.uploadedfile import SimpleUploadedFile
    upload = SimpleUploadedFile("w.json", json.dumps(data).encode(), "application/json")
    assert client.post("/import/", {"file": upload}).status_code == 302
    imported = Workshop.objects.order_by("-pk").first()
    # Another server's round 2: its round is kept, the round before is not here.
    assert imported.round == 2 and imported.previous_round is None
    assert build_roadmap(imported).changes is None


def test_the_csv_head_carries_the_round_the_facilitator_and_the_counts(fran, finished):
    import csv
    import zipfile

    second = next_round_of(finished)
    archive = zipfile.ZipFile(io.BytesIO(
        signed_in(fran).get(f"/w/{second.pk}/export/csv.zip").content))
    head = next(csv.DictReader(io.StringIO(archive.read("north_star.csv").decode("utf-8-sig"))))
    assert (head["round"], head["facilitator"]) == ("2", "Fran Ng")
    assert (head["recipes count"], head["risks count"], head["action_items count"]) == (
        "2", "1", "1")
