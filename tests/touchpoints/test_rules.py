"""The rule JSON of DESIGN §6: every valid shape accepted, every bad one refused with its path."""

import pytest
from django.core.exceptions import ValidationError

from touchpoints.rules import RuleError, describe_rule, rule_validator, validate_rule


def one(field: str, op: str, value: object) -> dict:
    return {"all": [{"field": field, "op": op, "value": value}]}


@pytest.mark.parametrize(
    "rule",
    [
        None,
        {"all": []},
        {"any": []},
        one("event", "equals", "purchase"),
        one("country", "not_equals", "DE"),
        one("event", "in", ["page_view", "view"]),
        one("revenue", "in", [7.5, 10]),
        one("event", "in", []),
        one("page", "contains", "/product/"),
        one("page", "starts_with", "/checkout"),
        one("page", "regex", r"^/p/\d+$"),
        one("revenue", "gt", 100),
        one("revenue", "lt", 0.5),
        one("timestamp", "gt", "2019-10-01T00:00:00Z"),
        one("equals", "equals", ""),
        one("colour", "equals", "red"),  # an extra property, not a canonical field
        {
            "any": [
                {"field": "event", "op": "equals", "value": "purchase"},
                {"field": "medium", "op": "equals", "value": "email"},
            ]
        },
    ],
)
def test_valid_rules_are_accepted(rule):
    validate_rule(rule)
    rule_validator(rule)


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        ([], "rule", 'must be an object with "all" or "any", or null'),
        ("event = purchase", "rule", 'must be an object with "all" or "any", or null'),
        ({}, "rule", 'must have exactly one key, "all" or "any" (found no key)'),
        ({"all": [], "any": []}, "rule", '(found "all", "any")'),
        ({"none": []}, "rule", '(found "none")'),
        ({"all": {"field": "event"}}, "rule.all", "must be a list of conditions"),
        ({"all": ["event"]}, "rule.all[0]", 'must be an object with "field", "op" and "value"'),
        ({"any": [None]}, "rule.any[0]", "must be an object"),
        (
            {"all": [{"field": "event", "op": "equals", "value": "x", "negate": True}]},
            "rule.all[0].negate",
            "unknown key",
        ),
        ({"all": [{"op": "equals", "value": "x"}]}, "rule.all[0].field", "is required"),
        ({"all": [{"field": "event", "value": "x"}]}, "rule.all[0].op", "is required"),
        ({"all": [{"field": "event", "op": "equals"}]}, "rule.all[0].value", "is required"),
        (one("", "equals", "x"), "rule.all[0].field", "must be a non-empty string"),
        (one(3, "equals", "x"), "rule.all[0].field", "must be a non-empty string"),
        (one("event", "like", "x"), "rule.all[0].op", "unknown operator 'like'; use one of"),
        (one("event", "EQUALS", "x"), "rule.all[0].op", "unknown operator 'EQUALS'"),
        (one("event", "in", "purchase"), "rule.all[0].value", "must be a list of strings or"),
        (one("event", "in", [["a"]]), "rule.all[0].value", 'for "in"'),
        (one("event", "in", [None]), "rule.all[0].value", 'for "in"'),
        (one("page", "regex", "("), "rule.all[0].value", "is not a valid regular expression"),
        (one("page", "regex", 5), "rule.all[0].value", 'must be a string for "regex"'),
        (one("page", "regex", "a{99999999999}"), "rule.all[0].value", "too large to use"),
        (one("page", "regex", "(" * 5000 + ")" * 5000), "rule.all[0].value", "too large"),
        (one("event", "equals", ["a"]), "rule.all[0].value", 'string or a number for "equals"'),
        (one("event", "equals", None), "rule.all[0].value", "must be a string or a number"),
        (one("revenue", "gt", True), "rule.all[0].value", 'string or a number for "gt"'),
        (one("revenue", "gt", {"n": 1}), "rule.all[0].value", "must be a string or a number"),
        (one("revenue", "gt", float("inf")), "rule.all[0].value", "must be a string or a number"),
        (one("revenue", "lt", float("nan")), "rule.all[0].value", "must be a string or a number"),
        (one("revenue", "gt", 10**400), "rule.all[0].value", "must be a string or a number"),
        (
            {"any": [{"field": "event", "op": "equals", "value": "a"}, "b"]},
            "rule.any[1]",
            "must be an object",
        ),
    ],
)
def test_bad_rules_are_refused_with_their_path(rule, path, message):
    with pytest.raises(RuleError) as caught:
        validate_rule(rule)
    assert caught.value.path == path
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{path}: ")


def test_the_path_starts_where_the_caller_says():
    with pytest.raises(RuleError) as caught:
        validate_rule(one("event", "like", "x"), "stages[1].touchpoints[0].rule")
    assert caught.value.path == "stages[1].touchpoints[0].rule.all[0].op"


def test_the_model_field_validator_reports_the_path_as_a_validation_error():
    with pytest.raises(ValidationError) as caught:
        rule_validator({"any": [{"field": "event", "op": "in", "value": "view"}]})
    assert caught.value.messages == [
        'rule.any[0].value: must be a list of strings or numbers for "in"'
    ]


@pytest.mark.parametrize(
    ("rule", "reading"),
    [
        (None, "no rule (not measured)"),
        ({"all": []}, "every row"),
        ({"any": []}, "no row"),
        (one("event", "equals", "purchase"), "event equals purchase"),
        (
            {
                "any": [
                    {"field": "event", "op": "in", "value": ["page_view", "view"]},
                    {"field": "page", "op": "starts_with", "value": "/sale"},
                ]
            },
            "event in page_view, view or page starts with /sale",
        ),
        (
            {
                "all": [
                    {"field": "event", "op": "equals", "value": "purchase"},
                    {"field": "revenue", "op": "gt", "value": 100},
                ]
            },
            "event equals purchase and revenue gt 100",
        ),
    ],
)
def test_a_rule_reads_as_one_line_on_cards(rule, reading):
    assert describe_rule(rule) == reading
