"""The room as people see it on a phone and a laptop: the phase and its clock always in
view, below a header that never covers them, and the facilitator's controls within
reach at both widths. Screenshots in test-artifacts/browser/<test>/."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd, Person
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)
BOX = """(selector) => { const r = document.querySelector(selector).getBoundingClientRect();
  return [r.top, r.bottom, r.left, r.right]; }"""


def box(person: Person, selector: str) -> list[float]:
    return person.page.evaluate(BOX, selector)


def bar_in_view_with(person: Person, phase: str) -> None:
    """The phone shows the room bar at the top of the screen, whole, with the phase's
    name and the clock, wherever the page is scrolled."""
    bar = person.page.locator("#room-bar")
    expect(bar).to_be_in_viewport(ratio=1)
    expect(bar.locator(".room-phase")).to_have_text(phase)
    expect(bar.locator("[data-timer]")).to_be_in_viewport()
    top, bottom, left, right = box(person, "#room-bar")
    assert bottom - top < 80, (top, bottom)  # one compact row
    # Stuck to the top of the screen once the page is scrolled past where it sits.
    assert top <= 1 or person.page.evaluate("window.scrollY") < 500, top
    assert left >= -1 and right <= PHONE[0] + 1, (left, right)  # nothing spills sideways


def clock_runs(person: Person) -> None:
    timer = person.page.locator("[data-timer]")
    first = int(timer.get_attribute("data-seconds"))
    person.page.wait_for_function(
        "s => Number(document.querySelector('[data-timer]').dataset.seconds) < s", arg=first,
        timeout=5_000)


def test_a_phone_always_shows_the_phase_its_clock_and_the_way_back(crowd: Crowd):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee", viewport=PHONE)
    dana = crowd.participant("Dana Ruiz", "data")
    fran.room_bar_button("Next phase").click()
    fran.room_bar_button("Start timer").click()
    for person in (pat, dana):
        person.page.wait_for_function(
            "() => window.attuneLive.room.phase === 'stakeholders'"
            " && window.attuneLive.room.timer.running")
    bar_in_view_with(pat, "Stakeholders")
    clock_runs(pat)

    # At any scroll position: the top, the middle, the very end of a long page.
    height = pat.page.evaluate("document.documentElement.scrollHeight")
    for y in (0, height // 2, height):
        pat.page.evaluate("y => window.scrollTo(0, y)", y)
        pat.page.mouse.wheel(0, 1)  # a person's scroll, as the page tells them apart
        bar_in_view_with(pat, "Stakeholders")
    clock_runs(pat)
    pat.shot("the end of the page on a phone")

    # After any room change, seen while looking elsewhere: a new phase, a lock, a
    # spotlight, the clock reset.
    back = pat.page.locator(".back-to-room")
    expect(back).to_be_visible()
    fran.room_bar_button("Next phase").click()
    pat.page.wait_for_function("() => window.attuneLive.room.phase === 'landscape'")
    bar_in_view_with(pat, "Landscape of connected experience")
    fran.room_bar_button("Lock the board").click()
    expect(pat.page.locator("#room-bar .tag.lock")).to_be_visible()
    bar_in_view_with(pat, "Landscape of connected experience")
    fran.room_bar_button("Unlock the board").click()
    fran.room_bar_button("Reset").click()
    fran.room_bar_button("Start timer").click()
    pat.page.wait_for_function("() => window.attuneLive.room.timer.running")
    bar_in_view_with(pat, "Landscape of connected experience")
    clock_runs(pat)
    pat.shot("after room changes on a phone")

    # One tap takes Pat back to the room, its heading below the bar, not under it.
    back.click()
    expect(pat.page.locator("#phase-landscape h2").first).to_be_in_viewport()
    heading = box(pat, "#phase-landscape h2")
    assert heading[0] >= box(pat, "#room-bar")[1] - 1, heading
    expect(back).to_be_hidden()
    bar_in_view_with(pat, "Landscape of connected experience")
    pat.shot("back in the room on a phone")
    dana.shot("the room on a laptop")
    width = pat.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px phone"


def test_on_a_laptop_the_room_bar_sits_below_the_header_whatever_its_height(crowd: Crowd):
    fran = crowd.facilitator()
    fran.page.locator("#phase-roadmap").scroll_into_view_if_needed()
    fran.page.mouse.wheel(0, 400)
    header = box(fran, ".topbar")
    bar = box(fran, "#room-bar")
    assert bar[0] >= header[1] - 1, (header, bar)  # not under the header
    agenda = box(fran, ".sidebar-title")
    assert agenda[0] >= header[1] - 1, (header, agenda)
    # The controls fit one row beside the phase and its clock.
    buttons = fran.page.locator("#room-controls button")
    tops = {round(b["y"]) for b in (buttons.nth(i).bounding_box()
                                    for i in range(buttons.count()))}
    assert len(tops) == 1, f"the room's controls wrap onto {len(tops)} rows"
    expect(fran.page.locator(".room-more")).to_be_hidden()
    fran.shot("room bar below the header")


def test_a_facilitator_on_a_phone_opens_the_controls_and_they_stay_open(crowd: Crowd):
    fran = crowd.facilitator(viewport=PHONE)
    controls = fran.page.locator("#room-controls")
    expect(controls).to_be_hidden()
    toggle = fran.page.get_by_role("button", name="Controls")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(controls).to_be_visible()
    fran.room_bar_button("Start timer").click()
    expect(fran.page.locator("#room-bar .timer")).to_have_class("timer running")
    # The bar was redrawn by the change; the controls are still open.
    expect(controls).to_be_visible()
    expect(fran.page.get_by_role("button", name="Hide controls")).to_have_attribute(
        "aria-expanded", "true")
    fran.shot("controls open on a phone")
    fran.page.get_by_role("button", name="Hide controls").click()
    expect(controls).to_be_hidden()


def test_a_facilitator_sees_the_locks_they_set_and_participants_are_told(crowd: Crowd):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee")
    fran.page.locator("#phase-decisions .phase-tools button.when-unlocked").click()
    fran_note = fran.page.locator("#phase-decisions .lock-note")
    expect(fran_note).to_be_visible()
    expect(fran_note).to_have_text(
        "Locked: participants can keep writing here but cannot save until you unlock it.",
        use_inner_text=True)
    pat_note = pat.page.locator("#phase-decisions .lock-note")
    expect(pat_note).to_have_text(
        "Locked by the facilitator: you can keep writing, and save when it is unlocked.",
        use_inner_text=True)
    fran.shot("the facilitator sees the lock")
    fran.page.locator("#phase-decisions .phase-tools button.when-locked").click()
    expect(fran_note).to_be_hidden()
    expect(pat_note).to_be_hidden()


def test_the_projected_qr_code_follows_a_rotated_link(crowd: Crowd):
    fran = crowd.facilitator()
    sessions = f"{crowd.base_url}/w/{crowd.board['workshop']}/sessions/"
    fran.page.goto(sessions)
    fran.page.locator("a", has_text="Show the QR code on a screen").click()
    code = fran.page.locator(".present-url code")
    expect(code).to_contain_text(crowd.board["join"])
    before = fran.page.locator(".present-qr svg path").last.get_attribute("d")
    fran.shot("the join link on the projector")

    other = fran.context.new_page()
    other.on("dialog", lambda dialog: dialog.accept())
    other.goto(sessions)
    other.locator("button", has_text="Rotate join link").click()
    expect(other.locator("#alerts")).to_contain_text("New")
    # Within one refresh (15 s), the projector shows the new link and its code.
    expect(code).not_to_contain_text(crowd.board["join"], timeout=20_000)
    new = other.locator(".join-link").input_value()
    expect(code).to_have_text(new)
    assert fran.page.locator(".present-qr svg path").last.get_attribute("d") != before
    fran.shot("the rotated link on the projector")
