"""The dashboard in a real browser: plotly draws its charts from their JSON blocks."""

from playwright.sync_api import expect

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
