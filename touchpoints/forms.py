"""Editor forms for touchpoints, pain points and opportunities."""

from typing import Any

from django import forms

from analytics.rulebuilder import map_rule_builder
from journeymap.editor_forms import EMOTION_CHOICES, RuleField, VersionedForm
from touchpoints.models import Opportunity, PainPoint, Touchpoint


class TouchpointForm(VersionedForm):
    emotion = forms.TypedChoiceField(choices=EMOTION_CHOICES, coerce=int, initial=0)
    rule = RuleField()

    class Meta:
        model = Touchpoint
        fields = ["name", "channel", "owner", "description", "emotion", "rule"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.stage is not None:  # the rule builder, with live counts over the map's datasets
            self.fields["rule"].widget = map_rule_builder(self.stage.map)


class PainPointForm(VersionedForm):
    class Meta:
        model = PainPoint
        fields = ["title", "severity", "touchpoint", "description", "evidence", "status"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "evidence": forms.Textarea(attrs={"rows": 2}),
            "severity": forms.NumberInput(attrs={"min": 1, "max": 5}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this stage's touchpoints: an id from elsewhere is refused as an invalid choice.
        self.fields["touchpoint"].queryset = self.stage.touchpoints.all()
        self.fields["title"].required = True


class OpportunityForm(VersionedForm):
    class Meta:
        model = Opportunity
        fields = ["title", "impact", "effort", "status", "owner", "pain_point", "description"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "impact": forms.NumberInput(attrs={"min": 1, "max": 5}),
            "effort": forms.NumberInput(attrs={"min": 1, "max": 5}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pain_point"].queryset = self.stage.pain_points.all()
        self.fields["title"].required = True
