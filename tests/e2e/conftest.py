"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

In CI (CI=true) a missing browser fails the run; elsewhere these tests are skipped with the reason.
"""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it
# are ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
IDLE = "() => !document.querySelector('.htmx-request')"  # no htmx request in flight
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _close_pages_before_the_database_is_emptied(browser, transactional_db) -> Iterator[None]:
    """Close a test's pages once their requests are answered, before the test database is flushed:
    a page left open would go on polling (figures, import progress) into the next tests, and a
    request still running while the tables are emptied makes the flush fail ("table is locked")."""
    yield
    for context in browser.contexts:
        for page in context.pages:
            with contextlib.suppress(Exception):  # a page that never settles is closed all the same
                page.wait_for_function(IDLE, timeout=10_000)
        context.close()


@pytest.fixture
def demo(live_server) -> str:
    """The demo workspace loaded into the live server's database; returns the map's URL."""
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return f"{live_server.url}/w/demo/maps/ecommerce-journey/"


def new_page(browser, live_server, username: str = "demo", password: str = "demo"):
    """A fresh browser context logged in as `username`."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page
