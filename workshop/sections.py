"""The lists on the board, by key: what model, form and template each one uses."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch
from django.http import Http404

from . import forms
from .models import (
    ActionItem,
    BoardItem,
    DataProfile,
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
    prefetch: tuple[str | Prefetch, ...] = ()
    select: tuple[str, ...] = ()
    # Where else this section's items show: lists (by key) and regions (by name) whose
    # rendering reads them, so a change to an item redraws those too.
    shown_in_lists: tuple[str, ...] = ()
    shown_in_regions: tuple[str, ...] = ()

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
            .select_related("group", *self.select)
            .prefetch_related(*self.prefetch)
        )

    def revealed(self, workshop_id: int):
        """The items everyone may see: not those written privately and not yet revealed
        (exports, choices and tallies read these)."""
        return self.items(workshop_id).filter(private=False)

    def link_to(self, other: Section) -> str:
        """The name by which this list's items are filtered to those linked to one item
        of `other` (a foreign key, a many-to-many or their reverse), e.g. goals ->
        data sources: "data_source"."""
        for field in self.model._meta.get_fields():
            if field.is_relation and field.related_model is other.model:
                return field.name
        raise LookupError(f"{self.key} has no link to {other.key}")

    def owns_link_to(self, other: Section) -> bool:
        """Whether editing one of this list's items can change which items of `other`
        it is linked to (the link is a field of this model, e.g. a risk's recipes)."""
        return any(field.concrete and field.is_relation and field.related_model is other.model
                   for field in self.model._meta.get_fields())


LISTS: dict[str, Section] = {
    section.key: section
    for section in (
        Section("stakeholders", "Stakeholders", "stakeholder", Stakeholder,
                forms.StakeholderForm),
        Section("interactions", "Example interactions", "interaction", ExampleInteraction,
                forms.InteractionForm),
        # A recipe card names the goal it moves.
        Section("goals", "Goals and success metrics", "goal", Goal, forms.GoalForm,
                select=("data_source",), shown_in_lists=("recipes",)),
        # Goals name their source; recipe cards and their roadmap gates show readiness.
        # A source's card shows its current sample profile (its figures, not its columns).
        Section("data_sources", "Data readiness", "data source", DataSource,
                forms.DataSourceForm, shown_in_lists=("goals", "recipes"),
                prefetch=(Prefetch("profiles", to_attr="current_profiles",
                                   queryset=DataProfile.objects.filter(current=True)
                                   .defer("columns")),)),
        # Risk cards name their recipes; the vote and each person's ballot list them.
        # (A recipe's matrix entry and roadmap card are rendered with its card: see
        # sessions/fragments.Renderer._recipe_places.)
        Section("recipes", "Recipes", "recipe", Recipe, forms.RecipeForm,
                prefetch=("data_sources", "risks"), select=("success_metric",),
                shown_in_lists=("risks",), shown_in_regions=("vote", "ballot")),
        # An open high risk gates its recipes, on their cards and on the roadmap.
        Section("risks", "Ethics and bias register", "risk", Risk, forms.RiskForm,
                prefetch=("recipes",), shown_in_lists=("recipes",)),
        Section("decisions", "Decisions", "decision", Decision, forms.DecisionForm),
        Section("action_items", "Action items", "action item", ActionItem,
                forms.ActionItemForm),
        Section("parking_lot", "Parking lot", "question", ParkingLotItem,
                forms.ParkingLotForm),
    )
}


# Lists that can be written privately (sessions.room.set_private). Goals and data
# sources are not: recipes name them in their readiness gates and choose them in their
# forms, so they are settled in the open.
PRIVATE_LISTS = tuple(key for key in LISTS if key not in ("goals", "data_sources"))


def get_section(key: str) -> Section:
    try:
        return LISTS[key]
    except KeyError:
        raise Http404("No such section.") from None
