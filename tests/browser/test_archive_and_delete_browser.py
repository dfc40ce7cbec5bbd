"""Archiving, restoring and deleting a workshop in real browsers: the owner confirms on a
page that says what happens; the participants' open pages (one on a phone) are told and
disconnected, and read an archived board without any way to change it; a delete asks
for the workshop's name. Screenshots in test-artifacts/browser/<test>/."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)


def test_archive_restore_and_delete(crowd: Crowd):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee")
    kim = crowd.participant("Kim Osei", "legal", viewport=PHONE)
    card = pat.add("parking_lot", question="Do we personalize push?")
    board = crowd.base_url + crowd.board_path
    title = fran.page.locator(".workshop-title").inner_text()

    # Archive, from Sessions and links, after the page that says what it does.
    page = fran.page
    page.locator("a", has_text="Sessions and links").click()
    page.locator("a", has_text="Archive this workshop").click()
    expect(page.locator("h1")).to_contain_text("Archive")
    fran.shot("archive confirmation")
    page.locator("button", has_text="Archive it").click()
    expect(page.locator("#alerts")).to_contain_text("is archived: read-only")
    expect(page.locator(".archived-list")).to_contain_text(title)
    for person in (pat, kim):
        expect(person.page.locator("#alerts")).to_contain_text("archived this workshop")
        person.expect_state("closed")
    kim.shot("told it is archived")

    # Read-only on reload: the card is there, no way to add, edit or run the room.
    for person in (pat, kim):
        person.page.goto(board)
        expect(person.page.locator(".archived-banner")).to_contain_text("read-only")
        expect(person.page.locator(f"#{card}")).to_be_visible()
        expect(person.page.locator("#add-parking_lot")).to_be_hidden()
        expect(person.page.locator(f"#{card} button", has_text="Delete")).to_be_hidden()
    kim.shot("archived board")
    page.goto(board)
    expect(page.locator(".archived-banner button", has_text="Restore it")).to_be_visible()
    expect(page.locator("#room-bar .room-controls")).to_be_hidden()
    fran.shot("archived board")

    # Restore it from the banner: the open pages are told again, and can write after a reload.
    page.locator(".archived-banner button", has_text="Restore it").click()
    expect(page.locator("#alerts")).to_contain_text("is restored")
    expect(page.locator(".archived-banner")).to_have_count(0)
    expect(pat.page.locator("#alerts")).to_contain_text("restored this workshop")
    pat.page.goto(board)
    pat.expect_state("live")
    pat.add("parking_lot", question="Who owns consent records?")

    # Delete: a wrong name deletes nothing; the right one deletes it for everyone.
    kim.page.goto(board)
    kim.expect_state("live")
    page.locator("a", has_text="Sessions and links").click()
    page.locator("a", has_text="Delete it").click()
    expect(page.locator("main")).to_contain_text("2 items")
    page.fill("#delete-title", "not the name")
    page.locator("button", has_text="Delete this workshop").click()
    expect(page.locator("#delete-problem")).to_contain_text("Type the workshop's name exactly")
    expect(page.locator("#delete-title")).to_have_attribute("aria-invalid", "true")
    page.fill("#delete-title", title)
    fran.shot("delete confirmation")
    page.locator("button", has_text="Delete this workshop").click()
    expect(page.locator("#alerts")).to_contain_text("and everything in it are deleted")
    expect(kim.page.locator("#alerts")).to_contain_text("deleted this workshop")
    kim.expect_state("closed")
    assert kim.page.request.get(board).status == 404
