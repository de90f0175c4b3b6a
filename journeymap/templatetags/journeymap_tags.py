"""Small display helpers for map pages."""

import json
from typing import Any

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse

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


# URL name, its non-id arguments, the script prefix and URLconf → the URL with "{}" for each id.
_ID_URL_FORMATS: dict[tuple, str | None] = {}
_ID_SENTINEL = 9_137_000_000  # ids in a URL pattern are <int:...>: reversed as these, then cut out


@register.simple_tag
def id_url(name: str, *args: Any) -> str:
    """`{% url %}` for the map editor's hundreds of per-stage and per-card links: each URL name
    with the same non-id arguments is reversed once per process, then the ids are formatted in."""
    shape = tuple(None if isinstance(arg, int) else arg for arg in args)
    key = (name, shape, get_script_prefix(), get_urlconf())
    ids = [arg for arg in args if isinstance(arg, int)]
    if key not in _ID_URL_FORMATS:
        _ID_URL_FORMATS[key] = _id_url_format(name, args)
    url_format = _ID_URL_FORMATS[key]
    if url_format is None:  # a URL this shortcut cannot take apart: reverse it every time
        return reverse(name, args=args)
    return url_format.format(*ids)


def _id_url_format(name: str, args: tuple) -> str | None:
    sentinels, reversal_args = [], []
    for arg in args:
        if isinstance(arg, int):
            sentinels.append(str(_ID_SENTINEL + len(sentinels)))
            reversal_args.append(sentinels[-1])
        else:
            reversal_args.append(arg)
    url = reverse(name, args=reversal_args)
    if "{" in url or "}" in url or any(url.count(sentinel) != 1 for sentinel in sentinels):
        return None
    for sentinel in sentinels:
        url = url.replace(sentinel, "{}")
    return url
