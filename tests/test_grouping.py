"""Grouping similar items: the facilitators (and everyone, while editing is open to all)
put items of a list in a named group, whose cards then sit together; likely duplicates
are offered, found on the server; the vote, the roadmap document and every export
show the groups; the room's frames carry them and nothing private."""

from __future__ import annotations

import io
import json
import zipfile
from html import unescape

import pytest
from channels.db import database_sync_to_async as db
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_helpers import Socket, html_of
from samples import add_as

from exports.context import build_roadmap
from exports.pdf import print_html
from sessions import room as room_services
from sessions import voting
from sessions.fragments import targets_for
from workshop import grouping, services
from workshop.event_kinds import Kind
from workshop.models import BoardEvent, ItemGroup, ParkingLotItem, Recipe
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db

PARKING = LISTS["parking_lot"]
RECIPES = LISTS["recipes"]
HOSTILE = '<img src=x onerror="alert(1)"> & co'


def order(key: str, workshop) -> list[str]:
    return [str(item) for item in LISTS[key].items(workshop.pk)]


@pytest.fixture
def questions(host):
    return [add_as(host, "parking_lot", question=text) for text in (
        "Do we personalize push notifications?", "Who owns consent records?",
        "What about the homepage?", "Should push notifications be personalized?")]


# Grouping, and where grouped items go ---------------------------------------------

def test_grouped_items_sit_together_where_the_first_one_was(host, workshop, questions):
    push, consent, home, push_again = questions
    group = grouping.group_items(host, PARKING, [push.pk, push_again.pk], title="Push")
    assert order("parking_lot", workshop) == [str(push), str(push_again), str(consent),
                                             str(home)]
    assert {i.group_id for i in ParkingLotItem.objects.filter(pk__in=[push.pk, push_again.pk])
            } == {group.pk}
    assert ParkingLotItem.objects.get(pk=consent.pk).group_id is None


def test_an_item_joining_a_group_moves_after_its_items(host, workshop, questions):
    push, consent, home, push_again = questions
    group = grouping.group_items(host, PARKING, [consent.pk, home.pk], title="Scope")
    grouping.group_items(host, PARKING, [push_again.pk], group_id=group.pk)
    assert order("parking_lot", workshop) == [str(push), str(consent), str(home),
                                             str(push_again)]
    assert grouping.groups_of(host, PARKING) == [group]


def test_taking_one_out_renaming_and_ungrouping_all(host, workshop, questions):
    push, consent, home, _ = questions
    group = grouping.group_items(host, PARKING, [push.pk, consent.pk, home.pk], title="All")
    grouping.ungroup_item(host, PARKING, home.pk)
    assert ParkingLotItem.objects.get(pk=home.pk).group_id is None
    grouping.rename_group(host, PARKING, group.pk, "  Push   and consent ")
    assert ItemGroup.objects.get(pk=group.pk).title == "Push and consent"
    grouping.dissolve_group(host, PARKING, group.pk)
    assert not ParkingLotItem.objects.filter(workshop=workshop, group__isnull=False).exists()
    assert not ItemGroup.objects.filter(pk=group.pk).exists()
    kinds = BoardEvent.objects.filter(workshop=workshop, kind=Kind.ITEMS_GROUPED).count()
    assert kinds == 4  # one event per change, each redrawing the list


@pytest.mark.parametrize("title, says", [("   ", "Name the group"),
                                         ("x" * 201, "at most 200 characters")])
def test_a_group_needs_a_name_and_a_refused_one_changes_nothing(
        host, workshop, questions, title, says):
    with pytest.raises(ValidationError, match=says):
        grouping.group_items(host, PARKING, [questions[0].pk], title=title)
    assert not ItemGroup.objects.exists()


def test_a_new_group_is_named_after_its_first_item_when_none_is_given(host, questions):
    group = grouping.group_items(host, PARKING, [questions[1].pk, questions[0].pk])
    assert group.title == "Do we personalize push notifications?"


def test_participants_group_only_while_editing_is_open_to_all(host, people, questions):
    _, pat = people["pat"]
    _, olive = people["olive"]
    with pytest.raises(PermissionDenied, match="Only the facilitators group"):
        grouping.group_items(pat, PARKING, [questions[0].pk], title="Mine")
    room_services.set_open_editing(host, True)
    grouping.group_items(pat, PARKING, [questions[0].pk], title="Mine")
    with pytest.raises(PermissionDenied, match="Observers"):
        grouping.group_items(olive, PARKING, [questions[1].pk], title="Theirs")


def test_nobody_groups_what_they_may_not_see(host, people, workshop):
    _, pat = people["pat"]
    _, kim = people["kim"]
    room_services.set_open_editing(host, True)
    room_services.set_private(host, ["parking_lot"])
    kims = add_as(kim, "parking_lot", question="Kim's private question")
    with pytest.raises(ParkingLotItem.DoesNotExist):
        grouping.group_items(pat, PARKING, [kims.pk], title="Peek")
    grouping.group_items(host, PARKING, [kims.pk], title="Facilitators see all")


def test_a_group_of_private_writing_is_offered_and_named_to_nobody_else(
        host, people, workshop, facilitator_client):
    """Grouped by the facilitator before the reveal, with no name given: the group's name
    would be the private item's text, and the group form offered it to everyone."""
    pat_client, pat = people["pat"]
    _, kim = people["kim"]
    room_services.set_open_editing(host, True)
    public = add_as(pat, "parking_lot", question="An open question")
    room_services.set_private(host, ["parking_lot"])
    kims = add_as(kim, "parking_lot", question="Kim's private question")
    group = grouping.group_items(host, PARKING, [kims.pk])
    assert group.title == "Similar questions"
    form = pat_client.get(f"/w/{workshop.pk}/s/parking_lot/{public.pk}/group/")
    assert form.status_code == 200 and f'value="{group.pk}"' not in form.content.decode()
    with pytest.raises(ItemGroup.DoesNotExist):
        grouping.group_items(pat, PARKING, [public.pk], group_id=group.pk)
    assert f'value="{group.pk}"' in facilitator_client.get(
        f"/w/{workshop.pk}/s/parking_lot/{public.pk}/group/").content.decode()


def test_an_item_of_another_list_or_board_is_not_found(host, questions, add):
    decision = add("decisions")
    with pytest.raises(ParkingLotItem.DoesNotExist):
        grouping.group_items(host, PARKING, [questions[0].pk, decision.pk + 1000], title="X")
    group = grouping.group_items(host, PARKING, [questions[0].pk], title="Here")
    with pytest.raises(ItemGroup.DoesNotExist):
        grouping.group_items(host, LISTS["decisions"], [decision.pk], group_id=group.pk)


def test_a_restored_item_comes_back_out_of_a_group_dissolved_meanwhile(host, questions):
    push, consent, *_ = questions
    group = grouping.group_items(host, PARKING, [push.pk, consent.pk], title="Both")
    event = services.delete_item(host, PARKING, push.pk)
    grouping.dissolve_group(host, PARKING, group.pk)
    restored = services.restore_item(host, event.pk)
    assert ParkingLotItem.objects.get(pk=restored.pk).group_id is None


def test_a_new_group_never_lands_inside_another_groups_cards(host, workshop, questions):
    push, consent, home, push_again = questions
    grouping.group_items(host, PARKING, [push.pk, consent.pk, home.pk], title="A")
    grouping.group_items(host, PARKING, [consent.pk, push_again.pk], title="B")
    assert order("parking_lot", workshop) == [str(push), str(home), str(consent),
                                             str(push_again)]


def test_taking_an_item_out_moves_it_after_its_groups_cards(host, workshop, questions):
    push, consent, home, push_again = questions
    grouping.group_items(host, PARKING, [push.pk, consent.pk, home.pk], title="A")
    grouping.ungroup_item(host, PARKING, push.pk)
    assert order("parking_lot", workshop) == [str(consent), str(home), str(push),
                                             str(push_again)]
    grouping.ungroup_item(host, PARKING, home.pk)
    grouping.ungroup_item(host, PARKING, consent.pk)  # the last: it stays
    assert order("parking_lot", workshop)[0] == str(consent)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(["group", "join", "out", "dissolve"]),
                                st.sets(st.integers(0, 5), min_size=1, max_size=3)),
                      max_size=8))
def test_whatever_is_grouped_and_ungrouped_each_groups_cards_sit_together(host, steps):
    ParkingLotItem.objects.filter(workshop=host.workshop).delete()
    ItemGroup.objects.filter(workshop=host.workshop).delete()
    items = [add_as(host, "parking_lot", question=f"Question {n}") for n in range(6)]
    for step, picked in steps:
        pks = [items[n].pk for n in sorted(picked)]
        groups = grouping.groups_of(host, PARKING)
        if step == "group" or (step == "join" and not groups):
            grouping.group_items(host, PARKING, pks, title="G")
        elif step == "join":
            grouping.group_items(host, PARKING, pks, group_id=groups[0].pk)
        elif step == "out":
            grouping.ungroup_item(host, PARKING, pks[0])
        elif groups:
            grouping.dissolve_group(host, PARKING, groups[-1].pk)
        runs = [item.group_id for item in PARKING.items(host.workshop.pk)]
        assert len(runs) == 6  # none lost
        seen, previous = set(), object()
        for group in runs:
            if group is not None and group != previous:
                assert group not in seen, (steps, runs)  # a group's second run
                seen.add(group)
            previous = group


# Likely duplicates ----------------------------------------------------------------

def test_likely_duplicates_pair_items_that_read_alike_until_grouped(host, questions):
    push, consent, home, push_again = questions
    found = [(s.first.pk, s.second.pk) for s in grouping.likely_duplicates(host, PARKING)]
    assert found == [(push.pk, push_again.pk)]
    grouping.group_items(host, PARKING, [push.pk, push_again.pk], title="Push")
    assert grouping.likely_duplicates(host, PARKING) == []


def test_the_duplicates_page_groups_a_pair_and_shows_what_is_left(
        facilitator_client, participant_client, workshop, questions):
    url = f"/w/{workshop.pk}/s/parking_lot/duplicates/"
    page = facilitator_client.get(url).content.decode()
    assert "Group these" in page and "% alike" in page
    answer = facilitator_client.post(url, {"items": [questions[0].pk, questions[3].pk]})
    assert answer.status_code == 200 and "No likely duplicates" in answer.content.decode()
    assert ItemGroup.objects.get().title == "Do we personalize push notifications?"
    refused = participant_client.get(url)
    assert refused.status_code == 403


def test_a_pair_with_one_grouped_item_joins_that_group(facilitator_client, host, workshop,
                                                      questions):
    push, consent, home, push_again = questions
    group = grouping.group_items(host, PARKING, [push.pk, consent.pk], title="Push")
    [suggestion] = grouping.likely_duplicates(host, PARKING)
    assert (suggestion.first, suggestion.second) == (push, push_again)
    page = facilitator_client.get(f"/w/{workshop.pk}/s/parking_lot/duplicates/")
    assert f'name="group" value="{group.pk}"' in page.content.decode()
    facilitator_client.post(f"/w/{workshop.pk}/s/parking_lot/duplicates/",
                            {"items": [push.pk, push_again.pk], "group": str(group.pk)})
    assert ItemGroup.objects.count() == 1
    assert ParkingLotItem.objects.get(pk=push_again.pk).group_id == group.pk


def test_each_change_redraws_the_cards_it_changes_and_the_order_not_the_list(
        host, workshop, questions):
    push, consent, home, push_again = questions
    group = grouping.group_items(host, PARKING, [push.pk, consent.pk], title="Push")

    def redrawn() -> set[str]:
        event = BoardEvent.objects.filter(workshop=workshop).last()
        return {target.key for target in targets_for(event)}

    assert redrawn() == {f"item.parking_lot.{push.pk}", f"item.parking_lot.{consent.pk}",
                         "order.parking_lot.0"}
    grouping.group_items(host, PARKING, [home.pk], group_id=group.pk)
    assert redrawn() == {f"item.parking_lot.{home.pk}", "order.parking_lot.0"}
    grouping.rename_group(host, PARKING, group.pk, "Push, consent, home")
    assert redrawn() == {f"item.parking_lot.{pk}" for pk in (push.pk, consent.pk, home.pk)
                         } | {"order.parking_lot.0"}
    grouping.dissolve_group(host, PARKING, group.pk)
    assert len(redrawn()) == 4 and f"item.parking_lot.{push_again.pk}" not in redrawn()


@pytest.mark.parametrize("data, status, says", [
    ({"items": ["1"]}, 400, "at least two items"),
    ({"items": ["1", "abc"]}, 400, "at least two items"),
    ({"items": ["1", "99999"]}, 404, ""),
])
def test_a_bad_pair_is_refused_with_a_reason(facilitator_client, workshop, questions,
                                             data, status, says):
    answer = facilitator_client.post(f"/w/{workshop.pk}/s/parking_lot/duplicates/", data)
    assert answer.status_code == status and says in answer.content.decode()


# The card's "Group…" --------------------------------------------------------------

def test_the_group_form_offers_the_lists_groups_and_groups_from_the_keyboard(
        facilitator_client, host, workshop, questions):
    push, consent, *_ = questions
    group = grouping.group_items(host, PARKING, [push.pk], title="Push")
    url = f"/w/{workshop.pk}/s/parking_lot/{consent.pk}/group/"
    form = facilitator_client.get(url).content.decode()
    assert f'<option value="{group.pk}">Push</option>' in form
    assert facilitator_client.post(url, {"group": str(group.pk)}).status_code == 204
    assert ParkingLotItem.objects.get(pk=consent.pk).group_id == group.pk
    assert facilitator_client.post(url, {"action": "leave"}).status_code == 204
    assert ParkingLotItem.objects.get(pk=consent.pk).group_id is None
    bad = facilitator_client.post(url, {"group": "nope"})
    assert bad.status_code == 400 and "Choose one of the list's groups" in bad.content.decode()


def test_a_hostile_group_name_is_escaped_on_the_board_and_in_the_document(
        facilitator_client, host, workshop, add):
    recipe = add("recipes")
    grouping.group_items(host, RECIPES, [recipe.pk], title=HOSTILE)
    board = facilitator_client.get(f"/w/{workshop.pk}/").content.decode()
    assert HOSTILE not in board and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in board
    html = print_html(build_roadmap(workshop))
    assert HOSTILE not in html and "&lt;img src=x" in html
    markdown = facilitator_client.get(f"/w/{workshop.pk}/export/roadmap.md").content.decode()
    assert "**Group:** \\<img" in markdown


# Votes, the roadmap and the exports show groups -------------------------------------

@pytest.fixture
def grouped_recipes(host, add):
    source = add("data_sources")
    recipes = [add("recipes", title=title, data_sources=[source.pk])
               for title in ("Welcome email", "Welcome push", "Series nudge")]
    grouping.group_items(host, RECIPES, [recipes[0].pk, recipes[1].pk], title="Onboarding")
    return recipes


def test_the_vote_shows_each_recipes_group_and_the_dots_by_group(
        host, people, grouped_recipes, participant_client, workshop):
    _, pat = people["pat"]
    welcome, push, nudge = grouped_recipes
    voting.open_vote(host, 5, 3, hidden=False)
    for recipe in (welcome, push, push, nudge):
        voting.cast_dot(pat, recipe.pk)
    ballot = participant_client.get(f"/w/{workshop.pk}/vote/ballot/").content.decode()
    assert ballot.count("▣ Onboarding") == 2
    board = participant_client.get(f"/w/{workshop.pk}/").content.decode()
    assert "By group" in board and "3 dots" in board
    voting.close_vote(host)
    closed = Recipe.objects.get(pk=welcome.pk).workshop.votes.get().results
    assert {row["title"]: row["group"] for row in closed} == {
        "Welcome email": "Onboarding", "Welcome push": "Onboarding", "Series nudge": ""}
    roadmap = build_roadmap(workshop)
    [group] = roadmap.recipe_groups
    assert (group.title, sorted(group.ranks), group.votes) == ("Onboarding", [1, 2], 3)


def test_every_export_carries_the_groups_and_an_import_keeps_them(
        facilitator_client, facilitator, workshop, grouped_recipes):
    data = facilitator_client.get(f"/w/{workshop.pk}/export/workshop.json").json()
    assert [r["group"] for r in data["recipes"]] == ["Onboarding", "Onboarding", None]
    archive = zipfile.ZipFile(io.BytesIO(
        facilitator_client.get(f"/w/{workshop.pk}/export/csv.zip").content))
    recipes_csv = archive.read("recipes.csv").decode("utf-8-sig")
    assert "group" in recipes_csv.splitlines()[0] and "Onboarding" in recipes_csv
    markdown = facilitator_client.get(f"/w/{workshop.pk}/export/roadmap.md").content.decode()
    assert "### Groups of similar recipes" in markdown and "**Group:** Onboarding" in markdown
    html = print_html(build_roadmap(workshop))
    assert "Groups of similar recipes" in html and "▣ Onboarding" in html
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "workshop.json"
    assert facilitator_client.post("/import/", {"file": upload}).status_code == 302
    copy = workshop.owner.workshops.exclude(pk=workshop.pk).get()
    groups = {r.title: r.group_title for r in RECIPES.items(copy.pk)}
    assert groups == {"Welcome email": "Onboarding", "Welcome push": "Onboarding",
                      "Series nudge": ""}
    assert ItemGroup.objects.filter(workshop=copy).count() == 1


def test_an_import_with_a_bad_group_name_is_refused_and_says_where(
        facilitator_client, workshop, grouped_recipes):
    data = facilitator_client.get(f"/w/{workshop.pk}/export/workshop.json").json()
    data["recipes"][0]["group"] = 7
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "workshop.json"
    answer = facilitator_client.post("/import/", {"file": upload})
    assert answer.status_code == 422
    assert "recipes[0].group: must be the name of a group" in unescape(answer.content.decode())


# Live: what the room's sockets receive ----------------------------------------------

@pytest.mark.django_db(transaction=True)
async def test_grouping_reaches_the_room_and_leaks_no_private_item(
        layer, host, workshop, people):
    _, pat = people["pat"]
    kim_client, _ = people["kim"]
    olive_client, _ = people["olive"]
    public = await db(add_as)(host, "recipes", title="Welcome email")
    await db(room_services.set_private)(host, ["recipes"])
    private = await db(add_as)(pat, "recipes", title="Pat's secret recipe")
    version = await db(lambda: type(workshop).objects.get(pk=workshop.pk).version)()
    sockets = [Socket(client, workshop.pk) for client in (kim_client, olive_client)]
    for socket in sockets:  # a participant who is not the author, and an observer
        await socket.open(version=version)
    await db(grouping.group_items)(host, RECIPES, [public.pk, private.pk], title="Welcome")
    for socket in sockets:
        frame = await socket.event()
        html = html_of(frame)
        assert "▣" in html and 'data-group="' in html and "Welcome email" in html
        assert "secret" not in json.dumps(frame)
        await socket.close()
