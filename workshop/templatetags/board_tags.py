"""Template helpers for the board's forms."""

from __future__ import annotations

from django import forms, template

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
