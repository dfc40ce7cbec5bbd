"""Owned items and undo in real browsers: each participant sees Edit and Delete on their
own cards only, the facilitator on every card; a participant on a phone deletes hers and
takes it back with Undo; the facilitator restores one from "Recently deleted"; opened
editing shows everyone's actions. Screenshots in test-artifacts/browser/<test>/."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)


def test_own_items_undo_and_recently_deleted(crowd: Crowd):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee")
    kim = crowd.participant("Kim Osei", "legal", viewport=PHONE)
    pats = pat.add("parking_lot", question="Do we personalize push?")
    kims = kim.add("parking_lot", question="Who owns consent records?")
    for person in (fran, pat, kim):
        expect(person.page.locator(f"#{kims}")).to_be_attached()
        expect(person.page.locator(f"#{pats}")).to_be_attached()

    def delete_button(person, card):
        return person.page.locator(f"#{card} button", has_text="Delete")

    expect(delete_button(pat, pats)).to_be_visible()
    expect(delete_button(pat, kims)).to_be_hidden()
    expect(delete_button(kim, pats)).to_be_hidden()
    expect(delete_button(fran, pats)).to_be_visible()
    expect(delete_button(fran, kims)).to_be_visible()

    # Kim deletes hers on the phone, then takes it back with Undo. Her answer is held
    # until the live frame has removed the card: the order a loaded server gives, where
    # the button that asked is off the page when the answer (with its Undo) comes.
    def answer_after_the_card_is_gone(route):
        answer = route.fetch()
        expect(kim.page.locator(f"#{kims}")).to_have_count(0)
        route.fulfill(response=answer)

    kim.page.route("**/delete/", answer_after_the_card_is_gone)
    kim.page.locator(f"#{kims}").scroll_into_view_if_needed()
    delete_button(kim, kims).click()
    for person in (fran, pat, kim):
        expect(person.page.locator(f"#{kims}")).to_have_count(0)
    undo = kim.page.locator("#alerts .alert-undo button.undo")
    expect(undo).to_be_visible()
    kim.shot("deleted, with undo, on a phone")
    undo.click()
    for person in (fran, pat, kim):
        expect(person.page.locator(f"#{kims}")).to_contain_text("Who owns consent records?")
    expect(delete_button(kim, kims)).to_be_visible()  # still hers
    expect(kim.page.locator("#alerts .alert-undo")).to_have_count(0)

    # The facilitator deletes Pat's, and restores it from Recently deleted.
    delete_button(fran, pats).click()
    expect(pat.page.locator(f"#{pats}")).to_have_count(0)
    trash = fran.page.locator("#trash")
    trash.locator("summary").click()
    restore = trash.get_by_role("button", name="Restore question: Do we personalize push?")
    expect(restore).to_be_visible()
    expect(pat.page.locator("#trash")).to_be_empty()
    fran.shot("recently deleted")
    restore.click()
    expect(pat.page.locator(f"#{pats}")).to_contain_text("Do we personalize push?")
    expect(fran.page.locator("#trash details")).to_have_count(0)

    # Opened to all, everyone's actions show; closed again, each has their own.
    fran.room_bar_button("Everyone edits everything").click()
    expect(delete_button(kim, pats)).to_be_visible()
    fran.room_bar_button("Each edits their own").click()
    expect(delete_button(kim, pats)).to_be_hidden()
    width = kim.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px phone"
