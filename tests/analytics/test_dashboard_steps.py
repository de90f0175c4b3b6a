"""The dashboard's step charts (median time to convert, conversion by week), their "view as table"
switches and CSV rows, the crossed-target insight and the links of the insights to the map."""

import csv
import io

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains

from analytics.dashboard import Dashboard
from analytics.figures import format_value
from analytics.models import MapMetrics
from analytics.tasks import recompute_map_metrics
from stages.models import Stage
from tests import factories
from tests.analytics.figures_data import make_shop
from tests.analytics.test_dashboard import chart

CHARTS = ("funnel-chart", "trends-chart", "median-time-chart", "weekly-conversion-chart")


@pytest.fixture
def shop(workspace):
    shop = make_shop(workspace)
    Stage.objects.filter(pk=shop.purchase.pk).update(emotion=2)  # the belief check fires
    recompute_map_metrics.enqueue(shop.journey_map.pk)
    return shop


def url(shop, name: str = "map_dashboard") -> str:
    return reverse(name, kwargs={"workspace": "acme", "slug": shop.journey_map.slug})


def stored(shop) -> MapMetrics:
    return MapMetrics.objects.get(map=shop.journey_map, persona=None)


def test_the_median_time_chart_is_the_stored_median_of_each_step(shop, ws_viewer_client) -> None:
    stages = stored(shop).figures["stages"]
    medians = [entry["median_time_to_convert_seconds"] for entry in stages[1:3]]
    assert medians == [3600.0, 3600.0]  # the cart an hour after the visit, the purchase an hour on

    response = ws_viewer_client.get(url(shop))

    (bars,) = chart(response, "median-time-chart")["data"]
    assert list(bars["x"]) == ["Visit → Cart", "Cart → Purchase"]
    assert list(bars["y"]) == [60.0, 60.0]  # in minutes
    assert list(bars["text"]) == ["1 h", "1 h"]
    assertContains(response, '<tr><th scope="row">Visit → Cart</th><td>1 h</td></tr>', html=True)


def test_conversion_by_week_is_the_stored_weekly_conversion(shop, ws_viewer_client) -> None:
    weekly = stored(shop).weekly

    response = ws_viewer_client.get(url(shop))

    lines = chart(response, "weekly-conversion-chart")["data"]
    assert [line["name"] for line in lines] == ["Visit → Cart", "Cart → Purchase"]
    assert list(lines[0]["x"]) == [week["week"] for week in weekly]
    for step, line in zip((1, 2), lines, strict=True):
        rates = [week["stages"][step]["conversion_rate"] for week in weekly]
        assert list(line["y"]) == [None if rate is None else rate * 100 for rate in rates]
    first = weekly[0]
    rate = format_value(first["stages"][1]["conversion_rate"], "rate")
    assertContains(response, f'<tr><th scope="row">{first["week"]}</th><td>{rate}</td>')


def test_every_chart_has_a_switch_to_its_table(shop, ws_viewer_client) -> None:
    response = ws_viewer_client.get(url(shop))

    html = response.content.decode()
    for element_id in CHARTS:
        table = element_id.replace("-chart", "-table-box")
        assert (
            f'<button type="button" class="table-toggle no-print" aria-pressed="false" '
            f'aria-controls="{element_id} {table}" data-chart="{element_id}" '
            f'data-table="{table}" hidden>View as table</button>'
        ) in html
        # without JavaScript the table is there to read: only charts.js hides it
        assert f'<div class="as-table" id="{table}">' in html
    assert '<details class="as-table"' not in html


def test_the_csv_holds_the_step_charts_figures(shop, ws_viewer_client) -> None:
    row = stored(shop)

    response = ws_viewer_client.get(url(shop, "map_dashboard_csv"))

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    medians = {
        r["stage"]: r["value"]
        for r in rows
        if r["section"] == "stage" and r["metric"] == "median_time_to_convert_seconds"
    }
    assert medians == {"Visit": "", "Cart": "3600.0", "Purchase": "3600.0", "Advocacy": ""}
    conversion = [r for r in rows if r["section"] == "week" and r["metric"] == "conversion_rate"]
    assert len(conversion) == 2 * len(row.weekly)
    for step in (1, 2):
        cells = [r for r in conversion if r["stage_position"] == str(step + 1)]
        expected = [week["stages"][step]["conversion_rate"] for week in row.weekly]
        assert [r["week"] for r in cells] == [week["week"] for week in row.weekly]
        assert [r["value"] for r in cells] == ["" if v is None else str(v) for v in expected]


def test_a_kpi_that_crossed_its_target_is_called_out_with_its_numbers(
    shop, ws_viewer_client
) -> None:
    row = stored(shop)
    before = row.previous["stages"][2]["revenue"]
    after = row.recent["stages"][2]["revenue"]
    assert before != after
    target = (before + after) / 2
    factories.make_kpi(shop.purchase, "revenue", target=target, direction="higher")
    factories.make_kpi(shop.purchase, "orders", target=None)  # no target: never crosses

    response = ws_viewer_client.get(url(shop))

    crossings = response.context["dash"].crossed_targets
    (crossed,) = [c for c in crossings if c.kpi.target == target]
    assert not [c for c in crossings if c.kpi.metric == "orders"]
    assert (crossed.before, crossed.after, crossed.now_met) == (before, after, after > before)
    editor = shop.journey_map.get_absolute_url()
    status = "Target met" if after > before else "Target missed"
    assertContains(
        response,
        f'<strong>{status}: <a href="{editor}#stage-{shop.purchase.pk}-head">Purchase</a>'
        " · Revenue</strong>",
    )
    money = [format_value(value, "money") for value in (before, after, target)]
    assertContains(response, f"{money[0]} → {money[1]} vs target {money[2]}")


def test_every_insight_links_to_its_stage_on_the_map(shop, ws_viewer_client) -> None:
    factories.make_pain_point(shop.cart, "Shipping cost shown late", severity=5)
    editor = shop.journey_map.get_absolute_url()

    response = ws_viewer_client.get(url(shop))

    dash = response.context["dash"]
    step = dash.biggest_drop_off
    stage_pk = {"Cart": shop.cart.pk, "Purchase": shop.purchase.pk}[step.name]
    assertContains(
        response,
        f'Biggest drop-off: {step.from_name} → <a href="{editor}#stage-{stage_pk}-head">',
    )
    for risk in dash.at_risk:
        stage_pk = {"Cart": shop.cart.pk, "Purchase": shop.purchase.pk}[risk.step.name]
        assertContains(response, f'→ <a href="{editor}#stage-{stage_pk}-head">{risk.step.name}')
    assertContains(
        response, f'Belief check: <a href="{editor}#stage-{shop.purchase.pk}-head">Purchase</a>'
    )
    editor_page = ws_viewer_client.get(editor)
    assertContains(editor_page, f'id="stage-{shop.purchase.pk}-head"')
    assertContains(editor_page, f'id="stage-{shop.cart.pk}-head"')


def test_a_stage_gone_since_the_figures_links_to_the_map_itself() -> None:
    dash = Dashboard(
        map_figures=None,
        personas=[],
        cards=[],
        figures=None,
        weekly=[],
        map_url="/w/acme/maps/shop/",
        stage_ids=[5, None],
    )

    assert dash.stage_href(0) == "/w/acme/maps/shop/#stage-5-head"
    assert dash.stage_href(1) == "/w/acme/maps/shop/"  # deleted since the figures were stored
    assert dash.stage_href(9) == "/w/acme/maps/shop/"
