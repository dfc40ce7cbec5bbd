"""Ready and raised hands in real browsers: a participant on a phone and one on a laptop
tell the facilitator they are done or want to speak; the facilitator sees the count
beside "Next phase" and the hands in order, lowers one, and the next phase starts
clear. Screenshots in test-artifacts/browser/<test>/."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)


def test_ready_and_hands_reach_the_facilitator_and_clear_with_the_phase(crowd: Crowd):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee", viewport=PHONE)
    dana = crowd.participant("Dana Ruiz", "data")
    count = fran.page.locator("#room-bar .ready-count")
    expect(count).to_have_text("0 of 2 ready")

    # Pat, on the phone, says he is done; by keyboard, as a button should allow.
    ready = pat.page.locator("#room-bar .me-ready")
    ready.focus()
    pat.page.keyboard.press("Enter")
    expect(ready).to_have_attribute("aria-pressed", "true")
    expect(count).to_have_text("1 of 2 ready")
    expect(pat.page.locator("#room-bar")).to_be_in_viewport(ratio=1)
    pat.shot("ready on a phone")

    # Hands go up in order: Dana first, then Pat; the facilitator sees both, in order.
    dana.page.locator("#room-bar .me-hand").click()
    expect(dana.page.locator("#room-bar .me-hand")).to_have_text("Lower hand")
    pat.page.locator("#room-bar .me-hand").click()
    hands = fran.page.locator("#room-bar .hands li")
    expect(hands).to_have_count(2)
    expect(hands.nth(0)).to_contain_text("Dana Ruiz")
    expect(hands.nth(1)).to_contain_text("Pat Lee")
    fran.shot("two hands up")

    # The facilitator takes Dana's; hers goes down on her page too.
    fran.page.get_by_role("button", name="Lower Dana Ruiz's hand").click()
    expect(hands).to_have_count(1)
    expect(dana.page.locator("#room-bar .me-hand")).to_have_attribute("aria-pressed", "false")

    # The next phase starts clear, for everyone.
    fran.room_bar_button("Next phase").click()
    expect(count).to_have_text("0 of 2 ready")
    expect(fran.page.locator("#room-bar .hands")).to_be_hidden()
    for person in (pat, dana):
        expect(person.page.locator("#room-bar .me-ready")).to_have_attribute(
            "aria-pressed", "false")
        expect(person.page.locator("#room-bar .me-hand")).to_have_text("Raise hand")
    pat.shot("the next phase starts clear")
    width = pat.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px phone"


def test_facilitators_and_observers_get_no_ready_or_hand_buttons(crowd: Crowd):
    fran = crowd.facilitator()
    expect(fran.page.locator("#room-bar .room-me")).to_be_hidden()
    observer = crowd.observer("Olu")
    expect(observer.page.locator("#room-bar .room-me")).to_be_hidden()
    expect(observer.page.locator("#room-bar .ready-count")).to_be_hidden()


def test_a_participant_named_cofacilitator_sees_the_role_and_its_tools_at_once(crowd: Crowd):
    """Named on the sessions page and later stood down, with their board open: their own
    page follows the role both ways without a reload (the label, Sessions and links, the
    facilitator tools), and keeps what they were typing."""
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee", viewport=PHONE)
    label, link = pat.page.locator(".crumbs .role:visible"), pat.page.locator(".sessions-link")
    expect(label).to_have_text("Participant: Pat Lee")
    expect(link).to_be_hidden()
    pat.open_add_form("parking_lot")
    pat.fill("add-parking_lot", question="Half typed")

    def cofacilitating(on: bool) -> None:
        fran.page.goto(f"{crowd.base_url}{crowd.board_path}sessions/")
        row = fran.page.locator("tr", has_text="Pat Lee")
        row.locator("button", has_text="Make co-facilitator" if on else
                    "Stop co-facilitating").click()
        expect(fran.page.locator("tr", has_text="Pat Lee")).to_contain_text(
            "Stop co-facilitating" if on else "Make co-facilitator")

    cofacilitating(True)
    expect(label).to_have_text("Co-facilitator: Pat Lee")
    expect(link).to_be_visible()
    expect(pat.page.locator("#phase-kickoff .phase-tools")).to_be_visible()
    pat.page.evaluate("window.scrollTo(0, 0)")
    pat.shot("named co-facilitator")
    cofacilitating(False)
    expect(label).to_have_text("Participant: Pat Lee")
    expect(link).to_be_hidden()
    expect(pat.page.locator("#phase-kickoff .phase-tools")).to_be_hidden()
    expect(pat.page.locator("#id_add-parking_lot-question")).to_have_value("Half typed")
