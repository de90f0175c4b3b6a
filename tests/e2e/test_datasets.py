"""Importing an export in a real browser: drop the file, check the mapping, import, follow it."""

import pytest
from playwright.sync_api import expect

from analytics.models import Dataset, DatasetStatus
from journeymap.scoping import Role
from tests import factories
from tests.e2e.conftest import new_page

EVENTS = (
    "event_time,event_type,user_id,user_session,price,product\n"
    "2024-03-01 09:00:00 UTC,view,u1,s1,12.50,Shoe\n"
    "2024-03-01 09:05:00 UTC,purchase,u1,s1,12.50,Shoe\n"
    "2024-03-02 10:00:00 UTC,view,u2,s2,8.00,Hat\n"
    "not a date,view,u3,s3,8.00,Hat\n"
)
DROP = """(text) => {
    const files = new DataTransfer();
    files.items.add(new File([text], "march-events.csv", {type: "text/csv"}));
    const zone = document.querySelector("[data-dropzone]");
    for (const type of ["dragenter", "dragover", "drop"]) {
        const init = {dataTransfer: files, bubbles: true, cancelable: true};
        zone.dispatchEvent(new DragEvent(type, init));
    }
}"""


@pytest.fixture
def admin(settings, transactional_db):
    # The import runs within the request: this test watches the pages, not a worker.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    workspace = factories.make_workspace("acme", name="Acme Shop")
    factories.make_map(workspace, "Checkout journey")
    factories.make_member(workspace, Role.ADMIN, factories.make_user("alice"))
    return workspace


def test_an_admin_drops_an_export_checks_the_mapping_and_imports_it(browser, live_server, admin):
    page = new_page(browser, live_server, "alice", factories.PASSWORD)
    page.get_by_role("link", name="Datasets").click()
    page.get_by_role("link", name="Upload an export").first.click()
    page.wait_for_load_state()  # upload.js is deferred: it runs before the load event

    page.evaluate(DROP, EVENTS)
    expect(page.locator("[data-dropzone-status]")).to_have_text("march-events.csv (1 KB)")
    page.get_by_role("button", name="Upload and check").click()

    expect(page.get_by_role("heading", name="What was detected")).to_be_visible()
    expect(page.locator(".detected")).to_contain_text("E-commerce event log")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("2024-03-01 09:05:00 UTC")
    expect(preview).to_contain_text("product=Shoe")
    expect(preview.locator("tr.rejected")).to_contain_text("unparseable timestamp")

    # The preview follows every change of the mapping, in place.
    page.get_by_label("product", exact=True).select_option("ignore")
    expect(preview).not_to_contain_text("product=Shoe")
    page.get_by_label("event_type", exact=True).select_option("ignore")
    expect(preview).to_contain_text("No column is mapped to event")
    page.get_by_label("event_type", exact=True).select_option("event")
    expect(preview.locator("tr.rejected")).to_have_count(1)

    page.get_by_role("button", name="Import", exact=True).click()

    status = page.locator("#dataset-status")
    expect(status).to_contain_text("Ready")
    expect(status.locator(".rows-imported")).to_have_text("3")
    expect(status.locator(".rows-rejected")).to_have_text("1")
    expect(status).to_contain_text("2024-03-01 09:00 → 2024-03-02 10:00 UTC")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the error report").click()
    assert "unparseable timestamp" in download.value.path().read_text()

    page.get_by_label("Checkout journey").check()
    page.get_by_role("button", name="Save maps").click()
    expect(page.locator("#dataset-maps")).to_contain_text("feeds “Checkout journey”")
    page.context.close()


def test_the_progress_bar_follows_the_import_and_stops_when_it_is_done(browser, live_server, admin):
    dataset = Dataset.objects.create(
        workspace=admin,
        name="Big export",
        original_name="big.csv",
        content_hash="0" * 64,
        status=DatasetStatus.IMPORTING,
        progress_rows=0,
        progress_total=200_000,
    )
    page = new_page(browser, live_server, "alice", factories.PASSWORD)
    page.goto(f"{live_server.url}/w/acme/datasets/{dataset.pk}/")
    expect(page.locator("progress")).to_be_visible()

    Dataset.objects.filter(pk=dataset.pk).update(progress_rows=50_000)
    expect(page.locator("#dataset-status")).to_contain_text("50,000 of about 200,000 rows (25%)")
    Dataset.objects.filter(pk=dataset.pk).update(
        status=DatasetStatus.READY, row_count=199_990, rejected_count=10
    )

    expect(page.locator(".rows-imported")).to_have_text("199,990")
    expect(page.locator("progress")).to_have_count(0)
    expect(page.locator("[hx-trigger]")).to_have_count(0)  # no more polling
    page.context.close()
