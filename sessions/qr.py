"""QR codes of the join links, drawn as SVG by segno (no image files, no network)."""

from __future__ import annotations

import segno
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def qr_svg(url: str, label: str) -> SafeString:
    """An SVG QR code of `url` that scales with its box (CSS sets its size). Medium
    error correction survives a projector's glare and a phone held at an angle."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(scale=1, border=4, omitsize=True, svgclass="qr", lineclass="",
                          dark="#1d2430", light="#ffffff", title=label)
    # segno writes only numbers and our colours, and escapes the title; the label is
    # escaped here. Role and name make the drawing one image to assistive technology.
    named = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return mark_safe(named)  # noqa: S308
