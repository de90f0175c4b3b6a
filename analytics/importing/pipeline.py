"""The import of one dataset, from its stored original file to canonical rows (DESIGN §5).

Phase 1 reads the file in chunks (memory does not grow with the file), validates every row,
writes rejected rows to the error report and stages the good ones on disk, committing progress
after each chunk. Phase 2 writes the staged rows in one transaction. See writing.py for why.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import logging
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from analytics.importing import sources, transform, writing
from analytics.importing.detection import propose
from analytics.importing.errors import ImportRefused
from analytics.importing.fields import EXTRA
from analytics.importing.reading import PlainReader, TableReader
from analytics.importing.sniffing import Sample, read_sample
from analytics.models import Dataset, DatasetStatus
from journeymap.exports import safe_cell

logger = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
REPORT_HEADER = ["line", "column", "value", "reason"]


def plan_for(dataset: Dataset, columns: list[str]) -> transform.Plan:
    """The compiled plan of a dataset's stored options and mapping (ValidationError if bad)."""
    return transform.compile_plan(
        kind=dataset.kind,
        source_format=dataset.source_format,
        columns=columns,
        mapping=dataset.column_mapping,
        options=dataset.options,
    )


def sample_of(raw: BinaryIO, options: dict[str, Any]) -> Sample:
    """The first rows of the file read with these options."""
    return read_sample(raw, options)


def detect(raw: BinaryIO, options: dict[str, Any], forced_format: str = "") -> tuple[Sample, Any]:
    """The sample and the detected format, mapping and options of a file."""
    sample = read_sample(raw, options)
    detection = propose(sample, forced_format)
    return sample, detection


def complete_mapping(mapping: dict[str, str], columns: list[str]) -> dict[str, str]:
    """A mapping with every column named: the ones left out are kept as extra properties."""
    full = {column: EXTRA for column in columns}
    full.update(mapping)
    return full


# -- phase 1 -----------------------------------------------------------------------------------


@dataclass
class StageResult:
    rows: int = 0
    rejected: int = 0
    read: int = 0
    first: datetime | None = None
    last: datetime | None = None
    reasons: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    totals_rows: int = 0
    sessionless: int = 0  # events staged without a session id (sessions derived after writing)


def _chunks(
    rows: Iterable[tuple[int, list[str]]], size: int
) -> Iterator[tuple[list[list[str]], list[int]]]:
    records: list[list[str]] = []
    lines: list[int] = []
    for line, record in rows:
        records.append(record)
        lines.append(line)
        if len(records) >= size:
            yield records, lines
            records, lines = [], []
    if records:
        yield records, lines


def _hold_back_last_order(
    plan: transform.Plan, frame: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off the last order's rows: its line items may go on in the next chunk."""
    if frame.empty:
        return frame, frame
    key = transform.order_key(plan, frame)
    last = key.iat[-1]
    tail = key.eq(last).to_numpy()
    return frame[~tail], frame[tail]


@contextlib.contextmanager
def open_text(dataset: Dataset) -> Iterator[Any]:
    """The dataset's stored original file as text, decompressed and decoded."""
    with dataset.original_file.open("rb") as raw, sources.open_binary(raw) as opened:
        binary, _compression, _member = opened
        text = sources.text_stream(binary, dataset.options.get("encoding", "utf-8"))
        try:
            yield text
        finally:
            text.detach()


class _Staging:
    """Frames of text in file order → canonical rows staged, problems reported, progress saved."""

    def __init__(
        self, dataset: Dataset, plan: transform.Plan, stage: writing.Stage, report: Any
    ) -> None:
        self.dataset = dataset
        self.plan = plan
        self.stage = stage
        self.report = report
        self.result = StageResult()
        self.total = dataset.progress_total
        self.carried: pd.DataFrame | None = None

    def check_columns(self, columns: list[str]) -> None:
        if columns != self.plan.columns:
            raise ImportRefused(
                "The file's columns are not the ones the mapping was made for "
                f"({', '.join(columns[:6])}). Upload the file again."
            )

    def add(self, frame: pd.DataFrame, problems: list[transform.Problem], read: int) -> None:
        if self.plan.shopify:
            if self.carried is not None:
                frame = pd.concat([self.carried, frame])
            frame, self.carried = _hold_back_last_order(self.plan, frame)
        _stage_chunk(self.plan, frame, problems, self.stage, self.report, self.result)
        self.result.read += read
        Dataset.objects.filter(pk=self.dataset.pk).update(
            progress_rows=self.result.read, progress_total=max(self.total, self.result.read)
        )

    def finish(self) -> StageResult:
        if self.carried is not None and not self.carried.empty:
            _stage_chunk(self.plan, self.carried, [], self.stage, self.report, self.result)
        return self.result


def _stage_plain(dataset: Dataset, staging: _Staging) -> int | None:
    """Stage what PlainReader can read; None when it read the whole file, else the rows it read."""
    options = dataset.options
    with open_text(dataset) as text:
        reader = PlainReader.start(
            text,
            delimiter=options.get("delimiter") or ",",
            header=options.get("header", True),
            table=int(options.get("table") or 0),
            jsonl=bool(options.get("jsonl")),
        )
        if reader is None:
            return 0
        for block in reader.blocks():
            staging.check_columns(reader.columns)
            frame, problems = transform.frame_from_block(block, staging.plan.columns)
            # chunks of CHUNK_ROWS rows, each with the problems of the lines up to its last
            pieces = [
                frame.iloc[start : start + CHUNK_ROWS] for start in range(0, len(frame), CHUNK_ROWS)
            ]
            pieces = pieces or [frame]
            ends = [int(piece.index[-1]) for piece in pieces[:-1]] + [sys.maxsize]
            low = 0
            for piece, high in zip(pieces, ends, strict=True):
                mine = [problem for problem in problems if low < problem[0] <= high]
                staging.add(piece, mine, len(piece) + len(mine))
                low = high
        return None if reader.complete else reader.records


def stage_rows(
    dataset: Dataset, plan: transform.Plan, stage: writing.Stage, report: Any
) -> StageResult:
    """Read, validate and stage every row of the file; rejected rows go to the report."""
    options = dataset.options
    sources.reset_fallback_count()
    staging = _Staging(dataset, plan, stage, report)
    skip = _stage_plain(dataset, staging)
    notes: list[str] = []
    if skip is not None:  # not plain (from the start, or from some block on): the csv module
        with open_text(dataset) as text:
            reader = TableReader(
                text,
                delimiter=options.get("delimiter") or ",",
                header=options.get("header", True),
                table=int(options.get("table") or 0),
                jsonl_keys=plan.columns if options.get("jsonl") else None,
            )
            rows = itertools.islice(reader, skip, None)
            for records, lines in _chunks(rows, CHUNK_ROWS):
                staging.check_columns(reader.columns)
                frame, problems = transform.make_frame(records, lines, plan.columns)
                staging.add(frame, problems, len(records))
            notes = reader.notes()
    result = staging.finish()
    result.notes += notes
    if sources.fallback_count():
        result.notes.append(
            "Some characters were not UTF-8 and were read as Windows-1252 (Latin-1)."
        )
    if result.totals_rows:
        result.notes.append(f"Skipped {result.totals_rows} totals row(s).")
    return result


def _stage_chunk(
    plan: transform.Plan,
    frame: pd.DataFrame,
    problems: list[transform.Problem],
    stage: writing.Stage,
    report: Any,
    result: StageResult,
) -> None:
    rows, more = transform.transform(plan, frame)
    problems = sorted(problems + more)
    facts, rows.attrs = dict(rows.attrs), {}
    stage.append(rows)
    result.rows += len(rows)
    if plan.kind == "events":
        result.sessionless += int(rows["session_id"].eq("").sum())
    result.totals_rows += facts.get("totals_rows", 0)
    for line, column, value, reason in problems:
        report.writerow([line, safe_cell(column), safe_cell(value), safe_cell(reason)])
        result.reasons[reason.split(" (")[0]] += 1
    result.rejected += len({problem[0] for problem in problems})
    stamp_column = {"events": "timestamp", "survey": "responded_at"}.get(plan.kind)
    span = facts.get("span")
    if stamp_column and len(rows):
        stamps = rows[stamp_column].dropna()
        if len(stamps):
            span = (stamps.min(), stamps.max())
    if span is not None:
        low, high = span[0].to_pydatetime(), span[1].to_pydatetime()
        result.first = low if result.first is None else min(result.first, low)
        result.last = high if result.last is None else max(result.last, high)


# -- the whole import --------------------------------------------------------------------------


def session_prefix(dataset_id: int) -> str:
    """A prefix for derived session ids that no real session id of the dataset starts with."""
    from analytics.models import Event

    prefix = "~"
    while Event.objects.filter(dataset_id=dataset_id, session_id__startswith=prefix).exists():
        prefix += "~"
    return prefix


def run(dataset: Dataset) -> Dataset:
    """Import a dataset's file now; FAILED with a message when it cannot be imported."""
    workdir = Path(tempfile.mkdtemp(prefix="journeymap-import-"))
    try:
        return _run(dataset, workdir)
    finally:
        for path in workdir.iterdir():
            path.unlink(missing_ok=True)
        workdir.rmdir()


def _fail(dataset: Dataset, message: str) -> Dataset:
    Dataset.objects.filter(pk=dataset.pk).update(status=DatasetStatus.FAILED, error_message=message)
    dataset.refresh_from_db()
    return dataset


def _run(dataset: Dataset, workdir: Path) -> Dataset:
    sample = None
    try:
        with dataset.original_file.open("rb") as raw:
            sample = read_sample(raw, dataset.options)
        plan = plan_for(dataset, sample.columns)
    except ImportRefused as refusal:
        return _fail(dataset, refusal.message)
    except Exception as error:  # a ValidationError of the mapping, or an unreadable file
        messages = getattr(error, "messages", None)
        return _fail(dataset, " ".join(messages) if messages else f"{error}")
    stage = writing.Stage(workdir / "rows.arrows", plan.kind)
    report_path = workdir / "errors.csv"
    try:
        with report_path.open("w", newline="", encoding="utf-8") as handle:
            report = csv.writer(handle)
            report.writerow(REPORT_HEADER)
            result = stage_rows(dataset, plan, stage, report)
    except ImportRefused as refusal:
        return _fail(dataset, refusal.message)
    finally:
        stage.close()
    result.notes = list(dict.fromkeys(sample.notes + dataset.notes + result.notes))
    if result.rejected:
        if dataset.error_report:
            dataset.error_report.delete(save=False)
        with report_path.open("rb") as handle:
            dataset.error_report.save(f"dataset-{dataset.pk}-errors.csv", File(handle), save=False)
        Dataset.objects.filter(pk=dataset.pk).update(error_report=dataset.error_report.name)
    if result.rows == 0:
        reasons = "; ".join(
            f"{reason} ({count})" for reason, count in result.reasons.most_common(3)
        )
        what = f" The most common problems: {reasons}." if reasons else ""
        return _fail(
            dataset,
            f"None of the {result.read} rows could be imported.{what} Check the column mapping "
            "and the error report.",
        )
    _write(dataset, plan, stage, result)
    dataset.refresh_from_db()
    return dataset


def _write(
    dataset: Dataset, plan: transform.Plan, stage: writing.Stage, result: StageResult
) -> None:
    """Phase 2: every staged row in one transaction, then the dataset marked READY."""
    with writing.bulk_load(), transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        if locked.status == DatasetStatus.READY:
            return  # another run finished it first: same rows, once
        writing.delete_rows(dataset.pk)
        # rows made here, of the locked dataset; their JSON made here unless the file has JSON cells
        with writing.trusted_rows(json_is_ours=not plan.json_columns):
            for batch in stage.batches(writing.WRITE_BATCH):
                writing.write_batch(plan.kind, dataset.pk, batch)
        rows = result.rows
        notes = list(result.notes)
        if plan.kind == "events":
            if plan.source_format == "mixpanel":
                removed = writing.deduplicate(dataset.pk, "$insert_id")
                if removed:
                    rows -= removed
                    notes.append(
                        f"Removed {removed} duplicate event(s) (same event, user, time and "
                        "$insert_id)."
                    )
            derived = 0
            if result.sessionless:  # else the scan for rows without a session id finds none
                derived = writing.derive_sessions(dataset.pk, session_prefix(dataset.pk))
            if derived:
                notes.append(
                    f"Sessions derived for {derived} event(s) without a session id (a new "
                    "session after more than 30 minutes without an event)."
                )
        locked.status = DatasetStatus.READY
        locked.row_count = rows
        locked.rejected_count = result.rejected
        locked.progress_rows = result.read
        locked.progress_total = result.read
        locked.first_timestamp = result.first
        locked.last_timestamp = result.last
        locked.error_message = ""
        locked.notes = notes
        locked.imported_at = timezone.now()
        locked.save()
