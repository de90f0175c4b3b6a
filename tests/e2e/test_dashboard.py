"""The dashboard in a real browser: plotly draws its charts from their JSON blocks."""

import os

from django.core.management import call_command
from playwright.sync_api import expect

from analytics.models import MapMetrics
from analytics.ranges import resolve_range
from tests.e2e.conftest import new_page


def test_the_dashboard_draws_its_charts_and_follows_the_persona(browser, live_server, demo):
    page = new_page(browser, live_server)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(str(error)))

    page.goto(f"{demo}dashboard/")

    expect(page.locator("#funnel-chart .main-svg").first).to_be_visible()
    expect(page.locator("#trends-chart .main-svg").first).to_be_visible()
    page.screenshot(path="/tmp/e2e/dashboard.png", full_page=True)
    expect(page.locator("#funnel-chart .point")).not_to_have_count(0)
    page.select_option("#dash-persona", index=1)
    page.click(".dash-filter button[type=submit]")
    page.wait_for_load_state()
    assert "persona=" in page.url
    expect(page.locator("#funnel-chart .main-svg").first).to_be_visible()
    # plotly's styles come from static/css/plotly*.css: it injects none the CSP would refuse.
    assert [text for text in console if "Error" in text or "Content Security" in text] == []


def drawn(page, element_id: str) -> list:
    """The numbers plotly has drawn in a chart (each trace's x for a funnel, y for bars)."""
    return page.evaluate(
        """(id) => document.getElementById(id).data.map(
            (trace) => trace.type === "funnel" ? trace.x : trace.y)""",
        element_id,
    )


def run_the_worker() -> None:
    """What `db_worker` does in production: run the tasks the pages asked for."""
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=open(os.devnull, "w"))  # noqa: SIM115


def test_changing_the_range_and_the_persona_redraws_the_charts(browser, live_server, demo):
    page = new_page(browser, live_server)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{demo}dashboard/")
    expect(page.locator("#breakdowns-pending")).to_be_visible()
    run_the_worker()  # the default range's breakdowns
    expect(page.locator("#breakdown-device-chart .main-svg").first).to_be_visible()
    whole_span = drawn(page, "funnel-chart")

    stored = MapMetrics.objects.get(map__slug="ecommerce-journey", persona=None)
    days = resolve_range({"range": "30d"}, data_end=stored.end).label
    assert days == "15 Oct – 13 Nov 2026"  # the demo data ends on 13 Nov
    page.select_option("#dash-range-preset", "30d")
    page.click(".dash-filter button[type=submit]")
    expect(page.locator("#range-pending")).to_contain_text(f"Computing figures for {days}")
    run_the_worker()
    # the page polls and swaps the figures in, drawn by charts.js after the swap
    expect(page.locator("#funnel-chart .main-svg").first).to_be_visible()
    expect(page.locator("#dash-range")).to_contain_text(days)
    assert "range=30d" in page.url
    last_30_days = drawn(page, "funnel-chart")
    assert last_30_days != whole_span
    assert last_30_days[0][0] < whole_span[0][0]
    devices = drawn(page, "breakdown-device-chart")
    page.screenshot(path="/tmp/e2e/dashboard-range.png", full_page=True)

    page.select_option("#dash-persona", index=1)
    page.click(".dash-filter button[type=submit]")
    run_the_worker()
    expect(page.locator("#funnel-chart .main-svg").first).to_be_visible()
    assert "persona=" in page.url and "range=30d" in page.url
    one_persona = drawn(page, "funnel-chart")
    assert one_persona[0][0] < last_30_days[0][0]
    assert drawn(page, "breakdown-device-chart") != devices
    assert errors == []


def test_a_chart_switches_to_its_table_and_back_with_the_keyboard(browser, live_server, demo):
    page = new_page(browser, live_server)
    page.goto(f"{demo}dashboard/")
    toggle = page.locator('.table-toggle[data-chart="funnel-chart"]')
    chart, table = page.locator("#funnel-chart"), page.locator("#funnel-table-box")
    expect(page.locator("#funnel-chart .main-svg").first).to_be_visible()
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(table).to_be_hidden()  # charts.js hides the table it reveals the switch for

    toggle.focus()
    page.keyboard.press("Enter")

    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(table).to_be_visible()
    expect(chart).to_be_hidden()
    expect(page.locator("#funnel-table tbody tr").first).to_be_visible()
    expect(toggle).to_be_focused()

    page.keyboard.press("Space")

    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(chart).to_be_visible()
    expect(table).to_be_hidden()
    expect(page.locator("#funnel-chart .main-svg").first).to_be_visible()
    # every chart of the page has its switch
    for element_id in ("trends-chart", "median-time-chart", "weekly-conversion-chart"):
        expect(page.locator(f'.table-toggle[data-chart="{element_id}"]')).to_be_visible()
        expect(page.locator(f"#{element_id} .main-svg").first).to_be_visible()
