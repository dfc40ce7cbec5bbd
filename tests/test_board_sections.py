"""Every list on the board: create, edit and delete through the views, for each role."""

import pytest
from samples import SAMPLES, TITLE_FIELD, prefixed

from sessions import room as room_services
from workshop.sections import LISTS

SECTIONS = list(LISTS)
# Who may change the board, and what everyone else gets.
WRITE_STATUS = {"facilitator": None, "participant": None, "observer": 403, "outsider": 404}


def add_url(workshop, key):
    return f"/w/{workshop.pk}/s/{key}/add/"


@pytest.mark.parametrize("key", SECTIONS)
@pytest.mark.parametrize("role", list(WRITE_STATUS))
def test_adding_an_item(clients, workshop, key, role):
    response = clients[role].post(add_url(workshop, key), prefixed(SAMPLES[key], f"add-{key}"))
    model = LISTS[key].model
    if WRITE_STATUS[role] is None:
        assert response.status_code == 201
        item = model.objects.get(workshop=workshop)
        assert response["Location"] == f"/w/{workshop.pk}/s/{key}/{item.pk}/"
        assert f'id="{key}-{item.pk}"' in clients[role].get(response["Location"]).content.decode()
        assert item.author_name in ("fran", "Pat")
    else:
        assert response.status_code == WRITE_STATUS[role]
        assert not model.objects.filter(workshop=workshop).exists()


@pytest.mark.parametrize("key", SECTIONS)
@pytest.mark.parametrize("role", list(WRITE_STATUS))
def test_editing_an_item(clients, workshop, host, add, key, role):
    # Editing open to everyone: whose items each may change is tests/test_owned_items.py.
    room_services.set_open_editing(host, True)
    item = add(key)
    field = TITLE_FIELD[key]
    data = prefixed(SAMPLES[key] | {field: "Renamed"}, f"{key}-{item.pk}") | {"version": "1"}
    response = clients[role].post(f"/w/{workshop.pk}/s/{key}/{item.pk}/edit/", data)
    item.refresh_from_db()
    if WRITE_STATUS[role] is None:
        assert response.status_code == 204
        assert getattr(item, field) == "Renamed"
        assert item.version == 2
        card = clients[role].get(f"/w/{workshop.pk}/s/{key}/{item.pk}/").content.decode()
        assert "Renamed" in card
    else:
        assert response.status_code == WRITE_STATUS[role]
        assert getattr(item, field) == SAMPLES[key][field]


@pytest.mark.parametrize("key", SECTIONS)
@pytest.mark.parametrize("role", list(WRITE_STATUS))
def test_deleting_an_item(clients, workshop, host, add, key, role):
    room_services.set_open_editing(host, True)
    item = add(key)
    response = clients[role].post(f"/w/{workshop.pk}/s/{key}/{item.pk}/delete/")
    exists = LISTS[key].model.objects.filter(pk=item.pk).exists()
    if WRITE_STATUS[role] is None:
        assert response.status_code == 204
        assert not exists
    else:
        assert response.status_code == WRITE_STATUS[role]
        assert exists


@pytest.mark.parametrize("role", ["facilitator", "participant"])
def test_edit_form_is_offered_to_editors(clients, workshop, add, role):
    item = add("recipes")
    response = clients[role].get(f"/w/{workshop.pk}/s/recipes/{item.pk}/edit/")
    assert response.status_code == 200
    assert 'name="version" value="1"' in response.content.decode()


@pytest.mark.parametrize(("role", "status"), [("facilitator", 200), ("participant", 200),
                                              ("observer", 200), ("outsider", 404)])
def test_board_page_by_role(clients, workshop, add, role, status):
    add("recipes")
    response = clients[role].get(f"/w/{workshop.pk}/")
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "Finish-the-series nudge" in html
        editable = role != "observer"
        assert ("+ Add a recipe" in html) is editable
        assert (f'hx-post="/w/{workshop.pk}/s/recipes/' in html) is editable


def test_anonymous_visitor_gets_404_not_the_board(client, workshop):
    assert client.get(f"/w/{workshop.pk}/").status_code == 404


def test_nobody_reaches_another_workshop_through_their_membership(
    participant_client, facilitator, add
):
    from workshop import services

    other = services.create_workshop(facilitator, "Another team's workshop")
    assert participant_client.get(f"/w/{other.pk}/").status_code == 404
    response = participant_client.post(add_url(other, "decisions"),
                                       prefixed(SAMPLES["decisions"], "add-decisions"))
    assert response.status_code == 404


def test_an_item_of_another_workshop_is_not_found_through_this_one(
    facilitator_client, facilitator, workshop, add
):
    from sessions.access import Membership
    from workshop import services

    other = services.create_workshop(facilitator, "Other")
    foreign = services.add_item(Membership(other, "facilitator", user=facilitator),
                                LISTS["decisions"], {"decision": "Theirs"})
    url = f"/w/{workshop.pk}/s/decisions/{foreign.pk}/delete/"
    assert facilitator_client.post(url).status_code == 404
    assert type(foreign).objects.filter(pk=foreign.pk).exists()


def test_related_choices_are_limited_to_the_same_workshop(facilitator_client, facilitator,
                                                          workshop, add):
    from sessions.access import Membership
    from workshop import services

    other = services.create_workshop(facilitator, "Other")
    theirs = services.add_item(Membership(other, "facilitator", user=facilitator),
                               LISTS["data_sources"], {"name": "Their CRM", "party": "first"})
    data = prefixed(SAMPLES["recipes"] | {"data_sources": [theirs.pk]}, "add-recipes")
    response = facilitator_client.post(add_url(workshop, "recipes"), data)
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()


def test_unknown_section_is_404(facilitator_client, workshop):
    assert facilitator_client.post(add_url(workshop, "nonsense"), {}).status_code == 404


def test_north_star_is_edited_in_place(clients, workshop):
    data = prefixed({"objective": "Readers finish what they start", "scope_level": "experience",
                     "why_now": "Churn after first month", "start_area": "Home screen"},
                    "north-star") | {"version": "1"}
    assert clients["observer"].post(f"/w/{workshop.pk}/north-star/", data).status_code == 403
    response = clients["participant"].post(f"/w/{workshop.pk}/north-star/", data)
    assert response.status_code == 204
    workshop.north_star.refresh_from_db()
    assert workshop.north_star.objective == "Readers finish what they start"
    assert workshop.north_star.get_scope_level_display() == "Experience"


def test_stale_edit_is_refused_with_both_texts_and_the_draft_kept(participant_client,
                                                                  facilitator_client,
                                                                  workshop, host, add):
    room_services.set_open_editing(host, True)
    item = add("decisions")
    url = f"/w/{workshop.pk}/s/decisions/{item.pk}/edit/"
    prefix = f"decisions-{item.pk}"
    first = prefixed({"decision": "Start with email"}, prefix) | {"version": "1"}
    assert facilitator_client.post(url, first).status_code == 204
    stale = prefixed({"decision": "Start with the app"}, prefix) | {"version": "1"}
    response = participant_client.post(url, stale)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Start with email" in html  # what is saved now
    assert 'value="Start with the app"' in html  # the person's own draft
    assert 'name="version" value="2"' in html  # sending again replaces knowingly
    item.refresh_from_db()
    assert item.decision == "Start with email"


def test_edit_without_a_version_is_a_clear_400(facilitator_client, workshop, add):
    item = add("decisions")
    data = prefixed({"decision": "x"}, f"decisions-{item.pk}")
    response = facilitator_client.post(f"/w/{workshop.pk}/s/decisions/{item.pk}/edit/", data)
    assert response.status_code == 400
    assert b"reload the page" in response.content


def test_an_edited_item_says_so_and_a_new_or_placed_one_does_not(clients, workshop, host,
                                                                 add):
    from workshop import services

    recipe = add("recipes")
    card = f"/w/{workshop.pk}/s/recipes/{recipe.pk}/"
    assert 'class="edited"' not in clients["participant"].get(card).content.decode()
    services.place_on_roadmap(host, recipe.pk, {"phase": "next"}, None)
    assert 'class="edited"' not in clients["participant"].get(card).content.decode()
    services.update_item(host, LISTS["recipes"], recipe.pk, {"title": "Renamed"}, None)
    html = clients["participant"].get(card).content.decode()
    assert "Added by fran · <span class=\"edited\" title=\"Last edited" in html
    room_services.set_anonymous(host, ["recipes"], True)
    html = clients["observer"].get(card).content.decode()
    assert ">Edited</span>" in html and "fran" not in html


def test_the_facilitator_renames_the_workshop_and_every_header_follows(clients, workshop):
    url = f"/w/{workshop.pk}/rename/"
    for role in ("participant", "observer"):
        assert clients[role].post(url, {"title": "Mine now"}).status_code == 403
    response = clients["facilitator"].post(url, {"title": "", "organisation": "X"})
    assert response.status_code == 302
    workshop.refresh_from_db()
    assert workshop.title == "Reader app personalization"  # nothing changed
    response = clients["facilitator"].post(url, {"title": "Reader <app> 2027",
                                                 "organisation": "Northwind & Co"},
                                           follow=True)
    assert "The workshop is now “Reader &lt;app&gt; 2027”." in response.content.decode()
    page = clients["participant"].get(f"/w/{workshop.pk}/").content.decode()
    assert ('<span class="workshop-title">Reader &lt;app&gt; 2027</span> '
            '<span class="muted">· Northwind &amp; Co</span>') in page


def test_the_board_has_one_h1_its_name(facilitator_client, workshop):
    """Screen readers jump to the page's h1 (axe: page-has-heading-one)."""
    html = facilitator_client.get(f"/w/{workshop.pk}/").content.decode()
    assert html.count("<h1") == 1
    assert f'<h1 id="workshop-name" class="workshop-name"><span class="workshop-title">' \
           f"{workshop.title}</span>" in html
