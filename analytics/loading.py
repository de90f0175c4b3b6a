"""Loading a map's analytics rows for the metrics engine: columns, not model instances.

Events are read with one SELECT through a chunked (server-side on PostgreSQL) cursor, only the
columns that the figures and the rules need, and turned into numpy arrays: timestamps as integer
microseconds, users, sessions and order ids as integer codes, rule fields as categoricals. Extra
properties are pulled out of the JSON column in SQL, each with its JSON type, so that a value reads
the same on SQLite and PostgreSQL (see `_extra_text`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, F, Func, Max, Min, Q, When
from django.db.models.sql.compiler import SQLCompiler

from analytics.models import AggregateRow, DatasetKind, Event, SurveyResponse
from analytics.rules import number_text
from journeymap.models import JourneyMap
from touchpoints.rules import CANONICAL_FIELDS

# canonical fields held as text (the other two, timestamp and revenue, have their own types)
TEXT_FIELDS = tuple(field for field in CANONICAL_FIELDS if field not in ("timestamp", "revenue"))
CHUNK_ROWS = 50_000


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
    events = Event.objects.filter(dataset_id__in=dataset_ids(journey_map))
    if start is not None:
        events = events.filter(timestamp__gte=start)
    if end is not None:
        events = events.filter(timestamp__lt=end)

    extras = [field for field in fields if field not in CANONICAL_FIELDS]
    annotations = {
        "jm_ts": _TimestampColumn(F("timestamp")),
        "jm_user": Case(When(user_id="", then=F("session_id")), default=F("user_id")),
        **{f"jm_x{index}": _ExtraJson(F("extra"), key=key) for index, key in enumerate(extras)},
    }
    extra_text_fields = [field for field in fields if field in TEXT_FIELDS]
    selected = [
        "jm_ts",
        "jm_user",
        "session_id",
        "revenue",
        "order_id",
        *(field for field in extra_text_fields if field not in ("session_id", "order_id")),
        *(f"jm_x{index}" for index in range(len(extras))),
    ]
    query = events.annotate(**annotations).values_list(*selected).order_by()
    columns = _fetch_columns(query.query.get_compiler(using=events.db), len(selected))
    by_name = dict(zip(selected, columns, strict=True))

    timestamps = _micros(by_name["jm_ts"])
    user_codes, user_names = pd.factorize(_objects(by_name["jm_user"]))
    session_codes, session_names = pd.factorize(_objects(by_name["session_id"]))
    pair_codes, pairs = pd.factorize(user_codes * max(len(session_names), 1) + session_codes)
    order_codes, order_names = pd.factorize(_objects(by_name["order_id"]))
    revenue = np.asarray(by_name["revenue"], dtype=np.float64)

    frame: dict[str, object] = {}
    for field in extra_text_fields:
        if field == "session_id":
            frame[field] = pd.Categorical.from_codes(session_codes, categories=session_names)
        elif field == "order_id":
            frame[field] = pd.Categorical.from_codes(order_codes, categories=order_names)
        else:
            frame[field] = _categorical(by_name[field])
    for index, key in enumerate(extras):
        frame[key] = _extra_categorical(by_name[f"jm_x{index}"])
    if "timestamp" in fields:
        frame["timestamp"] = pd.to_datetime(timestamps, unit="us", utc=True)
    if "revenue" in fields:
        frame["revenue"] = revenue

    empty_orders = np.flatnonzero(np.asarray(order_names, dtype=object) == "")
    if empty_orders.size:
        order_codes = np.where(order_codes == empty_orders[0], -1, order_codes)
    return EventTable(
        fields=pd.DataFrame(frame, index=pd.RangeIndex(len(timestamps))),
        timestamps=timestamps,
        users=user_codes.astype(np.int64, copy=False),
        sessions=pair_codes.astype(np.int64, copy=False),
        revenue=revenue,
        orders=order_codes.astype(np.int64, copy=False),
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
                str(name): _categorical([json_text(value) for value in column])
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


class _TimestampColumn(Func):
    """The timestamp in a form that converts fast: µs since the epoch, or SQLite's stored text.

    Selecting the bare column would make the SQLite driver parse each value into a datetime.
    """

    def as_sql(self, compiler, connection, **extra):  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST({sql} AS TEXT)", params

    def as_postgresql(self, compiler, connection, **extra):  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(EXTRACT(EPOCH FROM {sql}) * 1000000)::bigint", params


class _ExtraJson(Func):
    """One extra property as the JSON text of its value (NULL when the key is missing).

    Both databases give the value's own JSON text (SQLite keeps a number's literal, 7.50 or
    0.30000000000000004; PostgreSQL's jsonb keeps its numeric), which Python then reads with json
    once per distinct value, so that a value reads the same on both.
    """

    def __init__(self, expression: F, *, key: str) -> None:
        super().__init__(expression)
        self.key = key

    def as_sqlite(self, compiler, connection, **extra):  # type: ignore[override]
        column, params = compiler.compile(self.source_expressions[0])
        return f"({column} -> %s)", (*params, "$." + json.dumps(self.key))

    def as_postgresql(self, compiler, connection, **extra):  # type: ignore[override]
        column, params = compiler.compile(self.source_expressions[0])
        return f"(({column} -> %s)::text)", (*params, self.key)


def _fetch_columns(compiler: SQLCompiler, width: int) -> list[list]:
    """Run the compiled query through a chunked cursor and return its result column by column."""
    columns: list[list] = [[] for _ in range(width)]
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # e.g. a map without datasets
        return columns
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_ROWS):
            for column, values in zip(columns, zip(*rows, strict=True), strict=True):
                column.extend(values)
    return columns


def _objects(values: Sequence) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _micros(values: Sequence) -> np.ndarray:
    if connection.vendor == "postgresql":
        return np.asarray(values, dtype=np.int64)
    if not values:
        return np.empty(0, dtype=np.int64)
    instants = pd.to_datetime(_objects(values), format="ISO8601", utc=True)
    return instants.as_unit("us").asi8


def _categorical(values: Sequence) -> pd.Categorical:
    codes, uniques = pd.factorize(_objects(values))
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))


def _extra_categorical(values: Sequence) -> pd.Categorical:
    """Extra values as JSON texts (see _ExtraJson) → one categorical of their rule text."""
    codes, uniques = pd.factorize(_objects(values))
    texts = [json_text(json.loads(value)) for value in uniques]
    categories = pd.Index([*texts, ""], dtype=object).unique()
    positions = categories.get_indexer([*texts, ""])
    return pd.Categorical.from_codes(positions[codes], categories=categories)


def _metric_number(value: object) -> float:
    if isinstance(value, bool) or value is None:
        return np.nan
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        from analytics.rules import as_number

        number = as_number(value.replace(",", "")) if value.strip() else None
        return np.nan if number is None else number
    return np.nan
