"""The dashboard over a chosen date range: figures equal to `journey_metrics` over the same days,
the change against the period before, the breakdowns, the page while they are computed."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from analytics.tasks import recompute_map_metrics
from tests.analytics.figures_data import make_shop
from tests.analytics.test_dashboard import chart, measured

# The shop's data ends on Tuesday 19 March 2024: 30 days back is 19 Feb – 19 Mar, the 30 before
# are 20 Jan – 18 Feb (see figures_data: visitor n arrives on day 2n after 1 January).
LAST_30_DAYS = ("2024-02-19", "2024-03-20")
THE_30_BEFORE = ("2024-01-20", "2024-02-19")


@pytest.fixture
def shop(workspace):
    shop = make_shop(workspace)
    recompute_map_metrics.enqueue(shop.journey_map.pk)
    return shop


def url(shop, query: str = "", name: str = "map_dashboard") -> str:
    path = reverse(name, kwargs={"workspace": "acme", "slug": shop.journey_map.slug})
    return f"{path}?{query}" if query else path


def journey_metrics(shop, start: str, end: str, persona=None) -> dict:
    out = io.StringIO()
    options = {"workspace": "acme", "start": start, "end": end, "stdout": out}
    if persona is not None:
        options["persona"] = persona.name
    call_command("journey_metrics", shop.journey_map.slug, **options)
    return json.loads(out.getvalue())


@pytest.fixture
def opened(ws_viewer_client, django_capture_on_commit_callbacks):
    """Open a page the way a browser does: it says the figures are being computed (their task
    runs once the request commits), then, polled again, shows them."""

    def open_page(path: str, **headers):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            first = ws_viewer_client.get(path, headers=headers)
        assert first.status_code == 200
        assertContains(first, 'id="range-pending"')
        assert len(callbacks) == 1
        return ws_viewer_client.get(path, headers=headers)

    return open_page


@pytest.mark.parametrize("with_persona", [False, True])
def test_the_page_over_the_last_30_days_equals_journey_metrics(shop, opened, with_persona):
    persona = shop.mobile if with_persona else None
    query = "range=30d" + (f"&persona={persona.pk}" if persona else "")
    expected = journey_metrics(shop, *LAST_30_DAYS, persona)

    response = opened(url(shop, query))

    dash = response.context["dash"]
    assert dash.figures == expected
    assert dash.previous == journey_metrics(shop, *THE_30_BEFORE, persona)
    assertContains(response, "Figures for <strong>19 Feb – 19 Mar 2024</strong> (UTC)")
    assertContains(response, "compared with 20 Jan – 18 Feb 2024")
    funnel = chart(response, "funnel-chart")["data"][0]
    assert list(funnel["x"]) == [entry["funnel_users"] for entry in measured(expected)]
    assertContains(response, '<option value="30d" selected>')
    assertContains(response, 'value="2024-02-19"') and assertContains(
        response, 'value="2024-03-19"'
    )


def test_a_custom_range_includes_its_last_day(shop, opened):
    response = opened(url(shop, "range=custom&from=2024-02-01&to=2024-02-29"))

    assert response.context["dash"].figures == journey_metrics(shop, "2024-02-01", "2024-03-01")
    assertContains(response, "Figures for <strong>1–29 Feb 2024</strong>")
    assertContains(response, "compared with 3–31 Jan 2024")


def test_kpi_cards_compare_the_range_with_the_period_before(shop, opened):
    # 15 visitors in each period; Purchase revenue 48 + 52 + 56 = 156 against
    # 32 + 36 + 40 + 44 = 152 (+2.6%)
    html = opened(url(shop, "range=30d")).content.decode()

    users = html[html.index(f'id="dash-kpi-{shop.users_kpi.pk}"') :]
    users = users[: users.index("</div>")]
    assert "Actual <strong>15</strong>" in users and "not met" in users  # the target is 30
    assert "= 0.0% vs 20 Jan – 18 Feb 2024" in users
    revenue = html[html.index(f'id="dash-kpi-{shop.revenue_kpi.pk}"') :]
    revenue = revenue[: revenue.index("</div>")]
    assert "Actual <strong>156.00</strong>" in revenue
    assert '<span class="kpi-change good">▲ 2.6% vs 20 Jan – 18 Feb 2024</span>' in revenue


def test_the_breakdowns_show_hand_counted_users_in_charts_and_tables(shop, opened):
    # 19 Feb – 19 Mar: visitors 25..39; the odd ones on mobile (8), the rest on desktop (7);
    # Paid Search are 25, 30, 35; carts 10 (5 on mobile); buyers 28, 32, 36, all on desktop
    response = opened(url(shop, "range=30d"))

    device = chart(response, "breakdown-device-chart")["data"]
    assert [(bar["type"], bar["name"], list(bar["y"])) for bar in device] == [
        ("bar", "mobile", [8, 5, 0]),
        ("bar", "desktop", [7, 5, 3]),
    ]
    assert list(device[0]["x"]) == ["Visit", "Cart", "Purchase"]
    channel = chart(response, "breakdown-channel-chart")["data"]
    assert [(bar["name"], list(bar["y"])) for bar in channel] == [
        ("Organic Search", [12]),
        ("Paid Search", [3]),
    ]
    assertContains(response, '<tr><th scope="row">mobile</th><td>8</td><td>5</td><td>0</td></tr>')
    persona = f'<tr><th scope="row">{shop.mobile.name}</th><td>8</td><td>5</td><td>0</td></tr>'
    assertContains(response, persona)


def test_the_default_range_has_its_breakdowns_too(shop, ws_viewer_client, opened_default):
    response = opened_default(url(shop))

    device = chart(response, "breakdown-device-chart")["data"]
    assert [(bar["name"], list(bar["y"])) for bar in device] == [
        ("desktop", [20, 13, 10]),
        ("mobile", [20, 13, 0]),
    ]


@pytest.fixture
def opened_default(ws_viewer_client, django_capture_on_commit_callbacks):
    def open_page(path: str):
        with django_capture_on_commit_callbacks(execute=True):
            first = ws_viewer_client.get(path)
        assertContains(first, 'id="breakdowns-pending"')
        assertContains(first, 'hx-select="#dash-breakdowns"')
        return ws_viewer_client.get(path)

    return open_page


def test_the_csv_holds_the_range_its_previous_period_and_the_breakdowns(
    shop, opened, ws_viewer_client
):
    query = f"range=30d&persona={shop.mobile.pk}"
    opened(url(shop, query))
    expected = journey_metrics(shop, *LAST_30_DAYS, shop.mobile)
    before = journey_metrics(shop, *THE_30_BEFORE, shop.mobile)

    response = ws_viewer_client.get(url(shop, query, "map_dashboard_csv"))

    assert response.status_code == 200
    assert "-20240219-20240319-persona-" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    for section, figures in (("", expected), ("previous_", before)):
        totals = {r["metric"]: r["value"] for r in rows if r["section"] == f"{section}totals"}
        assert totals == {k: "" if v is None else str(v) for k, v in figures["totals"].items()}
        stages = {
            (r["stage_position"], r["metric"]): r["value"]
            for r in rows
            if r["section"] == f"{section}stage"
        }
        for entry in figures["stages"]:
            for metric in ("users", "funnel_users", "conversion_rate", "revenue"):
                value = entry[metric]
                assert stages[(str(entry["position"]), metric)] == (
                    "" if value is None else str(value)
                )
    devices = [(r["stage"], r["group"], r["value"]) for r in rows if r["section"] == "by_device"]
    # the persona is the mobile users: one device, and nobody bought
    assert devices == [
        ("Visit", "mobile", "8"),
        ("Cart", "mobile", "5"),
        ("Purchase", "mobile", "0"),
    ]


def test_the_csv_of_a_range_being_computed_says_so(shop, ws_viewer_client):
    response = ws_viewer_client.get(url(shop, "range=7d", "map_dashboard_csv"))

    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"being computed" in response.content


def test_the_pending_page_polls_and_htmx_gets_the_figures_region(
    shop, ws_viewer_client, django_capture_on_commit_callbacks
):
    path = url(shop, "range=7d")
    with django_capture_on_commit_callbacks() as callbacks:
        response = ws_viewer_client.get(path)
        polled = ws_viewer_client.get(path, headers={"HX-Request": "true"})

    assert len(callbacks) == 1  # asked for once, however often the page polls
    assertContains(response, "Computing figures for 13–19 Mar 2024 (UTC)")
    assertContains(
        response,
        f'<div id="dash-body" hx-get="{path}" hx-trigger="load delay:1500ms" hx-swap="outerHTML">',
    )
    assertContains(response, f'<a href="{path}">reload</a>')
    assertNotContains(polled, "<html")
    assertContains(polled, 'id="range-pending"')
    callbacks[0]()  # the worker runs the task
    ready = ws_viewer_client.get(path, headers={"HX-Request": "true"})
    assertNotContains(ready, "<html")
    assertContains(ready, '<div id="dash-body">')
    assertContains(ready, 'id="funnel-chart"')
    assertNotContains(ready, "hx-trigger")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "range=custom&from=2024-02-30&to=2024-03-01",
            "From: &#x27;2024-02-30&#x27; is not a date",
        ),
        (
            "range=custom&from=2024-03-01&to=2024-02-01",
            "The range ends (1 Feb 2024) before it starts.",
        ),
        ("range=custom&to=2024-02-01", "From: give a date"),
        ("range=lastyear", "Unknown date range"),
    ],
)
def test_a_bad_range_is_refused_on_the_page(shop, ws_viewer_client, query, message):
    response = ws_viewer_client.get(url(shop, query))

    assert response.status_code == 422
    assertContains(response, message, status_code=422)
    assertContains(response, "Showing the whole span of the data instead.", status_code=422)
    assertContains(response, "the whole span of the data feeding this map", status_code=422)
    assert ws_viewer_client.get(url(shop, query, "map_dashboard_csv")).status_code == 422


def test_a_viewer_opens_a_range_an_outsider_and_another_workspace_get_404(
    shop, opened, outsider_client, ws_viewer_client, other_workspace
):
    assert opened(url(shop, "range=90d")).status_code == 200
    assert outsider_client.get(url(shop, "range=90d")).status_code == 404
    assert outsider_client.get(url(shop, "range=90d", "map_dashboard_csv")).status_code == 404
    rival = make_shop(other_workspace, name="Rival journey")
    path = reverse("map_dashboard", kwargs={"workspace": "acme", "slug": rival.journey_map.slug})
    assert ws_viewer_client.get(f"{path}?range=90d").status_code == 404


def test_a_range_that_cannot_be_computed_says_why_and_stops_polling(
    shop, ws_viewer_client, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(**arguments):
        raise ValueError("the events could not be read")

    monkeypatch.setattr("analytics.engine.compute_breakdowns", broken)
    path = url(shop, "range=7d")
    with django_capture_on_commit_callbacks(execute=True):
        assertContains(ws_viewer_client.get(path), 'id="range-pending"')

    response = ws_viewer_client.get(path, headers={"HX-Request": "true"})

    assertContains(
        response,
        "The figures for 13–19 Mar 2024 could not be computed: "
        "ValueError: the events could not be read",
    )
    assertNotContains(response, "hx-trigger")


def test_a_map_whose_datasets_hold_no_event_has_no_breakdowns_to_wait_for(
    workspace, ws_viewer_client
):
    from analytics.models import Event

    shop = make_shop(workspace, name="Quiet journey")
    Event.objects.filter(dataset__in=shop.journey_map.datasets.all()).delete()
    recompute_map_metrics.enqueue(shop.journey_map.pk)

    response = ws_viewer_client.get(url(shop))

    assert response.status_code == 200
    assertNotContains(response, "hx-trigger")
    assertContains(response, "No breakdown to show")
    response = ws_viewer_client.get(url(shop, "range=7d"))
    assertContains(response, "There is no data yet", status_code=422)
