"""The Content-Security-Policy in a real browser: no page of the app trips it.

Chromium reports every blocked script, style, handler, eval or image on the console with the words
"Content Security Policy"; each page is opened (and the editor used) as the demo admin while the
console is collected.
"""

import contextlib

from django.urls import NoReverseMatch, reverse
from playwright.sync_api import expect

from analytics.models import Dataset
from journeymap.models import JourneyMap
from personas.models import Persona
from tests.e2e.conftest import IDLE, new_page

CSP_WORDS = "Content Security Policy"


def _collect_console(page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.on("pageerror", lambda error: messages.append(str(error)))
    return messages


def _page_urls(live_server) -> list[str]:
    """The workspace's pages a member sees, with the demo's own objects."""
    journey_map = JourneyMap.objects.get(workspace__slug="demo", slug="ecommerce-journey")
    map_args = {"workspace": "demo", "slug": journey_map.slug}
    urls = [
        reverse("map_list", kwargs={"workspace": "demo"}),
        reverse("map_detail", kwargs=map_args),
        reverse("map_history", kwargs=map_args),
        reverse("map_comments", kwargs=map_args),
        reverse("map_activity", kwargs=map_args),
        reverse("share_links", kwargs=map_args),
        reverse("persona_list", kwargs={"workspace": "demo"}),
        reverse("dataset_list", kwargs={"workspace": "demo"}),
        reverse("dataset_upload", kwargs={"workspace": "demo"}),
        reverse("member_list", kwargs={"workspace": "demo"}),
        reverse("workspace_overview", kwargs={"workspace": "demo"}),
    ]
    persona = Persona.objects.filter(workspace__slug="demo").first()
    if persona:
        urls.append(reverse("persona_detail", kwargs={"workspace": "demo", "pk": persona.pk}))
    dataset = Dataset.objects.filter(workspace__slug="demo").first()
    if dataset:
        urls.append(reverse("dataset_detail", kwargs={"workspace": "demo", "pk": dataset.pk}))
    return [live_server.url + url for url in urls]


def _dashboard_url(live_server) -> str | None:
    """The map's analytics dashboard, where it exists."""
    with contextlib.suppress(NoReverseMatch):
        kwargs = {"workspace": "demo", "slug": "ecommerce-journey"}
        return live_server.url + reverse("map_dashboard", kwargs=kwargs)
    return None


def test_no_page_breaks_the_content_security_policy(browser, live_server, demo):
    page = new_page(browser, live_server)
    console = _collect_console(page)

    for url in _page_urls(live_server):
        response = page.goto(url)
        assert response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        page.wait_for_function(IDLE)
        violations = [message for message in console if CSP_WORDS in message]
        assert not violations, f"{url}: {violations}"


def test_the_dashboard_runs_no_inline_script_or_style(browser, live_server, demo):
    """plotly's styles are served as static files (css/plotly.css, css/plotly-maplibre.css, found
    by the ids plotly looks for), so it injects no <style>: nothing at all is refused."""
    url = _dashboard_url(live_server)
    if url is None:
        return
    page = new_page(browser, live_server)
    console = _collect_console(page)

    assert page.goto(url).status == 200
    expect(page.locator("#funnel-chart .main-svg").first).to_be_visible()
    page.wait_for_load_state("networkidle")

    for element_id in ("median-time-chart", "weekly-conversion-chart"):
        expect(page.locator(f"#{element_id} .main-svg").first).to_be_visible()
    page.get_by_role("button", name="View as table").first.click()

    violations = [message for message in console if CSP_WORDS in message]
    assert not violations, violations


def test_the_editor_works_under_the_policy(browser, live_server, demo):
    """htmx swaps, in-place editing and the share page run without eval or inline code."""
    page = new_page(browser, live_server)
    console = _collect_console(page)
    page.goto(demo)

    page.get_by_role("button", name="+ Stage").click()
    expect(page.locator(".stage-head").nth(5)).to_contain_text("New stage")
    page.get_by_role("link", name="Share…").click()
    page.get_by_role("button", name="Create a share link").click()
    shared_url = page.locator("input.share-url").first.input_value()
    page.wait_for_function(IDLE)

    visitor = browser.new_context().new_page()
    visitor_console = _collect_console(visitor)
    visitor.goto(shared_url)
    expect(visitor.get_by_role("heading", name="E-commerce journey")).to_be_visible()
    visitor.wait_for_load_state("networkidle")

    violations = [message for message in console + visitor_console if CSP_WORDS in message]
    assert not violations, violations
