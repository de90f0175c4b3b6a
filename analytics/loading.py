"""Loading a map's analytics rows for the metrics engine: columns, not model instances.

Events are read with one SELECT through a chunked (server-side on PostgreSQL) cursor, only the
columns that the figures and the rules need (see `_read_table` for how they travel), and turned
into numpy arrays: timestamps as integer microseconds, users, sessions and order ids as integer
codes, rule fields as categoricals. Extra properties are pulled out of the JSON column in SQL as
their JSON text, read once per distinct value, so that a value reads the same on SQLite and
PostgreSQL (see `_ExtraJson`); on SQLite the column travels whole and the database extracts the
properties once per distinct object (see `_extras_as_whole_objects`).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper as Connection
from django.db.backends.utils import CursorWrapper
from django.db.models import (
    BigIntegerField,
    Case,
    Expression,
    F,
    FloatField,
    Func,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.sql.compiler import SQLCompiler as Compiler

from analytics.models import AggregateRow, Dataset, DatasetKind, Event, SurveyResponse
from analytics.rules import as_number, number_text
from journeymap.models import JourneyMap
from touchpoints.rules import CANONICAL_FIELDS

# canonical fields held as text (the other two, timestamp and revenue, have their own types)
TEXT_FIELDS = tuple(field for field in CANONICAL_FIELDS if field not in ("timestamp", "revenue"))
CHUNK_ROWS = 50_000
FIELD_SEPARATOR = "\x1f"  # ASCII unit separator: joins a row's values into one line
TEXT_CODES = pa.dictionary(pa.int32(), pa.string())
READ_PARTS = 2  # PostgreSQL reads a large map in this many queries side by side (_read_parts)
SPLIT_FROM_ROWS = 200_000  # below this, another connection costs more than it saves
MAX_LINE_COLUMNS = 90  # below the function argument limits (PostgreSQL 100, SQLite 127)


@dataclass(frozen=True)
class EventTable:
    """Events in range, one array element per event, plus the rule fields as a DataFrame."""

    fields: pd.DataFrame  # the rule fields by name: text as categoricals, timestamp, revenue
    timestamps: np.ndarray  # int64, microseconds since the epoch (UTC)
    users: np.ndarray  # int64 code of the user (user_id, or the session id on rows without one)
    sessions: np.ndarray  # int64 code of the (user, session id) pair
    revenue: np.ndarray  # float64
    orders: np.ndarray  # int64 code of the order id, -1 where it is empty
    user_count: int
    session_count: int
    order_count: int

    def __len__(self) -> int:
        return len(self.timestamps)

    def take(self, mask: np.ndarray) -> EventTable:
        """The events where `mask` is true (codes keep their meaning)."""
        return EventTable(
            fields=self.fields.loc[mask].reset_index(drop=True),
            timestamps=self.timestamps[mask],
            users=self.users[mask],
            sessions=self.sessions[mask],
            revenue=self.revenue[mask],
            orders=self.orders[mask],
            user_count=self.user_count,
            session_count=self.session_count,
            order_count=self.order_count,
        )


def dataset_ids(journey_map: JourneyMap, kind: str | None = None) -> list[int]:
    """The ids of the datasets that feed the map (of one kind, if given)."""
    datasets = journey_map.datasets.all()
    if kind is not None:
        datasets = datasets.filter(kind=kind)
    return list(datasets.order_by("pk").values_list("pk", flat=True))


def events_span(*, journey_map: JourneyMap) -> tuple[datetime | None, datetime | None]:
    """The earliest and latest event timestamps of the map's datasets (None without events)."""
    span = Event.objects.filter(dataset_id__in=dataset_ids(journey_map)).aggregate(
        first=Min("timestamp"), last=Max("timestamp")
    )
    return span["first"], span["last"]


def load_events(
    *,
    journey_map: JourneyMap,
    start: datetime | None,
    end: datetime | None,
    fields: Iterable[str] = (),
) -> EventTable:
    """The events of the map's datasets in [start, end) (a None bound is open), with `fields`."""
    fields = sorted(set(fields))
    ids = dataset_ids(journey_map)
    events = Event.objects.filter(dataset_id__in=ids)
    if start is not None:
        events = events.filter(timestamp__gte=start)
    if end is not None:
        events = events.filter(timestamp__lt=end)

    extras = [field for field in fields if field not in CANONICAL_FIELDS]
    extra_text_fields = [field for field in fields if field in TEXT_FIELDS]
    # the text columns by name (revenue travels on its own)
    columns = {
        "jm_ts": _TimestampColumn(F("timestamp")),
        "jm_user": Case(When(user_id="", then=F("session_id")), default=F("user_id")),
        "session_id": F("session_id"),
        "order_id": F("order_id"),
        **{field: F(field) for field in extra_text_fields},
    }
    whole_extra = bool(extras) and _extras_as_whole_objects()
    if whole_extra:
        columns["jm_extra"] = _Text(F("extra"))
    else:
        columns.update(
            {f"jm_x{index}": _ExtraJson(F("extra"), key=key) for index, key in enumerate(extras)}
        )
    table = _read_table(events.order_by(), columns, parts=_read_parts_for(ids))

    timestamps = _micros(table.column("jm_ts"))
    user_codes, user_names = _encode(table.column("jm_user"))
    session_codes, session_names = _encode(table.column("session_id"))
    pair_codes, pairs = pd.factorize(user_codes * max(len(session_names), 1) + session_codes)
    order_codes, order_names = _encode(table.column("order_id"))
    revenue = table.column("revenue").to_numpy()

    frame: dict[str, object] = {}
    for field in extra_text_fields:
        if field == "session_id":
            frame[field] = _categorical(session_codes, session_names.to_pylist())
        elif field == "order_id":
            frame[field] = _categorical(order_codes, order_names.to_pylist())
        else:
            codes, values = _encode(table.column(field))
            frame[field] = _categorical(codes, values.to_pylist())
    if whole_extra:
        object_codes, objects = _encode(table.column("jm_extra"))
        for key, json_texts in zip(extras, _extra_values(objects.to_pylist(), extras), strict=True):
            # a code per distinct object, then one per distinct value of the property
            value_codes, values = _factorize(json_texts)
            frame[key] = _categorical(value_codes[object_codes], list(map(_extra_text, values)))
    else:
        for index, key in enumerate(extras):
            codes, json_texts = _encode(table.column(f"jm_x{index}"))
            frame[key] = _categorical(codes, list(map(_extra_text, json_texts.to_pylist())))
    if "timestamp" in fields:
        frame["timestamp"] = pd.to_datetime(timestamps, unit="us", utc=True)
    if "revenue" in fields:
        frame["revenue"] = revenue

    empty_order = pc.index(order_names, "").as_py()
    if empty_order >= 0:
        order_codes = np.where(order_codes == empty_order, -1, order_codes)
    return EventTable(
        fields=pd.DataFrame(frame, index=pd.RangeIndex(len(timestamps))),
        timestamps=timestamps,
        users=user_codes,
        sessions=pair_codes.astype(np.int64, copy=False),
        revenue=revenue,
        orders=order_codes,
        user_count=len(user_names),
        session_count=len(pairs),
        order_count=len(order_names),
    )


def load_nps_scores(
    *, journey_map: JourneyMap, start: datetime | None, end: datetime | None
) -> np.ndarray:
    """The scores of the map's survey responses that are undated or dated in [start, end)."""
    responses = SurveyResponse.objects.filter(
        dataset_id__in=dataset_ids(journey_map), score__gte=0, score__lte=10
    )
    if start is not None:
        responses = responses.filter(Q(responded_at__isnull=True) | Q(responded_at__gte=start))
    if end is not None:
        responses = responses.filter(Q(responded_at__isnull=True) | Q(responded_at__lt=end))
    scores = responses.values_list("score", flat=True)
    return np.fromiter(scores.iterator(chunk_size=CHUNK_ROWS), dtype=np.int64)


@dataclass(frozen=True)
class AggregateTable:
    """The rows of the map's aggregate (report) datasets: dimensions and metric columns."""

    dataset_names: list[str]
    dimensions: pd.DataFrame  # one categorical text column per dimension
    metrics: pd.DataFrame  # one float column per metric; NaN where a row has no number


def load_aggregate_rows(*, journey_map: JourneyMap) -> AggregateTable | None:
    """The map's aggregate datasets' rows, or None when the map has no aggregate dataset."""
    datasets = journey_map.datasets.filter(kind=DatasetKind.AGGREGATE).order_by("pk")
    names = list(datasets.values_list("name", flat=True))
    if not names:
        return None
    rows = AggregateRow.objects.filter(dataset__in=datasets).order_by("pk")
    dimensions, metrics = [], []
    for row_dimensions, row_metrics in rows.values_list("dimensions", "metrics").iterator(
        chunk_size=CHUNK_ROWS
    ):
        dimensions.append(row_dimensions if isinstance(row_dimensions, dict) else {})
        metrics.append(row_metrics if isinstance(row_metrics, dict) else {})
    dimension_frame = pd.DataFrame.from_records(dimensions, index=pd.RangeIndex(len(dimensions)))
    metric_frame = pd.DataFrame.from_records(metrics, index=pd.RangeIndex(len(metrics)))
    return AggregateTable(
        dataset_names=names,
        dimensions=pd.DataFrame(
            {
                str(name): _categorical(*_factorize([json_text(value) for value in column]))
                for name, column in dimension_frame.items()
            },
            index=dimension_frame.index,
        ),
        metrics=pd.DataFrame(
            {
                str(name): [_metric_number(value) for value in column]
                for name, column in metric_frame.items()
            },
            index=metric_frame.index,
            dtype=np.float64,
        ),
    )


def json_text(value: object) -> str:
    """A JSON value as rule text: strings as they are, numbers canonical, null/missing as ""."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) >= 2**53:
        return str(value)  # beyond a float's exact integers
    if isinstance(value, int | float):
        return number_text(float(value))
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- SQL ----------------------------------------------------------------------------------------

SQL = tuple[str, tuple]


class _TimestampColumn(Func):
    """The timestamp as text, which Arrow converts fast: SQLite's stored text, PostgreSQL's ISO
    text in UTC ("2019-10-01 08:00:00.5+00", see _read_transaction).

    Selecting the bare column would make the driver build a datetime per value; PostgreSQL's
    EXTRACT(EPOCH ...) computes in numeric, which costs it more than printing the text.
    """

    output_field = TextField()

    def as_sql(self, compiler: Compiler, connection: Connection, **extra: Any) -> SQL:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST({sql} AS TEXT)", params


class _ExtraJson(Func):
    """One extra property as the JSON text of its value (NULL when the key is missing).

    Both databases give the value's own JSON text (SQLite keeps a number's literal, 7.50 or
    0.30000000000000004; PostgreSQL's jsonb keeps its numeric), which Python then reads with json
    once per distinct value, so that a value reads the same on both.
    """

    output_field = TextField()

    def __init__(self, expression: F, *, key: str) -> None:
        super().__init__(expression)
        self.key = key

    def as_sqlite(self, compiler: Compiler, connection: Connection, **extra: Any) -> SQL:
        column, params = compiler.compile(self.source_expressions[0])
        return f"({column} -> %s)", (*params, "$." + json.dumps(self.key))

    def as_postgresql(self, compiler: Compiler, connection: Connection, **extra: Any) -> SQL:
        column, params = compiler.compile(self.source_expressions[0])
        return f"(({column} -> %s)::text)", (*params, self.key)


def _extras_as_whole_objects() -> bool:
    """Whether the extra column travels whole, its properties extracted per distinct object.

    SQLite parses a row's JSON text again for each property it extracts, which costs more than
    sending the whole text; PostgreSQL's jsonb gives a property faster than its text.
    """
    return connection.vendor == "sqlite"


class _Text(Func):
    """A column as text (the extra column's JSON text, not the object Django would load)."""

    output_field = TextField()
    template = "%(expressions)s"


def _extra_values(objects: list[str], keys: list[str]) -> list[list[str]]:
    """For each key, the JSON text of its value in each of the `objects` (JSON texts of the extra
    column, "" for NULL), "" where it is missing: what `_ExtraJson` gives on SQLite, by the same
    operator, in one query over the distinct objects instead of one extraction per row."""
    present = [index for index, text in enumerate(objects) if text]
    values = [[""] * len(objects) for _ in keys]
    if not present:
        return values
    texts = [objects[index] for index in present]
    extractions = ", ".join("(json_each.value -> %s)" for _ in keys)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {extractions} FROM json_each(%s) ORDER BY json_each.key",
            [*("$." + json.dumps(key) for key in keys), json.dumps(texts, ensure_ascii=False)],
        )
        for index, row in zip(present, cursor.fetchall(), strict=True):
            for column, value in zip(values, row, strict=True):
                column[index] = value if value is not None else ""
    return values


class _Remainder(Func):
    """An integer column's remainder by a constant divisor."""

    output_field = BigIntegerField()

    def __init__(self, expression: F, *, divisor: int) -> None:
        super().__init__(expression)
        self.divisor = divisor

    def as_sql(self, compiler: Compiler, connection: Connection, **extra: Any) -> SQL:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} %% {int(self.divisor)})", params


class _Line(Func):
    """The values joined into one line by FIELD_SEPARATOR (a NULL prints as "").

    SQLite gives the line as a BLOB: Python then copies its UTF-8 bytes instead of decoding them
    into a str that would be encoded again for Arrow.
    """

    output_field = TextField()

    def as_sql(self, compiler: Compiler, connection: Connection, **extra: Any) -> SQL:
        parts, params = [], []
        for expression in self.source_expressions:
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        line_format = FIELD_SEPARATOR.join(["%s"] * len(parts))
        if connection.vendor == "sqlite":
            return f"CAST(printf(%s, {', '.join(parts)}) AS BLOB)", (line_format, *params)
        return f"format(%s, {', '.join(parts)})", (line_format, *params)


def _read_parts_for(ids: list[int]) -> int:
    """How many queries side by side read these datasets' events (see _read_parts): READ_PARTS
    for a large map on PostgreSQL outside a transaction (whose rows other connections may not
    see), else one."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    rows = Dataset.objects.filter(pk__in=ids).aggregate(rows=Sum("row_count"))["rows"] or 0
    return READ_PARTS if rows >= SPLIT_FROM_ROWS else 1


def _read_table(events: QuerySet, columns: dict[str, Expression], *, parts: int = 1) -> pa.Table:
    """The events' `columns` and `revenue` as an Arrow table: `revenue` as float64, every other
    column as text ("" for NULL).

    Through the DB-API every result cell becomes a Python object, which dominates for a million
    rows; so the database joins each row's text values into one line (printf / format), and Arrow
    splits the lines in C. Revenue travels beside the line as a number, so that it stays exact.
    A value that would break the line format (a separator or a line break in it) makes the query
    run again the portable way, one cell at a time. With `parts` > 1 (PostgreSQL), the lines
    come from that many queries side by side (see `_read_parts`).
    """
    names = [*columns, "revenue"]
    types = {name: pa.string() for name in names}
    types["revenue"] = pa.float64()
    try:
        with _read_transaction(events.db):
            table = None
            if connection.vendor in ("sqlite", "postgresql") and len(columns) < MAX_LINE_COLUMNS:
                if parts > 1:
                    table = _read_parts(events, columns, types, parts)
                else:
                    table = _read_lines(events, columns, types)
            if table is not None:
                return table.select(names)
            return _read_cells(events, columns, types)
    except EmptyResultSet:  # e.g. a map without datasets
        return pa.table({name: pa.array([], type=types[name]) for name in names})


@contextmanager
def _read_transaction(alias: str, snapshot: str | None = None) -> Iterator[None]:
    """On PostgreSQL, a transaction printing instants as ISO text in UTC (in `snapshot`, one
    that another transaction exported, if given): in a transaction its server-side cursor
    streams, each fetch running the query for the next chunk while Python parses the last one;
    in autocommit, Django declares it WITH HOLD and PostgreSQL runs the whole query before the
    first fetch. (SQLite's transactions here are IMMEDIATE: they would lock out writers, and its
    reads need none.)"""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=alias):
        with connection.cursor() as cursor:
            if snapshot is not None:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
            cursor.execute("SET LOCAL DateStyle = 'ISO'")
            cursor.execute("SET LOCAL TimeZone = 'UTC'")
        yield


def _read_parts(
    events: QuerySet, columns: dict[str, Expression], types: dict, parts: int
) -> pa.Table | None:
    """`_read_lines` of `parts` disjoint parts of the events (by id), each in a thread and on a
    connection of its own, all in the snapshot of this transaction (so together they are what
    one query would read): each server process formats its part's lines on a core of its own,
    which is what a read on PostgreSQL waits for. (On SQLite the database runs in this process,
    and its driver takes the GIL for every row: parts there gain nothing.)"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        [snapshot] = cursor.fetchone()

    def read_part(part: int) -> pa.Table | None:
        try:
            with _read_transaction(events.db, snapshot):
                rows = events.alias(jm_part=_Remainder(F("pk"), divisor=parts))
                return _read_lines(rows.filter(jm_part=part), columns, types)
        finally:
            connections[events.db].close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=parts, thread_name_prefix="jm-part") as pool:
        tables = list(pool.map(read_part, range(parts)))
    if any(table is None for table in tables):
        return None
    return pa.concat_tables(tables)


def _read_lines(events: QuerySet, columns: dict[str, Expression], types: dict) -> pa.Table | None:
    """Each row as one line of separated text plus its revenue; None if a value breaks a line."""
    query = events.annotate(
        jm_line=_Line(*columns.values()),
        jm_revenue=Func(F("revenue"), Value(0.0), function="NULLIF", output_field=FloatField()),
    ).values_list("jm_line", "jm_revenue")
    sql, params = query.query.get_compiler(using=events.db).as_sql()
    options = {
        "read_options": pcsv.ReadOptions(column_names=list(columns)),
        "parse_options": pcsv.ParseOptions(
            delimiter=FIELD_SEPARATOR,
            quote_char=False,
            double_quote=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=False,
        ),
        # text arrives dictionary-encoded: Arrow hashes each value as it parses it, instead of
        # copying it into a string column that _encode would hash afterwards
        "convert_options": pcsv.ConvertOptions(
            column_types={
                name: TEXT_CODES if types[name] == pa.string() and name != "jm_ts" else types[name]
                for name in columns
            },
            strings_can_be_null=False,
        ),
    }
    tables, revenues = [], []
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        with closing(_prefetched_chunks(cursor)) as chunks:
            for rows in chunks:
                lines, revenue = zip(*rows, strict=True)
                try:
                    table = pcsv.read_csv(io.BytesIO(_joined_lines(lines)), **options)
                except pa.ArrowInvalid:  # a value holding the separator
                    return None
                if table.num_rows != len(rows):  # a value holding a line break
                    return None
                tables.append(table)
                revenues.append(np.array(revenue, dtype=np.float64))
    if not tables:
        return pa.table({name: pa.array([], type=types[name]) for name in [*columns, "revenue"]})
    revenue = np.nan_to_num(np.concatenate(revenues), nan=0.0)  # NULLIF made 0 a NULL
    return pa.concat_tables(tables).append_column("revenue", pa.array(revenue))


def _joined_lines(lines: tuple[str | bytes, ...]) -> bytes:
    """The lines as one UTF-8 text (SQLite gives them as bytes: see _Line)."""
    if lines and isinstance(lines[0], bytes):
        return b"\n".join(lines)
    return "\n".join(lines).encode()


def _prefetched_chunks(cursor: CursorWrapper) -> Iterator[list[tuple]]:
    """The cursor's rows in chunks, the next chunk fetched in a thread while this one is used.

    The database (or SQLite, which releases the GIL while it steps) produces rows while Arrow
    parses the previous ones, instead of each waiting for the other.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jm-fetch") as pool:
        pending = pool.submit(cursor.fetchmany, CHUNK_ROWS)
        while rows := pending.result():
            pending = pool.submit(cursor.fetchmany, CHUNK_ROWS)
            yield rows


def _read_cells(events: QuerySet, columns: dict[str, Expression], types: dict) -> pa.Table:
    """The portable way: one cell at a time through a chunked cursor."""
    names = [*columns, "revenue"]
    query = events.annotate(
        **{f"jm_{index}": column for index, column in enumerate(columns.values())}
    )
    query = query.values_list(*(f"jm_{index}" for index in range(len(columns))), "revenue")
    sql, params = query.query.get_compiler(using=events.db).as_sql()
    values: list[list] = [[] for _ in names]
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_ROWS):
            for column, cells in zip(values, zip(*rows, strict=True), strict=True):
                column.extend(cells)
    table = pa.table(
        {
            name: pa.array(column, type=types[name], from_pandas=True)
            for name, column in zip(names, values, strict=True)
        }
    )
    return _without_nulls(table)


def _without_nulls(table: pa.Table) -> pa.Table:
    """Text NULLs (a missing extra property) as ""."""
    for index, field in enumerate(table.schema):
        if pa.types.is_string(field.type) and table.column(index).null_count:
            table = table.set_column(index, field, pc.fill_null(table.column(index), ""))
    return table


def _encode(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Integer codes (0..n-1) and the distinct values of a text column (plain or dictionary)."""
    if pa.types.is_dictionary(column.type) and column.num_chunks:
        # each chunk has a dictionary of its own: one for all, each chunk's indices into it
        unified = column.unify_dictionaries()
        indices = pa.chunked_array([chunk.indices for chunk in unified.chunks])
        return indices.to_numpy().astype(np.int64), unified.chunk(0).dictionary
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    encoded = column.combine_chunks().dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary


def _factorize(values: list[str]) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(np.array(values, dtype=object))
    return codes, list(uniques)


def _micros(column: pa.ChunkedArray) -> np.ndarray:
    """Timestamps as int64 µs since the epoch, from their text: SQLite's stored text (Django
    stores "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC) or PostgreSQL's (the same, then "+00")."""
    if not len(column):
        return np.empty(0, np.int64)
    for instant_type in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:  # a failing cast fails at its first value
            return pc.cast(column, instant_type).to_numpy().view(np.int64)
        except pa.ArrowInvalid:
            continue
    # anything else ISO 8601, other offsets included
    parsed = pd.to_datetime(column.to_numpy(), format="ISO8601", utc=True)
    return parsed.as_unit("us").asi8


def _categorical(codes: np.ndarray, values: list[str]) -> pd.Categorical:
    """A categorical over `values` (which may repeat: equal texts are merged)."""
    categories = pd.Index([*values, ""], dtype=object).unique()
    positions = categories.get_indexer([*values, ""])
    return pd.Categorical.from_codes(positions[codes], categories=categories)


def _extra_text(value: str) -> str:
    """An extra property's JSON text (see _ExtraJson) as rule text; "" when it is missing."""
    return json_text(json.loads(value)) if value else ""


def _metric_number(value: object) -> float:
    """A report's metric cell as a number (a number, or text spelling one); NaN otherwise."""
    if isinstance(value, bool) or value is None:
        return np.nan
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            return np.nan
        return number if math.isfinite(number) else np.nan
    if isinstance(value, str):
        number = as_number(value)
        return np.nan if number is None else number
    return np.nan
