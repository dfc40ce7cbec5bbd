"""Every page, for every role, as axe-core (the npm package, injected by Playwright)
reads it: no critical or serious violation of WCAG 2 A/AA, at a laptop's width and a
phone's. The scan runs on the page as people see it, live frames applied."""

from __future__ import annotations

import json

import pytest
from browser.conftest import Crowd, Person
from playwright.sync_api import Page, expect
from servers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = (390, 844)
SCAN = """async () => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => ({ id: v.id, impact: v.impact,
                   where: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
}"""


@pytest.fixture(scope="module", autouse=True)
def _axe_is_installed() -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does) to install axe-core")


def violations(page: Page) -> list[dict]:
    # Injected through the browser's devtools protocol: the pages' Content-Security-Policy
    # (rightly) refuses inline scripts, and must stay on for everything else.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    return page.evaluate(SCAN)


def assert_accessible(person: Person, what: str) -> None:
    found = violations(person.page)
    person.shot(what)
    assert found == [], f"{what} ({person.name}): " + json.dumps(found, indent=1)


@pytest.mark.parametrize("viewport", [(1280, 900), PHONE], ids=["laptop", "phone"])
def test_the_board_has_no_serious_accessibility_violation_for_any_role(
        crowd: Crowd, viewport):
    fran = crowd.facilitator(viewport=viewport)
    pat = crowd.participant("Pat Lee", viewport=viewport)
    pat.add("parking_lot", question="Who owns consent?")
    for person in (fran, pat):
        expect(person.page.locator("#list-parking_lot > article")).to_have_count(1)
    observer = crowd._person("Olu (observer)", viewport=viewport)
    observer.page.goto(f"{crowd.base_url}/join/{crowd.board['observe']}/")
    observer.page.fill("#id_display_name", "Olu")
    if observer.page.locator("#id_function").count():
        observer.page.select_option("#id_function", "legal")
    observer.page.locator("main form button.primary").click()
    observer.page.wait_for_url(f"**{crowd.board_path}")
    observer.expect_state("live")
    for person in (fran, pat, observer):
        assert_accessible(person, f"board at {viewport[0]} px")


def test_the_pages_around_the_board_have_no_serious_accessibility_violation(crowd: Crowd):
    fran = crowd.facilitator()
    page = fran.page
    workshop = crowd.board["workshop"]
    for path, what in [("/", "home"), (f"/w/{workshop}/sessions/", "sessions and links"),
                       ("/accounts/name/", "your name"),
                       (f"/w/{workshop}/archive/", "archive confirmation"),
                       (f"/w/{workshop}/delete/", "delete confirmation")]:
        page.goto(crowd.base_url + path)
        assert_accessible(fran, what)

    # The grouping controls: likely duplicates, and a card's "Group…" form.
    page.goto(crowd.base_url + crowd.board_path)
    fran.expect_state("live")
    first = fran.add("parking_lot", question="Do we personalize push notifications?")
    fran.add("parking_lot", question="Should push notifications be personalized?")
    page.locator("#block-parking_lot button", has_text="Find likely duplicates").click()
    expect(page.locator("#block-parking_lot .duplicates li")).to_have_count(1)
    page.locator("#block-parking_lot .duplicates button", has_text="Group these").click()
    expect(page.locator(f"#{first} .group-chip")).to_be_visible()
    page.locator(f"#{first} .group-chip summary").click()
    page.locator(f"#{first} button", has_text="Group…").click()
    expect(page.locator(f"form#{first}")).to_be_visible()
    assert_accessible(fran, "grouping controls")
    page.goto(crowd.base_url + crowd.board_path + "sessions/")
    page.locator("a", has_text="Show the QR code on a screen").first.click()
    expect(page.locator(".present-qr svg")).to_be_visible()
    assert_accessible(fran, "present the join link")

    visitor = crowd._person("visitor", viewport=PHONE)
    for path, what in [(f"/join/{crowd.board['join']}/", "join page"),
                       ("/join/no-such-link/", "dead link"),
                       ("/accounts/login/", "sign in"),
                       ("/accounts/signup/", "sign up")]:
        visitor.page.goto(crowd.base_url + path)
        assert_accessible(visitor, what)

    pat = crowd.participant("Pat Lee", viewport=PHONE)
    pat.page.on("dialog", lambda dialog: dialog.accept())
    pat.page.get_by_role("button", name="Leave").click()
    expect(pat.page.locator("h1")).to_contain_text("left")
    assert_accessible(pat, "after leaving")


def test_every_action_is_a_control_the_keyboard_reaches(crowd: Crowd):
    """Whatever acts on the board is a button, a link, a form or a summary (reached with
    Tab, pressed with Enter), never a clickable element only a mouse can use; and a
    participant adds an item with the keyboard alone."""
    fran = crowd.facilitator()
    not_keyboard = fran.page.evaluate("""() => Array.from(document.querySelectorAll(
        '[hx-get], [hx-post], [onclick], [data-copy], [data-cancel]'))
      // (an element that loads by itself, e.g. the ballot on an event, is no action)
      .filter((el) => !el.hasAttribute('hx-trigger') || /click/.test(el.getAttribute('hx-trigger')))
      .filter((el) => !el.matches('button, a[href], form, input, select, textarea, summary'))
      .map((el) => el.outerHTML.slice(0, 120))""")
    assert not_keyboard == []
    unreachable = fran.page.evaluate("""() => Array.from(document.querySelectorAll(
        'button, a[href], summary')).filter((el) => el.tabIndex < 0 && !el.closest('[inert]'))
      .map((el) => el.outerHTML.slice(0, 120))""")
    assert unreachable == []

    pat = crowd.participant("Pat Lee")
    page = pat.page
    page.locator("#add-parking_lot summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#add-parking_lot")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    expect(page.locator("#id_add-parking_lot-question")).to_be_focused()
    page.keyboard.type("Typed without a mouse")
    page.locator("#add-parking_lot button.primary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#list-parking_lot > article")).to_contain_text("Typed without a mouse")
    # The focus ring shows where the keyboard is (a 3:1 outline, not the browser's).
    outline = page.evaluate("""() => {
        const b = document.querySelector('#add-parking_lot button.primary');
        b.focus(); const s = getComputedStyle(b); return [s.outlineStyle, s.outlineWidth]; }""")
    assert outline == ["solid", "3px"], outline
