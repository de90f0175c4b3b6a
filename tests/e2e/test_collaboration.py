"""Sharing a map read-only in a real browser: the link works logged out and changes nothing."""

from playwright.sync_api import expect

from journeymap.models import ShareLink
from tests.e2e.conftest import new_page


def test_an_admin_shares_the_map_and_a_visitor_sees_it_read_only(browser, live_server, demo):
    admin = new_page(browser, live_server)
    admin.goto(demo)
    admin.get_by_role("link", name="Share…").click()
    admin.get_by_role("button", name="Create a share link").click()
    url = admin.locator("input.share-url").first.input_value()
    assert url.startswith(live_server.url + "/s/")

    visitor = browser.new_context().new_page()  # no login at all
    visitor.goto(url)

    expect(visitor.get_by_role("heading", name="E-commerce journey")).to_be_visible()
    expect(visitor.get_by_text("Awareness").first).to_be_visible()
    expect(visitor.locator("form")).to_have_count(0)
    expect(visitor.locator("[hx-post], [hx-get]")).to_have_count(0)
    expect(visitor.get_by_text("Log out")).to_have_count(0)

    admin.get_by_text("Revoke…").first.click()
    admin.get_by_role("button", name="Revoke link").click()
    expect(admin.locator("input.share-url")).to_have_count(0)
    assert ShareLink.objects.active().count() == 0

    response = visitor.goto(url)
    assert response.status == 404
