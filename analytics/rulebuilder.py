"""The rule builder (DESIGN §6, §9): rows of field, operator and value over the rule's JSON.

The JSON textarea stays the field that is submitted (the no-JavaScript and "advanced" view);
static/js/rulebuilder.js draws the rows from it and writes them back into it, and htmx posts it to
a preview endpoint on every change, which answers with the live counts (analytics.rulepreview).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.urls import reverse

from analytics.models import AggregateRow, Dataset, DatasetKind, Event
from touchpoints.rules import CANONICAL_FIELDS, OPERATORS

OPERATOR_LABELS = {
    "equals": "equals",
    "not_equals": "does not equal",
    "in": "is one of",
    "contains": "contains",
    "starts_with": "starts with",
    "regex": "matches regex",
    "gt": "is greater than",
    "lt": "is less than",
}
SAMPLED_ROWS = 500  # rows per dataset whose extra properties name the fields offered


def extra_fields(datasets: Iterable[Dataset]) -> list[str]:
    """The extra properties found in the datasets: columns mapped to "extra", and the keys of the
    first rows' properties (and the dimensions of report rows), in the order first seen."""
    keys: dict[str, None] = {}
    for dataset in datasets:
        keys.update(
            dict.fromkeys(
                c for c, target in (dataset.column_mapping or {}).items() if target == "extra"
            )
        )
        if dataset.kind == DatasetKind.AGGREGATE:
            rows = AggregateRow.objects.filter(dataset=dataset).values_list("dimensions", flat=True)
        else:
            rows = Event.objects.filter(dataset=dataset, extra__isnull=False).values_list(
                "extra", flat=True
            )
        for properties in rows[:SAMPLED_ROWS]:
            if isinstance(properties, dict):
                keys.update(dict.fromkeys(properties))
    return [key for key in keys if key and key not in CANONICAL_FIELDS]


def field_options(datasets: Iterable[Dataset]) -> list[dict[str, str]]:
    """The fields a rule may test: the canonical ones, then the datasets' extra properties."""
    return [
        *({"value": name, "group": "canonical"} for name in CANONICAL_FIELDS),
        *({"value": name, "group": "extra"} for name in extra_fields(datasets)),
    ]


class RuleBuilderWidget(forms.Textarea):
    """The rule's JSON textarea inside the builder, which previews what the rule matches."""

    template_name = "analytics/widgets/rule_builder.html"

    def __init__(
        self,
        *,
        preview_url: str,
        datasets: Callable[[], Iterable[Dataset]],
        subject: str = "touchpoint",
        attrs: dict[str, Any] | None = None,
    ) -> None:
        base = {"rows": 4, "spellcheck": "false", "class": "mono"}
        super().__init__(attrs={**base, **(attrs or {})})
        self.preview_url = preview_url
        self.datasets = datasets  # called when drawn, so that a POST that saves reads nothing
        self.subject = subject

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["builder"] = {
            "preview_url": self.preview_url,
            "field_name": name,
            "subject": self.subject,
            "fields_json": json.dumps(field_options(self.datasets())),
            "operators_json": json.dumps(
                [{"value": op, "label": OPERATOR_LABELS[op]} for op in OPERATORS]
            ),
        }
        return context


def map_rule_builder(journey_map: Any) -> RuleBuilderWidget:
    """The builder of a touchpoint rule: fields and previews over the map's datasets."""
    url = reverse(
        "rule_preview", kwargs={"workspace": journey_map.workspace.slug, "slug": journey_map.slug}
    )
    return RuleBuilderWidget(
        preview_url=url, datasets=lambda: journey_map.datasets.order_by("pk"), subject="touchpoint"
    )


def segment_rule_builder(persona: Any) -> RuleBuilderWidget:
    """The builder of a persona's segment: fields and previews over its workspace's datasets."""
    url = reverse("segment_preview", kwargs={"workspace": persona.workspace.slug, "pk": persona.pk})
    return RuleBuilderWidget(
        preview_url=url,
        datasets=lambda: Dataset.objects.ready().filter(workspace_id=persona.workspace_id),
        subject="persona",
        attrs={"rows": 8, "class": "code"},
    )
