"""A data sample profiled in real browsers: a participant on a phone profiles a sample of
their data source (after a bad file is refused on the form), the facilitator and a
colleague see the profile arrive on the card, and the facilitator adds a proposed risk
to the register with one click. The sample's page passes axe. Screenshots in
test-artifacts/browser/<test>/."""

from __future__ import annotations

import pytest
from browser.conftest import Crowd
from browser.test_accessibility_browser import assert_accessible
from playwright.sync_api import expect
from sample_files import customers

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

PHONE = (390, 844)


def test_a_sample_profiled_on_a_phone_reaches_the_room(crowd: Crowd, tmp_path):
    fran = crowd.facilitator()
    kim = crowd.participant("Kim Osei", "legal")
    pat = crowd.participant("Pat Lee", "data", viewport=PHONE)
    olu = crowd.observer("Olu Ade")
    source = pat.add("data_sources", name="CRM export", party="first")
    for person in (fran, kim):
        expect(person.page.locator(f"#{source}")).to_be_attached()

    # Pat's card offers a sample; a bad file is refused on the form, with the reason.
    pat.page.locator(f"#{source} a", has_text="Profile a data sample").click()
    form = pat.page.locator("form.sample-form")
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as file:
        file.truncate(21 * 1024 * 1024)  # past the 20 MB limit: said before it is sent
    form.locator("input[type=file]").set_input_files(str(huge))
    form.locator("button.primary").click()
    expect(pat.page.locator("#alerts")).to_contain_text("more than the 20 MB Attune profiles")
    bad = tmp_path / "ragged.csv"
    bad.write_bytes(b"id,email,city\n1,a@example.org,Leeds\n2,b@example.org\n")
    form.locator("input[type=file]").set_input_files(str(bad))
    form.locator("button.primary").click()
    expect(pat.page.locator("#sample-problem")).to_contain_text("Line 3 has 2 values")
    pat.shot("a bad file refused")

    good = tmp_path / "crm.csv"
    good.write_bytes(customers(500)[0])
    pat.page.locator("form.sample-form input[type=file]").set_input_files(str(good))
    pat.page.locator("form.sample-form button.primary").click()
    expect(pat.page.locator("main")).to_contain_text("500 rows × 20 columns")
    expect(pat.page.locator("table.columns-table tbody tr")).to_have_count(20)
    assert "@example.com" not in pat.page.content()  # only masked examples
    pat.shot("the sample's profile")
    assert_accessible(pat, "the sample's page on a phone")

    # The room sees it live, on the card: figures, scores with evidence, findings.
    for person in (fran, kim):
        card = person.page.locator(f"#{source}")
        expect(card).to_contain_text("500 rows × 20 columns")
        expect(card).to_contain_text("E-mail addresses in “email”")
        expect(card.locator(".assessment")).to_contain_text("newest “last_order_at”")
    # An observer sees the findings as they arrived live, with nothing to act on.
    watched = olu.page.locator(f"#{source}")
    expect(watched).to_contain_text("E-mail addresses in “email”")
    expect(watched.locator("button", has_text="Add to register").first).to_be_hidden()
    # One click: the proposed risk joins the register for everyone, and leaves the card.
    fran.page.locator(f"#{source} button", has_text="Add to register").first.click()
    for person in (fran, kim):
        expect(person.page.locator("#list-risks")).to_contain_text(
            "E-mail addresses in “email” of CRM export")
        expect(person.page.locator(f"#{source} .findings")).not_to_contain_text(
            "E-mail addresses")
    fran.page.set_viewport_size({"width": 1440, "height": 900})
    fran.page.locator(f"#{source}").scroll_into_view_if_needed()
    fran.shot("the profile on the card")
    # On the sample's own page, a dismissal shows at once (the page reloads).
    fran.page.goto(f"{crowd.base_url}{crowd.board_path}s/data_sources/"
                   f"{source.split('-')[1]}/sample/")
    finding = fran.page.locator(".finding", has_text="Phone numbers")
    finding.locator("button", has_text="Dismiss").click()
    expect(fran.page.locator(".finding", has_text="Phone numbers")).to_contain_text("dismissed")
    fran.shot("the sample's page at 1440")
