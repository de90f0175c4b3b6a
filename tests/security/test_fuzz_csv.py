"""The CSV upload pipeline given bad files: each is refused or imported with a clear message,
never an exception, and a refused or failed file stores no rows.

Through the services (upload, preview, mapping, import) as the dataset pages and the
`import_analytics` command use them, and through the upload and mapping pages (never a 500).
"""

import csv
import gzip
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from analytics import services
from analytics.models import AggregateRow, Dataset, DatasetStatus, Event, SurveyResponse
from tests.security.conftest import fuzz_settings, tried

HEADER = "event_time,event_type,user_id,user_session,price,product"
GOOD_ROW = "2024-03-01 09:00:00 UTC,view,u1,s1,12.50,Shoe"
ENCODINGS = [
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "latin-1",
    "cp1252",
]
FORMULAS = ["=1+1", "+41", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x")', "\t=1", "\r=1"]


def stored_rows() -> int:
    return Event.objects.count() + AggregateRow.objects.count() + SurveyResponse.objects.count()


def through_the_pipeline(workspace, content: bytes, name: str = "export.csv") -> str:
    """Upload, preview, confirm the proposed mapping and import `content`; how it ended.

    Any exception but a refusal with a message fails the test, and so do rows stored for a
    file that was refused or whose import failed.
    """
    rows_before, datasets_before = stored_rows(), Dataset.objects.count()
    try:
        result = services.dataset_upload(
            workspace=workspace, user=None, file=ContentFile(content, name=name)
        )
    except services.ImportRefused as refusal:
        assert refusal.message.strip()
        assert (stored_rows(), Dataset.objects.count()) == (rows_before, datasets_before)
        return "refused"
    if result.duplicate:
        return "duplicate"
    dataset = result.dataset
    try:
        preview = services.dataset_preview(dataset=dataset)
        services.dataset_configure(
            dataset=dataset, options=preview.options, mapping=preview.mapping
        )
    except services.ImportRefused as refusal:
        assert refusal.message.strip()
        return "refused at the preview"
    except ValidationError as error:
        assert " ".join(error.messages).strip()
        return "not mappable"
    dataset = services.dataset_import(dataset_id=dataset.pk)
    if dataset.status == DatasetStatus.FAILED:
        assert dataset.error_message.strip()
        assert stored_rows() == rows_before, "a failed import stores no rows"
        return "failed"
    assert dataset.status == DatasetStatus.READY
    return "imported"


def csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [*FORMULAS, '"', '""', 'a"b', "a\nb", "a\r\nb", ",", ";", "\x00", "", "NaN", "1e309"]
    ),
    st.just("2024-03-01 09:00:00 UTC"),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
ragged_rows = st.lists(st.lists(cells, max_size=10), max_size=12)


@fuzz_settings(15)
@given(content=st.binary(max_size=4096))
def test_random_bytes(workspace, content: bytes) -> None:
    tried("csv: random bytes")
    through_the_pipeline(workspace, content)


@fuzz_settings(15)
@given(rows=ragged_rows, encoding=st.sampled_from(ENCODINGS))
def test_ragged_rows_in_any_encoding(workspace, rows: list[list[str]], encoding: str) -> None:
    tried("csv: ragged rows, random encodings")
    text = "\n".join([HEADER, GOOD_ROW]) + "\n" + csv_text(rows)
    through_the_pipeline(workspace, text.encode(encoding, errors="replace"))


@fuzz_settings(15)
@given(lines=st.lists(st.lists(cells, max_size=8).map(",".join), max_size=12))
def test_lines_joined_without_quoting(workspace, lines: list[str]) -> None:
    """Stray quotes, quoted newlines cut in half, delimiters inside values."""
    tried("csv: unquoted lines")
    through_the_pipeline(workspace, "\n".join([HEADER, *lines]).encode())


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


BOMB = (HEADER + "\n" + GOOD_ROW + "\n").encode() + b"0" * (3 * 1024 * 1024)
HUGE_FIELD = f'{HEADER}\n{GOOD_ROW}\n2024-03-01 09:01:00 UTC,view,u2,s2,1,"{"x" * 300_000}"\n'
WIDE = ",".join(f"c{index}" for index in range(10_000))

# Each file, the endings it may have, and the words the user is told when it is refused or failed.
FILES = {
    "empty": (b"", {"refused"}, "empty"),
    "header only": (f"{HEADER}\n".encode(), {"refused", "failed", "not mappable"}, ""),
    "zip bomb": (zipped({"bomb.csv": BOMB}), {"refused"}, "zip bomb"),
    "gzip bomb": (gzip.compress(BOMB), {"refused"}, "zip bomb"),
    "truncated gzip": (gzip.compress(BOMB)[:200], {"refused", "failed"}, ""),
    "zip of two CSVs": (zipped({"a.csv": b"a\n1\n", "b.csv": b"b\n2\n"}), {"refused"}, ""),
    "empty zip": (zipped({}), {"refused"}, ""),
    "an Excel workbook": (zipped({"[Content_Types].xml": b"<x/>"}), {"refused"}, "Excel"),
    "a field over the csv module's limit": (HUGE_FIELD.encode(), {"imported"}, ""),
    "10,000 columns": (
        (WIDE + "\n" + ",".join("1" for _ in range(10_000)) + "\n").encode(),
        {"refused", "failed", "not mappable", "imported"},
        "",
    ),
    "quoted newlines": (
        f'{HEADER}\n{GOOD_ROW}\n2024-03-01 09:02:00 UTC,view,u3,s3,1,"two\nlines"\n'.encode(),
        {"imported"},
        "",
    ),
    "formula cells": (
        (HEADER + "\n" + GOOD_ROW + "\n" + "=1+1,@SUM(A1),+41,-2,=cmd|' /C calc'!A0,x\n").encode(),
        {"imported"},
        "",
    ),
    "NUL bytes": (f"{HEADER}\n{GOOD_ROW}\n".encode().replace(b"view", b"vi\x00ew"), None, ""),
    "a UTF-16 file with its BOM": (f"{HEADER}\n{GOOD_ROW}\n".encode("utf-16"), {"imported"}, ""),
    # Found by the fuzzer: the csv module's error escaped the upload.
    "a lone carriage return in a line": (
        f"{HEADER}\n{GOOD_ROW}\n\r=1,view,u9,s9,1,x\n".encode(),
        {"refused"},
        "cannot be read as CSV",
    ),
    "a lone BOM": (b"\xef\xbb\xbf", {"refused", "failed", "not mappable"}, ""),
}


@pytest.mark.parametrize("kind", FILES)
def test_a_bad_file(workspace, settings, kind: str) -> None:
    settings.ANALYTICS_MAX_UNCOMPRESSED_MB = 1
    content, endings, told = FILES[kind]
    tried("csv: named bad files")

    try:
        services.dataset_upload(
            workspace=workspace, user=None, file=ContentFile(content, name="export.csv")
        )
    except services.ImportRefused as refusal:
        assert told.lower() in refusal.message.lower()
    Dataset.objects.all().delete()
    ending = through_the_pipeline(workspace, content)

    assert endings is None or ending in endings


def test_formula_cells_are_neutralised_in_the_error_report(workspace) -> None:
    bad_rows = "".join(f"{formula},view,u9,s9,1,x\n" for formula in FORMULAS if "\r" not in formula)
    content = f"{HEADER}\n{GOOD_ROW}\n{bad_rows}".encode()

    assert through_the_pipeline(workspace, content) == "imported"

    dataset = Dataset.objects.get()
    with dataset.error_report.open("rb") as handle:
        report = list(csv.reader(io.StringIO(handle.read().decode())))
    values = [row[2] for row in report[1:]]
    assert values, "the unparseable dates are reported"
    assert all(not value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in values)
    assert any(value == "'=1+1" for value in values)


@fuzz_settings(10)
@given(content=st.one_of(st.binary(max_size=2048), ragged_rows.map(csv_text).map(str.encode)))
def test_the_upload_and_mapping_pages_never_answer_500(ws_admin, content: bytes) -> None:
    tried("csv: through the upload page")
    client = _client(ws_admin)
    upload = SimpleUploadedFile("export.csv", content, content_type="text/csv")

    response = client.post(reverse("dataset_upload", args=["acme"]), {"file": upload})

    assert response.status_code in (200, 302, 413, 422)
    if response.status_code == 302:
        mapping = client.get(response["Location"])
        assert mapping.status_code in (200, 422)


def _client(user):
    from tests.conftest import logged_in

    return logged_in(user)
