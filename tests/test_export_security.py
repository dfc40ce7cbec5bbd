"""The PDF renderer reads nothing but our bundled files, whatever the workshop says."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from exports_factories import add, make_user
from pypdf import PdfReader

from exports import pdf
from exports.context import build_roadmap
from exports.fetcher import RefusedURL, StaticOnlyFetcher
from workshop import services


class Spy(BaseHTTPRequestHandler):
    """A local web server that records every request it gets."""

    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server API
        Spy.requests.append(self.path)
        body = b"root:x:0:0:root:/root:/bin/bash\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def spy_server():
    Spy.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Spy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def attachments(document: bytes) -> dict:
    reader = PdfReader(io.BytesIO(document))
    names = reader.trailer["/Root"].get("/Names")
    embedded = names.get_object().get("/EmbeddedFiles") if names else None
    annotated = [
        annotation.get_object()
        for page in reader.pages
        for annotation in (page.get("/Annots") or [])
        if annotation.get_object().get("/Subtype") == "/FileAttachment"
    ]
    return {"attachments": dict(reader.attachments), "names": embedded, "annots": annotated}


def text_of(document: bytes) -> str:
    reader = PdfReader(io.BytesIO(document))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_hostile_card_text_is_printed_as_text_and_fetches_nothing(db, spy_server):
    user = make_user()
    workshop = services.create_workshop(user, '<img src="file:///etc/passwd">')
    hostile = [
        '<img src="file:///etc/passwd">',
        f'<link rel=attachment href="{spy_server}/attach">',
        f'<div style="background: url({spy_server}/css)">styled</div>',
        f"<style>@import url({spy_server}/import.css);</style>",
    ]
    for text in hostile:
        add(workshop, "decisions", decision=text[:200], rationale=text)
    add(
        workshop,
        "recipes",
        title=hostile[0],
        segment=hostile[1][:200],
        action=hostile[2],
        content_model="enrich",
        kind="automation",
        impact=4,
        effort=2,
    )
    client = Client()
    client.force_login(user)
    response = client.get(f"/w/{workshop.pk}/export/roadmap.pdf")
    assert response.status_code == 200
    document = response.content
    assert Spy.requests == []
    found = attachments(document)
    assert found["attachments"] == {} and found["names"] is None and found["annots"] == []
    text = text_of(document).replace("\u200b", "")
    assert '<img src="file:///etc/passwd">' in text  # shown as typed, not run
    assert "root:x:0:0" not in text


def test_the_renderer_refuses_every_url_even_in_raw_markup(db, spy_server):
    """Markup straight to the renderer, past the template's escaping: still nothing."""
    html = f"""<!doctype html><html><head>
    <link rel="stylesheet" href="{pdf.ASSET_ROOT}exports/roadmap.css">
    <link rel="stylesheet" href="{spy_server}/sheet.css">
    <link rel="attachment" href="{spy_server}/attachment.txt" title="leak">
    <link rel="attachment" href="file:///etc/passwd" title="passwd">
    <style>@import url({spy_server}/import.css);
      body {{ background: url({spy_server}/background.png); }}
      @font-face {{ font-family: Evil; src: url({spy_server}/font.ttf); }}
      p {{ font-family: Evil; }}</style>
    </head><body>
    <p>Hello</p>
    <img src="file:///etc/passwd"><img src="{spy_server}/pixel.png">
    <img src="data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg'/>">
    <a rel="attachment" href="{spy_server}/anchor-attachment">a</a>
    <iframe src="file:///etc/passwd"></iframe><object data="file:///etc/passwd"></object>
    <svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/>
    <image href="{spy_server}/svg-image.png"/></svg>
    </body></html>"""
    result = pdf.render_pdf(html)
    assert Spy.requests == []
    found = attachments(result.pdf)
    assert found["attachments"] == {} and found["names"] is None and found["annots"] == []
    assert "root:x:0:0" not in text_of(result.pdf)
    refused = " ".join(result.refused)
    for url in (
        "file:///etc/passwd",
        f"{spy_server}/sheet.css",
        f"{spy_server}/attachment.txt",
        f"{spy_server}/import.css",
        f"{spy_server}/pixel.png",
        "data:image/svg+xml",
    ):
        assert url in refused, url


def test_the_fetcher_serves_bundled_files_only():
    fetcher = StaticOnlyFetcher(pdf.bundled_assets())
    css = fetcher.fetch(pdf.ASSET_ROOT + "exports/roadmap.css")
    assert css.content_type == "text/css" and b"@page" in css.read()
    font = fetcher.fetch(pdf.ASSET_ROOT + "fonts/NotoSans-Regular.ttf")
    assert font.read(4) == b"\x00\x01\x00\x00"
    for url in (
        "file:///etc/passwd",
        "http://127.0.0.1/",
        "https://example.com/x.css",
        "data:text/css,body{}",
        pdf.ASSET_ROOT + "../../etc/passwd",
        pdf.ASSET_ROOT + "exports/../../../workshop/settings.py",
        pdf.ASSET_ROOT + "css/attune.css",  # ours, but not a print asset
        "ftp://127.0.0.1/x",
    ):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)


def test_bundled_assets_are_only_print_css_and_fonts():
    paths = pdf.bundled_assets()
    assert paths
    for url in paths:
        assert url.startswith(pdf.ASSET_ROOT + "exports/") or url.startswith(
            pdf.ASSET_ROOT + "fonts/"
        )


def test_user_text_reaches_the_print_template_escaped(db):
    user = make_user()
    workshop = services.create_workshop(user, "Escapes")
    add(
        workshop, "parking_lot", question="</p><script>alert(1)</script><b>x</b>", notes="a & b < c"
    )
    html = pdf.print_html(build_roadmap(workshop)).replace("\u200b", "")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &amp; b &lt; c" in html
