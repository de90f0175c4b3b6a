"""The workspace overview: each active map's stored headline figures and weekly users."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from analytics import charts
from analytics.figures import format_value
from analytics.models import MapMetrics
from analytics.tasks import recompute_map_metrics
from tests import factories
from tests.analytics.figures_data import make_shop

URL = reverse("workspace_overview", kwargs={"workspace": "acme"})


@pytest.fixture
def shop(workspace):
    shop = make_shop(workspace)
    recompute_map_metrics.enqueue(shop.journey_map.pk)
    return shop


def line(response, journey_map):
    (found,) = [x for x in response.context["lines"] if x.journey_map.pk == journey_map.pk]
    return found


def test_the_headline_figures_are_the_stored_figures(shop, ws_viewer_client) -> None:
    stored = MapMetrics.objects.get(map=shop.journey_map, persona=None)
    totals = stored.figures["totals"]

    response = ws_viewer_client.get(URL)

    assert response.status_code == 200
    assert line(response, shop.journey_map).totals == totals
    html = response.content.decode()
    row = html[html.index(f'id="overview-map-{shop.journey_map.pk}"') :]
    row = re.sub(r">\s+<", "><", row[: row.index("</tr>")])
    cells = [
        format_value(totals["users"], "count"),
        format_value(totals["conversion_rate"], "rate"),
        format_value(totals["revenue"], "money"),
        format_value(totals["nps"], "score"),  # no survey: a dash
    ]
    assert "".join(f"<td>{cell}</td>" for cell in cells) in row
    assert f'<a href="{shop.journey_map.get_absolute_url()}">Shop journey</a>' in row


def test_kpis_met_count_each_kpi_against_its_target(shop, ws_viewer_client) -> None:
    stored = MapMetrics.objects.get(map=shop.journey_map, persona=None).figures
    visit, cart, purchase, _ = stored["stages"]
    met = [
        visit["users"] >= 30,
        cart["conversion_rate"] >= 0.8,
        purchase["revenue"] >= 100,
        stored["totals"]["aov"] <= 50,
    ]
    assert 0 < sum(met) < 4  # the shop meets some and misses some
    factories.make_kpi(shop.advocacy, "users", target=1)  # not measured: never met

    response = ws_viewer_client.get(URL)

    found = line(response, shop.journey_map)
    assert (found.kpis_met, found.kpis_total) == (sum(met), 5)
    assertContains(response, f"<td>{sum(met)} / 5</td>")


def test_the_sparkline_draws_the_stored_weekly_users(shop, ws_viewer_client) -> None:
    weekly = MapMetrics.objects.get(map=shop.journey_map, persona=None).weekly
    users = [week["totals"]["users"] for week in weekly]

    response = ws_viewer_client.get(URL)

    assert line(response, shop.journey_map).weekly_users == users and len(users) == 12
    points = " ".join(f"{x:g},{y:g}" for x, y in charts.sparkline_points(users))
    assertContains(response, f'<polyline points="{points}"/>')
    assertContains(response, ", ".join(str(value) for value in users))  # read aloud


def test_a_map_without_figures_says_so_and_archived_maps_are_left_out(
    shop, workspace, ws_viewer_client
) -> None:
    empty = factories.make_map(workspace, "Empty journey")
    waiting = make_shop(workspace, name="Waiting journey")  # data attached, never computed
    gone = factories.make_map(workspace, "Old journey", archived_at=timezone.now())

    response = ws_viewer_client.get(URL)

    html = response.content.decode()
    empty_row = html[html.index(f'id="overview-map-{empty.pk}"') :]
    assert "No dataset feeds this map yet." in empty_row[: empty_row.index("</tr>")]
    waiting_row = html[html.index(f'id="overview-map-{waiting.journey_map.pk}"') :]
    assert "Figures not computed yet." in waiting_row[: waiting_row.index("</tr>")]
    assertNotContains(response, f'id="overview-map-{gone.pk}"')


def test_a_viewer_opens_it_and_sees_only_their_workspaces_maps(
    shop, ws_viewer_client, outsider_client, other_workspace
) -> None:
    rival = make_shop(other_workspace, name="Rival journey")
    recompute_map_metrics.enqueue(rival.journey_map.pk)

    response = ws_viewer_client.get(URL)

    assert response.status_code == 200
    assertContains(response, "Shop journey")
    assertNotContains(response, "Rival journey")
    assert outsider_client.get(URL).status_code == 404
    rival_url = reverse("workspace_overview", kwargs={"workspace": other_workspace.slug})
    assert ws_viewer_client.get(rival_url).status_code == 404


def test_the_nav_links_to_it(shop, ws_viewer_client) -> None:
    response = ws_viewer_client.get(reverse("map_list", kwargs={"workspace": "acme"}))

    assertContains(response, f'<a href="{URL}">Overview</a>')


def _queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_queries_are_the_same_for_one_map_and_five(shop, workspace, ws_viewer_client) -> None:
    ws_viewer_client.get(URL)  # the first visit stores the workspace in the session
    one = _queries(ws_viewer_client)
    for number in range(2):
        other = make_shop(workspace, name=f"Shop {number}")
        factories.make_kpi(other.cart, "users", target=1)
        recompute_map_metrics.enqueue(other.journey_map.pk)
    factories.make_map(workspace, "Blank journey")
    make_shop(workspace, name="Uncomputed journey")

    five = _queries(ws_viewer_client)

    assert len(ws_viewer_client.get(URL).context["lines"]) == 5
    assert len(five) == len(one), "\n".join(five)
    assert not [sql for sql in one + five if "analytics_event" in sql]
