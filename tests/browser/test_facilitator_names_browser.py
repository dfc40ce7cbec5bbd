"""A facilitator's display name in real browsers: set on its own page (reached from the
header), then shown to the room instead of the login name, in the presence list and on
what the facilitator writes, on a desktop and on a phone. Its own module: the name is the
facilitator account's, which the other modules' tests share."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)


def test_the_room_sees_the_facilitators_display_name(crowd: Crowd):
    fran = crowd.facilitator()
    page = fran.page
    page.locator(".topnav a").click()
    expect(page.locator("h1")).to_have_text("Your name, as the room sees it")
    page.fill("#id_display_name", "Fran Okafor")
    page.locator("main form button.primary").click()
    expect(page.locator("#alerts")).to_contain_text("The room now sees you as Fran Okafor.")
    fran.shot("name page")
    expect(page.locator(".topnav a")).to_have_text("Fran Okafor")
    page.goto(crowd.base_url + crowd.board_path)
    fran.expect_state("live")

    pat = crowd.participant("Pat Lee")
    kim = crowd.participant("Kim Osei", "legal", viewport=PHONE)
    card = fran.add("parking_lot", question="Do we personalize push?")
    for person in (pat, kim):
        expect(person.page.locator("#presence")).to_contain_text("Fran Okafor")
        expect(person.page.locator("#presence")).not_to_contain_text("fran")
        expect(person.page.locator(f"#{card} .byline")).to_have_text("Added by Fran Okafor")
    kim.page.locator(f"#{card}").scroll_into_view_if_needed()
    kim.shot("the room sees the name")
