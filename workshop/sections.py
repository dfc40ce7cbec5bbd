"""The lists on the board, by key: what model, form and template each one uses."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from . import forms
from .models import (
    ActionItem,
    BoardItem,
    DataSource,
    Decision,
    ExampleInteraction,
    Goal,
    ParkingLotItem,
    Recipe,
    Risk,
    Stakeholder,
)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    item_name: str
    model: type[BoardItem]
    form: type[forms.BoardItemForm]
    prefetch: tuple[str, ...] = ()
    select: tuple[str, ...] = ()

    @property
    def a_name(self) -> str:
        """The item's name with its article: "a goal", "an action item"."""
        article = "an" if self.item_name[0] in "aeiou" else "a"
        return f"{article} {self.item_name}"

    @property
    def template(self) -> str:
        return f"sections/{self.key}.html"

    @property
    def item_template(self) -> str:
        return f"{self.template}#item"

    def items(self, workshop_id: int):
        return (
            self.model.objects.filter(workshop_id=workshop_id)
            .select_related(*self.select)
            .prefetch_related(*self.prefetch)
        )


LISTS: dict[str, Section] = {
    section.key: section
    for section in (
        Section("stakeholders", "Stakeholders", "stakeholder", Stakeholder,
                forms.StakeholderForm),
        Section("interactions", "Example interactions", "interaction", ExampleInteraction,
                forms.InteractionForm),
        Section("goals", "Goals and success metrics", "goal", Goal, forms.GoalForm,
                select=("data_source",)),
        Section("data_sources", "Data readiness", "data source", DataSource,
                forms.DataSourceForm),
        Section("recipes", "Recipes", "recipe", Recipe, forms.RecipeForm,
                prefetch=("data_sources", "risks"), select=("success_metric",)),
        Section("risks", "Ethics and bias register", "risk", Risk, forms.RiskForm,
                prefetch=("recipes",)),
        Section("decisions", "Decisions", "decision", Decision, forms.DecisionForm),
        Section("action_items", "Action items", "action item", ActionItem,
                forms.ActionItemForm),
        Section("parking_lot", "Parking lot", "question", ParkingLotItem,
                forms.ParkingLotForm),
    )
}


def get_section(key: str) -> Section:
    try:
        return LISTS[key]
    except KeyError:
        raise Http404("No such section.") from None
