"""Uploading and importing small files written in the tests."""

import csv
import io

from django.core.files.base import ContentFile

from analytics import services
from analytics.models import Dataset


def upload(workspace, content: bytes | str, name: str = "export.csv", user=None, **kwargs):
    """Upload bytes (or text, as UTF-8) as a file; the UploadResult."""
    data = content.encode() if isinstance(content, str) else content
    return services.dataset_upload(
        workspace=workspace, user=user, file=ContentFile(data, name=name), **kwargs
    )


def imported(workspace, content: bytes | str, name: str = "export.csv", **configure) -> Dataset:
    """Upload, optionally reconfigure, and import synchronously; the dataset afterwards."""
    dataset = upload(workspace, content, name).dataset
    if configure:
        options = configure.get("options", {})
        preview = services.dataset_preview(dataset=dataset, options=options)
        services.dataset_configure(
            dataset=dataset,
            options=preview.options,
            mapping={**preview.mapping, **configure.get("mapping", {})},
        )
    return services.dataset_import(dataset_id=dataset.pk)


def report_rows(dataset: Dataset) -> list[list[str]]:
    """The error report's rows (without its header)."""
    with dataset.error_report.open("rb") as handle:
        text = handle.read().decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["line", "column", "value", "reason"]
    return rows[1:]
