"""Shared pieces of the map editor's forms: the version they started from, JSON rule fields."""

import json
from typing import Any

from django import forms

from touchpoints.rules import RuleError, validate_rule

EMOTION_CHOICES = [
    (2, "+2 very positive"),
    (1, "+1 positive"),
    (0, "0 neutral"),
    (-1, "−1 negative"),
    (-2, "−2 very negative"),
]


class VersionedForm(forms.ModelForm):
    """A ModelForm that carries the version of the object the editor saw."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, stage: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stage = stage  # the stage a card belongs to, for forms that offer its other cards
        if self.instance.pk is not None and not self.is_bound:
            self.initial["expected_version"] = self.instance.version
        if self.instance.pk is None:
            # A new object has no version to protect.
            self.fields["expected_version"].required = False


class RuleField(forms.CharField):
    """A rule (DESIGN §6) typed as JSON; empty means no rule."""

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            'JSON, e.g. {"all": [{"field": "event", "op": "equals", "value": "purchase"}]}. '
            "Empty: not measured.",
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value).strip()
        if not text or text == "null":
            return None
        try:
            rule = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"Not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
            ) from None
        try:
            validate_rule(rule)
        except RuleError as error:
            raise forms.ValidationError(str(error)) from None
        return rule
