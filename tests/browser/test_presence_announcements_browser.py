"""Polite "X joined / left" in real browsers: pages that are open hear who comes and goes
(through the screen readers' live region), not about themselves and not about those who
were there when they loaded."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)


def test_open_pages_hear_who_joins_and_leaves(crowd: Crowd):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee")
    expect(fran.page.locator("#announcer")).to_have_text("Pat Lee joined")
    kim = crowd.participant("Kim Osei", "legal", viewport=PHONE)
    for person in (fran, pat):
        expect(person.page.locator("#announcer")).to_have_text("Kim Osei joined")
    # Kim's page says nothing of Kim, nor of Fran and Pat, who were there before her.
    expect(kim.page.locator("#presence li[data-person]")).to_have_count(3)
    expect(kim.page.locator("#announcer")).not_to_contain_text("joined")
    pat.context.close()
    for person in (fran, kim):
        expect(person.page.locator("#announcer")).to_have_text("Pat Lee left")
