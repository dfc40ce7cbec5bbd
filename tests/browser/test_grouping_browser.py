"""Grouping similar items in real browsers: the facilitator finds likely duplicates and
groups a pair, then puts a third card in the group from the keyboard and renames it;
the participants (one on a phone) see the cards sit together under the group's name and
have no grouping controls of their own. Screenshots in test-artifacts/browser/<test>/."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd, open_editing
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)


def test_group_duplicates_then_from_the_keyboard(crowd: Crowd, server):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee")
    kim = crowd.participant("Kim Osei", "legal", viewport=PHONE)
    push = pat.add("parking_lot", question="Do we personalize push notifications?")
    consent = pat.add("parking_lot", question="Who owns consent records?")
    push_again = kim.add("parking_lot", question="Should push notifications be personalized?")
    everyone = (fran, pat, kim)
    for person in everyone:
        expect(person.page.locator(f"#{push_again}")).to_be_attached()

    # Likely duplicates, found on the server, grouped in one click.
    page = fran.page
    block = page.locator("#block-parking_lot")
    block.locator("button", has_text="Find likely duplicates").click()
    suggestion = block.locator(".duplicates li")
    expect(suggestion).to_have_count(1)
    expect(suggestion).to_contain_text("alike")
    suggestion.locator("button", has_text="Group these").click()
    expect(block.locator(".duplicates")).to_contain_text("No likely duplicates")
    for person in everyone:
        cards = person.page.locator("#list-parking_lot > .card")
        expect(person.page.locator(f"#{push} .group-title")).to_have_text(
            "Do we personalize push notifications?")
        expect(cards.nth(1)).to_have_attribute("id", push_again)  # they sit together
        expect(person.page.locator(f"#{push_again} .group-title")).to_have_text(
            "Do we personalize push notifications?")

    # From the keyboard: the consent card's "Group…", the group chosen, Enter.
    button = page.locator(f"#{consent} button", has_text="Group…")
    button.focus()
    page.keyboard.press("Enter")
    form = page.locator(f"form#{consent}")
    expect(form).to_be_visible()
    form.locator("select").select_option(label="Do we personalize push notifications?")
    form.locator("button.primary").focus()
    page.keyboard.press("Enter")
    for person in everyone:
        expect(person.page.locator(f"#{consent}")).to_have_attribute("data-group", "1")
        expect(person.page.locator("#list-parking_lot > .card").nth(2)).to_have_attribute(
            "id", consent)

    # Renamed from the group's own "Group…".
    chip = page.locator(f"#{push} .group-chip")
    chip.locator("summary").click()
    chip.locator("input[name=title]").fill("Push & consent")
    chip.locator("button", has_text="Rename").click()
    for person in everyone:
        expect(person.page.locator(f"#{push} .group-title")).to_have_text("Push & consent")
    # Participants see the groups, not the controls (editing is not open to all).
    for person in (pat, kim):
        expect(person.page.locator(f"#{push} button", has_text="Group…")).to_be_hidden()
        expect(person.page.locator("#block-parking_lot .find-duplicates")).to_be_hidden()
    # With editing open to all, participants get the grouping tools; an observer, whose
    # cards arrive drawn for the whole room, still gets none.
    olu = crowd.observer("Olu Ade")
    open_editing(server.stack, crowd.board["workshop"])
    chip.locator("summary").click()
    chip.locator("input[name=title]").fill("Push, consent")
    chip.locator("button", has_text="Rename").click()
    for person in (*everyone, olu):
        expect(person.page.locator(f"#{push} .group-title")).to_have_text("Push, consent")
    expect(pat.page.locator("#block-parking_lot .find-duplicates")).to_be_visible()
    expect(olu.page.locator(f"#{push} .group-tools")).to_be_hidden()
    expect(olu.page.locator("#block-parking_lot .find-duplicates")).to_be_hidden()
    kim.page.locator(f"#{push}").scroll_into_view_if_needed()
    kim.shot("grouped on a phone")
    page.locator(f"#{push}").scroll_into_view_if_needed()
    fran.shot("grouped")
