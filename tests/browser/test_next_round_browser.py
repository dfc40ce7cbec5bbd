"""The next round in a real browser: the Sessions page says why it cannot start while a
session runs; once it has ended, "Start the next round" makes round 2, whose board has
round 1's items and whose roadmap PDF opens with what changed since round 1. The page
passes axe. Screenshots in test-artifacts/browser/<test>/."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from browser.conftest import Crowd
from browser.test_accessibility_browser import assert_accessible
from playwright.sync_api import expect
from pypdf import PdfReader

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]


def test_the_owner_starts_round_two_from_a_finished_workshop(crowd: Crowd):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee")
    pat.add("parking_lot", question="Do we personalize push?")
    page = fran.page
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("a", has_text="Sessions and links").click()
    expect(page.locator(".next-round")).to_contain_text("A session is still running")
    expect(page.locator(".next-round button")).to_have_count(0)

    page.locator("button", has_text="End this session").first.click()
    start = page.locator(".next-round button", has_text="Start the next round")
    expect(start).to_be_visible()
    assert_accessible(fran, "sessions page, ready for the next round")
    start.click()
    expect(page.locator("#alerts")).to_contain_text("Round 2 of")
    page.wait_for_url(re.compile(r"/w/\d+/$"))
    assert crowd.board_path not in page.url  # a new workshop
    expect(page.locator("#list-parking_lot")).to_contain_text("Do we personalize push?")
    fran.shot("round 2 board")

    page.locator(".downloads summary").click()
    with page.expect_download() as download:
        page.locator(".downloads-menu a", has_text="Roadmap (PDF)").click()
    reader = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert "ROUND 2" in reader.pages[0].extract_text()
    changed = " ".join(reader.pages[1].extract_text().split())
    assert "What changed since round 1" in changed
    assert "Nothing changed on the board since round 1." in changed
