"""Writing canonical rows: staged on disk while the file is read, then written in one transaction.

Staging (a Parquet file per import) is what lets progress be committed honestly on SQLite too: the
long phase — reading, parsing, validating — holds no transaction, so each chunk's progress is
committed in autocommit where a polling page sees it. The short phase writes every staged row in
ONE transaction: PostgreSQL's COPY through psycopg 3, or batched inserts on SQLite; then derives
sessions over the whole dataset in SQL. A failure or a killed worker leaves no row behind.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.db import connection

from analytics.models import AggregateRow, Event, SurveyResponse

WRITE_BATCH = 50_000

TEXT = pa.string()
STAMP = pa.timestamp("us", tz="UTC")
SCHEMAS = {
    "events": pa.schema(
        [
            ("line", pa.int64()),
            ("timestamp", STAMP),
            ("event", TEXT),
            ("user_id", TEXT),
            ("session_id", TEXT),
            ("page", TEXT),
            ("source", TEXT),
            ("medium", TEXT),
            ("campaign", TEXT),
            ("channel", TEXT),
            ("device", TEXT),
            ("country", TEXT),
            ("revenue", pa.float64()),
            ("order_id", TEXT),
            ("extra", TEXT),
        ]
    ),
    "survey": pa.schema(
        [
            ("line", pa.int64()),
            ("score", pa.int64()),
            ("user_id", TEXT),
            ("responded_at", STAMP),
            ("comment", TEXT),
            ("extra", TEXT),
        ]
    ),
    "aggregate": pa.schema([("line", pa.int64()), ("dimensions", TEXT), ("metrics", TEXT)]),
}
MODELS = {"events": Event, "survey": SurveyResponse, "aggregate": AggregateRow}


class Stage:
    """Canonical rows of one import, appended chunk by chunk to a Parquet file."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.schema = SCHEMAS[kind]
        self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self.rows = 0

    def append(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        self.writer.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        self.writer.close()

    def batches(self, size: int) -> Iterator[pd.DataFrame]:
        """The staged rows, `size` at a time."""
        source = pq.ParquetFile(self.path)
        for batch in source.iter_batches(batch_size=size):
            yield batch.to_pandas()


def _columns(kind: str) -> list[str]:
    return [name for name in SCHEMAS[kind].names if name != "line"]


def delete_rows(dataset_id: int) -> None:
    """Remove every canonical row of a dataset (an earlier, interrupted or repeated import)."""
    for model in MODELS.values():
        model._base_manager.filter(dataset_id=dataset_id)._raw_delete(connection.alias)


def write_batch(kind: str, dataset_id: int, frame: pd.DataFrame) -> None:
    """Insert staged rows into the dataset's table, inside the caller's transaction."""
    if frame.empty:
        return
    if connection.vendor == "postgresql":
        _copy(kind, dataset_id, frame)
    else:
        _insert(kind, dataset_id, frame)


def _copy(kind: str, dataset_id: int, frame: pd.DataFrame) -> None:
    columns = _columns(kind)
    table = MODELS[kind]._meta.db_table
    data = frame[columns].copy()
    data.insert(0, "dataset_id", dataset_id)
    text_columns = [
        name
        for name in columns
        if name not in ("timestamp", "responded_at", "revenue", "score", "extra")
    ]
    buffer = io.StringIO()
    data.to_csv(buffer, header=False, index=False, date_format="%Y-%m-%d %H:%M:%S.%f+00")
    not_null = ", ".join(text_columns)
    sql = (
        f"COPY {table} (dataset_id, {', '.join(columns)}) FROM STDIN "
        f"WITH (FORMAT csv{', FORCE_NOT_NULL (' + not_null + ')' if text_columns else ''})"
    )
    connection.ensure_connection()
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(buffer.getvalue())


def _sqlite_stamps(values: pd.Series) -> list[str | None]:
    """Datetimes as Django writes them on SQLite (naive UTC, microseconds only when not 0)."""
    whole = values.dt.strftime("%Y-%m-%d %H:%M:%S")
    micros = values.dt.microsecond
    text = whole.where(micros.eq(0), whole + "." + micros.astype("Int64").astype(str).str.zfill(6))
    return [None if pd.isna(value) else value for value in text.astype("object")]


def _insert(kind: str, dataset_id: int, frame: pd.DataFrame) -> None:
    columns = _columns(kind)
    table = MODELS[kind]._meta.db_table
    values = []
    for name in columns:
        series = frame[name]
        if name in ("timestamp", "responded_at"):
            values.append(_sqlite_stamps(series))
        elif name == "extra":
            values.append([None if pd.isna(value) else value for value in series.astype("object")])
        else:
            values.append(series.tolist())
    rows = list(zip([dataset_id] * len(frame), *values, strict=True))
    placeholders = ", ".join(["%s"] * (len(columns) + 1))
    sql = f"INSERT INTO {table} (dataset_id, {', '.join(columns)}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


# -- whole-dataset steps, in SQL ---------------------------------------------------------------

SQLITE_MICROS = (
    "(CAST(strftime('%%s', substr({0}, 1, 19)) AS INTEGER) * 1000000 + "
    "CASE WHEN length({0}) > 20 THEN CAST(substr({0} || '000000', 21, 6) AS INTEGER) ELSE 0 END)"
)


def derive_sessions(dataset_id: int, prefix: str) -> int:
    """Give rows without a session id one by the 30-minute rule, per user; how many sessions."""
    table = Event._meta.db_table
    if connection.vendor == "postgresql":
        gap = "timestamp - LAG(timestamp) OVER w <= interval '30 minutes'"
    else:
        micros = SQLITE_MICROS.format("timestamp")
        gap = f"{micros} - LAG({micros}) OVER w <= 1800000000"
    sql = f"""
        UPDATE {table} SET session_id = %s || CAST(numbered.n AS TEXT)
        FROM (
            SELECT id, SUM(starts) OVER (
                PARTITION BY user_id ORDER BY timestamp, id ROWS UNBOUNDED PRECEDING
            ) AS n
            FROM (
                SELECT id, user_id, timestamp, CASE WHEN {gap} THEN 0 ELSE 1 END AS starts
                FROM {table} WHERE dataset_id = %s AND session_id = ''
                WINDOW w AS (PARTITION BY user_id ORDER BY timestamp, id)
            ) AS marked
        ) AS numbered
        WHERE {table}.id = numbered.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix, dataset_id])
        return cursor.rowcount


def deduplicate(dataset_id: int, key: str) -> int:
    """Delete repeated events (same event, user, time and extra `key`); how many were deleted."""
    table = Event._meta.db_table
    if connection.vendor == "postgresql":
        value = "extra ->> %s"
        present = "extra ? %s"
        params = [key, dataset_id, key]
    else:
        value = "json_extract(extra, %s)"
        present = "json_extract(extra, %s) IS NOT NULL"
        path = '$."' + key.replace('"', '\\"') + '"'
        params = [path, dataset_id, path]
    sql = f"""
        DELETE FROM {table} WHERE id IN (
            SELECT id FROM (
                SELECT id, ROW_NUMBER() OVER (
                    PARTITION BY event, user_id, timestamp, {value} ORDER BY id
                ) AS copy
                FROM {table} WHERE dataset_id = %s AND {present}
            ) AS numbered WHERE copy > 1
        )
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
