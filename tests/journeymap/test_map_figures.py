"""The map page shows stored figures: KPIs against targets, stage reach and steps, per persona.

The figures are computed once (analytics.materialise, as the background task does); the page only
reads them, and never touches the events table.
"""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from pytest_django.asserts import assertContains, assertNotContains

from analytics.figures import format_duration, format_value
from analytics.materialise import metrics_recompute
from analytics.models import MapMetrics, MapMetricsState, MetricsStatus
from tests.analytics.figures_data import make_shop
from touchpoints.models import Touchpoint

HTMX = {"HX-Request": "true"}


@pytest.fixture
def shop(workspace):
    shop = make_shop(workspace)
    metrics_recompute(map_id=shop.journey_map.pk)
    return shop


def page(client, shop, **params):
    url = shop.journey_map.get_absolute_url()
    return client.get(url, params)


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


def kpi_html(response, kpi) -> str:
    return element(response.content.decode(), f"kpi-{kpi.pk}-figures")


def stage_html(response, stage) -> str:
    return element(response.content.decode(), f"stage-{stage.pk}-figures")


def test_the_kpi_lane_shows_actual_target_met_and_change_from_stored_figures(
    ws_viewer_client, shop
) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = page(ws_viewer_client, shop)

    assert response.status_code == 200
    assert not [q["sql"] for q in queries if "analytics_event" in q["sql"]]
    users = kpi_html(response, shop.users_kpi)
    assert "kpi-met" in users
    assert (
        "Actual: <strong>40</strong>" in users
        and "Target: 30" in users
        and '<span class="kpi-status">met</span>' in users
    )
    # Visit users: 15 in the last 28 days, 15 in the 28 before.
    assert "= 0.0% vs the previous 28 days" in users
    conversion = kpi_html(response, shop.conversion_kpi)
    assert "kpi-missed" in conversion
    assert "Actual: <strong>65.0%</strong>" in conversion and "Target: 80.0%" in conversion
    assert "not met" in conversion
    revenue = kpi_html(response, shop.revenue_kpi)
    # 10 orders of 20 + n (n = 0, 4, ..., 36); the last 28 days 156.00 against 152.00 before.
    assert "Actual: <strong>380.00</strong>" in revenue and "Target: 100.00" in revenue
    assert 'kpi-change good"' in revenue and "▲ 2.6% vs the previous 28 days" in revenue
    aov = kpi_html(response, shop.aov_kpi)  # a map total, lower is better
    assert "Actual: <strong>38.00</strong>" in aov and "Target: 50.00" in aov and "kpi-met" in aov


def test_each_stage_shows_its_users_and_the_step_from_the_stage_before(
    ws_viewer_client, shop
) -> None:
    response = page(ws_viewer_client, shop)

    assert "<strong>40</strong> users" in stage_html(response, shop.visit)
    assert "→" not in stage_html(response, shop.visit)
    cart = stage_html(response, shop.cart)
    assert "<strong>26</strong> users" in cart and "→ 65.0% from Visit · 14 drop off" in cart
    purchase = stage_html(response, shop.purchase)
    assert "<strong>10</strong> users" in purchase and "→ 23.1% from Cart · 20 drop off" in purchase


def test_a_stage_without_rules_says_it_is_not_measured(ws_viewer_client, shop) -> None:
    response = page(ws_viewer_client, shop)

    assert "not measured (no touchpoint rule)" in stage_html(response, shop.advocacy)


def test_a_kpi_of_a_stage_without_rules_is_not_measured(ws_viewer_client, shop) -> None:
    from tests import factories

    kpi = factories.make_kpi(shop.advocacy, "users", target=5)

    response = page(ws_viewer_client, shop)

    assert "Actual: not measured (no touchpoint rule)" in kpi_html(response, kpi)


def test_the_persona_switcher_shows_that_personas_figures(ws_viewer_client, shop) -> None:
    response = page(ws_viewer_client, shop, persona=shop.mobile.pk)

    assertContains(response, f'<option value="{shop.mobile.pk}" selected>')
    assert "Actual: <strong>20</strong>" in kpi_html(response, shop.users_kpi)
    assert "<strong>20</strong> users" in stage_html(response, shop.visit)
    assertContains(response, "Figures of this persona's users")
    everyone = page(ws_viewer_client, shop)
    assert "Actual: <strong>40</strong>" in kpi_html(everyone, shop.users_kpi)


def test_the_persona_switcher_swaps_the_board_and_keeps_the_persona_in_the_url(
    ws_viewer_client, shop
) -> None:
    response = page(ws_viewer_client, shop)

    html = response.content.decode()
    switcher = re.search(r'<form class="persona-switch".*?</form>', html, re.S).group(0)
    assert 'method="get"' in switcher and 'hx-target="#board"' in switcher
    assert 'hx-push-url="true"' in switcher and 'name="persona"' in switcher
    assert '<button type="submit"' in switcher  # without JavaScript, a plain GET of ?persona=


def test_a_persona_not_on_the_map_shows_all_users(ws_viewer_client, shop, workspace) -> None:
    from tests import factories

    stranger = factories.make_persona(workspace, "Not on this map")

    response = page(ws_viewer_client, shop, persona=stranger.pk)

    assert "Actual: <strong>40</strong>" in kpi_html(response, shop.users_kpi)


def test_a_card_saved_in_place_keeps_the_pages_persona(ws_editor_client, shop) -> None:
    url = reverse("card_edit", args=[shop.journey_map.workspace.slug, "kpi", shop.users_kpi.pk])
    current = f"http://testserver{shop.journey_map.get_absolute_url()}?persona={shop.mobile.pk}"

    response = ws_editor_client.post(
        url,
        {"metric": "users", "target": "10", "direction": "higher", "expected_version": 1},
        headers={**HTMX, "HX-Current-URL": current},
    )

    assert response.status_code == 200
    assert "Actual: <strong>20</strong>" in kpi_html(response, shop.users_kpi)
    assert "Target: 10" in kpi_html(response, shop.users_kpi)


def test_recomputing_shows_while_a_newer_computation_is_pending(ws_viewer_client, shop) -> None:
    MapMetricsState.objects.filter(map=shop.journey_map).update(
        requested_generation=2, status=MetricsStatus.COMPUTING
    )

    response = page(ws_viewer_client, shop)

    assertContains(response, "recomputing…")
    status = re.search(r'<p id="figures-status".*?>', response.content.decode(), re.S).group(0)
    assert 'hx-trigger="every 2s"' in status
    # The figures stored meanwhile still show, with when they were computed.
    assertContains(response, "computed <time")
    assert "Actual: <strong>40</strong>" in kpi_html(response, shop.users_kpi)


def test_the_status_polls_only_while_pending(ws_viewer_client, shop) -> None:
    response = page(ws_viewer_client, shop)

    assertNotContains(response, "recomputing…")
    status = re.search(r'<p id="figures-status".*?>', response.content.decode(), re.S).group(0)
    assert "every 2s" not in status and 'hx-trigger="jm:map-changed from:body"' in status


def test_the_status_endpoint_swaps_the_new_figures_in_once_ready(ws_viewer_client, shop) -> None:
    url = reverse("map_figures", args=[shop.journey_map.workspace.slug, shop.journey_map.slug])
    Touchpoint.objects.filter(stage=shop.cart).update(
        rule={"all": [{"field": "event", "op": "equals", "value": "purchase"}]}
    )
    MapMetricsState.objects.filter(map=shop.journey_map).update(
        requested_generation=2, status=MetricsStatus.COMPUTING
    )

    pending = ws_viewer_client.get(url, headers=HTMX)

    assert pending.status_code == 200
    assertContains(pending, "recomputing…")
    assertContains(pending, 'hx-trigger="every 2s"')
    assertNotContains(pending, "hx-swap-oob")

    metrics_recompute(map_id=shop.journey_map.pk)  # the worker finishes
    ready = ws_viewer_client.get(url, headers=HTMX)

    assertNotContains(ready, "recomputing…")
    assertContains(ready, f'id="stage-{shop.cart.pk}-figures" hx-swap-oob="true"')
    assertContains(ready, f'id="kpi-{shop.conversion_kpi.pk}-figures" hx-swap-oob="true"')
    assert "<strong>10</strong> users" in stage_html(ready, shop.cart)


def test_the_status_endpoint_keeps_the_persona(ws_viewer_client, shop) -> None:
    url = reverse("map_figures", args=[shop.journey_map.workspace.slug, shop.journey_map.slug])

    response = ws_viewer_client.get(url, {"persona": shop.mobile.pk}, headers=HTMX)

    assert "Actual: <strong>20</strong>" in kpi_html(response, shop.users_kpi)
    assertContains(response, f"?persona={shop.mobile.pk}")


def test_the_status_endpoint_without_htmx_goes_back_to_the_map(ws_viewer_client, shop) -> None:
    url = reverse("map_figures", args=[shop.journey_map.workspace.slug, shop.journey_map.slug])

    response = ws_viewer_client.get(url, {"persona": shop.mobile.pk})

    assert response.status_code == 302
    assert response["Location"] == f"{shop.journey_map.get_absolute_url()}?persona={shop.mobile.pk}"


def test_the_status_endpoint_is_for_members_only(outsider_client, client, shop) -> None:
    url = reverse("map_figures", args=[shop.journey_map.workspace.slug, shop.journey_map.slug])

    assert outsider_client.get(url, headers=HTMX).status_code == 404
    assert client.get(url, headers=HTMX).status_code == 302  # to the login page


def test_a_failed_computation_says_why(ws_viewer_client, shop) -> None:
    MapMetricsState.objects.filter(map=shop.journey_map).update(
        requested_generation=2, status=MetricsStatus.FAILED, error="RuleError: rule.any: boom"
    )

    response = page(ws_viewer_client, shop)

    assertContains(response, "The figures could not be computed: RuleError: rule.any: boom")
    assertNotContains(response, "recomputing…")


def test_a_map_without_datasets_says_so_and_shows_no_numbers(
    ws_admin_client, ws_viewer_client, workspace
) -> None:
    shop = make_shop(workspace, with_data=False)
    metrics_recompute(map_id=shop.journey_map.pk)  # zeros are stored, but not shown

    response = page(ws_viewer_client, shop)

    assertContains(response, "No analytics dataset feeds this map yet, so it shows no figures.")
    assertNotContains(response, "Import or attach a dataset")
    assert "Actual: no data (no dataset feeds this map)" in kpi_html(response, shop.users_kpi)
    assert "users" not in stage_html(response, shop.visit)
    assertNotContains(response, "<strong>0</strong>")
    admin = page(ws_admin_client, shop)
    try:
        datasets = reverse("dataset_list", args=[workspace.slug])
    except NoReverseMatch:  # the datasets pages are not there yet
        return
    assertContains(admin, f'<a href="{datasets}">Import or attach a dataset</a>', html=True)


def test_a_map_never_computed_says_so(ws_viewer_client, workspace) -> None:
    shop = make_shop(workspace)

    response = page(ws_viewer_client, shop)

    assertContains(response, "Figures not computed yet.")
    assert "Actual: not computed yet" in kpi_html(response, shop.users_kpi)


def test_the_page_costs_the_same_queries_with_figures_for_a_small_or_a_big_map(
    ws_viewer_client, workspace, django_assert_max_num_queries
) -> None:
    from tests import factories

    small = make_shop(workspace, name="Small")
    big = make_shop(workspace, name="Big")
    for number in range(6):
        stage = factories.make_stage(big.journey_map, f"Extra {number}")
        factories.make_touchpoint(stage, f"Extra {number}", rule={"any": []})
        factories.make_kpi(stage, "conversion_rate", target=0.5)
    metrics_recompute(map_id=small.journey_map.pk)
    metrics_recompute(map_id=big.journey_map.pk)
    page(ws_viewer_client, small)
    cache.clear()  # each page's lanes are rendered from the database, not the cache

    def count(shop, **params):
        with CaptureQueriesContext(connection) as queries:
            assert page(ws_viewer_client, shop, **params).status_code == 200
        return len(queries)

    assert count(big) == count(small) == count(big, persona=big.mobile.pk)
    assert MapMetrics.objects.filter(map=big.journey_map).count() == 3


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (8000, "count", "8,000"),
        (1234567.0, "count", "1,234,567"),
        (0.0860, "rate", "8.6%"),
        (1.0, "rate", "100.0%"),
        (51234.5, "money", "51,234.50"),
        (41.666, "score", "41.7"),
        (None, "count", "—"),
        (45.0, "duration", "45 s"),
        (720.0, "duration", "12 min"),
        (12000.0, "duration", "3 h 20 min"),
        (187200.0, "duration", "2 d 4 h"),
        (86400.0, "duration", "1 d"),
    ],
)
def test_figures_are_formatted_as_people_read_them(value, kind, shown) -> None:
    assert format_value(value, kind) == shown


def test_a_duration_under_a_second_keeps_a_decimal() -> None:
    assert format_duration(0.25) == "0.2 s"
