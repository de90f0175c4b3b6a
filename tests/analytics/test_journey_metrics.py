"""`journey_metrics` as a script runs it: the DESIGN §8 JSON, the table, and clear refusals."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests import factories
from tests.analytics.metrics_data import (
    aggregate_dataset,
    at,
    equals,
    event,
    events_dataset,
    stage,
    survey_dataset,
)

TOP_KEYS = ["map", "start", "end", "persona", "conversion_window_days", "totals", "stages"]
TOTAL_KEYS = [
    "users",
    "sessions",
    "events",
    "revenue",
    "orders",
    "purchasers",
    "conversion_rate",
    "aov",
    "revenue_per_user",
    "repeat_purchase_rate",
    "bounce_rate",
    "nps",
    "nps_responses",
]
STAGE_KEYS = [
    "position",
    "name",
    "kind",
    "measured",
    "users",
    "sessions",
    "events",
    "revenue",
    "orders",
    "funnel_users",
    "conversion_rate",
    "overall_conversion",
    "drop_off",
    "median_time_to_convert_seconds",
]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("journey_metrics", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def ecommerce(workspace):
    journey_map = factories.make_map(workspace, "E-commerce journey")
    stage(journey_map, "Awareness", equals("event", "page_view"), kind="awareness")
    stage(journey_map, "Purchase", equals("event", "purchase"), kind="purchase")
    stage(journey_map, "Advocacy", None, kind="advocacy")
    events_dataset(
        workspace,
        [
            event(at(), "page_view", "u1", "a", country="DE"),
            event(at(hours=2), "purchase", "u1", "a", revenue=30.0, order="o1"),
            event(at(hours=1), "page_view", "u2", "b", country="FR"),
            event(at(days=30, hours=23, minutes=59, seconds=59), "page_view", "u3", "c"),
        ],
        feeds=[journey_map],
    )
    survey_dataset(workspace, [(10, at()), (8, None), (2, at(days=40))], feeds=[journey_map])
    factories.make_persona(workspace, "Germans", segment=equals("country", "DE"))
    return journey_map


def test_json_is_exactly_the_design_object(ecommerce):
    output = run("e-commerce-journey", "--workspace", "acme", "--format", "json")
    assert output.count("\n") == 1 and output.endswith("}\n")
    metrics = json.loads(output)
    assert list(metrics) == TOP_KEYS
    assert list(metrics["totals"]) == TOTAL_KEYS
    assert [list(figures) for figures in metrics["stages"]] == [STAGE_KEYS] * 3
    assert (
        metrics
        == {
            "map": "e-commerce-journey",
            "start": "2019-10-01T00:00:00Z",
            "end": "2019-10-31T23:59:59.000001Z",
            "persona": None,
            "conversion_window_days": 30,
            "totals": {
                "users": 3,
                "sessions": 3,
                "events": 4,
                "revenue": 30.0,
                "orders": 1,
                "purchasers": 1,
                "conversion_rate": 1 / 3,
                "aov": 30.0,
                "revenue_per_user": 10.0,
                "repeat_purchase_rate": 0.0,
                "bounce_rate": 2 / 3,
                "nps": 50.0,  # 10 and the undated 8; the response after the range does not count
                "nps_responses": 2,
            },
            "stages": [
                {
                    "position": 1,
                    "name": "Awareness",
                    "kind": "awareness",
                    "measured": True,
                    "users": 3,
                    "sessions": 3,
                    "events": 3,
                    "revenue": 0.0,
                    "orders": 0,
                    "funnel_users": 3,
                    "conversion_rate": None,
                    "overall_conversion": 1.0,
                    "drop_off": 0,
                    "median_time_to_convert_seconds": None,
                },
                {
                    "position": 2,
                    "name": "Purchase",
                    "kind": "purchase",
                    "measured": True,
                    "users": 1,
                    "sessions": 1,
                    "events": 1,
                    "revenue": 30.0,
                    "orders": 1,
                    "funnel_users": 1,
                    "conversion_rate": 1 / 3,
                    "overall_conversion": 1 / 3,
                    "drop_off": 2,
                    "median_time_to_convert_seconds": 7200.0,
                },
                {
                    "position": 3,
                    "name": "Advocacy",
                    "kind": "advocacy",
                    "measured": False,
                    **dict.fromkeys(STAGE_KEYS[4:]),
                },
            ],
        }
    )


def test_json_is_the_default_and_keeps_the_types(ecommerce):
    output = run("e-commerce-journey", "--workspace", "acme")
    assert '"revenue": 0.0, "orders": 0,' in output  # floats stay floats, counts stay ints
    assert '"conversion_rate": null, "overall_conversion": 1.0, "drop_off": 0' in output
    assert '"median_time_to_convert_seconds": 7200.0}' in output
    assert json.loads(output)["totals"]["users"] == 3


def test_dates_mean_midnight_utc_and_instants_are_converted(ecommerce):
    metrics = json.loads(
        run(
            "e-commerce-journey",
            "--workspace",
            "acme",
            "--start",
            "2019-10-01",
            "--end",
            "2019-10-02",
        )
    )
    assert (metrics["start"], metrics["end"]) == ("2019-10-01T00:00:00Z", "2019-10-02T00:00:00Z")
    assert metrics["totals"]["users"] == 2
    assert metrics["totals"]["nps_responses"] == 2
    metrics = json.loads(
        run(
            "e-commerce-journey",
            "--workspace",
            "acme",
            "--start",
            "2019-10-01T02:00:00.5+01:00",
            "--end",
            "2019-10-01T02:00:00",
        )
    )
    assert (metrics["start"], metrics["end"]) == (
        "2019-10-01T01:00:00.500000Z",
        "2019-10-01T02:00:00Z",
    )
    assert metrics["totals"]["events"] == 0  # the purchase at 02:00 is the end, excluded


def test_a_persona_by_name(ecommerce):
    metrics = json.loads(run("e-commerce-journey", "--workspace", "acme", "--persona", "Germans"))
    assert metrics["persona"] == "Germans"
    assert metrics["totals"]["users"] == 1
    assert metrics["totals"]["conversion_rate"] == 1.0
    assert metrics["totals"]["nps_responses"] == 2  # NPS is not filtered by persona


def test_the_table_is_readable(ecommerce, workspace):
    aggregate_dataset(
        workspace, [({"event": "page_view"}, {"views": 12})], feeds=[ecommerce], name="GA4 pages"
    )
    output = run("e-commerce-journey", "--workspace", "acme", "--format", "table")
    assert "Map e-commerce-journey" in output
    assert "2019-10-01T00:00:00Z → 2019-10-31T23:59:59.000001Z" in output
    assert "persona: all users" in output
    lines = output.splitlines()
    assert any(line.split() == ["Users", "3"] for line in lines)
    assert any(line.split() == ["Conversion", "rate", "33.33%"] for line in lines)
    assert any(line.split() == ["NPS", "50.0"] for line in lines)
    purchase = next(line for line in lines if line.split()[:2] == ["2", "Purchase"])
    assert purchase.split() == [
        "2", "Purchase", "1", "1", "1", "30.00", "1", "1", "33.33%", "33.33%", "2", "2h", "0m",
    ]  # fmt: skip
    assert "3  Advocacy" in output and "not measured" in output
    assert "Approximate, from report datasets (GA4 pages" in output
    assert any(line.split() == ["1", "Awareness", "1", "12"] for line in lines)
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--workspace", "acme"], "No map 'nope' in workspace 'acme'"),
        (["e-commerce-journey", "--workspace", "nope"], "No workspace 'nope'"),
        (
            ["e-commerce-journey", "--workspace", "acme", "--persona", "Nobody"],
            "No persona 'Nobody' in workspace 'acme' (its personas: Germans)",
        ),
        (
            [
                "e-commerce-journey",
                "--workspace",
                "acme",
                "--start",
                "2019-10-02",
                "--end",
                "2019-10-01",
            ],
            "--end (2019-10-01) is before --start (2019-10-02)",
        ),
        (
            ["e-commerce-journey", "--workspace", "acme", "--start", "yesterday"],
            "--start 'yesterday' is neither a date (YYYY-MM-DD) nor an ISO 8601 instant",
        ),
        (
            ["e-commerce-journey", "--workspace", "acme", "--end", "2019-02-30"],
            "--end '2019-02-30' is not a valid date",
        ),
    ],
)
def test_refusals_say_what_is_wrong(ecommerce, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert message in str(caught.value)


def test_a_map_of_another_workspace_is_not_found(ecommerce, other_workspace):
    with pytest.raises(CommandError, match="No map 'e-commerce-journey' in workspace 'rival'"):
        run("e-commerce-journey", "--workspace", "rival")


def test_an_empty_range_is_allowed(ecommerce):
    metrics = json.loads(
        run(
            "e-commerce-journey",
            "--workspace",
            "acme",
            "--start",
            "2019-10-05",
            "--end",
            "2019-10-05",
        )
    )
    assert metrics["totals"]["users"] == 0
    assert metrics["totals"]["conversion_rate"] is None


def test_a_map_without_data_prints_nulls(workspace):
    factories.make_map(workspace, "Empty")
    metrics = json.loads(run("empty", "--workspace", "acme"))
    assert metrics["start"] is None and metrics["end"] is None
    assert metrics["stages"] == []
    assert metrics["totals"]["nps"] is None
    table = run("empty", "--workspace", "acme", "--format", "table")
    assert "(no events)" in table


def test_a_broken_stored_rule_is_a_clear_error(workspace):
    journey_map = factories.make_map(workspace, "Broken")
    stage(journey_map, "Visit", equals("event", "a")).touchpoints.update(
        rule={"all": [{"field": "event", "op": "like", "value": "a"}]}
    )
    with pytest.raises(CommandError, match=r"A stored rule is invalid.*unknown operator 'like'"):
        run("broken", "--workspace", "acme")
