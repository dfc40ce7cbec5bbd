"""Private writing, then reveal: while a list is written privately, what each person adds
is seen by them and the facilitators only (so nobody anchors on the first ideas), on
every path a text can take: the first page load, each websocket frame and catch-up, the
item's own URLs, other items' choices and gates, the vote, and every export. The
facilitator's reveal shows it all to everyone."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from channels.db import database_sync_to_async as db
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from live_helpers import Socket
from samples import SAMPLES, add_as, prefixed

from sessions import room as room_services
from sessions import voting
from sessions.access import Membership
from sessions.models import Participant, Role, Room
from sessions.selectors import room_for
from workshop import services
from workshop.event_kinds import Kind
from workshop.models import BoardEvent, Recipe, Risk, Workshop
from workshop.sections import LISTS

SECRET = "Streak saver for night owls"
RISKY = "Streaks shame slow readers"


def joined(token: str, name: str) -> Client:
    client = Client()
    response = client.post(f"/join/{token}/", {"display_name": name, "function": "design"})
    assert response.status_code == 302, response.content
    return client


def member_of(workshop, name: str) -> Membership:
    person = Participant.objects.get(session__workshop=workshop, display_name=name)
    role = Role.OBSERVER if person.role == Role.OBSERVER else Role.PARTICIPANT
    return Membership(workshop, role, participant=person)


@pytest.fixture
def room(live_session, workshop, facilitator_client):
    """Pat and Kim take part, Olive observes, Fran facilitates; the recipes list already
    holds one recipe written in the open."""
    return {
        "pat": joined(live_session.join_token, "Pat"),
        "kim": joined(live_session.join_token, "Kim"),
        "olive": joined(live_session.observer_token, "Olive"),
        "fran": facilitator_client,
    }


@pytest.fixture
def private_recipe(room, host, workshop):
    """Recipes written privately, and Pat's recipe written meanwhile."""
    add_as(host, "recipes", title="Open recipe")
    room_services.set_private(host, ["recipes"])
    return add_as(member_of(workshop, "Pat"), "recipes", title=SECRET)


def page(client, workshop) -> str:
    response = client.get(f"/w/{workshop.pk}/")
    assert response.status_code == 200
    return response.content.decode()


# Who may start and end it, and for which lists ---------------------------------------

@pytest.mark.django_db
def test_only_facilitators_write_lists_privately_or_reveal_them(room, workshop):
    for who in ("pat", "olive"):
        for flag in ("1", "0"):
            response = room[who].post(f"/w/{workshop.pk}/room/private/",
                                      {"section": "recipes", "private": flag})
            assert response.status_code == 403, who
    assert room_for(workshop).private_sections == []
    response = room["fran"].post(f"/w/{workshop.pk}/room/private/",
                                 {"section": "recipes,risks", "private": "1"})
    assert response.status_code == 204
    assert Room.objects.get(workshop=workshop).private_sections == ["recipes", "risks"]


@pytest.mark.django_db
def test_goals_and_data_sources_are_settled_in_the_open(room, host, workshop):
    with pytest.raises(ValidationError, match="Data readiness cannot be written privately"):
        room_services.set_private(host, ["data_sources"])
    response = room["fran"].post(f"/w/{workshop.pk}/room/private/",
                                 {"section": "goals", "private": "1"})
    assert response.status_code == 400
    assert "Goals and success metrics cannot be written privately" in response.content.decode()
    response = room["fran"].post(f"/w/{workshop.pk}/room/private/",
                                 {"section": "nothing", "private": "1"})
    assert response.status_code == 400 and "no such list" in response.content.decode()


@pytest.mark.django_db
def test_a_participant_cannot_make_a_list_private_through_the_service(room, workshop):
    with pytest.raises(PermissionDenied):
        room_services.set_private(member_of(workshop, "Pat"), ["recipes"])
    with pytest.raises(PermissionDenied):
        room_services.reveal(member_of(workshop, "Kim"), ["recipes"])


# What each person sees ----------------------------------------------------------------

@pytest.mark.django_db
def test_what_is_added_while_private_is_private_and_what_was_there_stays_shown(
        private_recipe, room, workshop):
    assert private_recipe.private
    assert not Recipe.objects.get(title="Open recipe").private
    kim, olive = page(room["kim"], workshop), page(room["olive"], workshop)
    for other in (kim, olive):
        assert "Open recipe" in other
        assert SECRET not in other
        assert f"recipes-{private_recipe.pk}" not in other
    pat, fran = page(room["pat"], workshop), page(room["fran"], workshop)
    assert SECRET in pat and "only you and the facilitators see it" in pat
    assert SECRET in fran and "Private until you reveal it" in fran


@pytest.mark.django_db
def test_others_private_items_are_not_there_at_their_urls(private_recipe, room, workshop):
    base = f"/w/{workshop.pk}/s/recipes/{private_recipe.pk}"
    edit = prefixed(SAMPLES["recipes"] | {"title": "Kim's rewrite"}, f"recipes-{private_recipe.pk}")
    for who in ("kim", "olive"):
        assert room[who].get(f"{base}/").status_code == 404
        assert room[who].get(f"/w/{workshop.pk}/roadmap/{private_recipe.pk}/").status_code == 404
    kim = room["kim"]
    assert kim.get(f"{base}/edit/").status_code == 404
    assert kim.post(f"{base}/edit/", edit | {"version": "1"}).status_code == 404
    # An edit that fails its form is not told the title either (it was, in a 422's label).
    invalid = kim.post(f"{base}/edit/", edit | {"version": "1", f"recipes-{private_recipe.pk}"
                                                "-impact": "99"})
    assert invalid.status_code == 404 and SECRET not in invalid.content.decode()
    assert kim.post(f"{base}/move/", {"direction": "up"}).status_code == 404
    assert kim.post(f"{base}/delete/").status_code == 404
    private_recipe.refresh_from_db()
    assert private_recipe.title == SECRET  # nothing of it changed
    assert room["pat"].get(f"{base}/").status_code == 200
    assert room["fran"].get(f"{base}/edit/").status_code == 200


def test_others_cannot_restore_a_private_item_deleted_even_with_editing_open(
        private_recipe, room, host, workshop):
    room_services.set_open_editing(host, True)
    assert room["pat"].post(f"/w/{workshop.pk}/s/recipes/{private_recipe.pk}/delete/"
                            ).status_code in (200, 204)
    deleted = BoardEvent.objects.filter(workshop=workshop, kind=Kind.ITEM_DELETED).latest(
        "version")
    restore = f"/w/{workshop.pk}/restore/{deleted.pk}/"
    assert room["kim"].post(restore).status_code == 404
    assert not Recipe.objects.filter(title=SECRET).exists()
    assert room["pat"].post(restore).status_code in (200, 204)
    assert Recipe.objects.get(title=SECRET).private


@pytest.mark.django_db
def test_the_author_and_the_facilitators_edit_and_delete_private_items(
        private_recipe, room, host, workshop):
    pat = member_of(workshop, "Pat")
    edited = services.update_item(pat, LISTS["recipes"], private_recipe.pk,
                                  {"title": "Streak saver, gentler"}, None)
    assert edited.private  # an edit does not reveal it
    services.move_item(pat, LISTS["recipes"], private_recipe.pk, -1)
    services.update_item(host, LISTS["recipes"], private_recipe.pk, {"effort": 3}, None)
    services.delete_item(host, LISTS["recipes"], private_recipe.pk)
    assert not Recipe.objects.filter(pk=private_recipe.pk).exists()


@pytest.mark.django_db
def test_the_reveal_shows_everything_and_the_list_is_written_in_the_open_again(
        private_recipe, room, host, workshop):
    kim = member_of(workshop, "Kim")
    add_as(kim, "recipes", title="Kim's private idea")
    response = room["fran"].post(f"/w/{workshop.pk}/room/private/",
                                 {"section": "recipes", "private": "0"})
    assert response.status_code == 204
    assert not Recipe.objects.filter(workshop=workshop, private=True).exists()
    olive = page(room["olive"], workshop)
    assert SECRET in olive and "Kim&#x27;s private idea" in olive
    assert "Private until" not in olive
    later = member_of(Workshop.objects.get(pk=workshop.pk), "Kim")  # as a new request
    assert not add_as(later, "recipes", title="Written after the reveal").private


# Where else a private item could show ------------------------------------------------

@pytest.mark.django_db
def test_a_private_recipe_cannot_be_linked_until_revealed(private_recipe, room, host,
                                                          workshop):
    kim_page = page(room["kim"], workshop)
    assert f'value="{private_recipe.pk}"' not in kim_page
    form = LISTS["risks"].form(data=SAMPLES["risks"] | {"recipes": [private_recipe.pk]},
                               workshop=workshop)
    assert not form.is_valid() and "recipes" in form.errors
    room_services.reveal(host, ["recipes"])
    form = LISTS["risks"].form(data=SAMPLES["risks"] | {"recipes": [private_recipe.pk]},
                               workshop=workshop)
    assert form.is_valid(), form.errors


@pytest.mark.django_db
def test_a_private_high_risk_gates_no_recipe_until_revealed(room, host, workshop):
    source = add_as(host, "data_sources", completeness="good")
    recipe = add_as(host, "recipes", title="Gentle streaks", data_sources=[source.pk])
    room_services.set_private(host, ["risks"])
    add_as(member_of(workshop, "Pat"), "risks", risk=RISKY, likelihood="4", severity="4",
        mitigation="", recipes=[recipe.pk])
    recipe = LISTS["recipes"].items(workshop.pk).get(pk=recipe.pk)
    assert recipe.gate_problems() == []
    assert RISKY not in page(room["kim"], workshop)
    room_services.reveal(host, ["risks"])
    recipe = LISTS["recipes"].items(workshop.pk).get(pk=recipe.pk)
    assert any(RISKY in problem for problem in recipe.gate_problems())


@pytest.mark.django_db
def test_no_vote_on_recipes_while_they_are_written_privately(room, host, workshop):
    add_as(host, "recipes", title="Open recipe")
    room_services.set_private(host, ["recipes"])
    with pytest.raises(ValidationError, match="reveal them before the room votes"):
        voting.open_vote(host)
    room_services.reveal(host, ["recipes"])
    voting.open_vote(host)
    with pytest.raises(ValidationError, match="close it before the recipes"):
        room_services.set_private(host, ["recipes"])


@pytest.mark.django_db
def test_a_closed_votes_tally_leaves_out_recipes_written_privately_since(room, host,
                                                                          workshop):
    add_as(host, "recipes", title="Voted on")
    voting.open_vote(host)
    voting.close_vote(host)
    room_services.set_private(host, ["recipes"])
    add_as(member_of(workshop, "Pat"), "recipes", title=SECRET)
    assert SECRET not in page(room["kim"], workshop)
    assert "Voted on" in page(room["kim"], workshop)


@pytest.mark.django_db
def test_exports_hold_nothing_written_privately_until_the_reveal(private_recipe, room,
                                                                 host, workshop):
    from test_export_pdf import pdf_text

    def downloads(client) -> dict[str, str]:
        base = f"/w/{workshop.pk}/export/"
        archive = zipfile.ZipFile(io.BytesIO(client.get(base + "csv.zip").content))
        return {
            "pdf": pdf_text(client.get(base + "roadmap.pdf").content),
            "markdown": client.get(base + "roadmap.md").content.decode(),
            "csv": " ".join(archive.read(name).decode() for name in archive.namelist()),
            "json": json.dumps(json.loads(client.get(base + "workshop.json").content)),
        }

    for who in ("pat", "olive", "fran"):
        for kind, text in downloads(room[who]).items():
            assert "Open recipe" in text, (who, kind)
            assert SECRET not in text, (who, kind)
    room_services.reveal(host, ["recipes"])
    for kind, text in downloads(room["olive"]).items():
        assert SECRET in text, kind


# Raw websocket frames -----------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
async def test_private_writing_reaches_only_its_author_and_the_facilitators(layer, room, host,
                                                                             workshop):
    await db(room_services.set_private)(host, ["recipes"])
    version = await db(lambda: type(workshop).objects.get(pk=workshop.pk).version)()
    sockets = {name: Socket(room[name], workshop.pk) for name in ("pat", "kim", "olive",
                                                                   "fran")}
    second_tab = Socket(room["pat"], workshop.pk)
    for socket in (*sockets.values(), second_tab):
        await socket.open(version=version)

    response = await db(room["pat"].post)(f"/w/{workshop.pk}/s/recipes/add/",
                                          prefixed(SAMPLES["recipes"] | {"title": SECRET},
                                                   "add-recipes"))
    assert response.status_code == 201
    recipe = await db(Recipe.objects.get)(title=SECRET)
    frames = {name: await socket.event() for name, socket in sockets.items()}
    assert {frame["version"] for frame in frames.values()} == {version + 1}
    for name in ("pat", "fran"):
        assert SECRET in json.dumps(frames[name]), name
    assert SECRET in json.dumps(await second_tab.event())
    for name in ("kim", "olive"):
        raw = json.dumps(frames[name])
        assert SECRET not in raw and f"recipes-{recipe.pk}\"" not in raw, name
        # Not even who is writing: the room hears of no card it does not get.
        assert frames[name]["announce"] == "", name
    assert frames["pat"]["announce"] == frames["fran"]["announce"] == "Pat added a recipe"

    # An edit of it, and a page that asks for the whole board again: nothing either.
    pat = await db(member_of)(workshop, "Pat")
    await db(services.update_item)(pat, LISTS["recipes"], recipe.pk,
                                   {"action": "offer a night-owl streak"}, None)
    for name in ("kim", "olive"):
        raw = json.dumps(await sockets[name].event())
        assert "night-owl" not in raw, name
        sync = await sockets[name].hello(None)
        everything = json.dumps(sockets[name].frames)
        assert SECRET not in everything and "night-owl" not in everything, name
        assert sync["type"] == "sync"
    assert "night-owl" in json.dumps(await sockets["fran"].event())

    # The reveal: everyone's frames carry it now.
    await db(room_services.reveal)(host, ["recipes"])
    for name in ("kim", "olive"):
        revealed = await sockets[name].next(lambda f: SECRET in json.dumps(f))
        assert revealed["type"] == "event"
    for socket in (*sockets.values(), second_tab):
        await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_a_private_risk_never_reaches_others_through_the_recipe_it_names(
        layer, room, host, workshop):
    source = await db(add_as)(host, "data_sources", completeness="good")
    recipe = await db(add_as)(host, "recipes", title="Gentle streaks", data_sources=[source.pk])
    await db(room_services.set_private)(host, ["risks"])
    version = await db(lambda: type(workshop).objects.get(pk=workshop.pk).version)()
    kim = Socket(room["kim"], workshop.pk)
    await kim.open(version=version)
    pat = await db(member_of)(workshop, "Pat")
    await db(add_as)(pat, "risks", risk=RISKY, likelihood="4", severity="4", mitigation="",
                  recipes=[recipe.pk])
    frame = await kim.event()
    assert RISKY not in json.dumps(frame)
    assert await db(Risk.objects.filter(risk=RISKY, private=True).exists)()
    await kim.close()
