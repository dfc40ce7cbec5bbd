"""Votes with guardrails in real browsers: the facilitator opens a vote that keeps people
off their own recipes; a participant's "+ dot" on her own recipe is off and says why;
the facilitator sees "1 of 2 taking part have voted" and who has not, raises the limits
mid-vote, and the dot already cast stays. Screenshots in test-artifacts/browser/<test>/."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd, Person
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)


def recipe(person: Person, title: str) -> str:
    return person.add("recipes", title=title, segment="Readers", action="keep reading",
                      content_model="make_easier", kind="personalization", impact="4",
                      effort="2")


def test_a_vote_with_guardrails(crowd: Crowd):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee")
    kim = crowd.participant("Kim Osei", "legal", viewport=PHONE)
    recipe(pat, "Pat's series nudge")
    recipe(fran, "Weekend digest")

    fran.page.locator("#phase-prioritize").scroll_into_view_if_needed()
    form = fran.page.locator("#vote-panel form.vote-open")
    form.locator("input[name=budget]").fill("1")
    form.locator("input[name=per_item]").fill("1")
    form.get_by_label("Dots on one's own recipes").uncheck()
    form.locator("button.primary").click()
    for person in (fran, pat, kim):
        expect(person.page.locator("#vote-panel")).to_contain_text(
            "Nobody puts dots on a recipe they wrote.")
    panel = fran.page.locator("#vote-panel")
    expect(panel.locator(".voters")).to_have_text("0 of 2 taking part have voted so far.")

    # Pat's own recipe takes none of her dots: the button is off and says why.
    own = pat.page.locator("#ballot button[aria-label^=\"Put a dot on Pat's series nudge\"]")
    expect(own).to_be_disabled()
    expect(own).to_have_attribute("title", "Your own recipe")
    expect(pat.page.locator("#ballot")).to_contain_text("yours")

    # Kim votes on the phone, by keyboard; the facilitator sees who has not.
    kim.page.locator("#ballot").scroll_into_view_if_needed()
    button = kim.page.locator("#ballot button[aria-label=\"Put a dot on Pat's series nudge\"]")
    button.focus()
    kim.page.keyboard.press("Enter")
    expect(kim.page.locator("#ballot .left")).to_have_text("0")
    expect(panel.locator(".voters")).to_have_text("1 of 2 taking part has voted so far.")
    panel.locator("details.not-voted summary").click()
    expect(panel.locator("details.not-voted li")).to_have_text(["Pat Lee"])
    for person in (pat, kim):
        expect(person.page.locator("#vote-panel details.not-voted")).to_have_count(0)
    kim.shot("a dot cast on a phone")

    # More dots mid-vote: Kim's stays, and she has one more.
    panel.locator("details.vote-limits summary").click()
    panel.locator("details.vote-limits input[name=budget]").fill("2")
    panel.locator("details.vote-limits button").click()
    expect(kim.page.locator("#ballot .left")).to_have_text("1")
    expect(kim.page.locator("#ballot li").first.locator(".mine")).to_have_text("●")
    expect(kim.page.locator("#ballot li").first.locator("button").first).to_be_disabled()
    expect(kim.page.locator("#ballot li").first).to_contain_text(
        "At the most one recipe takes")
    panel.locator("details.not-voted summary").click()
    panel.scroll_into_view_if_needed()
    fran.shot("the facilitator sees who has not voted")
    width = kim.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px phone"
