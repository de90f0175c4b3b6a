"""Rules (DESIGN §6) evaluated on a pandas DataFrame of events: one boolean per row.

The frame's columns are named by rule field (`event`, `page`, `revenue`, `timestamp`, an extra
property, ...). Text columns may be categorical (what `analytics.loading` builds) or plain strings;
`timestamp` is datetime64 (UTC); `revenue` is a float column. A field the frame lacks is the empty
string on every row.

Every text operation is evaluated once per distinct value of the column and spread to the rows
through the category codes, so the cost grows with the number of distinct values, not of rows, and
the semantics are exactly Python's (`str.lower`, `re.search`) on each value.

Exact semantics, beyond DESIGN §6:
- a cell's text: strings as stored, missing/None as ""; a float cell (`revenue`) as its shortest
  round-trip form without a trailing ".0" (25.0 → "25", 7.5 → "7.5"); a `timestamp` cell as ISO 8601
  UTC with a "Z", microseconds only when non-zero ("2019-10-01T08:00:00Z").
- a cell "is a number" when its text, trimmed, is a finite decimal (`7`, `-7.50`, `.5`, `1e3`);
  "nan", "inf", "1_000" or "0x10" are not numbers.
- a number value with `equals`, `not_equals`, `gt`, `lt` (and as an `in` element) compares
  numerically and never matches a cell that is not a number (not even `not_equals`); with
  `contains` and `starts_with` it is used as its text (7.0 → "7").
- `gt`/`lt` with a string value compare lower-cased text, and never match the empty string; on
  `timestamp` they compare instants (the value parsed as an ISO 8601 date or instant, naive = UTC).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from touchpoints.rules import parse_instant

NUMBER_RE = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$")

CellTest = Callable[[str], bool]


def rule_fields(rule: dict | None) -> set[str]:
    """The fields a rule reads (empty for no rule)."""
    if not rule:
        return set()
    _, conditions = next(iter(rule.items()))
    return {condition["field"] for condition in conditions}


def rule_mask(
    rule: dict | None, frame: pd.DataFrame, known: dict[str, np.ndarray] | None = None
) -> np.ndarray:
    """Which rows of `frame` match `rule` (a valid rule; None matches nothing).

    `known`, when given, keeps each condition's mask by the condition (`condition_key`), for the
    other rules tested on the same frame: touchpoint rules repeat conditions (`event` equals
    "purchase" ...), and each one reads a whole column.
    """
    rows = len(frame)
    if rule is None:
        return np.zeros(rows, dtype=bool)
    combinator, conditions = next(iter(rule.items()))
    if combinator == "all":
        mask = np.ones(rows, dtype=bool)
        for condition in conditions:
            mask &= _known_condition_mask(condition, frame, known)
    else:
        mask = np.zeros(rows, dtype=bool)
        for condition in conditions:
            mask |= _known_condition_mask(condition, frame, known)
    return mask


def any_rule_mask(
    rules: Iterable[dict | None],
    frame: pd.DataFrame,
    known: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Rows that match at least one of `rules` (a stage's events: any touchpoint's rule)."""
    mask = np.zeros(len(frame), dtype=bool)
    for rule in rules:
        if rule is not None:
            mask |= rule_mask(rule, frame, known)
    return mask


def condition_key(condition: dict) -> str:
    """A condition as text: equal for equal conditions (7.5 and "7.5" differ, as they test)."""
    return json.dumps(
        [condition["field"], condition["op"], condition["value"]], separators=(",", ":")
    )


def _known_condition_mask(
    condition: dict, frame: pd.DataFrame, known: dict[str, np.ndarray] | None
) -> np.ndarray:
    if known is None:
        return condition_mask(condition, frame)
    key = condition_key(condition)
    if key not in known:
        known[key] = condition_mask(condition, frame)
    return known[key]


def condition_mask(condition: dict, frame: pd.DataFrame) -> np.ndarray:
    """Which rows match one condition {"field", "op", "value"}."""
    field, op, value = condition["field"], condition["op"], condition["value"]
    if field not in frame.columns:
        return np.full(len(frame), cell_test(op, value)(""), dtype=bool)
    column = frame[field]
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        column.dtype
    ):
        return _datetime_mask(column, op, value)
    if pd.api.types.is_float_dtype(column.dtype) or (
        pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    ):
        return _numeric_mask(column, op, value)
    return _text_mask(column, cell_test(op, value))


# --- one cell ---------------------------------------------------------------------------------


def cell_test(op: str, value: Any) -> CellTest:
    """The test of one condition on one cell's text (the reference semantics of §6)."""
    if op == "in":
        tests = [cell_test("equals", item) for item in value]
        return lambda cell: any(test(cell) for test in tests)
    if is_number(value):
        number = float(value)
        if op in ("contains", "starts_with"):
            return cell_test(op, number_text(number))
        compare = {
            "equals": lambda a: a == number,
            "not_equals": lambda a: a != number,
            "gt": lambda a: a > number,
            "lt": lambda a: a < number,
        }[op]

        def numeric(cell: str) -> bool:
            parsed = as_number(cell)
            return parsed is not None and compare(parsed)

        return numeric
    text = value.lower()
    if op == "equals":
        return lambda cell: cell.lower() == text
    if op == "not_equals":
        return lambda cell: cell.lower() != text
    if op == "contains":
        return lambda cell: text in cell.lower()
    if op == "starts_with":
        return lambda cell: cell.lower().startswith(text)
    if op == "regex":
        pattern = re.compile(value, re.IGNORECASE)
        return lambda cell: pattern.search(cell) is not None
    if op == "gt":
        return lambda cell: cell != "" and cell.lower() > text
    if op == "lt":
        return lambda cell: cell != "" and cell.lower() < text
    raise ValueError(f"unknown operator {op!r}")


def is_number(value: Any) -> bool:
    """A JSON number (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_number(text: str) -> float | None:
    """The number a cell's text spells, or None when it is not a finite decimal number."""
    if not NUMBER_RE.match(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def number_text(number: float) -> str:
    """A number as text: integral values without ".0" (25.0 → "25"), others in shortest form."""
    if math.isnan(number):
        return ""
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(float(number))


def instant_text(moment: datetime) -> str:
    """An instant as ISO 8601 UTC with a "Z", microseconds only when non-zero."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


# --- whole columns ----------------------------------------------------------------------------


def _text_mask(column: pd.Series, test: CellTest) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        uniques = column.cat.categories
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    if pd.api.types.infer_dtype(uniques, skipna=False) != "string":
        uniques = [_cell_text(unique) for unique in uniques]
    table = np.fromiter(map(test, uniques), dtype=bool, count=len(uniques))
    # code -1 (a missing value) takes the answer for the empty string, stored after the uniques
    table = np.append(table, test(""))
    return table[codes]


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        return number_text(float(value))
    if isinstance(value, datetime):
        return instant_text(value if value.tzinfo else value.replace(tzinfo=UTC))
    return str(value)


def _numeric_mask(column: pd.Series, op: str, value: Any) -> np.ndarray:
    numbers = column.to_numpy(dtype=float, na_value=np.nan)
    if op == "in":
        mask = np.zeros(len(numbers), dtype=bool)
        for item in value:
            mask |= _numeric_mask(column, "equals", item)
        return mask
    if is_number(value) and op in ("equals", "not_equals", "gt", "lt"):
        number = float(value)
        present = ~np.isnan(numbers)
        with np.errstate(invalid="ignore"):
            compared = {
                "equals": numbers == number,
                "not_equals": numbers != number,
                "gt": numbers > number,
                "lt": numbers < number,
            }[op]
        return present & compared
    return _text_mask(column, cell_test(op, value))


def _datetime_mask(column: pd.Series, op: str, value: Any) -> np.ndarray:
    if op == "in":
        mask = np.zeros(len(column), dtype=bool)
        for item in value:
            mask |= _datetime_mask(column, "equals", item)
        return mask
    if op in ("gt", "lt") and isinstance(value, str):
        moment = parse_instant(value)
        if moment is None:
            return np.zeros(len(column), dtype=bool)
        instants = _utc_micros(column)
        bound = _micros(moment)
        present = instants != np.iinfo(np.int64).min  # NaT
        return present & (instants > bound if op == "gt" else instants < bound)
    return _text_mask(_instant_texts(column), cell_test(op, value))


def _utc_micros(column: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(_as_utc(column)).as_unit("us").asi8


def _micros(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _instant_texts(column: pd.Series) -> pd.Series:
    """Each instant's text (see instant_text), computed once per distinct instant."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    texts = [instant_text(moment.to_pydatetime()) for moment in _as_utc(pd.Series(uniques))]
    categories = pd.Index([*texts, ""]).unique()
    positions = categories.get_indexer([*texts, ""])
    return pd.Series(pd.Categorical.from_codes(positions[codes], categories=categories))


def _as_utc(values: pd.Series) -> pd.Series:
    if values.dt.tz is None:
        return values.dt.tz_localize(UTC)
    return values.dt.tz_convert(UTC)
