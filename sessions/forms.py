from django import forms

from workshop.choices import Function

from .models import Participant


class JoinForm(forms.ModelForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        function = self.fields["function"]
        assert isinstance(function, forms.TypedChoiceField)
        function.choices = [("", "Choose your function…"), *Function.choices]

    class Meta:
        model = Participant
        fields = ["display_name", "function"]
        labels = {"display_name": "Your name", "function": "Your function"}
        widgets = {"display_name": forms.TextInput(attrs={"autocomplete": "name",
                                                          "autofocus": True})}


class SessionForm(forms.Form):
    title = forms.CharField(max_length=200, required=False,
                            help_text="Optional, e.g. “Sitting 2: data and ethics”.")
