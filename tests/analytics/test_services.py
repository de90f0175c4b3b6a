"""The dataset services: upload, refusals, duplicates, mapping, preview, import, delete, attach."""

import gzip
import io
import zipfile
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from analytics import services
from analytics.importing import writing
from analytics.models import Dataset, DatasetStatus, Event
from tests import factories

from .uploads import imported, report_rows, upload

pytestmark = pytest.mark.django_db

LOG = (
    "timestamp,event,user_id,session_id,price\n"
    "2024-01-01T10:00:00Z,page_view,u1,s1,\n"
    "2024-01-01T10:01:00Z,purchase,u1,s1,20.00\n"
    "2024-01-01T10:02:00Z,page_view,u2,s2,\n"
)


def stored_files(settings) -> list[str]:
    root = settings.MEDIA_ROOT
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


# -- upload --------------------------------------------------------------------------------------


def test_upload_keeps_the_original_file_untouched_with_its_hash(workspace, ws_admin):
    content = LOG.replace("\n", "\r\n").encode()

    result = upload(workspace, content, "shop events.csv", user=ws_admin)

    dataset = result.dataset
    assert not result.duplicate
    assert dataset.status == DatasetStatus.PENDING
    assert dataset.original_name == "shop events.csv"
    assert dataset.name == "shop events.csv"
    assert dataset.size_bytes == len(content)
    with dataset.original_file.open("rb") as handle:
        assert handle.read() == content
    import hashlib

    assert dataset.content_hash == hashlib.sha256(content).hexdigest()
    assert dataset.uploaded_by == ws_admin
    assert dataset.progress_total == 3


def test_the_same_file_again_is_offered_as_a_no_op(workspace, settings):
    first = imported(workspace, LOG)
    files_before = stored_files(settings)

    again = upload(workspace, LOG, "renamed.csv")

    assert again.duplicate
    assert again.dataset == first
    assert Dataset.objects.count() == 1
    assert stored_files(settings) == files_before


def test_the_same_file_in_another_workspace_is_not_a_duplicate(workspace, other_workspace):
    imported(workspace, LOG)

    result = upload(other_workspace, LOG)

    assert not result.duplicate
    assert result.dataset.workspace == other_workspace


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"   \r\n\r\n", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a text file"),
        (bytes(range(256)) * 20, "not a text file"),
        (b"<!DOCTYPE html>\n<html><body>Sign in</body></html>", r"web page \(HTML\)"),
        (b"timestamp,event,user_id\r\n", "header row but no data rows"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"# only\n# comments\n", "only comment lines"),
    ],
    ids=["empty", "blank", "png", "binary", "html", "header-only", "pdf", "comments-only"],
)
def test_a_hopeless_file_is_refused_with_a_clear_message_and_nothing_stored(
    workspace, settings, content, message
):
    with pytest.raises(services.ImportRefused, match=message):
        upload(workspace, content, "export.csv")

    assert Dataset.objects.count() == 0
    assert stored_files(settings) == []


def test_an_excel_workbook_is_refused_with_what_to_do(workspace):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")

    with pytest.raises(services.ImportRefused, match=r"Excel workbook.*save the sheet as CSV"):
        upload(workspace, buffer.getvalue(), "export.xlsx")


def test_a_zip_with_two_csvs_is_refused(workspace):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", LOG)
        archive.writestr("b.csv", LOG)

    with pytest.raises(services.ImportRefused, match="exactly one CSV"):
        upload(workspace, buffer.getvalue(), "two.zip")
    assert Dataset.objects.count() == 0


def test_a_zip_bomb_is_refused_before_anything_is_stored(workspace, settings):
    settings.ANALYTICS_MAX_UNCOMPRESSED_MB = 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.csv", LOG + "0" * (3 * 1024 * 1024))
    assert len(buffer.getvalue()) < 20_000

    with pytest.raises(services.ImportRefused, match="zip bomb"):
        upload(workspace, buffer.getvalue(), "bomb.zip")
    assert Dataset.objects.count() == 0
    assert stored_files(settings) == []


def test_a_gzip_bomb_is_refused_too(workspace, settings):
    settings.ANALYTICS_MAX_UNCOMPRESSED_MB = 1
    content = gzip.compress((LOG + "0" * (3 * 1024 * 1024)).encode())

    with pytest.raises(services.ImportRefused, match="zip bomb"):
        upload(workspace, content, "bomb.csv.gz")
    assert Dataset.objects.count() == 0


def test_a_file_over_the_upload_limit_is_refused(workspace, settings):
    settings.MAX_UPLOAD_MB = 1

    with pytest.raises(services.ImportRefused, match="the most an upload may be is 1 MB"):
        upload(workspace, LOG + "x" * (1024 * 1024 + 1))


# -- configure and preview ----------------------------------------------------------------------


def test_an_events_mapping_without_user_or_session_is_refused(workspace):
    dataset = upload(workspace, LOG).dataset

    with pytest.raises(ValidationError, match="No column is mapped to user_id or session_id"):
        services.dataset_configure(
            dataset=dataset,
            options={},
            mapping={"user_id": "extra", "session_id": "ignore"},
        )


def test_an_unknown_field_is_refused_by_name(workspace):
    dataset = upload(workspace, LOG).dataset

    with pytest.raises(ValidationError, match="Unknown field 'visitor'"):
        services.dataset_configure(dataset=dataset, options={}, mapping={"user_id": "visitor"})


def test_a_mapping_without_a_timestamp_is_refused(workspace):
    dataset = upload(workspace, LOG).dataset

    with pytest.raises(ValidationError, match="No column is mapped to timestamp"):
        services.dataset_configure(dataset=dataset, options={}, mapping={"timestamp": "extra"})


def test_a_mapping_naming_a_missing_column_is_refused(workspace):
    dataset = upload(workspace, LOG).dataset

    with pytest.raises(ValidationError, match="The file has no column 'when'"):
        services.dataset_configure(dataset=dataset, options={}, mapping={"when": "timestamp"})


def test_configure_saves_the_mapping_and_the_revenue_events(workspace):
    dataset = upload(workspace, LOG).dataset

    services.dataset_configure(
        dataset=dataset,
        options={"revenue_events": "purchase, refund"},
        mapping={"price": "revenue", "session_id": "extra"},
    )

    dataset.refresh_from_db()
    assert dataset.column_mapping["price"] == "revenue"
    assert dataset.column_mapping["session_id"] == "extra"
    assert dataset.options["revenue_events"] == ["purchase", "refund"]


def test_the_preview_shows_rows_as_stored_and_the_problems(workspace):
    content = LOG + "not a date,page_view,u3,s3,\n2024-01-01T10:03:00+02:00,,u3,s3,\n"
    dataset = upload(workspace, content).dataset

    preview = services.dataset_preview(dataset=dataset, rows=20)

    assert preview.errors == []
    assert preview.fields[:4] == ["timestamp", "event", "user_id", "session_id"]
    assert [row["line"] for row in preview.rows] == [2, 3, 4]
    assert preview.rows[1]["timestamp"] == datetime(2024, 1, 1, 10, 1, tzinfo=UTC)
    assert preview.rows[1]["revenue"] == 20.0
    assert preview.problems == [
        services.Problem(5, "timestamp", "not a date", "unparseable timestamp"),
        services.Problem(6, "event", "", "empty event name"),
    ]


def test_the_preview_of_a_changed_mapping_says_what_is_missing(workspace):
    dataset = upload(workspace, LOG).dataset

    preview = services.dataset_preview(dataset=dataset, mapping={"timestamp": "extra"})

    assert preview.rows == []
    assert "No column is mapped to timestamp" in preview.errors[0]


# -- import ---------------------------------------------------------------------------------------

BAD_ROWS = (
    "timestamp,event,user_id,session_id,revenue\n"
    "2024-01-01T10:00:00Z,page_view,u1,s1,\n"  # 2: good
    ",page_view,u1,s1,\n"  # 3: missing timestamp
    "yesterday,page_view,u1,s1,\n"  # 4: unparseable timestamp
    "2024-01-01T10:01:00Z,,u1,s1,\n"  # 5: empty event
    "2024-01-01T10:02:00Z,purchase,u1,s1,twelve\n"  # 6: revenue not a number
    "2024-01-01T10:03:00Z,page_view,,,\n"  # 7: neither user nor session
    "2024-01-01T10:04:00Z,page_view,u1\n"  # 8: too few fields
    '2024-01-01T10:05:00Z,"page_view\nwith a newline",u1,s1,,extra\n'  # 9-10: too many
    '2024-01-01T10:06:00Z,=HYPERLINK("http://evil"),,,\n'  # 11: formula, and nobody
    "2024-01-01T10:07:00Z,purchase,,s9,9.5\n"  # 12: good (session is the user)
)


def test_every_kind_of_bad_row_is_reported_with_line_column_value_and_reason(workspace):
    dataset = imported(workspace, BAD_ROWS)

    assert dataset.status == DatasetStatus.READY
    assert dataset.row_count == 2
    assert dataset.rejected_count == 8
    assert report_rows(dataset) == [
        ["3", "timestamp", "", "missing timestamp"],
        ["4", "timestamp", "yesterday", "unparseable timestamp"],
        ["5", "event", "", "empty event name"],
        ["6", "revenue", "twelve", "revenue is not a number"],
        ["7", "user_id/session_id", "", "both user id and session id are empty"],
        ["8", "", "3 fields", "wrong number of fields (expected 5, found 3)"],
        ["9", "", "6 fields", "wrong number of fields (expected 5, found 6)"],
        ["11", "user_id/session_id", "", "both user id and session id are empty"],
    ]
    rows = Event.objects.filter(dataset=dataset).order_by("timestamp")
    assert list(rows.values_list("event", "revenue")) == [
        ("page_view", 0.0),
        ("purchase", 9.5),
    ]


def test_report_cells_that_a_spreadsheet_would_run_are_neutralised(workspace):
    content = "timestamp,event,user_id\n=1+1,page_view,u1\n@SUM(A1),page_view,u1\n"

    dataset = imported(workspace, content)

    assert dataset.status == DatasetStatus.FAILED
    assert [row[2] for row in report_rows(dataset)] == ["'=1+1", "'@SUM(A1)"]


def test_a_file_whose_every_row_is_bad_fails_with_the_reasons(workspace):
    content = "timestamp,event,user_id\nsoon,page_view,u1\nlater,page_view,u2\n"

    dataset = imported(workspace, content)

    assert dataset.status == DatasetStatus.FAILED
    assert dataset.error_message.startswith("None of the 2 rows could be imported.")
    assert "unparseable timestamp (2)" in dataset.error_message
    assert Event.objects.count() == 0


def test_offsets_are_converted_to_utc_and_naive_times_are_utc(workspace):
    content = (
        "time,event,user\n"
        "2024-03-31 01:30:00+02:00,a,u\n"
        "2024-03-31T01:30:00-05:30,b,u\n"
        "2024-03-31 01:30:00,c,u\n"
        "2024-03-31T01:30:00Z,d,u\n"
        "2024-03-31 01:30:00 UTC,e,u\n"
    )

    dataset = imported(workspace, content)

    stamps = dict(Event.objects.filter(dataset=dataset).values_list("event", "timestamp"))
    assert stamps == {
        "a": datetime(2024, 3, 30, 23, 30, tzinfo=UTC),
        "b": datetime(2024, 3, 31, 7, 0, tzinfo=UTC),
        "c": datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
        "d": datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
        "e": datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("unit_value", "expected"),
    [
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("1700000000123", datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)),
        ("1700000000123456", datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)),
    ],
    ids=["seconds", "milliseconds", "microseconds"],
)
def test_epoch_timestamps_in_any_unit(workspace, unit_value, expected):
    dataset = imported(workspace, f"ts,event,distinct_id\n{unit_value},a,u\n")

    assert Event.objects.get(dataset=dataset).timestamp == expected


def sessions_of(dataset) -> list[tuple[str, str]]:
    return list(
        Event.objects.filter(dataset=dataset)
        .order_by("user_id", "timestamp")
        .values_list("user_id", "session_id")
    )


def test_sessions_are_derived_per_user_exactly_30_minutes_stays_in_the_session(workspace):
    content = (
        "timestamp,event,user_id\n"
        "2024-01-01T10:00:00Z,a,u1\n"
        "2024-01-01T10:30:00Z,b,u1\n"  # exactly 30 min later: same session
        "2024-01-01T11:00:00.000001Z,c,u1\n"  # 30 min + 1 µs later: a new session
        "2024-01-01T10:00:00Z,a,u2\n"
        "2024-01-01T10:30:01Z,b,u2\n"  # 30 min + 1 s later: a new session
    )

    dataset = imported(workspace, content)

    assert sessions_of(dataset) == [
        ("u1", "~1"),
        ("u1", "~1"),
        ("u1", "~2"),
        ("u2", "~1"),
        ("u2", "~2"),
    ]


def test_sessions_are_derived_over_the_whole_file_not_per_chunk(workspace, monkeypatch):
    from analytics.importing import pipeline

    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 1)
    content = (
        "timestamp,event,user_id\n"
        "2024-01-01T10:20:00Z,b,u1\n"
        "2024-01-01T10:00:00Z,a,u1\n"
        "2024-01-01T10:50:00Z,c,u1\n"
    )

    dataset = imported(workspace, content)

    assert sessions_of(dataset) == [("u1", "~1"), ("u1", "~1"), ("u1", "~1")]


def test_derived_sessions_never_collide_with_real_ones(workspace):
    content = (
        "timestamp,event,user_id,session_id\n"
        "2024-01-01T10:00:00Z,a,u1,~1\n"
        "2024-01-01T12:00:00Z,b,u1,\n"
    )

    dataset = imported(workspace, content)

    assert sessions_of(dataset) == [("u1", "~1"), ("u1", "~~1")]


def test_channel_is_derived_from_source_and_medium_where_the_file_has_none(workspace):
    content = (
        "timestamp,event,user_id,utm_source,utm_medium,utm_campaign\n"
        "2024-01-01T10:00:00Z,a,u1,google,cpc,brand\n"
        "2024-01-01T10:00:00Z,a,u2,facebook,paid_social,spring\n"
        "2024-01-01T10:00:00Z,a,u3,,,\n"
        "2024-01-01T10:00:00Z,a,u4,newsletter,email,\n"
    )

    dataset = imported(workspace, content)

    channels = dict(Event.objects.filter(dataset=dataset).values_list("user_id", "channel"))
    assert channels == {
        "u1": "Paid Search",
        "u2": "Paid Social",
        "u3": "Direct",
        "u4": "Email",
    }


def test_a_channel_column_in_the_file_is_kept_as_is(workspace):
    content = "timestamp,event,user_id,source,channel\n2024-01-01T10:00:00Z,a,u1,google,Partners\n"

    dataset = imported(workspace, content)

    assert Event.objects.get(dataset=dataset).channel == "Partners"


class Boom(RuntimeError):
    pass


def test_an_import_failing_half_way_leaves_no_rows_and_a_rerun_succeeds(workspace, monkeypatch):
    content = "timestamp,event,user_id\n" + "".join(
        f"2024-01-01T10:{minute:02d}:00Z,page_view,u{minute}\n" for minute in range(10)
    )
    dataset = upload(workspace, content).dataset
    monkeypatch.setattr(writing, "WRITE_BATCH", 3)
    real_write = writing.write_batch
    calls = []

    def failing_write(kind, dataset_id, frame):
        calls.append(len(frame))
        if len(calls) == 3:
            raise Boom("the worker died")
        real_write(kind, dataset_id, frame)

    monkeypatch.setattr(writing, "write_batch", failing_write)
    with pytest.raises(Boom):
        services.dataset_import(dataset_id=dataset.pk)

    dataset.refresh_from_db()
    assert calls == [3, 3, 3]
    assert Event.objects.count() == 0
    assert dataset.status == DatasetStatus.FAILED
    assert "the worker died" in dataset.error_message
    assert "start it again" in dataset.error_message

    monkeypatch.setattr(writing, "write_batch", real_write)
    dataset = services.dataset_import(dataset_id=dataset.pk)

    assert dataset.status == DatasetStatus.READY
    assert Event.objects.filter(dataset=dataset).count() == 10


def test_progress_is_committed_per_chunk(workspace, monkeypatch):
    from analytics.importing import pipeline

    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    seen = []
    real_update = Dataset.objects.filter

    content = "timestamp,event,user_id\n" + "".join(
        f"2024-01-01T10:{minute:02d}:00Z,page_view,u{minute}\n" for minute in range(5)
    )
    dataset = upload(workspace, content).dataset

    original = pipeline.Dataset.objects.filter

    def spy(*args, **kwargs):
        queryset = original(*args, **kwargs)
        real = queryset.update

        def update(**values):
            if "progress_rows" in values and "status" not in values:
                seen.append((values["progress_rows"], values["progress_total"]))
            return real(**values)

        queryset.update = update
        return queryset

    monkeypatch.setattr(pipeline.Dataset.objects, "filter", spy)
    services.dataset_import(dataset_id=dataset.pk)
    monkeypatch.setattr(pipeline.Dataset.objects, "filter", real_update)

    assert seen == [(2, 5), (4, 5), (5, 5)]
    dataset.refresh_from_db()
    assert (dataset.progress_rows, dataset.progress_total) == (5, 5)


def test_a_second_run_of_a_ready_dataset_changes_nothing(workspace):
    dataset = imported(workspace, LOG)
    ids = sorted(Event.objects.filter(dataset=dataset).values_list("id", flat=True))

    again = services.dataset_import(dataset_id=dataset.pk)

    assert again.status == DatasetStatus.READY
    assert sorted(Event.objects.filter(dataset=dataset).values_list("id", flat=True)) == ids


def test_start_import_runs_the_task_after_commit(workspace, django_capture_on_commit_callbacks):
    dataset = upload(workspace, LOG).dataset

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        started = services.dataset_start_import(dataset=dataset)
        assert started.status == DatasetStatus.IMPORTING
        assert Event.objects.count() == 0

    assert len(callbacks) == 1
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.READY
    assert dataset.row_count == 3
    assert dataset.imported_at is not None


def test_a_ready_dataset_is_not_started_again(workspace):
    dataset = imported(workspace, LOG)

    with pytest.raises(ValidationError, match="already imported"):
        services.dataset_start_import(dataset=dataset)


# -- delete and attach ---------------------------------------------------------------------------


def test_delete_removes_rows_files_and_the_dataset(workspace, settings):
    dataset = imported(workspace, BAD_ROWS)
    assert len(stored_files(settings)) == 2  # the original and the error report

    services.dataset_delete(dataset=dataset)

    assert Dataset.objects.count() == 0
    assert Event.objects.count() == 0


def test_delete_removes_the_files_after_commit(
    workspace, settings, django_capture_on_commit_callbacks
):
    dataset = imported(workspace, BAD_ROWS)

    with django_capture_on_commit_callbacks(execute=True):
        services.dataset_delete(dataset=dataset)

    assert stored_files(settings) == []


def test_attach_and_detach_within_the_workspace(workspace):
    dataset = imported(workspace, LOG)
    journey_map = factories.make_map(workspace, "Shop journey")

    services.dataset_attach(dataset=dataset, journey_map=journey_map)
    assert list(journey_map.datasets.all()) == [dataset]

    services.dataset_detach(dataset=dataset, journey_map=journey_map)
    assert list(journey_map.datasets.all()) == []


def test_a_dataset_cannot_feed_a_map_of_another_workspace(workspace, other_workspace):
    dataset = imported(workspace, LOG)
    journey_map = factories.make_map(other_workspace, "Their journey")

    with pytest.raises(ValidationError, match="its own workspace"):
        services.dataset_attach(dataset=dataset, journey_map=journey_map)
    assert journey_map.datasets.count() == 0


def test_an_upload_named_like_a_path_is_stored_under_its_base_name(workspace):
    result = services.dataset_upload(
        workspace=workspace, user=None, file=ContentFile(LOG.encode(), name="../../etc/x.csv")
    )

    assert result.dataset.original_name == "x.csv"
    assert ".." not in result.dataset.original_file.name
