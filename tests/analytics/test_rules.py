"""Rules (DESIGN §6) evaluated on a DataFrame of events: every operator and its edge cases."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from analytics.rules import (
    any_rule_mask,
    as_number,
    instant_text,
    number_text,
    rule_fields,
    rule_mask,
)
from touchpoints.rules import RuleError, validate_rule

ROWS = [
    # event, page, plan (an extra property), revenue, timestamp
    ("page_view", "/Home", "Pro", 0.0, "2019-10-01T00:00:00Z"),
    ("PURCHASE", "/checkout/done", "7.50", 25.0, "2019-10-01T08:00:00.000001Z"),
    ("purchase", "/checkout/Done", "7.5", 7.5, "2019-10-02T00:00:00Z"),
    ("view_item", "", "", 0.0, "2019-10-03T12:30:00+02:00"),
    ("add_to_cart", "/p/12", "abc", 0.0, "2019-10-04T00:00:00Z"),
]


def frame(categorical: bool = True) -> pd.DataFrame:
    """The ROWS as the loader builds them (categoricals), or as plain string columns."""
    events, pages, plans, revenue, times = zip(*ROWS, strict=True)
    text = (lambda values: pd.Categorical(values)) if categorical else list
    return pd.DataFrame(
        {
            "event": text(events),
            "page": text(pages),
            "plan": text(plans),
            "revenue": np.array(revenue, dtype=float),
            "timestamp": pd.to_datetime(list(times), format="ISO8601", utc=True),
        }
    )


def matches(field: str, op: str, value: object, *, categorical: bool = True) -> list[int]:
    """The indexes of the ROWS matching one condition (validated first, as a saved rule is)."""
    rule = {"all": [{"field": field, "op": op, "value": value}]}
    validate_rule(rule)
    mask = rule_mask(rule, frame(categorical))
    assert mask.dtype == bool and mask.shape == (len(ROWS),)
    return np.flatnonzero(mask).tolist()


@pytest.mark.parametrize("categorical", [True, False], ids=["categorical", "plain"])
@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        # text comparisons are case-insensitive
        ("event", "equals", "purchase", [1, 2]),
        ("event", "equals", "Purchase", [1, 2]),
        ("event", "not_equals", "PURCHASE", [0, 3, 4]),
        ("page", "contains", "CHECKOUT", [1, 2]),
        ("page", "starts_with", "/checkout/d", [1, 2]),
        ("page", "starts_with", "checkout", []),
        # an empty value is the empty string: equals "" and not_equals "x" match it
        ("page", "equals", "", [3]),
        ("page", "not_equals", "/home", [1, 2, 3, 4]),
        ("page", "contains", "", [0, 1, 2, 3, 4]),
        ("page", "starts_with", "", [0, 1, 2, 3, 4]),
        # gt/lt on text compare lower-cased text and never match the empty string
        ("page", "gt", "/c", [0, 1, 2, 4]),
        ("page", "lt", "/d", [1, 2]),
        ("page", "lt", "zzz", [0, 1, 2, 4]),
        ("event", "gt", "PAGE_VIEW", [1, 2, 3]),
        # regex: case-insensitive search anywhere, not a full match
        ("page", "regex", r"/p/\d+", [4]),
        ("page", "regex", "DONE$", [1, 2]),
        ("page", "regex", "^$", [3]),
        ("page", "regex", "x*", [0, 1, 2, 3, 4]),
        ("event", "regex", "^purchase", [1, 2]),
        # in: any of the list, each element by its own type rule
        ("event", "in", ["Purchase", "view_item"], [1, 2, 3]),
        ("event", "in", [], []),
        ("plan", "in", [7.5, "pro"], [0, 1, 2]),
        ("page", "in", [""], [3]),
        # a JSON number compares numerically; a cell that is not a number never matches
        ("plan", "equals", 7.5, [1, 2]),
        ("plan", "equals", "7.5", [2]),  # a JSON string compares as text
        ("plan", "not_equals", 7.5, []),  # "Pro", "", "abc" are not numbers
        ("plan", "gt", 7, [1, 2]),
        ("plan", "lt", 7.5, []),
        ("plan", "lt", 8, [1, 2]),
        ("plan", "contains", 7.5, [1, 2]),  # as text "7.5"
        # a missing column is the empty string on every row
        ("coupon", "equals", "", [0, 1, 2, 3, 4]),
        ("coupon", "not_equals", "x", [0, 1, 2, 3, 4]),
        ("coupon", "equals", "x", []),
        ("coupon", "gt", "", []),
        ("coupon", "lt", "z", []),
        ("coupon", "gt", 0, []),
        ("coupon", "not_equals", 0, []),
        ("coupon", "regex", "^$", [0, 1, 2, 3, 4]),
        ("coupon", "in", ["", "x"], [0, 1, 2, 3, 4]),
        # revenue is the canonical revenue, a number
        ("revenue", "gt", 0, [1, 2]),
        ("revenue", "gt", 7.5, [1]),
        ("revenue", "lt", 7.5, [0, 3, 4]),
        ("revenue", "equals", 7.5, [2]),
        ("revenue", "equals", 25, [1]),
        ("revenue", "not_equals", 0, [1, 2]),
        ("revenue", "in", [25, "7.5"], [1, 2]),
        ("revenue", "equals", "25", [1]),  # as text: 25.0 reads "25"
        ("revenue", "starts_with", "7.", [2]),
        ("revenue", "equals", "", []),  # 0 is a number, not an empty value
        # timestamp: gt/lt compare instants (naive = UTC, offsets converted, a date = midnight)
        ("timestamp", "gt", "2019-10-01T08:00:00Z", [1, 2, 3, 4]),
        ("timestamp", "gt", "2019-10-01T08:00:00.000001Z", [2, 3, 4]),
        ("timestamp", "lt", "2019-10-02", [0, 1]),
        ("timestamp", "lt", "2019-10-02T00:00:00", [0, 1]),
        ("timestamp", "gt", "2019-10-02T02:00:00+02:00", [3, 4]),  # strictly after
        ("timestamp", "gt", "2019-10-02T01:59:59+02:00", [2, 3, 4]),
        ("timestamp", "lt", "2019-10-03T10:30:00.000001Z", [0, 1, 2, 3]),
        ("timestamp", "lt", "2019-10-03T10:30:00Z", [0, 1, 2]),
        # other operators read a timestamp as ISO 8601 UTC text with a Z
        ("timestamp", "equals", "2019-10-03T10:30:00Z", [3]),
        ("timestamp", "equals", "2019-10-01T08:00:00.000001z", [1]),
        ("timestamp", "starts_with", "2019-10-0", [0, 1, 2, 3, 4]),
        ("timestamp", "contains", "T00:00:00Z", [0, 2, 4]),
        ("timestamp", "in", ["2019-10-04T00:00:00Z", "x"], [4]),
        ("timestamp", "equals", 5, []),  # not a number
    ],
)
def test_one_condition(field, op, value, expected, categorical):
    assert matches(field, op, value, categorical=categorical) == expected


def test_all_needs_every_condition_and_any_one_of_them():
    conditions = [
        {"field": "event", "op": "equals", "value": "purchase"},
        {"field": "revenue", "op": "gt", "value": 10},
    ]
    assert np.flatnonzero(rule_mask({"all": conditions}, frame())).tolist() == [1]
    assert np.flatnonzero(rule_mask({"any": conditions}, frame())).tolist() == [1, 2]


def test_all_of_nothing_matches_every_row_and_any_of_nothing_none():
    assert rule_mask({"all": []}, frame()).tolist() == [True] * 5
    assert rule_mask({"any": []}, frame()).tolist() == [False] * 5
    assert rule_mask(None, frame()).tolist() == [False] * 5


def test_a_stage_matches_rows_of_any_of_its_touchpoints_rules():
    rules = [
        {"all": [{"field": "event", "op": "equals", "value": "page_view"}]},
        None,
        {"all": [{"field": "page", "op": "regex", "value": r"^/p/"}]},
    ]
    assert np.flatnonzero(any_rule_mask(rules, frame())).tolist() == [0, 4]
    assert any_rule_mask([], frame()).tolist() == [False] * 5


def test_missing_values_in_a_text_column_are_the_empty_string():
    events = pd.DataFrame({"plan": pd.Series(["a", None, np.nan], dtype=object)})
    rule = {"all": [{"field": "plan", "op": "equals", "value": ""}]}
    assert rule_mask(rule, events).tolist() == [False, True, True]
    rule = {"all": [{"field": "plan", "op": "not_equals", "value": "a"}]}
    assert rule_mask(rule, events).tolist() == [False, True, True]


def test_an_empty_frame_gives_an_empty_mask():
    empty = frame().iloc[:0]
    assert rule_mask({"all": []}, empty).tolist() == []
    rule = {"all": [{"field": "page", "op": "regex", "value": "a"}]}
    assert rule_mask(rule, empty).tolist() == []


def test_regex_is_pythons_re_search_with_ignorecase():
    events = pd.DataFrame({"page": pd.Categorical(["/ÄBC", "/äbc", "/x"])})
    rule = {"all": [{"field": "page", "op": "regex", "value": "ä"}]}
    assert rule_mask(rule, events).tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("7.50", 7.5),
        (" 7.5 ", 7.5),
        ("-3", -3.0),
        ("+.5", 0.5),
        ("1e3", 1000.0),
        ("7.", 7.0),
        ("", None),
        ("abc", None),
        ("nan", None),
        ("inf", None),
        ("1_000", None),
        ("0x10", None),
        ("1e999", None),
        ("7,5", None),
    ],
)
def test_which_cells_are_numbers(text, number):
    assert as_number(text) == number


@pytest.mark.parametrize(
    ("number", "text"),
    [(25.0, "25"), (7.5, "7.5"), (0.0, "0"), (-0.0, "0"), (0.1 + 0.2, "0.30000000000000004")],
)
def test_how_numbers_read_as_text(number, text):
    assert number_text(number) == text


def test_instants_read_as_utc_with_a_z():
    assert instant_text(datetime(2019, 10, 31, 23, 59, 59, 1, tzinfo=UTC)) == (
        "2019-10-31T23:59:59.000001Z"
    )
    assert instant_text(datetime(2019, 10, 1, tzinfo=UTC)) == "2019-10-01T00:00:00Z"


def test_the_fields_a_rule_reads():
    rule = {
        "any": [
            {"field": "event", "op": "equals", "value": "a"},
            {"field": "plan", "op": "in", "value": ["x"]},
            {"field": "event", "op": "contains", "value": "b"},
        ]
    }
    assert rule_fields(rule) == {"event", "plan"}
    assert rule_fields(None) == set()
    assert rule_fields({"all": []}) == set()


@pytest.mark.parametrize(
    "value", ["yesterday", "2019-13-01", "", 1569888000, "01/10/2019"], ids=repr
)
@pytest.mark.parametrize("op", ["gt", "lt"])
def test_a_timestamp_bound_that_is_not_an_instant_is_refused_when_saved(op, value):
    with pytest.raises(RuleError) as caught:
        validate_rule({"all": [{"field": "timestamp", "op": op, "value": value}]})
    assert caught.value.path == "rule.all[0].value"
    assert "ISO 8601 date or instant" in caught.value.message


def test_other_timestamp_conditions_and_other_fields_stay_free_text():
    validate_rule({"all": [{"field": "timestamp", "op": "equals", "value": "yesterday"}]})
    validate_rule({"all": [{"field": "signup", "op": "gt", "value": "yesterday"}]})


def test_rules_sharing_their_condition_masks_match_the_same_rows_as_alone():
    # a stage's rules (and the next stages') reuse the masks of the conditions they repeat; only
    # conditions written the same share one (7.5 and "7.5" are not the same condition)
    def condition(field: str, op: str, value: object) -> dict:
        return {"field": field, "op": op, "value": value}

    rules = [
        {"all": [condition("event", "equals", "purchase"), condition("plan", "equals", 7.5)]},
        {"all": [condition("event", "equals", "purchase"), condition("plan", "equals", "7.5")]},
        {"any": [condition("plan", "equals", "7.5"), condition("revenue", "gt", 20)]},
        {"all": [condition("revenue", "gt", 20), condition("page", "contains", "done")]},
        {"any": [condition("plan", "in", ["Pro", 7.5]), condition("event", "equals", "purchase")]},
        {"all": []},
        {"any": []},
    ]
    events = frame()
    known: dict[str, np.ndarray] = {}
    shared = [rule_mask(rule, events, known).tolist() for rule in rules]
    assert shared == [rule_mask(rule, events).tolist() for rule in rules]
    assert shared[:3] == [
        [False, True, True, False, False],  # "7.50" and "7.5" equal the number 7.5
        [False, False, True, False, False],  # only "7.5" equals the text "7.5"
        [False, True, True, False, False],
    ]
    assert len(known) == 6  # the distinct conditions, each tested once
    assert any_rule_mask(rules[:2], events, known).tolist() == [False, True, True, False, False]
