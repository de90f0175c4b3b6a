"""The dataset pages: upload, detection and mapping with a live preview, progress, result, the
error report, the maps a dataset feeds, delete; and who may use them."""

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from analytics import services
from analytics.forms import MappingForm
from analytics.models import Dataset, DatasetStatus, Event
from tests import factories

from .uploads import imported, upload

pytestmark = pytest.mark.django_db

EVENTS = (
    "event_time,event_type,user_id,user_session,price,product\n"
    "2024-03-01 09:00:00 UTC,view,u1,s1,12.50,Shoe\n"
    "2024-03-01 09:05:00 UTC,purchase,u1,s1,12.50,Shoe\n"
    "2024-03-02 10:00:00 UTC,view,u2,s2,8.00,Hat\n"
    "not a date,view,u3,s3,8.00,Hat\n"
)
HTMX = {"HX-Request": "true"}


def url(name: str, dataset: Dataset | None = None, workspace: str = "acme") -> str:
    kwargs: dict[str, Any] = {"workspace": workspace}
    if dataset is not None:
        kwargs["pk"] = dataset.pk
    return reverse(name, kwargs=kwargs)


def csv_file(content: str | bytes, name: str = "shop-events.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def stored_files(settings) -> list[str]:
    root = settings.MEDIA_ROOT
    if not root.exists():
        return []
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def mapping_post(dataset: Dataset, **changes: str) -> dict[str, str]:
    """What the mapping form posts as the page shows it, with `changes` (target_<column>=...)."""
    form = MappingForm.for_preview(services.dataset_preview(dataset=dataset))
    data: dict[str, str] = {}
    for name, value in form.initial.items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = str(value)
    for key, value in changes.items():
        if key.startswith("target_") and key.removeprefix("target_") in form.columns:
            key = f"target_{form.columns.index(key.removeprefix('target_'))}"
        data[key] = value
    return data


@pytest.fixture
def pending(workspace, ws_admin) -> Dataset:
    return upload(workspace, EVENTS, "shop-events.csv", user=ws_admin).dataset


@pytest.fixture
def ready(workspace) -> Dataset:
    dataset = imported(workspace, EVENTS, "shop-events.csv")
    assert dataset.status == DatasetStatus.READY
    return dataset


# -- the whole journey ---------------------------------------------------------------------------


def test_upload_check_the_mapping_confirm_and_see_the_result(
    ws_admin_client, workspace, django_capture_on_commit_callbacks
):
    response = ws_admin_client.post(
        url("dataset_upload"), {"file": csv_file(EVENTS), "name": "March shop"}
    )

    dataset = Dataset.objects.get(workspace=workspace)
    assertRedirects(response, url("dataset_mapping", dataset))
    assert dataset.name == "March shop"
    assert dataset.status == DatasetStatus.PENDING

    page = ws_admin_client.get(url("dataset_mapping", dataset))
    assertContains(page, "E-commerce event log")  # the detected format
    assertContains(page, "<dd>UTF-8</dd>", html=True)
    assertContains(page, "<dd>comma</dd>", html=True)
    assertContains(page, "revenue counts only on purchase events")
    assertContains(page, "<td>2024-03-01 09:05:00 UTC</td>", html=True)  # stored as UTC
    assertContains(page, "<td>12.5</td>", html=True)  # revenue on the purchase only
    assertContains(page, "unparseable timestamp")  # line 5 would be rejected
    assertContains(page, "1 of these lines would be rejected")
    assertContains(page, 'hx-trigger="change"')

    with django_capture_on_commit_callbacks(execute=True):
        response = ws_admin_client.post(url("dataset_mapping", dataset), mapping_post(dataset))

    assertRedirects(response, url("dataset_detail", dataset), fetch_redirect_response=False)
    result = ws_admin_client.get(url("dataset_detail", dataset))
    assertContains(result, '<dd class="rows-imported">3</dd>', html=True)
    assertContains(result, '<dd class="rows-rejected">1</dd>', html=True)
    assertContains(result, "2024-03-01 09:00")
    assertContains(result, "2024-03-02 10:00")
    assertContains(result, "Download the error report")
    assertContains(result, "Importing “March shop”.")
    assertNotContains(result, "every 1s")
    assert Event.objects.filter(dataset=dataset).count() == 3


def test_the_nav_links_to_datasets_for_admins_only(ws_admin_client, ws_editor_client):
    maps = url("map_list")
    assertContains(ws_admin_client.get(maps), f'href="{url("dataset_list")}"')
    assertNotContains(ws_editor_client.get(maps), f'href="{url("dataset_list")}"')


def test_the_list_shows_status_rows_span_uploader_and_maps(
    ws_admin_client, workspace, ws_admin, ready, django_assert_max_num_queries
):
    upload(workspace, EVENTS.replace("u3", "u4"), "april.csv", user=ws_admin)
    journey_map = factories.make_map(workspace, "Checkout journey")
    services.dataset_attach(dataset=ready, journey_map=journey_map)
    Dataset.objects.filter(pk=ready.pk).update(uploaded_by=ws_admin)

    with django_assert_max_num_queries(12):
        response = ws_admin_client.get(url("dataset_list"))

    assertContains(response, "shop-events.csv", count=2)  # in the row and in its delete question
    assertContains(response, "april.csv", count=2)
    assertContains(response, '<span class="badge status-ready">Ready</span>', html=True)
    assertContains(
        response, '<span class="badge status-pending">Waiting for a mapping</span>', html=True
    )
    assertContains(response, "2024-03-01 09:00")
    assertContains(response, "2024-03-02 10:00")
    assertContains(response, "alice")
    assertContains(response, "Checkout journey")
    assertContains(response, "Delete “shop-events.csv” and its 3 imported rows?")


# Session, user, membership, the switcher's workspaces, the datasets with their uploaders, the
# maps they feed with their workspaces (one prefetch, for the maps' links): the same for one
# dataset or many.
DATASET_LIST_QUERIES = 6


def test_the_list_costs_the_same_queries_for_one_dataset_or_many(
    ws_admin_client, workspace, ready, django_assert_max_num_queries
) -> None:
    from tests.analytics.figures_data import events_dataset

    ws_admin_client.get(url("dataset_list"))  # the first visit remembers the workspace
    one = count_queries(ws_admin_client, url("dataset_list"))
    for number in range(8):
        dataset = events_dataset(workspace, [], name=f"Export {number}")
        Dataset.objects.filter(pk=dataset.pk).update(uploaded_by=factories.make_user())
        for map_number in range(3):
            journey_map = factories.make_map(workspace, f"Map {number} {map_number}")
            services.dataset_attach(dataset=dataset, journey_map=journey_map)

    many = count_queries(ws_admin_client, url("dataset_list"))

    assert many == one
    with django_assert_max_num_queries(DATASET_LIST_QUERIES):
        response = ws_admin_client.get(url("dataset_list"))
    assertContains(response, "Export 7")
    assertContains(response, "Map 7 2")


def count_queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_the_list_says_how_to_start_when_empty(ws_admin_client):
    response = ws_admin_client.get(url("dataset_list"))

    assertContains(response, "No datasets yet.")
    assertContains(response, f'href="{url("dataset_upload")}"')


# -- upload --------------------------------------------------------------------------------------


def test_the_upload_page_has_a_drop_zone_over_an_ordinary_file_input(ws_admin_client, settings):
    settings.MAX_UPLOAD_MB = 50

    response = ws_admin_client.get(url("dataset_upload"))

    assertContains(response, 'enctype="multipart/form-data"')
    assertContains(response, 'type="file"')
    assertContains(response, f'data-max-bytes="{50 * 1024 * 1024}"')
    assertContains(response, "At most 50 MB.")
    assertContains(response, "js/upload.js")
    assertNotContains(response, "<script>")


def test_the_same_file_again_is_offered_as_a_no_op(ws_admin_client, ready, settings):
    files_before = stored_files(settings)

    response = ws_admin_client.post(url("dataset_upload"), {"file": csv_file(EVENTS, "again.csv")})

    assert response.status_code == 200
    assertContains(response, "This file is already imported")
    assertContains(response, f'href="{url("dataset_detail", ready)}"')
    assertContains(response, "Nothing new was stored.")
    assert Dataset.objects.count() == 1
    assert stored_files(settings) == files_before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "This is a PDF document"),
        (b"<!doctype html><html><body>Sign in</body></html>", "This is a web page (HTML)"),
        (b"\x00\x01\x02\x03" * 500, "This is not a text file"),
        (b"timestamp,event,user_id\n", "The file has a header row but no data rows"),
    ],
)
def test_a_hopeless_file_is_refused_with_its_reason_and_nothing_is_stored(
    ws_admin_client, settings, content, message
):
    response = ws_admin_client.post(url("dataset_upload"), {"file": csv_file(content)})

    assert response.status_code == 422
    assertContains(response, "nothing was stored", status_code=422)
    assertContains(response, message, status_code=422)
    assert not Dataset.objects.exists()
    assert stored_files(settings) == []


def test_an_empty_file_or_none_is_refused(ws_admin_client):
    empty = ws_admin_client.post(url("dataset_upload"), {"file": csv_file(b"")})
    missing = ws_admin_client.post(url("dataset_upload"), {"name": "no file"})

    assertContains(empty, "The file is empty.", status_code=422)
    assertContains(missing, "Choose a file to upload.", status_code=422)
    assert not Dataset.objects.exists()


def test_a_file_over_the_limit_is_refused_naming_the_limit_and_its_size(ws_admin_client, settings):
    settings.MAX_UPLOAD_MB = 1
    big = EVENTS + "2024-03-02 10:00:00 UTC,view,u2,s2,8.00,Hat\n" * 36_000  # about 1.5 MB

    response = ws_admin_client.post(url("dataset_upload"), {"file": csv_file(big)})

    assert response.status_code == 413
    assertContains(response, "The file is 1.52 MB", status_code=413)
    assertContains(response, "the most an upload may be is 1 MB", status_code=413)
    assert not Dataset.objects.exists()
    assert stored_files(settings) == []


def test_an_upload_declared_too_large_is_refused_before_its_body_is_read(ws_admin_client, settings):
    settings.MAX_UPLOAD_MB = 1
    declared = 500 * 1024 * 1024
    # The test client would fail loudly if the view read past the few bytes really sent.
    response = ws_admin_client.post(
        url("dataset_upload"), {"file": csv_file(EVENTS)}, CONTENT_LENGTH=str(declared)
    )

    assertContains(response, "The file is 500 MB", status_code=413)
    assertContains(response, "1 MB", status_code=413)
    assert not Dataset.objects.exists()


def test_a_file_just_over_the_limit_is_stopped_while_it_is_read(ws_admin_client, settings):
    settings.MAX_UPLOAD_MB = 1
    limit = 1024 * 1024
    line = "2024-03-02 10:00:00 UTC,view,u2,s2,8.00,Hat\n"
    content = EVENTS + line * ((limit - len(EVENTS)) // len(line) + 100)
    assert limit < len(content) < limit + 8 * 1024  # within the multipart allowance

    response = ws_admin_client.post(url("dataset_upload"), {"file": csv_file(content)})

    assertContains(
        response, "The file is 1.01 MB; the most an upload may be is 1 MB", status_code=413
    )
    assert not Dataset.objects.exists()


# -- mapping and preview -------------------------------------------------------------------------


def test_the_preview_follows_a_changed_mapping(ws_admin_client, pending):
    before = ws_admin_client.post(
        url("dataset_preview", pending), mapping_post(pending), headers=HTMX
    )
    assertContains(before, "product=Shoe")

    response = ws_admin_client.post(
        url("dataset_preview", pending),
        mapping_post(pending, target_product="ignore", target_user_session="page"),
        headers=HTMX,
    )

    assert response.status_code == 200
    assertContains(response, 'id="preview"')
    assertNotContains(response, 'id="mapping-form"')  # only the preview region is swapped
    assertNotContains(response, "product=Shoe")
    assertContains(response, '<th scope="col">page</th>', html=True)
    assertContains(response, "<td>s1</td>", html=True)
    pending.refresh_from_db()
    assert pending.column_mapping["product"] == "extra"  # a preview saves nothing


def test_a_refused_mapping_says_why_in_place(ws_admin_client, pending):
    data = mapping_post(pending, target_event_type="ignore")

    preview = ws_admin_client.post(url("dataset_preview", pending), data, headers=HTMX)
    confirm = ws_admin_client.post(url("dataset_mapping", pending), data)

    assertContains(preview, "This mapping cannot be imported", status_code=422)
    assertContains(preview, "No column is mapped to event", status_code=422)
    assertContains(confirm, "No column is mapped to event", status_code=422)
    assertContains(confirm, 'id="mapping-form"', status_code=422)
    pending.refresh_from_db()
    assert pending.status == DatasetStatus.PENDING
    assert not Event.objects.exists()


def test_another_format_proposes_a_new_mapping_for_it(ws_admin_client, pending):
    data = mapping_post(pending)
    data["format"] = "survey"

    response = ws_admin_client.post(url("dataset_preview", pending), data, headers=HTMX)

    assert response["HX-Retarget"] == "#mapping"
    assertContains(response, 'id="mapping-form"', status_code=422)  # new selects for a survey
    assertContains(response, "score — 0–10 score", status_code=422)
    assertContains(response, "No column is mapped to score", status_code=422)


def test_a_tampered_post_is_refused_in_the_preview(ws_admin_client, pending):
    data = mapping_post(pending, target_product="password_hash")
    data["format"] = "excel"

    response = ws_admin_client.post(url("dataset_preview", pending), data, headers=HTMX)

    assertContains(response, 'id="preview"', status_code=422)
    assertNotContains(response, "<html", status_code=422)
    assertContains(response, "Select a valid choice. excel is not one", status_code=422)
    assertContains(response, "password_hash is not one of the available choices", status_code=422)


def test_the_preview_works_without_javascript(ws_admin_client, pending):
    response = ws_admin_client.post(
        url("dataset_preview", pending), mapping_post(pending, target_product="ignore")
    )

    assertContains(response, "<html", status_code=200)
    assertContains(response, 'id="mapping-form"')
    assertContains(response, '<option value="ignore" selected>ignore</option>', html=True)
    assertNotContains(response, "product=Shoe")


def test_day_first_dates_can_be_chosen(ws_admin_client, workspace):
    content = "date,event,user_id\n01/02/2024 10:00,view,u1\n03/04/2024 11:00,view,u2\n"
    dataset = upload(workspace, content).dataset
    page = ws_admin_client.get(url("dataset_mapping", dataset))
    assertContains(page, "<td>2024-01-02 10:00:00 UTC</td>", html=True)  # read month first

    response = ws_admin_client.post(
        url("dataset_preview", dataset), mapping_post(dataset, date_order="dmy"), headers=HTMX
    )

    assertContains(response, "<td>2024-02-01 10:00:00 UTC</td>", html=True)
    assertContains(response, "<td>2024-04-03 11:00:00 UTC</td>", html=True)


def test_revenue_can_count_on_every_event(ws_admin_client, pending):
    response = ws_admin_client.post(
        url("dataset_preview", pending), mapping_post(pending, revenue_events=""), headers=HTMX
    )

    assertContains(response, "<td>8.0</td>", html=True)  # a view's price is revenue now


def test_the_mapping_page_of_an_imported_dataset_goes_to_its_page(ws_admin_client, ready):
    response = ws_admin_client.get(url("dataset_mapping", ready))

    assertRedirects(response, url("dataset_detail", ready))


# -- progress and result -------------------------------------------------------------------------


def test_the_progress_polls_every_second_while_importing(ws_admin_client, pending):
    Dataset.objects.filter(pk=pending.pk).update(
        status=DatasetStatus.IMPORTING, progress_rows=2500, progress_total=10000
    )

    page = ws_admin_client.get(url("dataset_detail", pending))
    polled = ws_admin_client.get(url("dataset_detail", pending), headers=HTMX)

    for response in (page, polled):
        assertContains(response, 'hx-trigger="every 1s"')
        assertContains(response, '<progress id="import-progress" max="10000" value="2500">')
        assertContains(response, "2,500 of about 10,000 rows (25%)")
    assertNotContains(polled, "<html")
    assertContains(polled, 'id="dataset-status"')


def test_the_polled_status_stops_polling_when_the_import_is_done(ws_admin_client, ready):
    response = ws_admin_client.get(url("dataset_detail", ready), headers=HTMX)

    assertNotContains(response, "hx-trigger")
    assertNotContains(response, "<progress")
    assertContains(response, '<dd class="rows-imported">3</dd>', html=True)


def test_a_failed_import_says_why_and_can_be_tried_again(
    ws_admin_client, pending, django_capture_on_commit_callbacks
):
    services.dataset_configure(dataset=pending, options={}, mapping={})
    Dataset.objects.filter(pk=pending.pk).update(
        status=DatasetStatus.FAILED, error_message="The worker was stopped."
    )

    page = ws_admin_client.get(url("dataset_detail", pending))
    assertContains(page, "The import failed; nothing was imported.")
    assertContains(page, "The worker was stopped.")
    assertContains(page, "Try again")
    with django_capture_on_commit_callbacks(execute=True):
        response = ws_admin_client.post(url("dataset_retry", pending))

    assertRedirects(response, url("dataset_detail", pending))
    pending.refresh_from_db()
    assert pending.status == DatasetStatus.READY
    assert pending.row_count == 3


def test_a_file_whose_rows_all_fail_shows_the_failure_and_the_error_report(
    ws_admin_client, workspace, django_capture_on_commit_callbacks
):
    dataset = upload(workspace, "timestamp,event,user_id\nsoon,view,u1\nlater,view,u2\n").dataset
    with django_capture_on_commit_callbacks(execute=True):
        ws_admin_client.post(url("dataset_mapping", dataset), mapping_post(dataset))

    response = ws_admin_client.get(url("dataset_detail", dataset))

    assertContains(response, "None of the 2 rows could be imported")
    assertContains(response, "Download the error report")
    assertContains(response, f'action="{url("dataset_retry", dataset)}"')


def test_the_error_report_downloads_as_csv_to_admins(ws_admin_client, ready):
    response = ws_admin_client.get(url("dataset_error_report", ready))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["line", "column", "value", "reason"],
        ["5", "event_time", "not a date", "unparseable timestamp"],
    ]


def test_a_dataset_without_rejected_rows_has_no_error_report(ws_admin_client, workspace):
    clean = imported(workspace, "timestamp,event,user_id\n2024-01-01T00:00:00Z,view,u1\n")

    page = ws_admin_client.get(url("dataset_detail", clean))
    assertContains(page, '<dd class="rows-rejected">0</dd>', html=True)
    assertNotContains(page, "Download the error report")
    assert ws_admin_client.get(url("dataset_error_report", clean)).status_code == 404


# -- maps and delete -----------------------------------------------------------------------------


def test_a_dataset_is_attached_to_maps_and_detached(ws_admin_client, workspace, ready):
    checkout = factories.make_map(workspace, "Checkout journey")
    onboarding = factories.make_map(workspace, "Onboarding")
    page = ws_admin_client.get(url("dataset_detail", ready))
    assertContains(page, "Checkout journey")
    assertContains(page, "Onboarding")

    response = ws_admin_client.post(url("dataset_maps", ready), {"maps": [checkout.pk]})

    assertRedirects(response, url("dataset_detail", ready))
    assert list(ready.maps.all()) == [checkout]
    response = ws_admin_client.post(
        url("dataset_maps", ready), {"maps": [onboarding.pk]}, headers=HTMX
    )
    assertContains(response, "“shop-events.csv” feeds “Onboarding”.")
    assertContains(response, f'value="{onboarding.pk}" id="id_maps_1" checked', html=False)
    assert list(ready.maps.all()) == [onboarding]
    ws_admin_client.post(url("dataset_maps", ready), {})
    assert not ready.maps.exists()


def test_a_map_of_another_workspace_cannot_be_fed(ws_admin_client, other_workspace, ready):
    rival = factories.make_map(other_workspace, "Rival journey")

    response = ws_admin_client.post(url("dataset_maps", ready), {"maps": [rival.pk]}, headers=HTMX)

    assert response.status_code == 422
    assert not rival.datasets.exists()


def test_delete_removes_the_dataset_with_its_rows(ws_admin_client, ready, settings):
    assert Event.objects.filter(dataset=ready).count() == 3
    page = ws_admin_client.get(url("dataset_detail", ready))
    assertContains(page, "Delete “shop-events.csv” and its 3 imported rows?")

    response = ws_admin_client.post(url("dataset_delete", ready))

    assertRedirects(response, url("dataset_list"), fetch_redirect_response=False)
    assert not Dataset.objects.exists()
    assert not Event.objects.exists()
    listing = ws_admin_client.get(url("dataset_list"))
    assertContains(listing, "Deleted “shop-events.csv” and its 3 imported rows.")


# -- who may do what -----------------------------------------------------------------------------

PAGES = [  # (URL name, method, takes a dataset)
    ("dataset_list", "get", False),
    ("dataset_upload", "get", False),
    ("dataset_upload", "post", False),
    ("dataset_detail", "get", True),
    ("dataset_mapping", "get", True),
    ("dataset_mapping", "post", True),
    ("dataset_preview", "post", True),
    ("dataset_retry", "post", True),
    ("dataset_error_report", "get", True),
    ("dataset_maps", "post", True),
    ("dataset_delete", "post", True),
]


def _request(client: Client, name: str, method: str, dataset: Dataset | None) -> Any:
    return getattr(client, method)(url(name, dataset))


@pytest.mark.parametrize(("name", "method", "takes_dataset"), PAGES)
def test_viewers_and_editors_are_refused(
    ws_viewer_client, ws_editor_client, ready, name, method, takes_dataset
):
    dataset = ready if takes_dataset else None

    assert _request(ws_viewer_client, name, method, dataset).status_code == 403
    assert _request(ws_editor_client, name, method, dataset).status_code == 403
    assert Dataset.objects.filter(pk=ready.pk, status=DatasetStatus.READY).exists()


@pytest.mark.parametrize(("name", "method", "takes_dataset"), PAGES)
def test_another_workspace_is_not_found(outsider_client, ready, name, method, takes_dataset):
    dataset = ready if takes_dataset else None

    assert _request(outsider_client, name, method, dataset).status_code == 404


@pytest.mark.parametrize(("name", "method", "takes_dataset"), PAGES)
def test_an_admin_of_another_workspace_cannot_reach_this_one(
    outsider, other_workspace, ready, name, method, takes_dataset
):
    """Mallory administers Rival: Acme's dataset under Rival's URL is not found either."""
    client = Client()
    client.force_login(outsider)
    kwargs: dict[str, Any] = {"workspace": other_workspace.slug}
    if takes_dataset:
        kwargs["pk"] = ready.pk
    response = getattr(client, method)(reverse(name, kwargs=kwargs))

    if takes_dataset:
        assert response.status_code == 404
    assert Dataset.objects.filter(pk=ready.pk).exists()


@pytest.mark.parametrize(("name", "method", "takes_dataset"), PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, ready, name, method, takes_dataset):
    response = _request(client, name, method, ready if takes_dataset else None)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("dataset_upload", {"file": csv_file(EVENTS)}),
        ("dataset_preview", {}),
        ("dataset_mapping", {}),
        ("dataset_retry", {}),
        ("dataset_maps", {}),
        ("dataset_delete", {}),
    ],
)
def test_every_change_needs_the_csrf_token(ws_admin, pending, name, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ws_admin)
    target = url(name) if name == "dataset_upload" else url(name, pending)

    response = client.post(target, data, headers=HTMX if name == "dataset_preview" else {})

    assert response.status_code == 403
    assert Dataset.objects.filter(pk=pending.pk, status=DatasetStatus.PENDING).count() == 1
    assert Dataset.objects.count() == 1
