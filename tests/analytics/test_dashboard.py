"""The per-map dashboard: the stored figures (equal to the engine's), as charts, tables and CSV."""

import csv
import io
import json
import re
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from analytics.engine import compute_metrics
from analytics.figures import format_value
from analytics.materialise import request_recompute
from analytics.models import MapMetrics
from analytics.tasks import recompute_map_metrics
from stages.models import Stage
from tests import factories
from tests.analytics.figures_data import equals, make_shop
from touchpoints.models import PainPoint


@pytest.fixture
def shop(workspace):
    shop = make_shop(workspace)
    factories.make_pain_point(shop.cart, "Shipping cost shown late", severity=5)
    factories.make_opportunity(shop.cart, "Show shipping up front", impact=4)
    Stage.objects.filter(pk=shop.purchase.pk).update(emotion=2)  # the team thinks checkout is fine
    recompute_map_metrics.enqueue(shop.journey_map.pk)
    return shop


def refresh(shop) -> None:
    """Store the figures again after changes made around the services (which would ask for it)."""
    request_recompute(journey_map=shop.journey_map)
    recompute_map_metrics.enqueue(shop.journey_map.pk)


def url(shop, name: str = "map_dashboard", persona=None) -> str:
    path = reverse(name, kwargs={"workspace": "acme", "slug": shop.journey_map.slug})
    return f"{path}?persona={persona.pk}" if persona is not None else path


def chart(response, element_id: str) -> dict:
    """The plotly figure a chart of the page draws, from its JSON block."""
    html = response.content.decode()
    match = re.search(
        rf'<script type="application/json" id="{element_id}-data">(.*?)</script>', html
    )
    assert match, f"no chart {element_id}"
    return json.loads(match.group(1))


def measured(figures: dict) -> list[dict]:
    return [entry for entry in figures["stages"] if entry["measured"]]


@pytest.mark.parametrize("with_persona", [False, True])
def test_the_page_shows_the_stored_figures_equal_to_the_engine(
    shop, ws_viewer_client, with_persona
) -> None:
    persona = shop.mobile if with_persona else None
    expected = compute_metrics(journey_map=shop.journey_map, persona=persona)

    response = ws_viewer_client.get(url(shop, persona=persona))

    assert response.status_code == 200
    dash = response.context["dash"]
    assert dash.figures == expected
    assert dash.map_figures.persona_id == (persona.pk if persona else None)
    funnel = chart(response, "funnel-chart")["data"][0]
    assert funnel["type"] == "funnel"
    assert list(funnel["y"]) == ["Visit", "Cart", "Purchase"]  # Advocacy is not measured
    assert list(funnel["x"]) == [entry["funnel_users"] for entry in measured(expected)]
    for entry in measured(expected):
        row = (
            f'<tr><th scope="row">{entry["name"]}</th>'
            f"<td>{format_value(entry['funnel_users'], 'count')}</td>"
            f"<td>{format_value(entry['conversion_rate'], 'rate')}</td>"
        )
        assertContains(response, row)
    assertContains(response, "the whole span of the data feeding this map")


def test_the_weekly_trends_are_the_stored_weeks(shop, ws_viewer_client) -> None:
    row = MapMetrics.objects.get(map=shop.journey_map, persona=None)

    response = ws_viewer_client.get(url(shop))

    lines = chart(response, "trends-chart")["data"]
    assert [line["name"] for line in lines] == ["Visit", "Cart", "Purchase"]
    weeks = [week["week"] for week in row.weekly]
    assert list(lines[0]["x"]) == weeks and len(weeks) == 12
    for position, line in enumerate(lines):
        assert list(line["y"]) == [week["stages"][position]["users"] for week in row.weekly]
    first = row.weekly[0]
    third_week = compute_metrics(
        journey_map=shop.journey_map,
        start=datetime.fromisoformat(row.weekly[2]["start"]),
        end=datetime.fromisoformat(row.weekly[2]["end"]),
    )
    assert row.weekly[2]["stages"] == third_week["stages"]
    assertContains(
        response,
        f'<tr><th scope="row">{first["week"]}</th><td>{first["stages"][0]["users"]}</td>',
    )


def test_kpi_cards_show_actual_target_status_and_change(shop, ws_viewer_client) -> None:
    figures = compute_metrics(journey_map=shop.journey_map)
    visit_users = figures["stages"][0]["users"]

    response = ws_viewer_client.get(url(shop))

    html = response.content.decode()
    card = html[html.index(f'id="dash-kpi-{shop.users_kpi.pk}"') :]
    card = card[: card.index("</div>")]
    assert f"Actual <strong>{visit_users:,}</strong>" in card
    assert 'Target 30 (higher is better) · <span class="kpi-status">met</span>' in card
    assert "= 0.0% vs the previous 28 days" in card  # 8 visitors in each period
    cart = html[html.index(f'id="dash-kpi-{shop.conversion_kpi.pk}"') :]
    cart = cart[: cart.index("</div>")]
    conversion = format_value(figures["stages"][1]["conversion_rate"], "rate")
    assert f"Actual <strong>{conversion}</strong>" in cart and "not met" in cart
    assert '<span class="kpi-change good">▲' in cart


def test_insights_name_the_biggest_drop_off_revenue_at_risk_and_the_belief_check(
    shop, ws_viewer_client
) -> None:
    figures = compute_metrics(journey_map=shop.journey_map)
    _, cart, purchase = measured(figures)
    worst = max((cart, purchase), key=lambda entry: entry["drop_off"])

    response = ws_viewer_client.get(url(shop))

    html = response.content.decode()
    assert f"{worst['drop_off']:,} of " in html
    assertContains(response, "Revenue at risk")
    assertContains(response, "Purchase is the purchase stage")
    aov = figures["totals"]["aov"]
    assertContains(response, format_value(cart["drop_off"] * aov, "money"))
    assertContains(response, "Shipping cost shown late")
    assert purchase["conversion_rate"] < cart["conversion_rate"]
    editor = shop.journey_map.get_absolute_url()
    assertContains(
        response, f'Belief check: <a href="{editor}#stage-{shop.purchase.pk}-head">Purchase</a>'
    )
    assertContains(response, "is scored positive on the emotion curve (+2) but converts worst")


def test_the_csv_holds_the_figures_of_the_page_formula_safe(shop, ws_viewer_client) -> None:
    Stage.objects.filter(pk=shop.visit.pk).update(name="=HYPERLINK(1)")
    refresh(shop)
    expected = compute_metrics(journey_map=shop.journey_map, persona=shop.mobile)

    response = ws_viewer_client.get(url(shop, "map_dashboard_csv", persona=shop.mobile))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    totals = {r["metric"]: r["value"] for r in rows if r["section"] == "totals"}
    for metric, value in expected["totals"].items():
        assert totals[metric] == ("" if value is None else str(value)), metric
    stages = {
        (r["stage_position"], r["metric"]): r["value"] for r in rows if r["section"] == "stage"
    }
    for entry in expected["stages"]:
        for metric in ("users", "funnel_users", "conversion_rate", "drop_off", "revenue"):
            value = entry[metric]
            cell = stages[(str(entry["position"]), metric)]
            assert cell == ("" if value is None else str(value)), (entry["name"], metric)
            if value is not None:
                assert float(cell) == value
    weeks = [r for r in rows if r["section"] == "week" and r["metric"] == "users"]
    stored = MapMetrics.objects.get(map=shop.journey_map, persona=shop.mobile)
    assert len(weeks) == 3 * len(stored.weekly)
    assert weeks[0]["value"] == str(stored.weekly[0]["stages"][0]["users"])


def test_a_viewer_opens_it_an_outsider_gets_404_anonymous_logs_in(
    shop, ws_viewer_client, outsider_client, client
) -> None:
    assert ws_viewer_client.get(url(shop)).status_code == 200
    assert outsider_client.get(url(shop)).status_code == 404
    assert outsider_client.get(url(shop, "map_dashboard_csv")).status_code == 404
    response = client.get(url(shop))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_another_workspaces_map_is_404_through_mine(shop, ws_viewer_client, other_workspace):
    rival = make_shop(other_workspace, name="Rival journey")
    path = reverse("map_dashboard", kwargs={"workspace": "acme", "slug": rival.journey_map.slug})

    assert ws_viewer_client.get(path).status_code == 404


def test_the_editor_links_to_the_dashboard(shop, ws_viewer_client) -> None:
    response = ws_viewer_client.get(shop.journey_map.get_absolute_url())

    assertContains(response, f'href="{url(shop)}"')


def test_a_map_without_data_says_so(workspace, ws_viewer_client) -> None:
    shop = make_shop(workspace, with_data=False, name="Empty journey")

    response = ws_viewer_client.get(url(shop))

    assertContains(response, "No dataset feeds this map yet")
    assertNotContains(response, 'data-plotly="')


def _queries(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def visit(client, path: str, capture) -> None:
    """Open a page and run what its request left to run on commit (computing the breakdowns or
    the range's figures): the test's transaction never commits."""
    with capture(execute=True):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("chosen", ["", "&range=30d"])
def test_queries_are_constant_in_the_stages_and_never_read_events(
    shop, ws_viewer_client, django_capture_on_commit_callbacks, chosen
) -> None:
    page = url(shop, persona=shop.mobile) + chosen
    visit(ws_viewer_client, page, django_capture_on_commit_callbacks)
    few = _queries(ws_viewer_client, page)
    assert "analytics_rangemetrics" in " ".join(few)  # the range row is present
    for number in range(4):
        stage = factories.make_stage(shop.journey_map, f"Extra {number}")
        factories.make_touchpoint(stage, f"Extra page {number}", rule=equals("page", f"/{number}"))
        factories.make_kpi(stage, "users", target=1)
        factories.make_pain_point(stage, f"Pain {number}")
        factories.make_opportunity(stage, f"Idea {number}")
    refresh(shop)
    visit(ws_viewer_client, page, django_capture_on_commit_callbacks)

    many = _queries(ws_viewer_client, page)

    assert len(many) == len(few)
    assertContains(ws_viewer_client.get(page), "Extra 3")
    assertContains(ws_viewer_client.get(url(shop)), "Extra 3")
    for sql in few + many + _queries(ws_viewer_client, url(shop, "map_dashboard_csv")):
        assert "analytics_event" not in sql


def test_the_figures_region_comes_from_the_cache_until_the_map_or_its_figures_change(
    shop, ws_viewer_client, ws_editor_client, django_capture_on_commit_callbacks
) -> None:
    page = url(shop)
    visit(ws_viewer_client, page, django_capture_on_commit_callbacks)
    first = ws_viewer_client.get(page).content.decode()

    # Visited again (by anyone), the region is the cached one: no stage, KPI or card is read.
    cached = _queries(ws_editor_client, page)
    assert not any("stages_stage" in sql or "touchpoints_painpoint" in sql for sql in cached)
    assert _dash_body(ws_editor_client.get(page)) == _dash_body(first)

    # A change on the map (a pain point's title, through the editor) shows on the next visit.
    pain_point = PainPoint.objects.get(title="Shipping cost shown late")
    response = ws_editor_client.post(
        reverse("card_edit", args=["acme", "pain_point", pain_point.pk]),
        {
            "title": "Shipping cost hidden",
            "severity": "5",
            "status": pain_point.status,
            "expected_version": pain_point.version,
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assertContains(ws_viewer_client.get(page), "Shipping cost hidden")
    assertNotContains(ws_viewer_client.get(page), "Shipping cost shown late")

    # New stored figures show at once: the key holds the stored row.
    refresh(shop)
    row = MapMetrics.objects.get(map=shop.journey_map, persona__isnull=True)
    row.figures["stages"][0]["funnel_users"] = 424242  # marks this row's figures on the page
    MapMetrics.objects.filter(pk=row.pk).update(figures=row.figures)
    assertContains(ws_viewer_client.get(page), "424,242")


def _dash_body(response_or_html) -> str:
    html = getattr(response_or_html, "content", response_or_html)
    html = html.decode() if isinstance(html, bytes) else html
    return html[html.index('<div id="dash-body"') :]
