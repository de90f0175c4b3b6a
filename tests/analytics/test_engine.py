"""The metrics engine: every figure of DESIGN §7, computed by hand and written as literals.

Times are offsets from T0 = 2019-10-01T00:00:00Z. The last test compares the engine with a naive
pure-Python reading of §6 and §7 (below) on random small event sets.
"""

import math
import re
import statistics
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st

from analytics import loading
from analytics.engine import compute_approximate_metrics, compute_metrics
from analytics.models import Dataset, Event
from journeymap.models import JourneyMap
from personas.models import Persona
from tests import factories
from tests.analytics.metrics_data import (
    T0,
    aggregate_dataset,
    at,
    equals,
    event,
    events_dataset,
    stage,
    survey_dataset,
)
from touchpoints.rules import RuleError

NOT_MEASURED = dict.fromkeys(
    (
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
    )
)


@pytest.fixture
def shop(workspace):
    """A 4-stage map with a 1-day window; the third stage has no rule (not measured)."""
    journey_map = factories.make_map(workspace, "Shop journey", conversion_window_days=1)
    stage(journey_map, "Awareness", equals("event", "page_view"), kind="awareness")
    stage(
        journey_map,
        "Consideration",
        equals("event", "view_item"),
        equals("event", "add_to_cart"),
        kind="consideration",
    )
    stage(journey_map, "Decision", None, kind="decision")
    stage(journey_map, "Purchase", equals("event", "purchase"), kind="purchase")
    return journey_map


SHOP_EVENTS = [
    # u1: two sessions; reaches every stage (1 h, then 1 h)
    ("u1", "a", at(), "page_view", 0.0, ""),
    ("u1", "a", at(hours=1), "view_item", 0.0, ""),
    ("u1", "b", at(hours=2), "purchase", 10.0, "o1"),
    # u2: reaches Consideration exactly at t1 + W (counts), and Purchase at the same instant
    ("u2", "a", at(), "page_view", 0.0, ""),
    ("u2", "c", at(days=1), "view_item", 0.0, ""),
    ("u2", "c", at(days=1), "purchase", 20.0, "o2"),
    # u3: Consideration one second after t1 + W (does not count)
    ("u3", "a", at(), "page_view", 0.0, ""),
    ("u3", "d", at(days=1, seconds=1), "view_item", 0.0, ""),
    # u4: Consideration before Awareness (does not count)
    ("u4", "a", at(hours=1), "view_item", 0.0, ""),
    ("u4", "a", at(hours=2), "page_view", 0.0, ""),
    # no user id: the session "sx" is the user; add_to_cart is the second Consideration touchpoint
    ("", "sx", at(hours=3), "page_view", 0.0, ""),
    ("", "sx", at(hours=5), "add_to_cart", 0.0, ""),
    # u6: two paying events without order ids: two orders, a repeat purchaser
    ("u6", "a", at(hours=4), "page_view", 0.0, ""),
    ("u6", "a", at(hours=4, minutes=30), "view_item", 0.0, ""),
    ("u6", "a", at(hours=6), "purchase", 5.5, ""),
    ("u6", "a", at(hours=7), "purchase", 4.5, ""),
    # u7: the same session id as the user "sx", but another user, so another session
    ("u7", "sx", at(hours=8), "review", 0.0, ""),
]


def shop_events(workspace, journey_map):
    return events_dataset(
        workspace,
        [
            event(when, name, user, session, revenue=revenue, order=order)
            for user, session, when, name, revenue, order in SHOP_EVENTS
        ],
        feeds=[journey_map],
    )


def test_every_figure_of_a_map(workspace, shop):
    shop_events(workspace, shop)
    survey_dataset(
        workspace,
        [
            *[(10, at()), (9, at(hours=1)), (8, at()), (7, at()), (6, at()), (0, at())],
            (0, None),  # undated: counted
            (10, at(days=30)),  # after the range: not counted
        ],
        feeds=[shop],
    )

    assert compute_metrics(journey_map=shop) == {
        "map": "shop-journey",
        "start": "2019-10-01T00:00:00Z",
        "end": "2019-10-02T00:00:01.000001Z",
        "persona": None,
        "conversion_window_days": 1,
        "totals": {
            "users": 7,
            "sessions": 10,
            "events": 17,
            "revenue": 40.0,
            "orders": 4,
            "purchasers": 3,
            "conversion_rate": 3 / 7,
            "aov": 10.0,
            "revenue_per_user": 40 / 7,
            "repeat_purchase_rate": 1 / 3,
            "bounce_rate": 0.5,  # (u1,b) (u2,a) (u3,a) (u3,d) (u7,sx) of 10
            "nps": -100 / 7,  # 7 responses (one undated): 2 promoters, 3 detractors
            "nps_responses": 7,
        },
        "stages": [
            {
                "position": 1,
                "name": "Awareness",
                "kind": "awareness",
                "measured": True,
                "users": 6,
                "sessions": 6,
                "events": 6,
                "revenue": 0.0,
                "orders": 0,
                "funnel_users": 6,
                "conversion_rate": None,
                "overall_conversion": 1.0,
                "drop_off": 0,
                "median_time_to_convert_seconds": None,
            },
            {
                "position": 2,
                "name": "Consideration",
                "kind": "consideration",
                "measured": True,
                "users": 6,
                "sessions": 6,
                "events": 6,
                "revenue": 0.0,
                "orders": 0,
                "funnel_users": 4,  # u1, u2 (at the edge), sx, u6; not u3 (1 s late), not u4
                "conversion_rate": 4 / 6,
                "overall_conversion": 4 / 6,
                "drop_off": 2,
                # 1800, 3600, 7200, 86400: an even count, the mean of the middle two
                "median_time_to_convert_seconds": 5400.0,
            },
            {
                "position": 3,
                "name": "Decision",
                "kind": "decision",
                "measured": False,
                **NOT_MEASURED,
            },
            {
                "position": 4,
                "name": "Purchase",
                "kind": "purchase",
                "measured": True,
                "users": 3,
                "sessions": 3,
                "events": 4,
                "revenue": 40.0,
                "orders": 4,
                "funnel_users": 3,  # compared with Consideration: the unmeasured stage is skipped
                "conversion_rate": 0.75,
                "overall_conversion": 0.5,
                "drop_off": 1,
                "median_time_to_convert_seconds": 3600.0,  # 0 (same instant), 3600, 5400
            },
        ],
    }


def test_the_types_of_the_figures(workspace, shop):
    shop_events(workspace, shop)
    metrics = compute_metrics(journey_map=shop)
    totals = metrics["totals"]
    for key in ("users", "sessions", "events", "orders", "purchasers", "nps_responses"):
        assert type(totals[key]) is int
    for key in ("revenue", "conversion_rate", "aov", "revenue_per_user", "bounce_rate"):
        assert type(totals[key]) is float
    purchase = metrics["stages"][3]
    for key in ("users", "sessions", "events", "orders", "funnel_users", "drop_off"):
        assert type(purchase[key]) is int
    for key in ("revenue", "conversion_rate", "overall_conversion"):
        assert type(purchase[key]) is float
    assert type(purchase["median_time_to_convert_seconds"]) is float


def test_a_window_edge_one_second_later_is_out_and_exactly_on_it_is_in(workspace):
    journey_map = factories.make_map(workspace, "Edge", conversion_window_days=2)
    stage(journey_map, "First", equals("event", "a"))
    stage(journey_map, "Second", equals("event", "b"))
    stage(journey_map, "Third", equals("event", "c"))
    events_dataset(
        workspace,
        [
            event(at(), "a", "on-edge"),
            event(at(days=1), "b", "on-edge"),
            event(at(days=2), "c", "on-edge"),  # t1 + W: in
            event(at(), "a", "late"),
            event(at(days=1), "b", "late"),
            event(at(days=2, seconds=1), "c", "late"),  # t1 + W + 1 s: out
            event(at(), "a", "just-late"),
            event(at(days=1), "b", "just-late"),
            event(at(days=2, microseconds=1), "c", "just-late"),  # t1 + W + 1 µs: out
        ],
        feeds=[journey_map],
    )
    third = compute_metrics(journey_map=journey_map)["stages"][2]
    assert third["users"] == 3
    assert third["funnel_users"] == 1
    assert third["median_time_to_convert_seconds"] == 86400.0


def test_the_window_runs_from_the_first_step_not_from_the_previous_one(workspace):
    journey_map = factories.make_map(workspace, "Window", conversion_window_days=1)
    stage(journey_map, "One", equals("event", "a"))
    stage(journey_map, "Two", equals("event", "b"))
    stage(journey_map, "Three", equals("event", "c"))
    events_dataset(
        workspace,
        [
            event(at(), "a", "u"),
            event(at(hours=23), "b", "u"),
            event(at(hours=25), "c", "u"),  # within a day of Two, not of One
            # the earliest qualifying time counts, even when a later one would be within reach
            event(at(), "a", "v"),
            event(at(hours=2), "b", "v"),
            event(at(hours=1), "b", "v"),
            event(at(hours=1, minutes=30), "c", "v"),  # after t2 = 1 h: 1800 s
        ],
        feeds=[journey_map],
    )
    stages = compute_metrics(journey_map=journey_map)["stages"]
    assert [s["funnel_users"] for s in stages] == [2, 2, 1]
    assert stages[1]["median_time_to_convert_seconds"] == 43200.0  # 82800 and 3600
    assert stages[2]["median_time_to_convert_seconds"] == 1800.0


def test_the_first_step_is_the_earliest_time_and_one_event_can_serve_two_stages(workspace):
    journey_map = factories.make_map(workspace, "Overlap")
    stage(journey_map, "Any view", {"all": [{"field": "event", "op": "contains", "value": "view"}]})
    stage(journey_map, "Item view", equals("event", "view_item"))
    events_dataset(
        workspace,
        [
            event(at(hours=5), "page_view", "u"),
            event(at(hours=2), "view_item", "u"),  # t1 = t2 = 2 h: the same event
        ],
        feeds=[journey_map],
    )
    stages = compute_metrics(journey_map=journey_map)["stages"]
    assert stages[1]["funnel_users"] == 1
    assert stages[1]["median_time_to_convert_seconds"] == 0.0


def test_a_median_of_an_odd_count_is_the_middle_value_with_microseconds(workspace):
    journey_map = factories.make_map(workspace, "Median")
    stage(journey_map, "One", equals("event", "a"))
    stage(journey_map, "Two", equals("event", "b"))
    rows = []
    for user, seconds in (("u1", 10), ("u2", 0.5), ("u3", 7.000001)):
        rows += [event(at(), "a", user), event(at(seconds=seconds), "b", user)]
    events_dataset(workspace, rows, feeds=[journey_map])
    second = compute_metrics(journey_map=journey_map)["stages"][1]
    assert second["median_time_to_convert_seconds"] == 7.000001


def test_users_without_a_user_id_are_their_session(workspace):
    journey_map = factories.make_map(workspace, "Anonymous")
    stage(journey_map, "Visit", equals("event", "page_view"))
    events_dataset(
        workspace,
        [
            event(at(), "page_view", "", "s1"),
            event(at(minutes=1), "page_view", "", "s1"),
            event(at(hours=2), "page_view", "", "s2"),  # a new session without a user: new user
            event(at(), "page_view", "alice", "s1"),  # alice's session s1 is another session
        ],
        feeds=[journey_map],
    )
    metrics = compute_metrics(journey_map=journey_map)
    assert metrics["totals"]["users"] == 3
    assert metrics["totals"]["sessions"] == 3
    assert metrics["totals"]["bounce_rate"] == 2 / 3
    assert metrics["stages"][0]["users"] == 3


def test_orders_with_and_without_order_ids_and_repeat_purchasers(workspace):
    journey_map = factories.make_map(workspace, "Orders")
    stage(journey_map, "Purchase", equals("event", "purchase"))
    stage(journey_map, "Refund", equals("event", "refund"))
    events_dataset(
        workspace,
        [
            # x: two line items of one order: 1 order
            event(at(), "purchase", "x", revenue=10.0, order="A"),
            event(at(), "purchase", "x", revenue=2.5, order="A"),
            # y: an order with an id and a paying event without one: 2 orders
            event(at(), "purchase", "y", revenue=5.0, order="B"),
            event(at(hours=1), "purchase", "y", revenue=1.25, order=""),
            # z: two paying events without ids: 2 orders
            event(at(), "purchase", "z", revenue=3.0),
            event(at(days=1), "purchase", "z", revenue=3.0),
            # v: the order B again (another user): one more order for v, not for the totals
            event(at(), "purchase", "v", revenue=1.0, order="B"),
            # w: no revenue (an order id alone is not an order); a refund is not one either
            event(at(), "purchase", "w", revenue=0.0, order="C"),
            event(at(), "refund", "w", revenue=-4.0, order="D"),
        ],
        feeds=[journey_map],
    )
    metrics = compute_metrics(journey_map=journey_map)
    totals = metrics["totals"]
    assert (totals["revenue"], totals["orders"], totals["purchasers"]) == (21.75, 5, 4)
    assert totals["aov"] == 21.75 / 5
    assert totals["revenue_per_user"] == 21.75 / 5
    assert totals["conversion_rate"] == 4 / 5
    assert totals["repeat_purchase_rate"] == 2 / 4  # y and z
    purchase, refund = metrics["stages"]
    assert (purchase["revenue"], purchase["orders"], purchase["users"]) == (25.75, 5, 5)
    assert (refund["revenue"], refund["orders"], refund["users"]) == (-4.0, 0, 1)


def test_revenue_only_on_purchase_events_leaves_other_stages_at_zero(workspace):
    journey_map = factories.make_map(workspace, "Revenue")
    stage(journey_map, "Cart", equals("event", "add_to_cart"))
    stage(journey_map, "Purchase", equals("event", "purchase"))
    events_dataset(
        workspace,
        [
            event(at(), "add_to_cart", "u", revenue=0.0),
            event(at(hours=1), "purchase", "u", revenue=0.1, order="1"),
            event(at(hours=2), "purchase", "u", revenue=0.2, order="2"),
        ],
        feeds=[journey_map],
    )
    metrics = compute_metrics(journey_map=journey_map)
    cart, purchase = metrics["stages"]
    assert (cart["revenue"], cart["orders"]) == (0.0, 0)
    assert purchase["revenue"] == 0.30000000000000004  # the correctly rounded sum of 0.1 and 0.2
    assert metrics["totals"]["aov"] == 0.30000000000000004 / 2


def test_bounce_rate_counts_sessions_with_exactly_one_event(workspace):
    journey_map = factories.make_map(workspace, "Bounce")
    events_dataset(
        workspace,
        [
            event(at(), "page_view", "u", "1"),
            event(at(), "page_view", "u", "2"),
            event(at(minutes=5), "view_item", "u", "2"),
            event(at(), "page_view", "v", "1"),
        ],
        feeds=[journey_map],
    )
    totals = compute_metrics(journey_map=journey_map)["totals"]
    assert (totals["sessions"], totals["bounce_rate"]) == (3, 2 / 3)


def test_a_persona_keeps_all_the_in_range_events_of_its_users(workspace, shop):
    events_dataset(
        workspace,
        [
            # de: one event in Germany in range: all its events in range count
            event(at(), "page_view", "de", country="DE"),
            event(at(hours=1), "view_item", "de", country="FR"),
            event(at(hours=2), "purchase", "de", revenue=30.0, order="d1", country=""),
            # fr: a German event only before the range: not a member
            event(at(days=-1), "page_view", "fr", country="de"),
            event(at(), "page_view", "fr", country="FR"),
            event(at(hours=1), "view_item", "fr", country="FR"),
            # at: the German event is after the range (end excluded): not a member
            event(at(), "page_view", "at", country="AT"),
            event(at(days=2), "page_view", "at", country="de"),
        ],
        feeds=[shop],
    )
    survey_dataset(workspace, [(10, at()), (3, None)], feeds=[shop])
    germans = factories.make_persona(workspace, "Germans", segment=equals("country", "de"))
    metrics = compute_metrics(journey_map=shop, start=at(), end=at(days=2), persona=germans)
    assert metrics["persona"] == "Germans"
    assert metrics["totals"] == {
        "users": 1,
        "sessions": 1,
        "events": 3,
        "revenue": 30.0,
        "orders": 1,
        "purchasers": 1,
        "conversion_rate": 1.0,
        "aov": 30.0,
        "revenue_per_user": 30.0,
        "repeat_purchase_rate": 0.0,
        "bounce_rate": 0.0,
        "nps": 0.0,  # the persona does not filter NPS: 1 promoter, 1 detractor
        "nps_responses": 2,
    }
    assert [s["funnel_users"] for s in metrics["stages"]] == [1, 1, None, 1]
    everyone = compute_metrics(journey_map=shop, start=at(), end=at(days=2))
    assert everyone["totals"]["users"] == 3


def test_a_persona_without_a_segment_keeps_everyone(workspace, shop):
    shop_events(workspace, shop)
    anyone = factories.make_persona(workspace, "Anyone", segment=None)
    with_persona = compute_metrics(journey_map=shop, persona=anyone)
    without = compute_metrics(journey_map=shop)
    assert with_persona == without | {"persona": "Anyone"}


def test_a_persona_matching_nobody_gives_zeros(workspace, shop):
    shop_events(workspace, shop)
    nobody = factories.make_persona(workspace, "Nobody", segment={"any": []})
    metrics = compute_metrics(journey_map=shop, persona=nobody)
    assert metrics["totals"]["users"] == 0
    assert metrics["stages"][0]["overall_conversion"] is None


def test_an_empty_range_gives_zeros_and_nulls(workspace, shop):
    shop_events(workspace, shop)
    survey_dataset(workspace, [(10, at(days=5)), (9, None)], feeds=[shop])
    metrics = compute_metrics(journey_map=shop, start=at(days=5), end=at(days=5))
    assert metrics["start"] == metrics["end"] == "2019-10-06T00:00:00Z"
    assert metrics["totals"] == {
        "users": 0,
        "sessions": 0,
        "events": 0,
        "revenue": 0.0,
        "orders": 0,
        "purchasers": 0,
        "conversion_rate": None,
        "aov": None,
        "revenue_per_user": None,
        "repeat_purchase_rate": None,
        "bounce_rate": None,
        "nps": 100.0,  # the undated response; the dated one is not in [start, start)
        "nps_responses": 1,
    }
    empty_stage = {
        "users": 0,
        "sessions": 0,
        "events": 0,
        "revenue": 0.0,
        "orders": 0,
        "funnel_users": 0,
        "conversion_rate": None,
        "overall_conversion": None,
        "drop_off": 0,
        "median_time_to_convert_seconds": None,
    }
    assert [{key: figures[key] for key in NOT_MEASURED} for figures in metrics["stages"]] == [
        empty_stage,
        empty_stage,
        NOT_MEASURED,
        empty_stage,
    ]


def test_a_map_without_events_gives_nulls_not_a_crash(workspace, shop):
    survey_dataset(workspace, [(9, at()), (6, None)], feeds=[shop])
    metrics = compute_metrics(journey_map=shop)
    assert (metrics["start"], metrics["end"]) == (None, None)
    assert metrics["totals"]["users"] == 0
    assert metrics["totals"]["nps"] == 0.0
    assert metrics["totals"]["nps_responses"] == 2
    assert metrics["stages"][0]["funnel_users"] == 0
    bare = factories.make_map(workspace, "Bare")
    assert compute_metrics(journey_map=bare)["stages"] == []


def test_the_range_is_start_inclusive_end_exclusive_and_defaults_to_the_events_span(workspace):
    journey_map = factories.make_map(workspace, "Range")
    stage(journey_map, "All", {"all": []})
    events_dataset(
        workspace,
        [
            event(datetime(2019, 10, 1, tzinfo=UTC), "a", "u"),
            event(datetime(2019, 10, 31, 23, 59, 59, tzinfo=UTC), "a", "v"),
        ],
        feeds=[journey_map],
    )
    other = events_dataset(workspace, [event(datetime(2020, 1, 1, tzinfo=UTC), "a", "w")])
    metrics = compute_metrics(journey_map=journey_map)
    assert (metrics["start"], metrics["end"]) == (
        "2019-10-01T00:00:00Z",
        "2019-10-31T23:59:59.000001Z",
    )
    assert metrics["totals"]["users"] == 2  # the dataset not attached to the map is not read
    assert other.events.count() == 1
    end_at_last = compute_metrics(
        journey_map=journey_map, end=datetime(2019, 10, 31, 23, 59, 59, tzinfo=UTC)
    )
    assert end_at_last["totals"]["users"] == 1
    assert end_at_last["start"] == "2019-10-01T00:00:00Z"
    start_after = compute_metrics(
        journey_map=journey_map, start=datetime(2019, 10, 1, 0, 0, 0, 1, tzinfo=UTC)
    )
    assert start_after["totals"]["users"] == 1
    assert start_after["start"] == "2019-10-01T00:00:00.000001Z"
    # a start after every event: an empty range, not an end before the start
    late = compute_metrics(journey_map=journey_map, start=datetime(2020, 1, 1, tzinfo=UTC))
    assert late["start"] == late["end"] == "2020-01-01T00:00:00Z"
    # offsets are converted, naive instants are UTC
    berlin = compute_metrics(
        journey_map=journey_map,
        start=datetime(2019, 10, 1, 2, 0, 0, 1, tzinfo=timezone(timedelta(hours=2))),
        end=datetime(2019, 11, 1),
    )
    assert (berlin["start"], berlin["end"]) == (
        "2019-10-01T00:00:00.000001Z",
        "2019-11-01T00:00:00Z",
    )


def test_an_end_before_the_start_is_refused(workspace, shop):
    with pytest.raises(ValueError, match="before its start"):
        compute_metrics(journey_map=shop, start=at(days=1), end=at())


def test_a_stage_without_rules_is_skipped_even_first(workspace):
    journey_map = factories.make_map(workspace, "Skip")
    stage(journey_map, "Ideas")  # no touchpoint at all
    stage(journey_map, "Visit", equals("event", "page_view"))
    stage(journey_map, "Notes", None, None)  # touchpoints, none with a rule
    stage(journey_map, "Buy", equals("event", "purchase"))
    events_dataset(
        workspace,
        [
            event(at(), "page_view", "u"),
            event(at(), "page_view", "v"),
            event(at(hours=1), "purchase", "u", revenue=1.0),
        ],
        feeds=[journey_map],
    )
    stages = compute_metrics(journey_map=journey_map)["stages"]
    assert [s["measured"] for s in stages] == [False, True, False, True]
    assert stages[0] == {
        "position": 1,
        "name": "Ideas",
        "kind": "custom",
        "measured": False,
        **NOT_MEASURED,
    }
    assert stages[1]["conversion_rate"] is None
    assert stages[1]["overall_conversion"] == 1.0
    assert stages[3]["conversion_rate"] == 0.5
    assert stages[3]["drop_off"] == 1
    assert stages[3]["median_time_to_convert_seconds"] == 3600.0


def test_a_first_stage_nobody_reaches_makes_every_ratio_null(workspace):
    journey_map = factories.make_map(workspace, "Nobody first")
    stage(journey_map, "Never", equals("event", "nothing"))
    stage(journey_map, "Visit", equals("event", "page_view"))
    events_dataset(workspace, [event(at(), "page_view", "u")], feeds=[journey_map])
    never, visit = compute_metrics(journey_map=journey_map)["stages"]
    assert (never["funnel_users"], never["overall_conversion"], never["drop_off"]) == (0, None, 0)
    assert visit["users"] == 1
    assert (visit["funnel_users"], visit["conversion_rate"], visit["drop_off"]) == (0, None, 0)
    assert (visit["overall_conversion"], visit["median_time_to_convert_seconds"]) == (None, None)


def test_stages_follow_their_positions(workspace):
    journey_map = factories.make_map(workspace, "Order")
    factories.make_stage(journey_map, "Second", position=2)
    factories.make_stage(journey_map, "First", position=1)
    stages = compute_metrics(journey_map=journey_map)["stages"]
    assert [(s["position"], s["name"]) for s in stages] == [(1, "First"), (2, "Second")]


def test_rules_on_extra_properties_read_the_same_on_every_database(workspace):
    journey_map = factories.make_map(workspace, "Extras")
    plan_is = lambda op, value: {"all": [{"field": "plan", "op": op, "value": value}]}  # noqa: E731
    stage(journey_map, "Seven and a half", plan_is("equals", 7.5))
    stage(journey_map, "Text 7.50", plan_is("equals", "7.50"))
    stage(journey_map, "Pro", plan_is("equals", "PRO"))
    stage(journey_map, "Empty", plan_is("equals", ""))
    stage(journey_map, "True", plan_is("equals", "true"))
    stage(journey_map, "Object", plan_is("contains", '"tier":"gold"'))
    stage(journey_map, "Canonical wins", equals("event", "purchase"))
    plans = {
        "n750": {"plan": 7.50},
        "s750": {"plan": "7.50"},
        "s75": {"plan": "7.5"},
        "pro": {"plan": "Pro"},
        "null": {"plan": None},
        "missing": {"coupon": "X"},
        "no-extra": None,
        "true": {"plan": True},
        "object": {"plan": {"tier": "gold", "seats": 3}},
        "shadow": {"event": "purchase"},  # an extra named like a canonical field is not read
    }
    events_dataset(
        workspace,
        [
            event(at(minutes=index), "page_view", user, extra=extra)
            for index, (user, extra) in enumerate(plans.items())
        ],
        feeds=[journey_map],
    )
    users = [s["users"] for s in compute_metrics(journey_map=journey_map)["stages"]]
    assert users == [3, 1, 1, 4, 1, 1, 0]


@pytest.mark.django_db(transaction=True)  # the parts' connections see only committed rows
def test_a_large_map_read_in_parts_gives_the_figures_of_one_read(workspace, shop, monkeypatch):
    # on PostgreSQL a large map is read by queries side by side, each in the snapshot of the
    # first; here every map is large
    if connection.vendor != "postgresql":
        pytest.skip("SQLite reads a map in one query")
    shop_events(workspace, shop)
    extra_rows = [
        event(at(minutes=minute), "page_view", f"v{minute % 5}", extra={"plan": minute % 3})
        for minute in range(40)
    ]
    events_dataset(workspace, extra_rows, feeds=[shop])
    persona = Persona.objects.create(workspace=workspace, name="Plan 1", segment=equals("plan", 1))
    monkeypatch.setattr(loading, "SPLIT_FROM_ROWS", 0)
    parts = []
    read_parts = loading._read_parts
    monkeypatch.setattr(
        loading, "_read_parts", lambda *args: parts.append(args[-1]) or read_parts(*args)
    )
    in_parts = [
        compute_metrics(journey_map=shop),
        compute_metrics(journey_map=shop, persona=persona),
    ]
    assert parts == [loading.READ_PARTS] * 2
    monkeypatch.setattr(loading, "_read_parts_for", lambda ids: 1)
    in_one = [compute_metrics(journey_map=shop), compute_metrics(journey_map=shop, persona=persona)]
    assert in_parts == in_one
    assert in_one[0]["totals"]["events"] == len(SHOP_EVENTS) + 40
    assert in_one[1]["totals"]["users"] == 5  # v0..v4 each have an event with plan 1


def test_extras_read_as_whole_objects_equal_extras_read_property_by_property(
    workspace, monkeypatch
):
    # on SQLite the extra column travels whole and its properties are extracted once per
    # distinct object; that must give every value the per-row extraction gives
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL extracts the properties row by row")
    journey_map = factories.make_map(workspace, "Whole extras")
    extras = [
        {"plan": 7.50, "a.b": "dotted", 'we"ird': "quoted key"},
        {"plan": "7.50", "a.b": 0.1 + 0.2},
        {"plan": 2**60, "tier": {"name": "gold", "seats": [1, 2]}},
        {"plan": True, "tier": ["x", None]},
        {"plan": None, "tier": "caf\u00e9 \u2615 \U0001f600"},
        {"plan": 'a "quoted" \\ back\\slash', "tier": "tab\tand\u001fseparator"},
        {"coupon": "X"},
        {},
        None,
        {"plan": "7.50", "a.b": 0.1 + 0.2},  # the same object again
        {"plan": -0.0, "tier": 1e300},
    ]
    events_dataset(
        workspace,
        [
            event(at(minutes=index), "page_view", f"u{index}", extra=extra)
            for index, extra in enumerate(extras)
        ],
        feeds=[journey_map],
    )
    fields = ["plan", "a.b", 'we"ird', "tier", "never", "event"]

    def read() -> dict[str, list[str]]:
        table = loading.load_events(journey_map=journey_map, start=None, end=None, fields=fields)
        order = table.timestamps.argsort()
        return {field: list(table.fields[field].astype(str).to_numpy()[order]) for field in fields}

    whole = read()
    monkeypatch.setattr(loading, "_extras_as_whole_objects", lambda: False)
    by_property = read()
    assert whole == by_property
    assert whole["plan"][:5] == ["7.5", "7.50", str(2**60), "true", ""]


@pytest.mark.parametrize(
    "odd_page", ["/a\x1fb", "/line\nbreak", "/return\rcarriage", "/quote\"d,'"], ids=repr
)
def test_values_holding_separators_or_line_breaks_read_exactly(workspace, odd_page, monkeypatch):
    # the loader joins each row into one line; a value that breaks the line format is read
    # again cell by cell, with the same result
    cell_reads = []
    read_cells = loading._read_cells
    monkeypatch.setattr(
        loading, "_read_cells", lambda *args: cell_reads.append(1) or read_cells(*args)
    )
    journey_map = factories.make_map(workspace, "Odd values")
    stage(journey_map, "Odd page", equals("page", odd_page.upper()))
    stage(journey_map, "Plan", equals("plan", 7.5))
    stage(journey_map, "Checkout", {"all": [{"field": "page", "op": "regex", "value": "^/c"}]})
    events_dataset(
        workspace,
        [
            event(at(), "page_view", "u1", page=odd_page, extra={"plan": "7.50"}),
            event(at(hours=1), "page_view", "u1", page="/checkout", extra={"plan": 7.5}),
            event(at(hours=2), "purchase", "u2", "s2", page="/checkout", revenue=0.1, order="o"),
            event(at(hours=3), "purchase", "u2", "s2", page="/c", revenue=0.2, order="p"),
        ],
        feeds=[journey_map],
    )
    metrics = compute_metrics(journey_map=journey_map)
    assert [s["users"] for s in metrics["stages"]] == [1, 1, 2]
    assert [s["funnel_users"] for s in metrics["stages"]] == [1, 1, 1]
    assert metrics["totals"]["revenue"] == 0.30000000000000004
    assert metrics["totals"]["sessions"] == 2
    assert bool(cell_reads) == any(character in odd_page for character in "\x1f\n\r")


def test_an_invalid_stored_rule_is_reported_with_its_place(workspace):
    journey_map = factories.make_map(workspace, "Broken")
    broken = stage(journey_map, "Visit", equals("event", "a"))
    broken.touchpoints.update(rule={"all": [{"field": "event", "op": "like", "value": "a"}]})
    with pytest.raises(RuleError, match="stage 'Visit', touchpoint 'Visit touchpoint 1'"):
        compute_metrics(journey_map=journey_map)


def test_report_rows_give_approximate_sums_per_stage(workspace):
    journey_map = factories.make_map(workspace, "Reports")
    stage(journey_map, "Landing", {"all": [{"field": "page", "op": "starts_with", "value": "/"}]})
    stage(journey_map, "Checkout", {"all": [{"field": "page", "op": "contains", "value": "check"}]})
    stage(journey_map, "Ideas")
    aggregate_dataset(
        workspace,
        [
            ({"date": "20191001", "page": "/"}, {"views": 100, "users": "40"}),
            ({"date": "20191002", "page": "/checkout"}, {"views": 10, "users": 4.5}),
            ({"date": "20191101", "page": "/checkout"}, {"views": 1000, "users": "n/a"}),
            ({"date": "20191002", "page": "blog"}, {"views": 7}),
        ],
        feeds=[journey_map],
    )
    assert compute_metrics(journey_map=journey_map)["totals"]["users"] == 0
    whole = compute_approximate_metrics(journey_map=journey_map)
    assert whole == {
        "approximate": True,
        "datasets": ["GA4 pages report"],
        "rows": 4,
        "range_applied": False,
        "stages": [
            {
                "position": 1,
                "name": "Landing",
                "kind": "custom",
                "measured": True,
                "rows": 3,
                "metrics": {"views": 1110.0, "users": 44.5},
            },
            {
                "position": 2,
                "name": "Checkout",
                "kind": "custom",
                "measured": True,
                "rows": 2,
                "metrics": {"views": 1010.0, "users": 4.5},
            },
            {
                "position": 3,
                "name": "Ideas",
                "kind": "custom",
                "measured": False,
                "rows": None,
                "metrics": None,
            },
        ],
    }
    october = compute_approximate_metrics(
        journey_map=journey_map, start=datetime(2019, 10, 2, tzinfo=UTC), end=at(days=31)
    )
    assert october["range_applied"] is True
    assert october["rows"] == 2
    assert october["stages"][1]["metrics"] == {"views": 10.0, "users": 4.5}
    plain = factories.make_map(workspace, "Plain")
    assert compute_approximate_metrics(journey_map=plain) is None


# --- a naive reading of DESIGN §6 and §7, to compare with ------------------------------------

NUMBER = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$")


def naive_number_text(number: float) -> str:
    return str(int(number)) if number == int(number) else repr(float(number))


def naive_text(row: dict, field: str) -> str:
    value = row.get(field)
    if field == "timestamp":
        return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    if value is None:
        return ""
    if isinstance(value, int | float):  # revenue, or a number in the extra properties
        return naive_number_text(value)
    return value


def naive_condition(row: dict, field: str, op: str, value) -> bool:
    if op == "in":
        return any(naive_condition(row, field, "equals", item) for item in value)
    cell = naive_text(row, field)
    if isinstance(value, int | float):
        if op in ("contains", "starts_with"):
            return naive_condition(row, field, op, naive_number_text(value))
        if not NUMBER.match(cell) or not math.isfinite(float(cell)):
            return False
        number = float(cell)
        return {
            "equals": number == value,
            "not_equals": number != value,
            "gt": number > value,
            "lt": number < value,
        }[op]
    if field == "timestamp" and op in ("gt", "lt"):
        bound = datetime.fromisoformat(value)
        bound = bound.replace(tzinfo=UTC) if bound.tzinfo is None else bound
        return row["timestamp"] > bound if op == "gt" else row["timestamp"] < bound
    if op == "equals":
        return cell.lower() == value.lower()
    if op == "not_equals":
        return cell.lower() != value.lower()
    if op == "contains":
        return value.lower() in cell.lower()
    if op == "starts_with":
        return cell.lower().startswith(value.lower())
    if op == "regex":
        return re.search(value, cell, re.IGNORECASE) is not None
    if op == "gt":
        return cell != "" and cell.lower() > value.lower()
    return cell != "" and cell.lower() < value.lower()


def naive_rule(row: dict, rule: dict | None) -> bool:
    if rule is None:
        return False
    combinator, conditions = next(iter(rule.items()))
    results = [naive_condition(row, c["field"], c["op"], c["value"]) for c in conditions]
    return all(results) if combinator == "all" else any(results)


def naive_orders(rows: list[dict]) -> int:
    paying = [row for row in rows if row["revenue"] > 0]
    return len({row["order_id"] for row in paying if row["order_id"]}) + sum(
        1 for row in paying if not row["order_id"]
    )


def ratio(a, b):
    return None if b == 0 else a / b


def naive_metrics(rows, stages, window_days, start, end, segment, scores, notes=None):
    """§7 read literally, with loops: rows are dicts with the canonical fields and extras.

    `notes` collects the edge cases met, for hypothesis' statistics.
    """
    notes = [] if notes is None else notes
    rows = [row for row in rows if start <= row["timestamp"] < end]
    for row in rows:
        row["user"] = row["user_id"] or row["session_id"]
    if segment is not None:
        members = {row["user"] for row in rows if naive_rule(row, segment)}
        rows = [row for row in rows if row["user"] in members]

    users = {row["user"] for row in rows}
    session_events: dict = {}
    for row in rows:
        key = (row["user"], row["session_id"])
        session_events[key] = session_events.get(key, 0) + 1
    revenue = sum(row["revenue"] for row in rows)
    orders = naive_orders(rows)
    purchasers = {row["user"] for row in rows if row["revenue"] > 0}
    repeaters = [
        user for user in purchasers if naive_orders([r for r in rows if r["user"] == user]) >= 2
    ]
    promoters = sum(1 for score in scores if score >= 9)
    detractors = sum(1 for score in scores if score <= 6)
    totals = {
        "users": len(users),
        "sessions": len(session_events),
        "events": len(rows),
        "revenue": revenue,
        "orders": orders,
        "purchasers": len(purchasers),
        "conversion_rate": ratio(len(purchasers), len(users)),
        "aov": ratio(revenue, orders),
        "revenue_per_user": ratio(revenue, len(users)),
        "repeat_purchase_rate": ratio(len(repeaters), len(purchasers)),
        "bounce_rate": ratio(
            sum(1 for n in session_events.values() if n == 1), len(session_events)
        ),
        "nps": ratio(100 * (promoters - detractors), len(scores)),
        "nps_responses": len(scores),
    }

    window = timedelta(days=window_days)
    figures = []
    first = previous = None  # {user: time} of the first and the previous measured step
    for rules in stages:
        if not rules:
            figures.append(dict(NOT_MEASURED))
            continue
        stage_rows = [row for row in rows if any(naive_rule(row, rule) for rule in rules)]
        reached = {}
        for user in {row["user"] for row in stage_rows}:
            times = [row["timestamp"] for row in stage_rows if row["user"] == user]
            if previous is None:
                reached[user] = min(times)
            elif user in previous:
                later = [t for t in times if t >= previous[user]]
                if later and min(later) <= first[user] + window:
                    reached[user] = min(later)
                if later and min(later) == first[user] + window:
                    notes.append("a step exactly at t1 + W")
        stage_revenue = sum(row["revenue"] for row in stage_rows)
        stage_figures = {
            "users": len({row["user"] for row in stage_rows}),
            "sessions": len({(row["user"], row["session_id"]) for row in stage_rows}),
            "events": len(stage_rows),
            "revenue": stage_revenue,
            "orders": naive_orders(stage_rows),
            "funnel_users": len(reached),
        }
        if previous is None:
            first = reached
            stage_figures |= {
                "conversion_rate": None,
                "overall_conversion": ratio(len(reached), len(reached)),
                "drop_off": 0,
                "median_time_to_convert_seconds": None,
            }
        else:
            durations = [
                Fraction((reached[u] - previous[u]) // timedelta(microseconds=1), 10**6)
                for u in reached
            ]
            if len(durations) >= 2 and len(durations) % 2 == 0:
                notes.append("an even count for a median")
            stage_figures |= {
                "conversion_rate": ratio(len(reached), len(previous)),
                "overall_conversion": ratio(len(reached), len(first)),
                "drop_off": len(previous) - len(reached),
                "median_time_to_convert_seconds": float(statistics.median(durations))
                if durations
                else None,
            }
        previous = reached
        figures.append(stage_figures)
    return totals, figures


SUMS = ("revenue", "aov", "revenue_per_user")


def same(engine_value, naive_value, key: str) -> bool:
    if engine_value is None or naive_value is None:
        return engine_value is naive_value
    if type(engine_value) is not type(naive_value) and not (
        isinstance(naive_value, int) and type(engine_value) is float and key in SUMS
    ):
        return False
    if key in SUMS:
        return math.isclose(engine_value, naive_value, rel_tol=1e-12)
    return engine_value == naive_value


CONDITIONS = st.sampled_from(
    [
        {"field": "event", "op": "equals", "value": "View"},
        {"field": "event", "op": "not_equals", "value": "view"},
        {"field": "event", "op": "in", "value": ["cart", "BUY"]},
        {"field": "event", "op": "regex", "value": "^(b|c)"},
        {"field": "event", "op": "starts_with", "value": "v"},
        {"field": "event", "op": "gt", "value": "c"},
        {"field": "page", "op": "contains", "value": "/P"},
        {"field": "page", "op": "equals", "value": ""},
        {"field": "page", "op": "lt", "value": "/q"},
        {"field": "country", "op": "equals", "value": "de"},
        {"field": "country", "op": "not_equals", "value": "DE"},
        {"field": "plan", "op": "equals", "value": 7.5},
        {"field": "plan", "op": "gt", "value": 5},
        {"field": "plan", "op": "equals", "value": "pro"},
        {"field": "plan", "op": "not_equals", "value": 7.5},
        {"field": "plan", "op": "in", "value": [7.5, "pro"]},
        {"field": "revenue", "op": "gt", "value": 0},
        {"field": "revenue", "op": "equals", "value": "2.5"},
        {"field": "revenue", "op": "lt", "value": 3},
        {"field": "timestamp", "op": "gt", "value": "2019-10-01T06:00:00Z"},
        {"field": "timestamp", "op": "lt", "value": "2019-10-02"},
        {"field": "timestamp", "op": "starts_with", "value": "2019-10-01t1"},
        {"field": "user_id", "op": "equals", "value": ""},
        {"field": "session_id", "op": "in", "value": ["s1"]},
        {"field": "order_id", "op": "not_equals", "value": ""},
        {"field": "missing", "op": "equals", "value": ""},
    ]
)
STEP_RULES = st.sampled_from(
    [
        {"all": [{"field": "event", "op": "equals", "value": "view"}]},
        {"all": [{"field": "event", "op": "equals", "value": "CART"}]},
        {"all": [{"field": "event", "op": "in", "value": ["buy"]}]},
        {"any": [{"field": "event", "op": "regex", "value": "^(c|b)"}]},
        {"all": [{"field": "event", "op": "not_equals", "value": "page"}]},
    ]
)
RANDOM_RULES = st.builds(
    lambda combinator, conditions: {combinator: conditions},
    st.sampled_from(["all", "any"]),
    st.lists(CONDITIONS, max_size=3),
)
# mostly funnel-like steps, so that later stages are reached, and now and then anything
RULES = st.one_of(STEP_RULES, STEP_RULES, STEP_RULES, RANDOM_RULES)
ROW = st.fixed_dictionaries(
    {
        # 6-hour steps over 3 days, now and then a microsecond later: window edges get hit
        "timestamp": st.builds(
            lambda steps, micro: T0 + timedelta(hours=6 * steps, microseconds=micro),
            st.integers(0, 12),
            st.sampled_from([0, 0, 0, 1]),
        ),
        "event": st.sampled_from(["view", "View", "cart", "buy", "page"]),
        "user_id": st.sampled_from(["", "u1", "u2", "U1", "u3", "u4", "s1"]),
        "session_id": st.sampled_from(["s1", "s2", "s3"]),
        "page": st.sampled_from(["", "/p/1", "/P/2", "/home"]),
        "country": st.sampled_from(["", "DE", "de", "FR"]),
        "revenue": st.sampled_from([0.0, 0.0, 0.0, 2.5, 0.1, 0.2, 10.0]),
        "order_id": st.sampled_from(["", "", "o1", "o2"]),
        "plan": st.sampled_from([None, "7.50", 7.5, "Pro", "abc", 9]),
    }
)
# hypothesis draws short lists by default: ask for longer ones too, so that funnels form
ROWS = st.one_of(st.lists(ROW, max_size=5), st.lists(ROW, min_size=10, max_size=40))
FUNNEL = [
    [{"all": [{"field": "event", "op": "equals", "value": "view"}]}],
    [{"all": [{"field": "event", "op": "equals", "value": "cart"}]}],
    [{"all": [{"field": "event", "op": "equals", "value": "buy"}]}],
]
# journeys view → cart → buy whose later steps fall on t1 + W, or a microsecond after it
EDGE_JOURNEYS = st.lists(
    st.tuples(st.sampled_from(["u1", "u5", ""]), st.integers(0, 4), st.sampled_from([0, 1])),
    max_size=3,
)


def edge_journey(user: str, step: int, late_by: int, window_days: int) -> list[dict]:
    """Rows of a journey view → cart → buy, the last two at t1 + W + late_by µs."""
    first = T0 + timedelta(hours=6 * step)
    edge = first + timedelta(days=window_days, microseconds=late_by)
    plain = {"session_id": "s9", "page": "", "country": "", "order_id": "", "plan": None}
    return [
        {"timestamp": first, "event": "view", "user_id": user, "revenue": 0.0, **plain},
        {"timestamp": edge, "event": "cart", "user_id": user, "revenue": 0.0, **plain},
        {"timestamp": edge, "event": "buy", "user_id": user, "revenue": 2.5, **plain},
    ]


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=ROWS,
    edge_journeys=EDGE_JOURNEYS,
    stage_rules=st.one_of(
        st.just(FUNNEL), st.lists(st.lists(RULES, min_size=1, max_size=2), min_size=1, max_size=4)
    ),
    unmeasured=st.one_of(st.none(), st.tuples(st.integers(0, 4), st.sampled_from([[], [None]]))),
    window_days=st.integers(1, 2),
    bounds=st.tuples(st.integers(-1, 6), st.integers(0, 13)),
    segment=st.one_of(st.none(), RANDOM_RULES, STEP_RULES),
    scores=st.lists(st.tuples(st.integers(0, 10), st.one_of(st.none(), st.integers(-1, 13)))),
    default_range=st.booleans(),
)
def test_the_engine_agrees_with_a_naive_reading_of_section_7(
    workspace,
    rows,
    edge_journeys,
    stage_rules,
    unmeasured,
    window_days,
    bounds,
    segment,
    scores,
    default_range,
):
    for journey in edge_journeys:
        rows = [*rows, *edge_journey(*journey, window_days)]
    if unmeasured is not None:  # a stage without rules (no touchpoint, or none with a rule)
        position, touchpoints = unmeasured
        stage_rules = [*stage_rules[:position], touchpoints, *stage_rules[position:]]
    # hypothesis runs the examples in one test, so each one starts by clearing the last one's
    JourneyMap.objects.all().delete()
    Dataset.objects.all().delete()
    Persona.objects.all().delete()
    journey_map = factories.make_map(workspace, "Random", conversion_window_days=window_days)
    for index, rules in enumerate(stage_rules):
        stage(journey_map, f"Stage {index}", *rules)
    events_dataset(
        workspace,
        [
            Event(
                timestamp=row["timestamp"],
                event=row["event"],
                user_id=row["user_id"],
                session_id=row["session_id"],
                page=row["page"],
                country=row["country"],
                revenue=row["revenue"],
                order_id=row["order_id"],
                extra=None if row["plan"] is None else {"plan": row["plan"]},
            )
            for row in rows
        ],
        feeds=[journey_map],
    )
    dated = [
        (score, None if steps is None else T0 + timedelta(hours=6 * steps))
        for score, steps in scores
    ]
    survey_dataset(workspace, dated, feeds=[journey_map])
    persona = factories.make_persona(workspace, "Random persona", segment=segment)

    if default_range:
        start = end = None
        if rows:
            start = min(row["timestamp"] for row in rows)
            end = max(row["timestamp"] for row in rows) + timedelta(microseconds=1)
    else:
        start = T0 + timedelta(hours=6 * bounds[0])
        end = start + timedelta(hours=6 * bounds[1])
    metrics = compute_metrics(
        journey_map=journey_map,
        start=None if default_range else start,
        end=None if default_range else end,
        persona=persona,
    )

    naive_rows = [dict(row) for row in rows]
    in_range = [
        score for score, when in dated if when is None or start is None or (start <= when < end)
    ]
    far = datetime(9999, 1, 1, tzinfo=UTC)
    notes = []
    totals, figures = naive_metrics(
        naive_rows,
        [[rule for rule in rules if rule is not None] for rules in stage_rules],
        window_days,
        start or T0,
        end or far,
        segment,
        in_range,
        notes,
    )
    for note in set(notes):
        hypothesis_event(note)
    for key, value in totals.items():
        assert same(metrics["totals"][key], value, key), (key, metrics["totals"][key], value)
    assert len(metrics["stages"]) == len(figures)
    for engine_stage, naive_stage in zip(metrics["stages"], figures, strict=True):
        for key, value in naive_stage.items():
            assert same(engine_stage[key], value, key), (key, engine_stage[key], value)
