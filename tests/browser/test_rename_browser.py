"""Renaming a workshop in real browsers: the facilitator renames it on Sessions and
links; a participant's open board (on a phone) follows in its header and its tab's
title, without a reload."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)


def test_an_open_board_follows_a_rename(crowd: Crowd):
    fran = crowd.facilitator()
    kim = crowd.participant("Kim Osei", "legal", viewport=PHONE)
    page = fran.page
    page.locator("a", has_text="Sessions and links").click()
    page.fill("#rename-title", "Reader app <2027>")
    page.fill("#rename-organisation", "Northwind & Co")
    page.locator("form.rename button").click()
    expect(page.locator("#alerts")).to_contain_text("Reader app <2027>")
    expect(kim.page.locator("#workshop-name")).to_have_text("Reader app <2027> · Northwind & Co")
    expect(kim.page).to_have_title("Reader app <2027> · Attune")
