"""Template helpers for the board: its forms, and the figures of sample profiles."""

from __future__ import annotations

from typing import Any

from django import forms, template

from workshop import profiler, words
from workshop.sections import LISTS, Section

register = template.Library()


@register.filter
def choices_from(bound_field: forms.BoundField) -> Section | None:
    """The board list a field's choices are items of (a recipe's data sources, a risk's
    recipes), or None. The page keeps such a field's choices in step with that list."""
    field = bound_field.field
    if not isinstance(field, forms.ModelChoiceField) or field.queryset is None:
        return None
    model = field.queryset.model
    return next((section for section in LISTS.values() if section.model is model), None)


@register.filter
def percent(share: float) -> str:
    """0.875 -> "87.5%", 1.0 -> "100%": a share as the profile pages write it."""
    try:
        return profiler.percent(float(share))
    except (TypeError, ValueError):
        return ""


@register.filter
def intcomma(number: int) -> str:
    try:
        return f"{int(number):,}"
    except (TypeError, ValueError):
        return str(number)


@register.filter
def get(mapping: Any, key: str) -> Any:
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


@register.filter
def split(text: str) -> list[str]:
    return text.split()


@register.filter
def moment(text: str) -> str:
    """An ISO date or time as read from a sample, for people: "2026-11-30 18:30"."""
    return str(text).replace("T", " ")[:16]



@register.filter(name="counted")
def counted_filter(count: int, nouns: str) -> str:
    """`{{ n|counted:"recipe" }}` → "1 recipe" / "2 recipes"; `"person|people"` names an
    irregular plural (workshop.words)."""
    return words.counted(int(count or 0), nouns)


@register.filter(name="noun")
def noun_filter(count: int, nouns: str) -> str:
    """The noun alone, for a figure set apart: `{{ n }} {{ n|noun:"recipe" }}`."""
    return words.noun(int(count or 0), nouns)


@register.filter(name="listed")
def listed_filter(things: list[str]) -> str:
    """`{{ names|listed }}` → "a, b or c" (autoescaped like any value)."""
    return words.listed([str(thing) for thing in things])
