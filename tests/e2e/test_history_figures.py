"""Snapshots against figures in a real browser: the page says "computing…", polls, and shows the
figures of both live periods once a worker has counted them, under the content security policy.
"""

import os

from django.core.management import call_command
from playwright.sync_api import expect

from analytics.models import RangeMetrics
from tests.e2e.conftest import new_page
from tests.e2e.test_editor import assert_not_reloaded, mark_page


def test_the_demo_snapshots_compare_by_the_figures_of_their_periods(browser, live_server, demo):
    page = new_page(browser, live_server)
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{demo}history/")
    mark_page(page)

    page.get_by_role("link", name="Compare with the one before").click()

    figures = page.locator("#period-figures")
    expect(figures).to_contain_text("Computing the figures of both periods")
    expect(figures.locator("#period-a")).to_contain_text("As-is")
    expect(figures.locator("#period-b")).to_contain_text("until the latest data")
    assert RangeMetrics.objects.filter(figures__isnull=True).count() == 2

    # The worker counts both periods; the page, polling, shows them without a reload.
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=open(os.devnull, "w"))  # noqa: SIM115

    expect(figures.locator("table caption", has_text="Totals")).to_be_visible()
    expect(figures).not_to_contain_text("Computing")
    expect(figures.locator("tr", has_text="Users per day")).to_be_visible()
    expect(figures.locator("#period-stage-3")).to_contain_text("Purchase")
    assert_not_reloaded(page)
    assert not [text for text in console if "Content Security Policy" in text]
