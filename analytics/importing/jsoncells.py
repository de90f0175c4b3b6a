"""Cells holding JSON (PostHog `properties`, GA4 BigQuery records, Mixpanel lines), flattened.

A JSON object becomes dotted keys (`device.category`); GA4's `event_params` list of
`{"key": ..., "value": {"string_value": ...}}` becomes one key per parameter
(`event_params.ga_session_id`). Keys of a column named `properties` are kept bare (`$browser`),
as Mixpanel and PostHog users know them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

GA4_VALUE_KEYS = ("string_value", "int_value", "float_value", "double_value")


def parse_cell(text: str) -> Any:
    """The JSON value of a cell, or None when it is empty or not JSON."""
    if not text or text[0] not in "{[":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def is_json_column(values: Iterable[str]) -> bool:
    """Whether most non-empty values of a column are JSON objects or lists."""
    present = [value for value in values if value and value.strip()]
    if not present:
        return False
    parsed = sum(1 for value in present[:200] if isinstance(parse_cell(value.strip()), dict | list))
    return parsed >= 0.9 * min(len(present), 200)


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _ga4_param_value(value: Any) -> Any:
    if isinstance(value, dict):
        for key in GA4_VALUE_KEYS:
            if value.get(key) is not None:
                return value[key]
        return None
    return value


def flatten(value: Any, prefix: str) -> dict[str, Any]:
    """Dotted keys → scalar values of a parsed JSON cell."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, inner in value.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(inner, dict) or (isinstance(inner, list) and _is_key_value_list(inner)):
                out.update(flatten(inner, name))
            else:
                out[name] = _scalar(inner)
    elif isinstance(value, list) and _is_key_value_list(value):
        for item in value:
            out[f"{prefix}.{item['key']}"] = _scalar(_ga4_param_value(item.get("value")))
    elif value is not None:
        out[prefix] = _scalar(value)
    return out


def _is_key_value_list(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "key" in item for item in items)


def extra_key(column: str, dotted: str) -> str:
    """The extra-property name of a flattened key: bare for a `properties` column."""
    if column.lower() == "properties" and dotted.startswith(column + "."):
        return dotted[len(column) + 1 :]
    return dotted


def sample_keys(column: str, values: Iterable[str]) -> list[str]:
    """The dotted keys seen in a JSON column's sample, in the order first seen."""
    keys: dict[str, None] = {}
    for value in values:
        keys.update(dict.fromkeys(flatten(parse_cell(value.strip()) if value else None, column)))
    return list(keys)
