"""A Content-Security-Policy on every page, and nothing in the templates it would block:
no inline script, no inline handler, no style attribute (the browser tests record what
chromium blocks on the pages they visit, and fail on any of it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# The roadmap PDF's templates are printed by WeasyPrint, never served to a browser.
SERVED = [path for path in TEMPLATES.rglob("*.html") if "exports" not in path.parts
          or path.name in ("_download_menu.html", "import_refused.html", "unavailable.html")]
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)


@pytest.mark.parametrize("path", SERVED, ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_no_served_template_has_inline_script_handlers_or_styles(path):
    text = path.read_text()
    assert not INLINE_HANDLER.search(text)
    assert not INLINE_SCRIPT.search(text)
    assert "hx-on" not in text and "style=" not in text


def test_every_kind_of_page_sends_the_policy(clients, workshop, live_session):
    pages = [
        (clients["outsider"], "/accounts/login/"),
        (clients["facilitator"], "/"),
        (clients["facilitator"], f"/w/{workshop.pk}/"),
        (clients["facilitator"], f"/w/{workshop.pk}/sessions/"),
        (clients["participant"], f"/w/{workshop.pk}/"),
        (clients["outsider"], f"/join/{live_session.join_token}/"),
        (clients["outsider"], f"/w/{workshop.pk}/"),  # a 404 too
    ]
    for client, url in pages:
        policy = client.get(url)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'", url
        assert directives["style-src"] == "'self'", url
        assert directives["frame-ancestors"] == "'none'", url
        assert "unsafe" not in policy, url
