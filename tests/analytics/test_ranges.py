"""Figures over a chosen range: presets, validation, and the stored RangeMetrics rows."""

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from analytics.engine import NOT_SET, compute_breakdowns, compute_metrics
from analytics.materialise import request_recompute
from analytics.models import RangeMetrics
from analytics.ranges import DateRange, RangeError, range_figures, resolve_range
from analytics.tasks import compute_range_metrics, recompute_map_metrics
from tests.analytics.figures_data import make_shop


def day(year: int, month: int, number: int) -> datetime:
    return datetime(year, month, number, tzinfo=UTC)


DATA_END = datetime(2026, 11, 13, 18, 30, tzinfo=UTC)  # the demo data's last event, + 1 µs


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("7d", day(2026, 11, 7), day(2026, 11, 14)),
        ("30d", day(2026, 10, 15), day(2026, 11, 14)),
        ("90d", day(2026, 8, 16), day(2026, 11, 14)),
        ("month", day(2026, 11, 1), day(2026, 11, 14)),
    ],
)
def test_presets_end_with_the_latest_day_of_the_data(preset, start, end) -> None:
    chosen = resolve_range({"range": preset}, data_end=DATA_END)

    assert (chosen.start, chosen.end) == (start, end)
    assert chosen.previous_start == start - (end - start)


def test_the_latest_day_is_that_of_the_last_event_not_of_its_end_bound() -> None:
    # the default range ends 1 µs after the last event: an event at 23:59:59.999999 on the 31st
    end = datetime(2026, 11, 1, tzinfo=UTC)

    chosen = resolve_range({"range": "month"}, data_end=end)

    assert (chosen.start, chosen.end) == (day(2026, 10, 1), day(2026, 11, 1))
    assert chosen.label == "1–31 Oct 2026"
    assert chosen.previous_label == "31 Aug – 30 Sep 2026"


def test_this_month_on_the_first_of_the_month_is_that_day() -> None:
    chosen = resolve_range({"range": "month"}, data_end=datetime(2026, 3, 1, 8, tzinfo=UTC))

    assert (chosen.start, chosen.end) == (day(2026, 3, 1), day(2026, 3, 2))
    assert chosen.label == "1 Mar 2026" and chosen.previous_label == "28 Feb 2026"


def test_a_custom_range_includes_its_last_day_and_says_so() -> None:
    chosen = resolve_range(
        {"range": "custom", "from": "2026-10-01", "to": "2026-10-30"}, data_end=DATA_END
    )

    assert chosen == DateRange("custom", day(2026, 10, 1), day(2026, 10, 31))
    assert chosen.days == 30
    assert chosen.label == "1–30 Oct 2026" and chosen.previous_label == "1–30 Sep 2026"
    assert chosen.query() == {"range": "custom", "from": "2026-10-01", "to": "2026-10-30"}


def test_the_default_range_is_none() -> None:
    assert resolve_range({}, data_end=DATA_END) is None
    assert resolve_range({"range": "all"}, data_end=None) is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"range": "custom", "from": "2026-10-01"}, "To: give a date"),
        (
            {"range": "custom", "from": "2026-13-01", "to": "2026-10-02"},
            "'2026-13-01' is not a date",
        ),
        ({"range": "custom", "from": "2026-10-05", "to": "2026-10-01"}, "before it starts"),
        ({"range": "custom", "from": "2000-01-01", "to": "2026-10-01"}, "at most"),
        ({"range": "yesterday"}, "Unknown date range"),
    ],
)
def test_a_bad_range_is_refused_with_a_message(params, message) -> None:
    with pytest.raises(RangeError, match=message):
        resolve_range(params, data_end=DATA_END)


def test_a_preset_without_data_is_refused() -> None:
    with pytest.raises(RangeError, match="no data"):
        resolve_range({"range": "7d"}, data_end=None)


@pytest.fixture
def shop(workspace):
    shop = make_shop(workspace)
    recompute_map_metrics.enqueue(shop.journey_map.pk)
    return shop


@pytest.fixture
def computed(django_capture_on_commit_callbacks):
    """range_figures as a page calls it twice: the first time it asks for the figures (the task
    runs once the request's transaction commits), the next time it finds them."""

    def compute(**arguments):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert range_figures(**arguments) is None
        assert len(callbacks) == 1
        return range_figures(**arguments)

    return compute


def journey_metrics(shop, start: str, end: str, persona=None) -> dict:
    out = io.StringIO()
    options = {"workspace": "acme", "start": start, "end": end, "stdout": out}
    if persona is not None:
        options["persona"] = persona.name
    call_command("journey_metrics", shop.journey_map.slug, **options)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("with_persona", [False, True])
def test_range_figures_equal_journey_metrics_over_the_same_instants(
    shop, computed, with_persona
) -> None:
    persona = shop.mobile if with_persona else None
    chosen = resolve_range({"range": "30d"}, data_end=datetime(2024, 3, 19, 11, tzinfo=UTC))

    row = computed(
        journey_map=shop.journey_map,
        persona_id=persona.pk if persona else None,
        start=chosen.start,
        end=chosen.end,
    )

    assert row is not None
    assert row.figures == journey_metrics(shop, "2024-02-19", "2024-03-20", persona)
    assert row.previous == journey_metrics(shop, "2024-01-20", "2024-02-19", persona)
    assert row.stage_ids == [shop.visit.pk, shop.cart.pk, shop.purchase.pk, shop.advocacy.pk]


def test_previous_period_arithmetic_on_hand_counted_visitors(shop, computed) -> None:
    # visitor n arrives on day 2n after 1 Jan: [19 Feb, 20 Mar) holds n = 25..39 (15 visitors),
    # [20 Jan, 19 Feb) n = 10..24 (15); buyers are n % 4 == 0: 28, 32, 36 against 12, 16, 20, 24
    row = computed(
        journey_map=shop.journey_map,
        persona_id=None,
        start=day(2024, 2, 19),
        end=day(2024, 3, 20),
    )

    visit, _, purchase, _ = row.figures["stages"]
    before_visit, _, before_purchase, _ = row.previous["stages"]
    assert (visit["users"], before_visit["users"]) == (15, 15)
    assert (purchase["users"], before_purchase["users"]) == (3, 4)
    assert purchase["revenue"] == (20 + 28) + (20 + 32) + (20 + 36)
    assert before_purchase["revenue"] == 4 * 20 + 12 + 16 + 20 + 24
    assert row.previous["start"] == "2024-01-20T00:00:00Z"
    assert row.previous["end"] == "2024-02-19T00:00:00Z"


def test_breakdowns_by_channel_device_and_persona_hand_counted(shop, computed) -> None:
    # n = 25..39: mobile are the odd ones (8), desktop 7; Paid Search n % 5 == 0: 25, 30, 35;
    # carts n % 3 != 0: 10 of 15 (odd among them: 25, 29, 31, 35, 37 → 5 mobile);
    # buyers 28, 32, 36 are all desktop
    row = computed(
        journey_map=shop.journey_map, persona_id=None, start=day(2024, 2, 19), end=day(2024, 3, 20)
    )

    channel, device, persona = (row.breakdowns[key] for key in ("channel", "device", "persona"))
    assert channel["values"] == ["Organic Search", "Paid Search"]
    assert [stage["name"] for stage in channel["stages"]] == ["Visit"]
    assert channel["stages"][0]["users"] == [12, 3]
    assert device["values"] == ["mobile", "desktop"]
    assert [(stage["name"], stage["users"]) for stage in device["stages"]] == [
        ("Visit", [8, 7]),
        ("Cart", [5, 5]),
        ("Purchase", [0, 3]),
    ]
    assert persona["values"] == [shop.everyone.name, shop.mobile.name]
    assert [(stage["name"], stage["users"]) for stage in persona["stages"]] == [
        ("Visit", [15, 8]),
        ("Cart", [10, 5]),
        ("Purchase", [3, 0]),
    ]


def test_an_empty_value_is_grouped_as_not_set(shop) -> None:
    from analytics.models import Event

    Event.objects.filter(user_id__in=["u25", "u27"]).update(device="")

    breakdown = compute_breakdowns(
        journey_map=shop.journey_map, start=day(2024, 2, 19), end=day(2024, 3, 20)
    )["device"]

    assert breakdown["values"] == ["desktop", "mobile", NOT_SET]
    assert breakdown["stages"][0]["users"] == [7, 6, 2]


def test_a_change_to_the_map_makes_the_stored_range_stale(shop, computed):
    args = {"journey_map": shop.journey_map, "persona_id": None}
    bounds = {"start": day(2024, 2, 19), "end": day(2024, 3, 20)}
    first = computed(**args, **bounds)
    assert first is not None
    request_recompute(journey_map=shop.journey_map)  # a rule, stage or data change does this

    again = computed(**args, **bounds)

    assert again is not None and again.generation > first.generation
    assert RangeMetrics.objects.filter(map=shop.journey_map).count() == 1


def test_the_task_is_idempotent(shop) -> None:
    args = (shop.journey_map.pk, None, "2024-02-19T00:00:00+00:00", "2024-03-20T00:00:00+00:00")
    first = compute_range_metrics.enqueue(*args).return_value
    second = compute_range_metrics.enqueue(*args).return_value

    assert first["status"] == "ready" and second["status"] == "up to date"
    row = RangeMetrics.objects.get(map=shop.journey_map)
    assert row.figures == compute_metrics(
        journey_map=shop.journey_map, start=day(2024, 2, 19), end=day(2024, 3, 20)
    )


def test_a_range_being_computed_is_not_asked_for_twice(shop, django_capture_on_commit_callbacks):
    bounds = {"start": day(2024, 2, 19), "end": day(2024, 3, 20)}
    with django_capture_on_commit_callbacks() as callbacks:
        assert range_figures(journey_map=shop.journey_map, persona_id=None, **bounds) is None
        assert range_figures(journey_map=shop.journey_map, persona_id=None, **bounds) is None

    assert len(callbacks) == 1
    row = RangeMetrics.objects.get(map=shop.journey_map)
    assert row.figures is None and row.requested_at is not None
