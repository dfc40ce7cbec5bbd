"""Validation of everything a person types on the board."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from .methods import all_methods
from .models import (
    LONG,
    NAME,
    ActionItem,
    AgendaPhase,
    DataSource,
    Decision,
    ExampleInteraction,
    Goal,
    NorthStar,
    ParkingLotItem,
    Recipe,
    Risk,
    Stakeholder,
    Workshop,
)


class BoardItemForm(forms.ModelForm):
    """A form for one board item, its choices limited to the same workshop."""

    def __init__(self, *args, workshop: Workshop, **kwargs):
        super().__init__(*args, **kwargs)
        self.workshop = workshop
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
                # Items written privately cannot be linked until they are revealed:
                # their names would show on the linking item's card.
                field.queryset = field.queryset.filter(workshop=workshop, private=False)
            if isinstance(field.widget, forms.Textarea):
                field.widget.attrs.setdefault("rows", 3)


class NorthStarForm(BoardItemForm):
    class Meta:
        model = NorthStar
        fields = ["objective", "scope_level", "why_now", "start_area"]


class StakeholderForm(BoardItemForm):
    class Meta:
        model = Stakeholder
        fields = ["name", "function", "internal_customer", "influence", "desired_outcome",
                  "concerns"]


class InteractionForm(BoardItemForm):
    class Meta:
        model = ExampleInteraction
        fields = ["what", "where_seen", "sentiment", "pattern"]


class GoalForm(BoardItemForm):
    class Meta:
        model = Goal
        fields = ["metric", "baseline", "target", "timeframe", "data_source"]


class DataSourceForm(BoardItemForm):
    class Meta:
        model = DataSource
        fields = ["name", "system_of_record", "party", "consent_basis", "owner",
                  *DataSource.ASSESSMENT, "notes", "evidence"]


class RecipeForm(BoardItemForm):
    class Meta:
        model = Recipe
        fields = ["title", "segment", "context", "action", "touchpoint", "content_model", "kind",
                  "data_sources", "success_metric", "impact", "effort"]
        widgets = {
            "data_sources": forms.CheckboxSelectMultiple,
            "impact": forms.NumberInput(attrs={"min": 1, "max": 5}),
            "effort": forms.NumberInput(attrs={"min": 1, "max": 5}),
        }


class RoadmapForm(BoardItemForm):
    """Where a recipe goes on the roadmap. For a facilitator placing a gated recipe, the
    override is offered in the same form, so a refusal is answered where it happens."""

    override_reason = forms.CharField(
        label="Why it goes ahead anyway", max_length=LONG, required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only needed to put it in “now” while its readiness gate is not met; "
                  "recorded as the facilitator's override.",
    )

    class Meta:
        model = Recipe
        fields = ["phase", "owner", "exit_metric", "dependencies"]

    def __init__(self, *args, offer_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not offer_override:
            del self.fields["override_reason"]

    def placement(self) -> tuple[dict, str]:
        """The recipe's new place, and the override reason typed (or "")."""
        data = dict(self.cleaned_data)
        return data, data.pop("override_reason", "").strip()


class GateOverrideForm(forms.Form):
    reason = forms.CharField(
        max_length=LONG,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this recipe goes ahead although its readiness gate is not met.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Write down why the gate is overridden.")
        return reason


class RiskForm(BoardItemForm):
    class Meta:
        model = Risk
        fields = ["risk", "category", "affected", "intent", "likelihood", "severity", "action",
                  "mitigation", "user_control", "owner", "status", "recipes"]
        widgets = {
            "recipes": forms.CheckboxSelectMultiple,
            "likelihood": forms.NumberInput(attrs={"min": 1, "max": 5}),
            "severity": forms.NumberInput(attrs={"min": 1, "max": 5}),
        }


class DecisionForm(BoardItemForm):
    class Meta:
        model = Decision
        fields = ["decision", "rationale"]


class ActionItemForm(BoardItemForm):
    class Meta:
        model = ActionItem
        fields = ["action", "owner", "due_date", "done"]
        widgets = {"due_date": forms.DateInput(attrs={"type": "date"})}


class ParkingLotForm(BoardItemForm):
    class Meta:
        model = ParkingLotItem
        fields = ["question", "notes"]


class PhaseForm(forms.ModelForm):
    class Meta:
        model = AgendaPhase
        fields = ["minutes", "skipped"]
        widgets = {"minutes": forms.NumberInput(attrs={"min": 1, "max": 480})}


class RenameForm(forms.ModelForm):
    """A workshop's name and organisation, as its board, sessions and roadmap show them."""

    class Meta:
        model = Workshop
        fields = ["title", "organisation"]


class WorkshopForm(forms.ModelForm):
    method = forms.ChoiceField(label="Template", choices=())

    class Meta:
        model = Workshop
        fields = ["title", "organisation", "method"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        method = self.fields["method"]
        assert isinstance(method, forms.ChoiceField)
        method.choices = [(m.key, m.title) for m in all_methods().values()]


def name_field(label: str = "Your name, as the room sees it") -> forms.CharField:
    return forms.CharField(
        label=label, max_length=NAME, required=False,
        help_text="Shown on boards, on the overrides you record and on the roadmap's "
                  "cover. Leave it blank to go by your username.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}))


class SignupForm(UserCreationForm):
    display_name = name_field()

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.first_name = self.cleaned_data["display_name"]
        if commit:
            user.save()
        return user


class FacilitatorNameForm(forms.Form):
    display_name = name_field("Display name")
