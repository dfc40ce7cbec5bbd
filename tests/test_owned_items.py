"""Owned items and undo: participants edit, move and delete their own items, the
facilitators every item, and everyone every item while the facilitator opens editing
to all; a deleted item comes back as it was, links and all, for whoever could delete
it, from "Undo" or the facilitators' "Recently deleted"."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from samples import SAMPLES, add_as, prefixed

from sessions import room as room_services
from sessions.access import Membership
from sessions.fragments import event_frames
from sessions.models import Role
from workshop import services
from workshop.event_kinds import Kind
from workshop.models import BoardEvent, DataSource, Goal, Recipe
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db


def edit_url(workshop, key: str, item) -> str:
    return f"/w/{workshop.pk}/s/{key}/{item.pk}/edit/"


def edit_data(key: str, item, **changes) -> dict:
    return prefixed(SAMPLES[key] | changes, f"{key}-{item.pk}") | {"version": item.version}


# Who may change whose item ------------------------------------------------------------

def test_a_participant_changes_only_their_own_items(people, workshop):
    pat_client, pat = people["pat"]
    kim_client, _ = people["kim"]
    item = add_as(pat, "decisions", decision="Pat's call")
    response = kim_client.post(edit_url(workshop, "decisions", item),
                               edit_data("decisions", item, decision="Kim's rewrite"))
    assert response.status_code == 403
    assert "Only its author and the facilitators can change this decision" in (
        response.content.decode())
    base = f"/w/{workshop.pk}/s/decisions/{item.pk}"
    assert kim_client.post(f"{base}/delete/").status_code == 403
    assert kim_client.post(f"{base}/move/", {"direction": "up"}).status_code == 403
    item.refresh_from_db()
    assert item.decision == "Pat's call"
    response = pat_client.post(edit_url(workshop, "decisions", item),
                               edit_data("decisions", item, decision="Pat's better call"))
    assert response.status_code == 204
    assert pat_client.post(f"{base}/delete/").status_code == 204


def test_facilitators_change_every_item(people, host, workshop):
    item = add_as(people["pat"][1], "risks")
    services.update_item(host, LISTS["risks"], item.pk, {"mitigation": "Opt-out"}, None)
    services.delete_item(host, LISTS["risks"], item.pk)


def test_an_imported_item_with_no_author_is_the_facilitators(people, host, workshop):
    item = add_as(host, "decisions")
    type(item).objects.filter(pk=item.pk).update(author="")
    with pytest.raises(PermissionDenied):
        services.delete_item(people["pat"][1], LISTS["decisions"], item.pk)


def test_opening_editing_to_everyone_lets_each_change_every_item(people, host, workshop,
                                                                 facilitator_client):
    item = add_as(host, "decisions")
    kim_client, kim = people["kim"]
    assert people["pat"][0].post(f"/w/{workshop.pk}/room/editing/",
                                 {"open": "1"}).status_code == 403
    assert facilitator_client.post(f"/w/{workshop.pk}/room/editing/",
                                   {"open": "1"}).status_code == 204
    response = kim_client.post(edit_url(workshop, "decisions", item),
                               edit_data("decisions", item, decision="Everyone's now"))
    assert response.status_code == 204
    assert people["olive"][0].post(f"/w/{workshop.pk}/s/decisions/{item.pk}/delete/"
                                   ).status_code == 403  # observers still only watch
    room_services.set_open_editing(host, False)
    fresh = Membership(type(workshop).objects.get(pk=workshop.pk), Role.PARTICIPANT,
                       participant=kim.participant)
    with pytest.raises(PermissionDenied):
        services.delete_item(fresh, LISTS["decisions"], item.pk)


def test_each_page_knows_its_own_cards_and_no_frame_says_whose_a_card_is(
        people, host, workshop):
    room_services.set_anonymous(host, ["decisions"], True)
    pat_client, pat = people["pat"]
    item = add_as(pat, "decisions")
    page = pat_client.get(f"/w/{workshop.pk}/").content.decode()
    assert f'<script id="my-items" type="application/json">["decisions-{item.pk}"]' in page
    kim_page = people["kim"][0].get(f"/w/{workshop.pk}/").content.decode()
    assert '<script id="my-items" type="application/json">[]' in kim_page
    event = BoardEvent.objects.filter(workshop=workshop).last()
    for texts in event_frames(event).values():
        assert pat.person not in "".join(texts)


# Restoring what was deleted ---------------------------------------------------------------

def test_a_deleted_item_comes_back_with_its_links(host, people, workshop, facilitator_client):
    source = add_as(host, "data_sources")
    goal = add_as(host, "goals", data_source=source.pk)
    recipe = add_as(host, "recipes", data_sources=[source.pk], success_metric=goal.pk)
    response = facilitator_client.post(f"/w/{workshop.pk}/s/data_sources/{source.pk}/delete/")
    assert response.status_code == 204
    undo = response["X-Attune-Undo"]
    assert not DataSource.objects.filter(pk=source.pk).exists()
    assert Goal.objects.get(pk=goal.pk).data_source_id is None
    assert facilitator_client.post(undo).status_code == 204
    back = DataSource.objects.get(pk=source.pk)
    assert back.name == SAMPLES["data_sources"]["name"] and back.position == source.position
    assert Goal.objects.get(pk=goal.pk).data_source_id == source.pk
    assert list(Recipe.objects.get(pk=recipe.pk).data_sources.all()) == [back]
    # A second Undo (another tab) says it is back already, and changes nothing.
    response = facilitator_client.post(undo)
    assert response.status_code == 400 and "back on the board already" in (
        response.content.decode())
    assert BoardEvent.objects.filter(workshop=workshop, kind=Kind.ITEM_RESTORED).count() == 1


def test_a_restored_recipe_links_only_to_what_is_still_there(host, workshop):
    source = add_as(host, "data_sources")
    other = add_as(host, "data_sources", name="Search log")
    recipe = add_as(host, "recipes", data_sources=[source.pk, other.pk])
    risk = add_as(host, "risks", recipes=[recipe.pk])
    deleted = services.delete_item(host, LISTS["recipes"], recipe.pk)
    services.delete_item(host, LISTS["data_sources"], other.pk)
    services.restore_item(host, deleted.pk)
    back = Recipe.objects.get(pk=recipe.pk)
    assert list(back.data_sources.all()) == [source]
    assert list(risk.recipes.all()) == [back]


def test_whoever_could_delete_an_item_may_restore_it(people, host, workshop):
    pat, kim = people["pat"][1], people["kim"][1]
    item = add_as(pat, "parking_lot")
    deleted = services.delete_item(pat, LISTS["parking_lot"], item.pk)
    with pytest.raises(PermissionDenied):
        services.restore_item(kim, deleted.pk)
    services.restore_item(pat, deleted.pk)
    deleted = services.delete_item(host, LISTS["parking_lot"], item.pk)
    with pytest.raises(PermissionDenied):
        services.restore_item(people["olive"][1], deleted.pk)
    services.restore_item(host, deleted.pk)


def test_only_a_deletion_can_be_restored(host, workshop):
    item = add_as(host, "decisions")
    added = BoardEvent.objects.filter(workshop=workshop).last()
    with pytest.raises(BoardEvent.DoesNotExist):
        services.restore_item(host, added.pk)
    assert item.pk


def test_facilitators_see_recently_deleted_and_the_room_does_not(people, host, workshop,
                                                                 facilitator_client):
    item = add_as(people["pat"][1], "decisions", decision="Drop <b>email</b>")
    services.delete_item(host, LISTS["decisions"], item.pk)
    frames = {audience: "".join(texts) for audience, texts in event_frames(
        BoardEvent.objects.filter(workshop=workshop).last()).items()}
    assert "Recently deleted" in frames["facilitators"]
    assert "Drop &lt;b&gt;email" in frames["facilitators"]  # escaped
    assert "Recently deleted" not in frames["room"] and "email" not in frames["room"]
    page = facilitator_client.get(f"/w/{workshop.pk}/").content.decode()
    assert "Restore decision: Drop &lt;b&gt;email&lt;/b&gt;" in page
    assert "Recently deleted" not in people["kim"][0].get(f"/w/{workshop.pk}/").content.decode()
    restore = BoardEvent.objects.filter(workshop=workshop, kind=Kind.ITEM_DELETED).last()
    services.restore_item(host, restore.pk)
    assert "Drop &lt;b&gt;" not in facilitator_client.get(f"/w/{workshop.pk}/").content.decode(
        ).split('id="trash"')[1].split("</div>")[0]


def test_a_restore_into_a_list_revealed_meanwhile_is_not_private(people, host, workshop):
    room_services.set_private(host, ["recipes"])
    recipe = add_as(people["pat"][1], "recipes")
    assert recipe.private
    deleted = services.delete_item(host, LISTS["recipes"], recipe.pk)
    room_services.reveal(host, ["recipes"])
    assert not services.restore_item(host, deleted.pk).private


def test_a_bad_restore_address_is_a_clear_404(facilitator_client, workshop):
    assert facilitator_client.post(f"/w/{workshop.pk}/restore/999999/").status_code == 404
