"""Writing canonical rows: staged on disk while the file is read, then written in one transaction.

Staging (an Arrow file per import) is what lets progress be committed honestly on SQLite too: the
long phase — reading, parsing, validating — holds no transaction, so each chunk's progress is
committed in autocommit where a polling page sees it. The short phase writes every staged row in
ONE transaction: PostgreSQL's COPY through psycopg 3, or batched inserts on SQLite; then derives
sessions over the whole dataset in SQL. A failure or a killed worker leaves no row behind.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
from django.db import DatabaseError, connection, transaction

from analytics.models import AggregateRow, Event, SurveyResponse

WRITE_BATCH = 50_000
BULK_CACHE_KIB = 128 * 1024  # SQLite's page cache while the rows are written
SQLITE_ROWS_PER_INSERT = 2_000  # rows per INSERT statement on SQLite (fewer if its limit says so)

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
    """Canonical rows of one import, appended chunk by chunk to a file (an Arrow IPC stream).

    Arrow's own format, lz4-compressed: writing and reading it back cost a fifth of what Parquet
    did (no encoding of the values), for a file about four times larger (67 MB per 1,000,000
    events of the e-commerce log, read once and deleted after the import).
    """

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.schema = SCHEMAS[kind]
        options = ipc.IpcWriteOptions(compression="lz4")
        self.writer = ipc.new_stream(str(path), self.schema, options=options)
        self.rows = 0

    def append(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        self.writer.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        self.writer.close()

    def batches(self, size: int) -> Iterator[pa.RecordBatch]:
        """The staged rows, `size` at a time (the last batch may be smaller)."""
        pending: list[pa.RecordBatch] = []
        buffered = 0
        with pa.OSFile(str(self.path), "rb") as source, ipc.open_stream(source) as reader:
            for batch in reader:
                pending.append(batch)
                buffered += batch.num_rows
                while buffered >= size:
                    table = pa.Table.from_batches(pending, schema=self.schema)
                    yield from table.slice(0, size).combine_chunks().to_batches()
                    pending = table.slice(size).to_batches()
                    buffered -= size
        if buffered:
            rest = pa.Table.from_batches(pending, schema=self.schema)
            yield from rest.combine_chunks().to_batches()


def _columns(kind: str) -> list[str]:
    return [name for name in SCHEMAS[kind].names if name != "line"]


def delete_rows(dataset_id: int) -> None:
    """Remove every canonical row of a dataset (an earlier, interrupted or repeated import)."""
    for model in MODELS.values():
        model._base_manager.filter(dataset_id=dataset_id)._raw_delete(connection.alias)


@contextlib.contextmanager
def bulk_load() -> Iterator[None]:
    """Settings for writing many rows in the caller's transaction: a larger SQLite page cache.

    The B-trees of the event indexes then stay in memory while they grow, instead of being
    spilled and read back page by page. Restored afterwards.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


@contextlib.contextmanager
def trusted_rows(*, json_is_ours: bool = True) -> Iterator[None]:
    """Rows written inside skip the per-row checks that cannot fail for rows the import made.

    PostgreSQL: the dataset foreign key. Django makes it DEFERRABLE INITIALLY DEFERRED, so every
    copied row queues a trigger that looks the dataset up again at COMMIT: about a third of the
    server's time for a big import. The caller holds the dataset row locked (SELECT ... FOR
    UPDATE) in this transaction and writes only that dataset's id, so the check cannot fail.
    Only a role allowed to set `session_replication_role` (a superuser, or one granted SET on it)
    skips it; for any other the rows are checked as before. The setting is LOCAL: it ends with
    the transaction in any case.

    SQLite: the CHECK (JSON_VALID(...)) of the JSON columns, a sixth of SQLite's insert time,
    when `json_is_ours`: the JSON text is then built by the import from plain text values
    (`json_objects`, `json.dumps` of texts and finite numbers), valid by construction. Not for
    a file with JSON cells: a NaN read from one would be written as invalid JSON, which the check
    refuses, as PostgreSQL's jsonb does.
    """
    if connection.vendor == "sqlite" and json_is_ours:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints")
            (previous,) = cursor.fetchone()
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA ignore_check_constraints = {int(previous)}")
        return
    if connection.vendor != "postgresql":
        yield
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a refusal rolls back to here
            cursor.execute("SET LOCAL session_replication_role = replica")
        trusted = True
    except DatabaseError:
        trusted = False
    yield
    if trusted:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")


def write_batch(kind: str, dataset_id: int, batch: pa.RecordBatch | pd.DataFrame) -> None:
    """Insert staged rows into the dataset's table, inside the caller's transaction."""
    if isinstance(batch, pd.DataFrame):
        schema = pa.schema([SCHEMAS[kind].field(name) for name in _columns(kind)])
        batch = pa.RecordBatch.from_pandas(batch[schema.names], schema=schema, preserve_index=False)
    if batch.num_rows == 0:
        return
    if connection.vendor == "postgresql":
        _copy(kind, dataset_id, batch)
    else:
        _insert(kind, dataset_id, batch)


def _copy(kind: str, dataset_id: int, batch: pa.RecordBatch) -> None:
    """COPY the rows as CSV written by pyarrow: "" is an empty text, an empty cell is NULL."""
    columns = _columns(kind)
    table = MODELS[kind]._meta.db_table
    data = pa.table(
        [pa.array(np.full(batch.num_rows, dataset_id, dtype=np.int64))]
        + [batch.column(name) for name in columns],
        names=["dataset_id", *columns],
    )
    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
    text_columns = [name for name in columns if pa.types.is_string(batch.schema.field(name).type)]
    not_null = [name for name in text_columns if name != "extra"]
    sql = (
        f"COPY {table} (dataset_id, {', '.join(columns)}) FROM STDIN "
        f"WITH (FORMAT csv{', FORCE_NOT_NULL (' + ', '.join(not_null) + ')' if not_null else ''})"
    )
    connection.ensure_connection()
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(buffer.getbuffer())


def _sqlite_stamps(values: pa.Array) -> list[str | None]:
    """Datetimes as Django writes them on SQLite (naive UTC, microseconds only when not 0)."""
    micros = values.cast(pa.int64()).to_numpy(zero_copy_only=False)
    missing = values.is_null().to_numpy(zero_copy_only=False)
    micros = np.where(missing, 0, micros).astype(np.int64)
    seconds = np.floor_divide(micros, 1_000_000)
    fraction = micros - seconds * 1_000_000
    whole = pa.array(seconds.astype("datetime64[s]")).cast(pa.string())  # 2019-10-01 08:00:00
    if fraction.any():
        digits = pc.utf8_lpad(pc.cast(pa.array(fraction), pa.string()), 6, "0")
        with_fraction = pc.binary_join_element_wise(whole, digits, ".")
        whole = pc.if_else(pa.array(fraction != 0), with_fraction, whole)
    if missing.any():
        whole = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), whole)
    return whole.to_pylist()


def _all_empty_text(column: pa.Array) -> bool:
    return (
        pa.types.is_string(column.type)
        and column.null_count == 0
        and pc.max(pc.utf8_length(column)).as_py() == 0
    )


def _insert(kind: str, dataset_id: int, batch: pa.RecordBatch) -> None:
    """Multi-row INSERTs; the dataset and a text column empty on every row are constants.

    One statement carries as many rows as SQLite's limit on bound values allows: SQLite's work
    per statement (preparing the row, updating the AUTOINCREMENT counter) is then paid once per
    few thousand rows instead of once per row, which halves the time of the inserts.
    """
    table = MODELS[kind]._meta.db_table
    constants = {"dataset_id": str(int(dataset_id))}
    bound: list[str] = []
    values: list[list] = []
    for name in _columns(kind):
        column = batch.column(name)
        if name in ("timestamp", "responded_at"):
            values.append(_sqlite_stamps(column))
        elif name != "extra" and _all_empty_text(column):
            constants[name] = "''"
            continue
        else:
            values.append(column.to_pylist())
        bound.append(name)
    width = len(bound)
    flat: list = [None] * (batch.num_rows * width)
    for position, column_values in enumerate(values):
        flat[position::width] = column_values  # row by row: row i's values at i*width...
    names = ", ".join([*constants, *bound])
    row = "(" + ", ".join([*constants.values(), *["?"] * width]) + ")"
    connection.ensure_connection()
    per_statement = max(1, min(SQLITE_ROWS_PER_INSERT, _sqlite_max_variables() // width))
    step = per_statement * width
    full = len(flat) - len(flat) % step
    # sqlite3's own cursor: Django's would rewrite each %s of these long statements into a ?
    with contextlib.closing(connection.connection.cursor()) as cursor:
        if full:
            sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * per_statement)}"
            for start in range(0, full, step):
                cursor.execute(sql, flat[start : start + step])
        if full < len(flat):
            rest = (len(flat) - full) // width
            sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * rest)}"
            cursor.execute(sql, flat[full:])


def _sqlite_max_variables() -> int:
    """How many values one SQLite statement may bind (999 before SQLite 3.32, 32,766 since)."""
    return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


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
