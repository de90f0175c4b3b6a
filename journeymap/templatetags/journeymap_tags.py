"""Small display helpers for map pages."""

import json
from typing import Any

from django import template

from touchpoints.rules import describe_rule

register = template.Library()

EMOTION_WORDS = {
    -2: "very negative",
    -1: "negative",
    0: "neutral",
    1: "positive",
    2: "very positive",
}


@register.filter
def emotion_label(score: int) -> str:
    """'+1 positive', '−2 very negative', '0 neutral'."""
    sign = "+" if score > 0 else "−" if score < 0 else ""
    return f"{sign}{abs(score)} {EMOTION_WORDS.get(score, '')}".strip()


@register.filter
def dom_id(obj: Any, prefix: str) -> str:
    """The element id of an object on the page: `touchpoint|dom_id:"touchpoint"` → touchpoint-12."""
    return f"{prefix}-{obj.pk}"


@register.filter
def shown_value(obj: Any, field_name: str) -> str:
    """A field of an object as a person reads it (the label of a choice, '—' for nothing)."""
    display = getattr(obj, f"get_{field_name}_display", None)
    value = display() if callable(display) else getattr(obj, field_name, "")
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@register.filter
def rule_summary(rule: dict | None) -> str:
    """A rule in one readable line."""
    return describe_rule(rule)


@register.filter
def open_comments(counts: dict | None, key: str) -> int:
    """The open comments on a stage or card: `comment_counts|open_comments:"touchpoint-12"`."""
    return (counts or {}).get(key, 0)
