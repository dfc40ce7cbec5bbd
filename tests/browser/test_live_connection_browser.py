"""Honest connection state, in chromium: a page that silently missed a frame learns it
is behind from the heartbeat and catches up; a page that cannot reach the board for a
while says what to do, and goes back to "Live" by itself when it can.

Screenshots go to test-artifacts/browser/<test>/.
"""

from __future__ import annotations

import pytest
from browser.conftest import Crowd, TcpProxy

pytestmark = [pytest.mark.browser, pytest.mark.own_servers]

# Drop the next event frame before live.js sees it, as a lost message would (the frame
# reaches the socket, the page never applies it, and no later frame reveals the gap).
DROP_NEXT_EVENT = """() => {
  window.__dropped = 0;
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    if (window.__dropped || !event.detail.message.startsWith('{"type":"event"')) return;
    window.__dropped += 1;
    event.preventDefault();
    event.stopImmediatePropagation();
  }, true);
}"""


def test_a_page_that_missed_a_frame_learns_it_from_the_heartbeat_and_catches_up(
        crowd: Crowd):
    fran = crowd.facilitator()
    pat = crowd.participant("Pat Lee")
    pat.page.evaluate(DROP_NEXT_EVENT)
    item = fran.add("parking_lot", question="Sent while Pat's frame was lost")
    fran.wait_for_items("parking_lot", [[item, "Sent while Pat's frame was lost"]])
    assert pat.page.evaluate("window.__dropped") == 1
    assert pat.items("parking_lot") == []
    # Within one heartbeat (15 s) and its grace (1.5 s) the page resyncs by itself.
    pat.wait_for_items("parking_lot", [[item, "Sent while Pat's frame was lost"]],
                       timeout=25_000)
    assert "behind" in pat.states()
    pat.expect_state("live")
    assert pat.version() == pat.server_version()
    pat.shot("caught up after the heartbeat")


def test_a_page_that_cannot_reach_the_board_says_what_to_do_and_recovers(crowd: Crowd,
                                                                         server):
    proxy = TcpProxy(server.worker.port).start()
    try:
        pat = crowd.participant("Pat Lee", base_url=proxy.url)
        proxy.cut(websockets_only=True)  # the page loads, its socket never gets through
        pat.expect_state("trouble", timeout=30_000)
        alert = pat.page.locator("#alerts").inner_text()
        assert "can't be reached" in alert and "reload the page" in alert
        pat.shot("trouble says what to do")
        proxy.restore()
        pat.expect_state("live", timeout=10_000)
        assert pat.page.locator("#alerts").inner_text().strip() == ""
    finally:
        proxy.close()
