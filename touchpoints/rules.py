"""The rule JSON of DESIGN §6: which analytics rows belong to a touchpoint or a persona segment.

This module validates the shape; the metrics engine (analytics/) evaluates it.
"""

import math
import re
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError

OPERATORS = ("equals", "not_equals", "in", "contains", "starts_with", "regex", "gt", "lt")

CANONICAL_FIELDS = (
    "timestamp",
    "event",
    "user_id",
    "session_id",
    "page",
    "source",
    "medium",
    "campaign",
    "channel",
    "device",
    "country",
    "revenue",
    "order_id",
)


class RuleError(ValueError):
    """A rule that does not follow DESIGN §6; `path` locates the offending part."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def parse_instant(text: str) -> datetime | None:
    """An ISO 8601 date or instant as an aware UTC datetime (naive = UTC); None if it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip())
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # not ISO, or 0001-01-01T00:00+01:00 (before year 1)
        return None


def _is_number(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)  # infinity cannot be stored as JSON, nor compared usefully
    except OverflowError:  # an int too large to compare as a float
        return False


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str) or _is_number(value)


def validate_rule(rule: Any, path: str = "rule") -> None:
    """Raise RuleError naming the JSON path of the first problem in `rule`; None is no rule."""
    if rule is None:
        return
    if not isinstance(rule, dict):
        raise RuleError(path, 'must be an object with "all" or "any", or null')
    if len(rule) != 1 or next(iter(rule)) not in ("all", "any"):
        keys = ", ".join(f'"{key}"' for key in rule) or "no key"
        raise RuleError(path, f'must have exactly one key, "all" or "any" (found {keys})')
    combinator, conditions = next(iter(rule.items()))
    path = f"{path}.{combinator}"
    if not isinstance(conditions, list):
        raise RuleError(path, "must be a list of conditions")
    for index, condition in enumerate(conditions):
        _validate_condition(condition, f"{path}[{index}]")


def _validate_condition(condition: Any, path: str) -> None:
    if not isinstance(condition, dict):
        raise RuleError(path, 'must be an object with "field", "op" and "value"')
    unknown = set(condition) - {"field", "op", "value"}
    if unknown:
        raise RuleError(f"{path}.{sorted(unknown)[0]}", "unknown key")
    for key in ("field", "op", "value"):
        if key not in condition:
            raise RuleError(f"{path}.{key}", "is required")
    field, op, value = condition["field"], condition["op"], condition["value"]
    if not isinstance(field, str) or not field.strip():
        raise RuleError(f"{path}.field", "must be a non-empty string")
    if op not in OPERATORS:
        raise RuleError(f"{path}.op", f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
    value_path = f"{path}.value"
    if op == "in":
        if not isinstance(value, list) or not all(_is_scalar(item) for item in value):
            raise RuleError(value_path, 'must be a list of strings or numbers for "in"')
    elif op == "regex":
        if not isinstance(value, str):
            raise RuleError(value_path, 'must be a string for "regex"')
        try:
            re.compile(value)
        except re.error as error:
            raise RuleError(value_path, f"is not a valid regular expression ({error})") from None
        except (OverflowError, RecursionError):  # a{99999999999}, or thousands of nested groups
            raise RuleError(value_path, "is a regular expression too large to use") from None
    elif not _is_scalar(value):
        raise RuleError(value_path, f'must be a string or a number for "{op}"')
    elif (
        field == "timestamp"
        and op in ("gt", "lt")
        and (not isinstance(value, str) or parse_instant(value) is None)
    ):
        # timestamps compare as instants, so the value must be one
        raise RuleError(
            value_path,
            f'must be an ISO 8601 date or instant for "{op}" on timestamp '
            '(e.g. "2019-10-01" or "2019-10-01T08:00:00Z")',
        )


def describe_rule(rule: dict | None) -> str:
    """A one-line human reading of a rule, for cards and lists."""
    if not rule:
        return "no rule (not measured)"
    combinator, conditions = next(iter(rule.items()))
    if not conditions:
        return "every row" if combinator == "all" else "no row"
    joiner = " and " if combinator == "all" else " or "
    parts = []
    for condition in conditions:
        value = condition["value"]
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{condition['field']} {condition['op'].replace('_', ' ')} {shown}")
    return joiner.join(parts)


def rule_validator(value: Any) -> None:
    """Model-field validator: a RuleError becomes a ValidationError with the same message."""
    try:
        validate_rule(value)
    except RuleError as error:
        raise ValidationError(str(error), code="invalid_rule") from None
