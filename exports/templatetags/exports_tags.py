"""Template helpers for the print document."""

from __future__ import annotations

import unicodedata

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def text_dir(value: object) -> str:
    """ "rtl" or "ltr" from the first strongly directional character, as dir="auto" does.

    WeasyPrint does not implement dir="auto", so the print template states the
    direction of every piece of user text itself: Arabic and Hebrew run right to left.
    """
    for char in str(value or ""):
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


@register.filter
def dir_attr(value: object) -> str:
    """' dir="rtl"' for right-to-left text, else nothing (left to right is the default)."""
    return mark_safe(' dir="rtl"') if text_dir(value) == "rtl" else ""  # noqa: S308


@register.filter
def recipe_refs(refs: list, spell_out: int = 3) -> str:
    """Recipes by their priority rank, with titles while the list is short."""
    if not refs:
        return "—"
    if len(refs) <= spell_out:
        return "; ".join(f"#{ref.rank} {ref.title}" for ref in refs)
    return ", ".join(f"#{ref.rank}" for ref in refs)


@register.filter
def in_columns(items: list, columns: int = 2) -> list[list]:
    """Rows of `items` laid out down the columns: [[1, 4], [2, 5], [3, None]]."""
    items = list(items)
    height = -(-len(items) // columns)
    return [
        [
            items[row + column * height] if row + column * height < len(items) else None
            for column in range(columns)
        ]
        for row in range(height)
    ]
