"""Writes on analytics datasets: upload, preview, mapping, import, delete, attach to maps.

The dataset pages and the `import_analytics` command both go through these functions; the import
pipeline itself (sniffing, detection, parsing, validation, writing) lives in analytics/importing/.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q, QuerySet
from django.tasks import TaskResultStatus
from django.utils import timezone

from analytics.importing import pipeline, sources, transform
from analytics.importing.detection import FORMAT_KINDS, date_formats_for, propose
from analytics.importing.errors import ImportRefused
from analytics.importing.fields import EXTRA, FIELDS_BY_KIND
from analytics.importing.liveness import import_is_running, import_running
from analytics.importing.sniffing import describe_options, read_sample, sniff
from analytics.materialise import request_recompute, request_recompute_of_maps
from analytics.models import AggregateRow, Dataset, DatasetStatus, Event, SurveyResponse

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from journeymap.models import JourneyMap, Workspace

logger = logging.getLogger(__name__)

__all__ = [
    "ImportRefused",
    "Preview",
    "Problem",
    "UploadResult",
    "dataset_attach",
    "dataset_configure",
    "dataset_delete",
    "dataset_detach",
    "dataset_fail_if_orphaned",
    "dataset_import",
    "dataset_preview",
    "dataset_start_import",
    "dataset_upload",
    "datasets_fail_orphaned_imports",
]


@dataclass(frozen=True)
class UploadResult:
    """The dataset an upload made, or the READY one it duplicates (then nothing new was stored)."""

    dataset: Dataset
    duplicate: bool = False


@dataclass(frozen=True)
class Problem:
    """Why one row is rejected: its line in the file, the column, the value and the reason."""

    line: int
    column: str
    value: str
    reason: str


@dataclass
class Preview:
    """The first rows as they will be stored, and what is wrong with the rejected ones."""

    kind: str
    source_format: str
    columns: list[str]  # the file's columns, in file order
    mapping: dict[str, str]  # file column → canonical field ("extra" keeps it, "ignore" drops it)
    options: dict[str, Any]
    fields: list[str]  # the canonical fields shown in `rows`, in display order
    rows: list[dict[str, Any]]  # each row: canonical field → value as stored, plus "line"
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was skipped or assumed
    tables: list[str] = field(default_factory=list)  # the tables found, to pick one by index
    errors: list[str] = field(default_factory=list)  # why the mapping cannot be imported yet


def _hash_and_count(file: File) -> tuple[str, int, int]:
    """SHA-256 of the file as uploaded, its size, and its line count once decompressed."""
    digest = hashlib.sha256()
    size = 0
    file.seek(0)
    for block in file.chunks(sources.READ_BLOCK):
        digest.update(block)
        size += len(block)
    lines = 0
    file.seek(0)
    with sources.open_binary(file) as (binary, _compression, _member):
        while block := binary.read(sources.READ_BLOCK):
            lines += block.count(b"\n")
    file.seek(0)
    return digest.hexdigest(), size, lines


def dataset_upload(
    *, workspace: Workspace, user: AbstractBaseUser | None, file: File, name: str = ""
) -> UploadResult:
    """Store an uploaded export and propose how to read and map it (PENDING), or refuse it."""
    limit = settings.MAX_UPLOAD_MB * 1024 * 1024
    if file.size is not None and file.size > limit:
        raise ImportRefused(
            f"The file is {file.size / 1024 / 1024:.0f} MB; the most an upload may be is "
            f"{settings.MAX_UPLOAD_MB} MB. Compress it (.csv.gz or .zip) or split it."
        )
    content_hash, size, lines = _hash_and_count(file)
    if size == 0:
        raise ImportRefused("The file is empty. Export the data again and upload that file.")
    duplicate = (
        Dataset.objects.ready().filter(workspace=workspace, content_hash=content_hash).first()
    )
    if duplicate is not None:
        return UploadResult(dataset=duplicate, duplicate=True)
    options = sniff(file)
    file.seek(0)
    sample = read_sample(file, options)
    detection = propose(sample)
    file.seek(0)
    options.update(detection.options)
    original_name = PurePath(getattr(file, "name", "") or "upload.csv").name
    dataset = Dataset(
        workspace=workspace,
        name=(name or original_name)[:200],
        kind=detection.kind,
        source_format=detection.source_format,
        original_name=original_name[:255],
        size_bytes=size,
        content_hash=content_hash,
        options=options,
        column_mapping=pipeline.complete_mapping(detection.mapping, sample.columns),
        status=DatasetStatus.PENDING,
        progress_total=max(0, lines - 1),
        notes=sample.notes + detection.notes,
        uploaded_by=user,
    )
    dataset.original_file.save(original_name, file, save=False)
    dataset.full_clean()
    dataset.save()
    return UploadResult(dataset=dataset, duplicate=False)


def _display(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if value is pd.NaT:
        return None
    return value


def dataset_preview(
    *,
    dataset: Dataset,
    options: dict[str, Any] | None = None,
    mapping: dict[str, str] | None = None,
    rows: int = 20,
) -> Preview:
    """The first rows as they will be stored with these options and mapping, and their problems."""
    options = {**dataset.options, **(options or {})}
    with dataset.original_file.open("rb") as raw:
        sample = read_sample(raw, options)
    kind, source_format = dataset.kind, dataset.source_format
    if mapping is None:
        reading_changed = any(
            options.get(key) != dataset.options.get(key)
            for key in ("encoding", "delimiter", "header", "table", "format")
        )
        if reading_changed or not dataset.column_mapping:
            forced = options.get("format") if options.get("format") != "auto" else ""
            detection = propose(sample, forced or "")
            options = {**options, **detection.options}
            mapping, kind, source_format = (
                detection.mapping,
                detection.kind,
                detection.source_format,
            )
        else:
            mapping = dataset.column_mapping
    elif options.get("format") in FORMAT_KINDS:
        source_format = options["format"]
        kind = FORMAT_KINDS[source_format]
    mapping = pipeline.complete_mapping(mapping, sample.columns)
    formats, _notes = date_formats_for(sample, mapping, options.get("date_formats") or {})
    options = {**options, "date_formats": formats}
    preview = Preview(
        kind=kind,
        source_format=source_format,
        columns=sample.columns,
        mapping=mapping,
        options=options,
        fields=[],
        rows=[],
        notes=[describe_options(options), *sample.notes],
        tables=[info.describe() for info in sample.tables],
    )
    try:
        plan = transform.compile_plan(
            kind=kind,
            source_format=source_format,
            columns=sample.columns,
            mapping=mapping,
            options=options,
        )
    except ValidationError as error:
        preview.errors = list(error.messages)
        return preview
    records, lines = sample.rows[: max(1, rows)], sample.lines[: max(1, rows)]
    frame, problems = transform.make_frame(records, lines, sample.columns)
    canonical, more = transform.transform(plan, frame)
    if kind == "events" and len(canonical):
        canonical["session_id"] = transform.derive_sessions(canonical)
    shown = [name for name in canonical.columns if name != "line"]
    out_rows = []
    for record in canonical.to_dict("records"):
        row = {name: _display(value) for name, value in record.items()}
        for name in ("extra", "dimensions", "metrics"):
            if isinstance(row.get(name), str):
                row[name] = json.loads(row[name])
        out_rows.append(row)
    preview.fields = shown
    preview.rows = out_rows
    preview.problems = [Problem(*problem) for problem in sorted(problems + more)]
    return preview


def dataset_configure(
    *, dataset: Dataset, options: dict[str, Any], mapping: dict[str, str]
) -> Dataset:
    """Validate and save how the file is read and mapped; ValidationError names the problem.

    `mapping` may name only the columns to change; the others keep their stored target.
    """
    if dataset.status not in (DatasetStatus.PENDING, DatasetStatus.FAILED):
        raise ValidationError("Only a dataset that is not imported yet can be remapped.")
    options = {**dataset.options, **options}
    source_format = options.get("format") or dataset.source_format
    if source_format not in FORMAT_KINDS:
        known = ", ".join(sorted(FORMAT_KINDS))
        raise ValidationError(f"Unknown format {source_format!r}; use one of {known}.")
    if source_format == "ga4":
        source_format = "ga4-report"
    kind = FORMAT_KINDS[source_format]
    options["format"] = source_format
    names = options.get("revenue_events")
    if isinstance(names, str):
        options["revenue_events"] = [name.strip() for name in names.split(",") if name.strip()]
    try:
        with dataset.original_file.open("rb") as raw:
            sample = read_sample(raw, options)
    except ImportRefused as refusal:
        raise ValidationError(refusal.message) from None
    stored = {c: t for c, t in dataset.column_mapping.items() if c in sample.columns}
    mapping = {**stored, **mapping}
    unknown = sorted(set(mapping.values()) - set(FIELDS_BY_KIND[kind]) - {EXTRA, "ignore"})
    if unknown:
        raise ValidationError(
            f"Unknown field {unknown[0]!r}; a {kind} dataset has the fields "
            f"{', '.join(FIELDS_BY_KIND[kind])} (or extra, or ignore)."
        )
    mapping = pipeline.complete_mapping(mapping, sample.columns)
    formats, notes = date_formats_for(sample, mapping, options.get("date_formats") or {})
    options["date_formats"] = formats
    transform.compile_plan(
        kind=kind,
        source_format=source_format,
        columns=sample.columns,
        mapping=mapping,
        options=options,
    )
    dataset.options = options
    dataset.column_mapping = mapping
    dataset.kind = kind
    dataset.source_format = source_format
    dataset.status = DatasetStatus.PENDING
    dataset.error_message = ""
    dataset.notes = list(dict.fromkeys([*dataset.notes, *notes]))
    dataset.save(
        update_fields=[
            "notes",
            "options",
            "column_mapping",
            "kind",
            "source_format",
            "status",
            "error_message",
        ]
    )
    return dataset


def dataset_start_import(*, dataset: Dataset) -> Dataset:
    """Mark the dataset IMPORTING and enqueue the import task once the transaction commits."""
    from analytics.tasks import import_dataset

    if dataset.status == DatasetStatus.READY:
        raise ValidationError("This dataset is already imported.")
    updated = Dataset.objects.filter(
        pk=dataset.pk,
        status__in=[DatasetStatus.PENDING, DatasetStatus.FAILED, DatasetStatus.IMPORTING],
    ).update(status=DatasetStatus.IMPORTING, error_message="", progress_rows=0)
    if not updated:
        raise ValidationError("This dataset cannot be imported now.")
    dataset_id = dataset.pk
    transaction.on_commit(lambda: import_dataset.enqueue(dataset_id))
    dataset.refresh_from_db()
    return dataset


def dataset_import(*, dataset_id: int) -> Dataset:
    """Run the import now, in this process (the task and the command call this)."""
    with import_running(dataset_id) as mine:
        if not mine:  # another process is importing it: that run writes the rows, once
            return Dataset.objects.get(pk=dataset_id)
        return _dataset_import(dataset_id)


def _dataset_import(dataset_id: int) -> Dataset:
    dataset = Dataset.objects.get(pk=dataset_id)
    if dataset.status == DatasetStatus.READY:
        return dataset
    if dataset.status != DatasetStatus.IMPORTING:
        Dataset.objects.filter(pk=dataset_id).update(status=DatasetStatus.IMPORTING)
        dataset.status = DatasetStatus.IMPORTING
    try:
        dataset = pipeline.run(dataset)
    except Exception as error:
        logger.exception("Import of dataset %s failed", dataset_id)
        Dataset.objects.filter(pk=dataset_id).update(
            status=DatasetStatus.FAILED,
            error_message=(
                f"The import stopped ({type(error).__name__}: {error}). Nothing was imported; "
                "start it again."
            )[:2000],
        )
        raise
    if dataset.status == DatasetStatus.READY:  # the maps it feeds have new rows to count
        request_recompute_of_maps(dataset.maps.values_list("pk", flat=True))
    return dataset


WORKER_DIED = (
    "The import stopped: the worker running it was stopped or died (killed, out of memory, or its "
    "machine went away) before it finished. Nothing was imported; start it again."
)
# A task taken by a worker has this long to take the dataset's import lock (it does so first thing).
CLAIM_GRACE = timedelta(seconds=5)


def _import_task_results(dataset_id: int) -> QuerySet[Any] | None:
    """The queued or running import tasks of the dataset, or None without a database task queue."""
    from django.tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from analytics.tasks import import_dataset

    if not isinstance(task_backends[import_dataset.backend], DatabaseBackend):
        return None
    return DBTaskResult.objects.filter(
        task_path=import_dataset.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        args_kwargs__args__0=dataset_id,
    )


def dataset_fail_if_orphaned(*, dataset: Dataset) -> bool:
    """Mark an import whose worker died FAILED (retryable) and its task failed; True if it did.

    An import is alive while its process holds the dataset's import lock (released by the system
    when the process dies), or while its task waits in the queue or was taken only just now.
    """
    if dataset.status != DatasetStatus.IMPORTING or import_is_running(dataset.pk):
        return False
    tasks = _import_task_results(dataset.pk)
    if tasks is None:  # the immediate or dummy backend of the unit tests: nothing to watch
        return False
    now = timezone.now()
    if tasks.filter(
        Q(status=TaskResultStatus.READY) | Q(started_at__gt=now - CLAIM_GRACE)
    ).exists():
        return False
    with transaction.atomic():
        # Only if still importing: an import that finished since `dataset` was read is left alone.
        failed = Dataset.objects.filter(pk=dataset.pk, status=DatasetStatus.IMPORTING).update(
            status=DatasetStatus.FAILED, error_message=WORKER_DIED
        )
        if failed:
            tasks.filter(status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path="analytics.tasks.ImportWorkerDied",
                traceback=WORKER_DIED,
            )
    dataset.refresh_from_db()
    if failed:
        logger.warning("Import of dataset %s: its worker died; marked failed", dataset.pk)
    return bool(failed)


def datasets_fail_orphaned_imports() -> int:
    """Fail every import whose worker died (db_worker runs this as it starts); how many."""
    return sum(
        dataset_fail_if_orphaned(dataset=dataset)
        for dataset in Dataset.objects.filter(status=DatasetStatus.IMPORTING)
    )


def dataset_delete(*, dataset: Dataset) -> None:
    """Delete the dataset with its rows, its original file and its error report."""
    with transaction.atomic():
        request_recompute_of_maps(dataset.maps.values_list("pk", flat=True))
        for model in (Event, AggregateRow, SurveyResponse):
            model._base_manager.filter(dataset=dataset)._raw_delete(model.objects.db)
        files = [dataset.original_file, dataset.error_report]
        names = [(stored.storage, stored.name) for stored in files if stored]
        dataset.delete()

        def remove_files() -> None:
            for storage, name in names:
                storage.delete(name)

        transaction.on_commit(remove_files)


def _same_workspace(dataset: Dataset, journey_map: JourneyMap) -> None:
    if dataset.workspace_id != journey_map.workspace_id:
        raise ValidationError("A dataset can only feed maps of its own workspace.")


def dataset_attach(*, dataset: Dataset, journey_map: JourneyMap) -> None:
    """Let the dataset feed the map (both of the same workspace)."""
    _same_workspace(dataset, journey_map)
    with transaction.atomic():
        journey_map.datasets.add(dataset)
        request_recompute(journey_map=journey_map)


def dataset_detach(*, dataset: Dataset, journey_map: JourneyMap) -> None:
    """Stop the dataset feeding the map."""
    _same_workspace(dataset, journey_map)
    with transaction.atomic():
        journey_map.datasets.remove(dataset)
        request_recompute(journey_map=journey_map)
