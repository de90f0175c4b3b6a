"""Editor forms for a stage (one per lane it appears in) and its KPIs."""

from functools import cache

from django import forms

from journeymap.editor_forms import EMOTION_CHOICES, VersionedForm
from stages.models import Stage, StageKPI

# Which stage fields each lane of the editor edits.
STAGE_PARTS: dict[str, list[str]] = {
    "head": ["name", "kind"],
    "goal": ["customer_goal", "description"],
    "actions": ["actions"],
    "thoughts": ["thoughts"],
    "feelings": ["feelings"],
    "emotion": ["emotion"],
}

_TEXTAREA = forms.Textarea(attrs={"rows": 3})


class StageEmotionForm(VersionedForm):
    emotion = forms.TypedChoiceField(choices=EMOTION_CHOICES, coerce=int)

    class Meta:
        model = Stage
        fields = ["emotion"]


@cache  # a class per lane, built once: each save in place used to build its own
def stage_form_class(part: str) -> type[VersionedForm]:
    """The form for one lane of a stage."""
    if part == "emotion":
        return StageEmotionForm
    return forms.modelform_factory(
        Stage,
        form=VersionedForm,
        fields=STAGE_PARTS[part],
        widgets={name: _TEXTAREA for name in STAGE_PARTS[part] if name not in ("name", "kind")},
    )


class StageKPIForm(VersionedForm):
    class Meta:
        model = StageKPI
        fields = ["metric", "target", "direction"]
        widgets = {"target": forms.NumberInput(attrs={"step": "any"})}
