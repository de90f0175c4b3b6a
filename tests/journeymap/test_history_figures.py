"""Snapshots against figures: the compare page shows, for two snapshots, the figures of the period
each one was live (clamped to the map's data), side by side with how B moved against A.
"""

import io
import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from analytics.figures import COUNT, DURATION, MONEY, RATE, format_value
from analytics.materialise import metrics_recompute
from analytics.models import MapMetrics, RangeMetrics
from analytics.ranges import range_figures
from journeymap import history_figures
from journeymap.history import snapshot_take
from journeymap.history_figures import FigureRow
from journeymap.models import JourneyMap, Snapshot
from tests import factories
from tests.analytics.figures_data import make_shop

HTMX = {"HX-Request": "true"}
# The shop's data: a visitor every two days from 1 January 2024, 09:00, the last on 19 March.
DATA_START = datetime(2024, 1, 1, 9, tzinfo=UTC)
FIX_SHIPPED = datetime(2024, 2, 1, tzinfo=UTC)


def take(journey_map, name: str, at: datetime) -> Snapshot:
    """A snapshot of the map as if it had been taken at `at`."""
    snapshot = snapshot_take(journey_map=journey_map, user=None, name=name)
    Snapshot.objects.filter(pk=snapshot.pk).update(created_at=at)
    snapshot.refresh_from_db()
    return snapshot


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    """Tasks run at once when enqueued (DESIGN §2: the immediate backend only in unit tests)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def shop(workspace):
    shop = make_shop(workspace)
    metrics_recompute(map_id=shop.journey_map.pk)
    return shop


@pytest.fixture
def snapshots(shop):
    """ "As-is" taken before the data starts, "Fix shipped" on 1 February: A and B."""
    as_is = take(shop.journey_map, "As-is", datetime(2023, 12, 1, tzinfo=UTC))
    fixed = take(shop.journey_map, "Fix shipped", FIX_SHIPPED)
    return as_is, fixed


@pytest.fixture
def ranges(monkeypatch):
    """The real range_figures, watched: the calls made, as (persona id, start, end)."""
    calls = []

    def watched(**kwargs):
        calls.append((kwargs["persona_id"], kwargs["start"], kwargs["end"]))
        return range_figures(**kwargs)

    monkeypatch.setattr(history_figures, "range_figures", watched)
    return calls


@pytest.fixture
def computed(django_capture_on_commit_callbacks):
    """Ask for the page once, letting the figures tasks it enqueues run, then answer it again."""

    def page(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            compare(*args, **kwargs)
        return compare(*args, **kwargs)

    return page


def compare(client, shop, a, b, headers=None, workspace="acme", **params):
    url = reverse("map_history", args=[workspace, shop.journey_map.slug])
    return client.get(url, {"a": a.pk, "b": b.pk, **params}, headers=headers or {})


def journey_metrics(shop, start: datetime, end: datetime, workspace: str = "acme") -> dict:
    out = io.StringIO()
    call_command(
        "journey_metrics",
        shop.journey_map.slug,
        workspace=workspace,
        start=start.isoformat(),
        end=end.isoformat(),
        stdout=out,
    )
    return json.loads(out.getvalue())


def element(html: str, element_id: str) -> str:
    """The element with that id, its nested elements included, whitespace collapsed."""
    opening = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>', html)
    assert opening, f"no element #{element_id}"
    tag, depth, position = opening.group(1), 1, opening.end()
    for match in re.finditer(rf"<(/?){tag}\b[^>]*>", html[position:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return " ".join(html[opening.start() : position + match.end()].split())
    raise AssertionError(f"#{element_id} is not closed")


def test_the_figures_are_those_of_journey_metrics_for_each_live_period(
    ws_viewer_client, shop, snapshots, ranges, computed
) -> None:
    as_is, fixed = snapshots
    data_end = MapMetrics.objects.get(map=shop.journey_map, persona=None).end

    response = computed(ws_viewer_client, shop, as_is, fixed)

    assert response.status_code == 200
    figures = response.context["comparison"]["figures"]
    expected_a = journey_metrics(shop, DATA_START, FIX_SHIPPED)
    expected_b = journey_metrics(shop, FIX_SHIPPED, data_end)
    assert expected_a["totals"]["users"] == 16 and expected_b["totals"]["users"] == 24
    totals, per_day = figures.totals[:5], figures.totals[5:]
    for (key, *_), row in zip(history_figures.TOTALS, totals, strict=True):
        assert (row.a, row.b) == (expected_a["totals"][key], expected_b["totals"][key]), key
    days_a = (FIX_SHIPPED - DATA_START).total_seconds() / 86400  # 30.625
    days_b = (data_end - FIX_SHIPPED).total_seconds() / 86400
    assert [(row.label, row.a, row.b) for row in per_day] == [
        ("Users per day", 16 / days_a, 24 / days_b),
        (
            "Revenue per day",
            expected_a["totals"]["revenue"] / days_a,
            expected_b["totals"]["revenue"] / days_b,
        ),
    ]
    assertContains(response, "The periods differ in length (30.6 days and 47.4 days)")
    for stage, entry_a, entry_b in zip(
        figures.stages, expected_a["stages"], expected_b["stages"], strict=True
    ):
        assert stage.name == entry_a["name"]
        assert stage.measured == entry_a["measured"]
        for (key, *_), row in zip(history_figures.STAGE_FIGURES, stage.rows, strict=True):
            assert (row.a, row.b) == (entry_a[key], entry_b[key]), (stage.name, key)
    # The page shows them, formatted, stage by stage.
    html = response.content.decode()
    cart = element(html, "period-stage-2")
    cart_a, cart_b = expected_a["stages"][1], expected_b["stages"][1]
    assert format_value(cart_a["users"], COUNT) in cart
    assert format_value(cart_b["conversion_rate"], RATE) in cart
    delta_pp = (cart_b["conversion_rate"] - cart_a["conversion_rate"]) * 100
    assert f"{delta_pp:+.1f} pp" in cart
    assert "Not measured" in element(html, "period-stage-4")  # Advocacy has no rule
    revenue_a, revenue_b = expected_a["totals"]["revenue"], expected_b["totals"]["revenue"]
    assertContains(response, format_value(revenue_a, MONEY))
    assertContains(response, format_value(revenue_b, MONEY))
    # A is counted from the first event (it was live before the data); B to the last one.
    assert ranges[-2:] == [(None, DATA_START, FIX_SHIPPED), (None, FIX_SHIPPED, data_end)]
    assert sorted(RangeMetrics.objects.values_list("start", "end")) == [
        (DATA_START, FIX_SHIPPED),
        (FIX_SHIPPED, data_end),
    ]


def test_each_period_runs_to_the_next_snapshot_within_the_data(
    ws_viewer_client, shop, snapshots, ranges
) -> None:
    as_is, fixed = snapshots
    later = take(shop.journey_map, "After the data", datetime(2024, 6, 1, tzinfo=UTC))

    response = compare(ws_viewer_client, shop, as_is, fixed)

    figures = response.context["comparison"]["figures"]
    assert (figures.a.live_from, figures.a.live_until) == (as_is.created_at, FIX_SHIPPED)
    assert (figures.a.start, figures.a.end) == (DATA_START, FIX_SHIPPED)
    assert figures.a.clamped
    # B was live until "After the data" was taken, which is past the last event.
    data_end = MapMetrics.objects.get(map=shop.journey_map, persona=None).end
    assert (figures.b.live_until, figures.b.end) == (later.created_at, data_end)
    assert figures.b.clamped
    html = response.content.decode()
    assert "Live <time" in element(html, "period-a")
    assert "(the part inside the data)" in element(html, "period-a")


def test_the_latest_snapshot_is_live_until_the_latest_data(
    ws_viewer_client, shop, snapshots, ranges
) -> None:
    as_is, fixed = snapshots

    response = compare(ws_viewer_client, shop, as_is, fixed)

    assert "until the latest data" in element(response.content.decode(), "period-b")
    assert response.context["comparison"]["figures"].b.live_until is None


def test_a_period_without_data_says_so(ws_viewer_client, shop, snapshots, ranges) -> None:
    before = take(shop.journey_map, "Long ago", datetime(2023, 6, 1, tzinfo=UTC))
    after = take(shop.journey_map, "After the data", datetime(2024, 6, 1, tzinfo=UTC))

    response = compare(ws_viewer_client, shop, before, after)

    html = response.content.decode()
    # "Long ago" was live until "As-is" was taken, before the first event; "After the data" is
    # live after the last one. Neither is counted.
    assert "No data in this period: the map's data runs from 1 Jan 2024 to 19 Mar 2024." in (
        element(html, "period-a")
    )
    assert "No data in this period" in element(html, "period-b")
    assertContains(response, "Nothing to compare: neither period has data of this map.")
    assertNotContains(response, "Change, B against A")
    assert ranges == []


def test_a_period_inside_the_data_without_events_says_so(
    ws_viewer_client, shop, ranges, computed
) -> None:
    a = take(shop.journey_map, "A", datetime(2024, 1, 1, 12, tzinfo=UTC))
    b = take(shop.journey_map, "B", datetime(2024, 1, 2, tzinfo=UTC))
    # A: 1 January 12:00 to 2 January, after the first visitor's purchase (11:00), before the
    # second visitor (3 January).

    response = computed(ws_viewer_client, shop, a, b)

    assert "no event of this map's datasets falls in it" in element(
        response.content.decode(), "period-a"
    )
    assertContains(response, "Nothing to compare: period A has no data of this map.")


def test_a_map_without_figures_says_there_is_no_data(ws_viewer_client, workspace, ranges) -> None:
    shop = make_shop(workspace, with_data=False)
    a = take(shop.journey_map, "A", datetime(2024, 1, 1, tzinfo=UTC))
    b = take(shop.journey_map, "B", datetime(2024, 2, 1, tzinfo=UTC))

    response = compare(ws_viewer_client, shop, a, b)

    assertContains(response, "No data: no dataset feeding this map has been counted yet.", count=2)
    assert ranges == []


def test_while_the_figures_are_computed_the_page_says_so_and_polls(
    ws_viewer_client, shop, snapshots, django_capture_on_commit_callbacks
) -> None:
    as_is, fixed = snapshots

    with django_capture_on_commit_callbacks() as tasks:
        response = compare(ws_viewer_client, shop, as_is, fixed)

    assert len(tasks) == 2  # one computation per period, enqueued once the request commits
    section = element(response.content.decode(), "period-figures")
    assert "Computing the figures of both periods…" in section
    assert "computing…" in element(section, "period-a")
    assert "computing…" in element(section, "period-b")
    poll = f"?a={as_is.pk}&amp;b={fixed.pk}&amp;part=figures"
    assert f'hx-get="{reverse("map_history", args=["acme", shop.journey_map.slug])}{poll}"' in (
        section
    )
    assert 'hx-trigger="every 2s"' in section
    assert "<script" not in section and "style=" not in section

    # The poll gets the figures region alone, and does not ask for the figures again.
    with django_capture_on_commit_callbacks() as again:
        polled = compare(ws_viewer_client, shop, as_is, fixed, part="figures", headers=HTMX)
    assert not again
    assert polled.content.decode().lstrip().startswith('<section id="period-figures"')
    assert "Computing the figures of both periods…" in polled.content.decode()

    for task in tasks:  # the worker runs them
        task()
    done = compare(ws_viewer_client, shop, as_is, fixed, part="figures", headers=HTMX)

    html = done.content.decode()
    assert html.lstrip().startswith('<section id="period-figures"')
    assert "hx-trigger" not in html and "omputing" not in html
    assert "Change, B against A" in html


def test_each_snapshot_links_to_its_comparison_with_the_one_before(
    ws_viewer_client, shop, snapshots
) -> None:
    as_is, fixed = snapshots
    url = reverse("map_history", args=["acme", shop.journey_map.slug])

    response = ws_viewer_client.get(url)

    html = response.content.decode()
    assert f'href="{url}?a={as_is.pk}&amp;b={fixed.pk}#compare"' in element(
        html, f"snapshot-{fixed.pk}"
    )
    assert "Compare with the one before" not in element(html, f"snapshot-{as_is.pk}")


def test_a_snapshot_against_the_current_map_has_no_period_figures(
    ws_viewer_client, shop, snapshots, ranges
) -> None:
    as_is, _ = snapshots
    url = reverse("map_history", args=["acme", shop.journey_map.slug])

    response = ws_viewer_client.get(url, {"a": as_is.pk, "b": "current"})

    assertContains(response, "Pick two snapshots to compare the figures")
    assert ranges == []


def test_an_outsider_gets_not_found(outsider_client, shop, snapshots, ranges) -> None:
    as_is, fixed = snapshots

    response = compare(outsider_client, shop, as_is, fixed)

    assert response.status_code == 404
    assert ranges == []


def test_a_snapshot_of_another_workspace_is_not_found(
    ws_viewer_client, shop, snapshots, other_workspace, ranges
) -> None:
    as_is, _ = snapshots
    rival = make_shop(other_workspace, name="Rival journey")
    rival_snapshot = take(rival.journey_map, "Rival", datetime(2024, 1, 15, tzinfo=UTC))

    response = compare(ws_viewer_client, shop, as_is, rival_snapshot)

    assert response.status_code == 404
    assert ranges == []


# --- how a change reads --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "text", "verdict", "arrow"),
    [
        (FigureRow("Conversion", RATE, True, 0.25, 0.30), "+5.0 pp", "good", "▲"),
        (FigureRow("Conversion", RATE, True, 0.30, 0.25), "-5.0 pp", "bad", "▼"),
        (FigureRow("Conversion", RATE, True, 0.3, 0.30001), "+0.0 pp", "neutral", "="),
        (FigureRow("Users", COUNT, True, 200, 250), "+50 (+25.0%)", "good", "▲"),
        (FigureRow("Drop-off", COUNT, False, 10, 12), "+2 (+20.0%)", "bad", "▲"),
        (FigureRow("Revenue", MONEY, True, 0, 120.5), "+120.50", "good", "▲"),
        (FigureRow("Median time", DURATION, False, 7200, 3600), "−1 h", "good", "▼"),
        (FigureRow("NPS", "score", True, 40.0, 35.5), "-4.5 (-11.2%)", "bad", "▼"),
        (FigureRow("Users", COUNT, True, None, 12), "—", "neutral", ""),
        (FigureRow("Drop-off", COUNT, False, 0, 0), "0", "neutral", "="),
    ],
)
def test_a_change_reads_with_its_arrow_colour_and_unit(row, text, verdict, arrow) -> None:
    assert (row.delta_text, row.verdict, row.arrow) == (text, verdict, arrow)


# --- the demo -------------------------------------------------------------------------------------


def test_the_demo_compares_its_two_snapshots_with_real_numbers(db, settings, computed) -> None:
    immediate = settings.TASKS
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # as make run
    call_command("load_demo", stdout=io.StringIO())
    settings.TASKS = immediate  # and the worker computes the figures the page asks for at once
    demo = SimpleNamespace(journey_map=JourneyMap.objects.get(workspace__slug="demo"))
    as_is, fixed = demo.journey_map.snapshots.order_by("created_at")
    client = Client()
    client.force_login(User.objects.get(username="demo"))

    response = computed(client, demo, as_is, fixed, workspace="demo")

    figures = response.context["comparison"]["figures"]
    assert (figures.a.live_from, figures.a.live_until) == (
        datetime(2026, 8, 1, tzinfo=UTC),
        datetime(2026, 10, 1, tzinfo=UTC),
    )
    assert figures.a.start == figures.a.data_start and figures.a.end == figures.b.start
    assert figures.b.live_until is None and figures.b.end == figures.b.data_end
    assert figures.comparable
    for period in (figures.a, figures.b):
        expected = journey_metrics(demo, period.start, period.end, workspace="demo")
        assert period.figures["totals"] == expected["totals"]
        assert period.figures["stages"] == expected["stages"]
        assert expected["totals"]["users"] > 1000 and expected["totals"]["revenue"] > 0
    assertContains(response, "Checkout fix shipped")
    assertContains(response, "Change, B against A", count=2)


def test_the_comparison_with_figures_costs_a_constant_number_of_queries(
    ws_viewer_client, shop, snapshots, computed, django_assert_max_num_queries
) -> None:
    as_is, fixed = snapshots
    for number in range(5):
        factories.make_stage(shop.journey_map, f"Extra {number}")
    computed(ws_viewer_client, shop, as_is, fixed)

    with django_assert_max_num_queries(20):
        response = compare(ws_viewer_client, shop, as_is, fixed)

    assert response.context["comparison"]["figures"].comparable
    assert len(response.context["comparison"]["figures"].stages) == 9
