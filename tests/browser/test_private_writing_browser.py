"""Private writing, then reveal, in real browsers: the facilitator has the room write
recipes privately; a participant on a laptop and one on a phone each see only their own
(no frame they receive carries the other's words), the facilitator sees both; the
reveal shows everything to everyone. Screenshots in test-artifacts/browser/<test>/."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd, Person
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)
PATS = "Night-owl streak saver"
KIMS = "Quiet mode for commuters"


def recipe(person: Person, title: str) -> str:
    return person.add("recipes", title=title, segment="Readers", action="keep the streak",
                      content_model="make_easier", kind="personalization", impact="4",
                      effort="2")


def caught_up(person: Person) -> None:
    """Wait until the page has applied every change the server has."""
    wanted = person.server_version()
    person.page.wait_for_function(f"window.attuneLive.version >= {wanted}")


def test_each_writes_privately_until_the_facilitator_reveals(crowd: Crowd):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee")
    kim = crowd.participant("Kim Osei", "legal", viewport=PHONE)
    tools = fran.page.locator("#phase-recipes .phase-tools")
    fran.page.locator("#phase-recipes").scroll_into_view_if_needed()
    tools.get_by_role("button", name="Write privately").click()
    for person in (pat, kim):
        expect(person.page.locator("#phase-recipes .private-badge")).to_be_visible()
        expect(person.page.locator("#phase-recipes .private-badge")).to_contain_text(
            "seen by you and the facilitators only")

    # Each writes; each sees their own, marked; the facilitator sees both.
    kim.page.locator("#phase-recipes").scroll_into_view_if_needed()
    pats = recipe(pat, PATS)
    kims = recipe(kim, KIMS)
    for person, own in ((pat, pats), (kim, kims)):
        expect(person.page.locator(f"#{own} .private-note")).to_contain_text(
            "only you and the facilitators see it")
    for own in (pats, kims):
        expect(fran.page.locator(f"#list-recipes > #{own} .private-note")).to_contain_text(
            "Private until you reveal it")
    for person, others in ((pat, kims), (kim, pats)):
        caught_up(person)
        expect(person.page.locator(f"#{others}")).to_have_count(0)
        expect(person.page.locator(f"#matrix-{others.split('-')[1]}")).to_have_count(0)
    assert not any(KIMS in frame for frame in pat.frames)
    assert not any(PATS in frame for frame in kim.frames)
    # A reload shows the same: one's own, not the other's.
    kim.page.reload()
    kim.expect_state("live")
    expect(kim.page.locator(f"#{kims}")).to_be_visible()
    expect(kim.page.locator(f"#{pats}")).to_have_count(0)
    kim.page.locator(f"#{kims}").scroll_into_view_if_needed()
    kim.shot("writing privately on a phone")
    fran.page.locator(f"#{pats}").scroll_into_view_if_needed()
    fran.shot("the facilitator sees everyone's private writing")

    # The reveal: everyone sees everything, unmarked, and writes in the open again.
    tools.get_by_role("button", name="Reveal to everyone").click()
    for person in (fran, pat, kim):
        for own in (pats, kims):
            expect(person.page.locator(f"#list-recipes > #{own}")).to_be_visible()
        expect(person.page.locator("#list-recipes .private-note")).to_have_count(0)
        expect(person.page.locator("#phase-recipes .private-badge")).to_be_hidden()
    expect(tools.get_by_role("button", name="Write privately")).to_be_visible()
    kim.page.locator(f"#{pats}").scroll_into_view_if_needed()
    kim.shot("after the reveal on a phone")
    width = kim.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px phone"
