"""From the text of a chunk of rows to canonical rows, one whole column at a time.

A Plan is compiled once from the options and the mapping; `transform` then turns each chunk of
records into a DataFrame of canonical rows and a list of problems (line, column, value, reason)
for the rows it rejects. Validation follows DESIGN §5 exactly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.core.exceptions import ValidationError

from analytics.importing import fields as F
from analytics.importing import jsoncells
from analytics.importing.channels import derive_channels
from analytics.importing.parsing import DateFormat, parse_dates, parse_numbers
from analytics.importing.reading import Block

# Longest text each canonical column holds (the model's max_length); longer values are cut.
MAX_LENGTHS = {
    "event": 200,
    "user_id": 200,
    "session_id": 200,
    "source": 200,
    "medium": 200,
    "campaign": 200,
    "channel": 100,
    "device": 100,
    "country": 100,
    "order_id": 200,
}
EVENT_COLUMNS = [
    "line",
    "timestamp",
    "event",
    "user_id",
    "session_id",
    "page",
    "source",
    "medium",
    "campaign",
    "channel",
    "device",
    "country",
    "revenue",
    "order_id",
    "extra",
]
SURVEY_COLUMNS = ["line", "score", "user_id", "responded_at", "comment", "extra"]
AGGREGATE_COLUMNS = ["line", "dimensions", "metrics"]
TOTAL_LABELS = frozenset(
    {
        "total",
        "totals",
        "grand total",
        "gesamt",
        "summe",
        "total général",
        "totale",
        "totaal",
        "totalt",
        "suma",
        "razem",
        "合計",
        "总计",
        "итого",
    }
)
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200

Problem = tuple[int, str, str, str]  # line, column, value, reason

NEEDS_ESCAPE = r'["\\\x00-\x1f]'  # what JSON text must escape: quote, backslash, controls
CONTROLS = r"[\x00-\x1f]"


def email_hash(email: str) -> str:
    """A salted hash of an email address: the same customer, without keeping the address."""
    key = hashlib.sha256(("journeymap-email:" + settings.SECRET_KEY).encode()).digest()
    normalised = email.strip().lower().encode()
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()[:32]


@dataclass
class Plan:
    """How to turn rows of one file into canonical rows: compiled options and mapping."""

    kind: str
    source_format: str
    columns: list[str]
    mapping: dict[str, str]
    options: dict[str, Any]
    sources: dict[str, list[str]] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    json_columns: list[str] = field(default_factory=list)
    date_formats: dict[str, DateFormat | None] = field(default_factory=dict)
    revenue_events: frozenset[str] | None = None

    @property
    def decimal(self) -> str:
        return self.options.get("decimal") or "."

    @property
    def constant_event(self) -> str:
        return (self.options.get("constant_event") or "").strip()

    @property
    def shopify(self) -> bool:
        return self.source_format == "shopify-orders"


def _date_format(text: str | None) -> DateFormat | None:
    if not text:
        return None
    kind, _, unit = text.partition(":")
    return DateFormat(kind, unit)


def compile_plan(
    *,
    kind: str,
    source_format: str,
    columns: list[str],
    mapping: dict[str, str],
    options: dict[str, Any],
) -> Plan:
    """Check a mapping against the file's columns and the kind's fields; ValidationError if bad."""
    allowed = set(F.FIELDS_BY_KIND[kind]) | {F.EXTRA, F.IGNORE}
    json_columns = [column for column in options.get("json_columns", []) if column in columns]
    problems = []
    for source, target in mapping.items():
        if target not in allowed:
            known = ", ".join(F.FIELDS_BY_KIND[kind])
            problems.append(
                f"{target!r} (for column {source!r}) is not a field of a {kind} dataset; "
                f"use one of {known}, or extra, or ignore."
            )
        elif source not in columns and not any(
            source.startswith(column + ".") for column in json_columns
        ):
            problems.append(f"The file has no column {source!r}.")
    if problems:
        raise ValidationError(problems)
    sources: dict[str, list[str]] = {}
    order = {column: position for position, column in enumerate(columns)}

    def position(source: str) -> tuple[int, str]:
        return order.get(source, order.get(source.split(".")[0], len(columns))), source

    for source, target in sorted(mapping.items(), key=lambda item: position(item[0])):
        if target not in (F.EXTRA, F.IGNORE):
            sources.setdefault(target, []).append(source)
    plan = Plan(
        kind=kind,
        source_format=source_format,
        columns=columns,
        mapping=mapping,
        options=options,
        sources=sources,
        json_columns=json_columns,
    )
    if kind == "events":
        missing = [name for name in F.EVENT_REQUIRED if name not in sources]
        if "event" in missing and plan.constant_event:
            missing.remove("event")
        if missing:
            raise ValidationError(
                f"No column is mapped to {' or '.join(missing)}: an events dataset needs "
                f"{' and '.join(F.EVENT_REQUIRED)}. Map the column that holds it."
            )
        if "user_id" not in sources and "session_id" not in sources:
            raise ValidationError(
                "No column is mapped to user_id or session_id: an events dataset needs at least "
                "one of them to count users and sessions. Map the column that identifies "
                "the visitor or the session."
            )
    elif kind == "survey" and "score" not in sources:
        raise ValidationError(
            "No column is mapped to score: a survey dataset needs the 0–10 score column."
        )
    elif kind == "aggregate" and not any(
        target in F.AGGREGATE_METRICS for target in mapping.values()
    ):
        raise ValidationError(
            "No column is mapped to a metric: a report dataset needs at least one metric column."
        )
    plan.extra_columns = [
        column
        for column in columns
        if mapping.get(column, F.EXTRA) == F.EXTRA and column not in json_columns
    ]
    formats = options.get("date_formats") or {}
    for target in ("timestamp", "responded_at", "date"):
        for source in sources.get(target, []):
            plan.date_formats[source] = _date_format(formats.get(source))
    names = options.get("revenue_events")
    if names:
        plan.revenue_events = frozenset(str(name).strip().lower() for name in names)
    return plan


# -- chunks ------------------------------------------------------------------------------------


def make_frame(
    records: list[list[str]], lines: list[int], columns: list[str]
) -> tuple[pd.DataFrame, list[Problem]]:
    """A DataFrame of text from records; records with the wrong number of fields are problems."""
    width = len(columns)
    problems: list[Problem] = []
    good_records, good_lines = records, lines
    if any(len(record) != width for record in records):
        good_records, good_lines = [], []
        for line, record in zip(lines, records, strict=True):
            if len(record) == width:
                good_records.append(record)
                good_lines.append(line)
            else:
                problems.append(
                    (
                        line,
                        "",
                        f"{len(record)} fields",
                        f"{F.WRONG_FIELD_COUNT} (expected {width}, found {len(record)})",
                    )
                )
    if good_records:
        data = {
            column: pd.array(values, dtype="str")
            for column, values in zip(columns, zip(*good_records, strict=True), strict=True)
        }
    else:
        data = {column: pd.array([], dtype="str") for column in columns}
    frame = pd.DataFrame(data)
    frame.index = pd.Index(np.asarray(good_lines, dtype="int64"), name="line")
    for column in columns:
        if frame[column].str.contains("\x00", regex=False).any():
            frame[column] = frame[column].str.replace("\x00", "", regex=False)
    return frame, problems


def frame_from_block(block: Block, columns: list[str]) -> tuple[pd.DataFrame, list[Problem]]:
    """`make_frame` of a block read by PlainReader: the same frame, from pyarrow's columns."""
    width = len(columns)
    problems: list[Problem] = [
        (line, "", f"{found} fields", f"{F.WRONG_FIELD_COUNT} (expected {width}, found {found})")
        for line, found in block.bad
    ]
    data = {
        column: pd.array(values, dtype="str")
        for column, values in zip(columns, block.table.columns, strict=True)
    }
    frame = pd.DataFrame(data, index=pd.Index(block.lines, name="line"))
    return frame, problems


class JsonCells:
    """The flattened JSON cells of a chunk, parsed once and looked up by dotted key."""

    def __init__(self, frame: pd.DataFrame, json_columns: list[str]) -> None:
        self.rows: list[dict[str, Any]] = [{} for _ in range(len(frame))]
        for column in json_columns:
            for row, cell in zip(self.rows, frame[column], strict=True):
                row.update(jsoncells.flatten(jsoncells.parse_cell(cell.strip()), column))
        self.index = frame.index

    def series(self, key: str) -> pd.Series:
        values = ["" if row.get(key) is None else str(row[key]) for row in self.rows]
        return pd.Series(values, index=self.index, dtype="str")


def _text(frame: pd.DataFrame, cells: JsonCells | None, sources: list[str]) -> pd.Series | None:
    """The first non-empty value of the source columns, stripped."""
    result = None
    for source in sources:
        if source in frame.columns:
            values = frame[source].str.strip()
        elif cells is not None:
            values = cells.series(source).str.strip()
        else:
            continue
        result = values if result is None else result.where(result.ne(""), values)
    return result


def _empty(frame: pd.DataFrame) -> pd.Series:
    return pd.Series("", index=frame.index, dtype="str")


def json_objects(columns: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    """One JSON object (text) per row from text columns, without the empty values; NaN if none.

    Built by pyarrow a whole column at a time; a column is escaped only when some value needs it.
    Each column gives three texts per row, empty where its value is: the opening (`,"key":"`,
    without the comma before the row's first value), the value and the closing quote; one join
    of them all makes the objects.
    """
    if not columns:
        return pd.Series(None, index=index, dtype="object")
    parts: list[Any] = ["{"]
    seen = None  # whether the row has a value in an earlier column
    for key, values in columns.items():
        text = pc.fill_null(pa.array(values, type=pa.string()), "")
        escaped = text
        if _may_need_escape(text) and pc.any(pc.match_substring_regex(text, NEEDS_ESCAPE)).as_py():
            escaped = pc.replace_substring(text, "\\", "\\\\")
            escaped = pc.replace_substring(escaped, '"', '\\"')
            controls = pc.match_substring_regex(text, CONTROLS).to_numpy(zero_copy_only=False)
            if controls.any():
                cells = escaped.to_pylist()
                for row in np.flatnonzero(controls):
                    cells[row] = json.dumps(text[row].as_py())[1:-1]
                escaped = pa.array(cells, type=pa.string())
        present = pc.not_equal(text, "")
        name = json.dumps(key, ensure_ascii=False) + ':"'
        if seen is None:
            opening = pc.if_else(present, name, "")
            seen = present
        else:
            opening = pc.if_else(present, pc.if_else(seen, "," + name, name), "")
            seen = pc.or_(seen, present)
        parts += [opening, escaped, pc.if_else(present, '"', "")]
    objects = pc.binary_join_element_wise(*parts, "}", "")
    objects = pc.if_else(seen, objects, pa.scalar(None, pa.string()))
    return pd.Series(pd.array(objects, dtype="str"), index=index)


def _may_need_escape(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether the UTF-8 bytes of these values hold a quote, a backslash or a control character.

    A look at the raw bytes, much cheaper than a regular expression run value by value; True
    only sends the column to the exact test.
    """
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    for chunk in chunks:
        _validity, offsets, data = chunk.buffers()[:3]
        if data is None or len(chunk) == 0:
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        bounds = np.frombuffer(offsets, dtype=width)
        first, last = int(bounds[chunk.offset]), int(bounds[chunk.offset + len(chunk)])
        raw = np.frombuffer(data, dtype=np.uint8)[first:last]
        if (raw < 0x20).any() or (raw == 0x22).any() or (raw == 0x5C).any():
            return True
    return False


def _extra(
    plan: Plan,
    frame: pd.DataFrame,
    cells: JsonCells | None,
    used: set[str],
    also: dict[str, pd.Series] | None = None,
) -> pd.Series:
    columns = {column: frame[column].str.strip() for column in plan.extra_columns}
    columns.update(also or {})
    if cells is None:
        return json_objects(columns, frame.index)
    ignored = {source for source, target in plan.mapping.items() if target == F.IGNORE}
    kept_json = [column for column in plan.json_columns if column not in ignored]
    texts = []
    for position, row in enumerate(cells.rows):
        extra: dict[str, Any] = {
            name: values.iat[position] for name, values in columns.items() if values.iat[position]
        }
        for key, value in row.items():
            if key in used or key in ignored or value in (None, ""):
                continue
            if key.split(".")[0] in kept_json:
                extra[jsoncells.extra_key(key.split(".")[0], key)] = value
        texts.append(json.dumps(extra, ensure_ascii=False) if extra else None)
    return pd.Series(texts, index=frame.index, dtype="object")


def _problems(mask: pd.Series, values: pd.Series | None, column: str, reason: str) -> list[Problem]:
    if not mask.any():
        return []
    lines = mask.index[mask.to_numpy()]
    shown = values[mask] if values is not None else pd.Series("", index=lines)
    return [
        (int(line), column, str(value), reason) for line, value in zip(lines, shown, strict=True)
    ]


def _cut(values: pd.Series, name: str) -> pd.Series:
    limit = MAX_LENGTHS.get(name)
    if limit and (values.str.len() > limit).any():
        return values.str.slice(0, limit)
    return values


def _in_range(stamps: pd.Series) -> pd.Series:
    years = stamps.dt.year
    return stamps.isna() | ((years >= EARLIEST_YEAR) & (years <= LATEST_YEAR))


# -- events ------------------------------------------------------------------------------------


def transform(plan: Plan, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Canonical rows of this chunk for the plan's kind, and the problems of rejected rows."""
    if plan.kind == "survey":
        return transform_survey(plan, frame)
    if plan.kind == "aggregate":
        return transform_aggregate(plan, frame)
    return transform_events(plan, frame)


def _source_name(plan: Plan, target: str) -> str:
    return "/".join(plan.sources.get(target, [])) or target


def transform_events(plan: Plan, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    if plan.shopify:
        frame = fold_orders(plan, frame)
    cells = JsonCells(frame, plan.json_columns) if plan.json_columns else None
    problems: list[Problem] = []
    rejected = pd.Series(False, index=frame.index)
    out = pd.DataFrame(index=frame.index)

    stamp_sources = plan.sources["timestamp"]
    raw_stamp = _text(frame, cells, stamp_sources)
    stamps, bad = parse_dates(raw_stamp, plan.date_formats.get(stamp_sources[0]))
    bad |= ~_in_range(stamps)
    missing = raw_stamp.eq("") | (stamps.isna() & ~bad)
    problems += _problems(missing, raw_stamp, _source_name(plan, "timestamp"), F.MISSING_TIMESTAMP)
    problems += _problems(bad, raw_stamp, _source_name(plan, "timestamp"), F.BAD_TIMESTAMP)
    rejected |= missing | bad
    out["timestamp"] = stamps

    event = _text(frame, cells, plan.sources.get("event", []))
    if event is None:
        event = pd.Series(plan.constant_event, index=frame.index, dtype="str")
    elif plan.constant_event:
        event = event.where(event.ne(""), plan.constant_event)
    empty_event = event.eq("")
    problems += _problems(empty_event, event, _source_name(plan, "event"), F.EMPTY_EVENT)
    rejected |= empty_event
    out["event"] = _cut(event, "event")

    user = _text(frame, cells, plan.sources.get("user_id", []))
    user = _empty(frame) if user is None else user
    emails = user.str.contains("@", regex=False)
    hashed = None
    if emails.any():
        user = user.copy()
        user[emails] = [email_hash(value) for value in user[emails]]
        hashed = user.where(emails, "")
    session = _text(frame, cells, plan.sources.get("session_id", []))
    session = _empty(frame) if session is None else session
    nobody = user.eq("") & session.eq("")
    who = "/".join(plan.sources.get("user_id", []) + plan.sources.get("session_id", []))
    problems += _problems(nobody, None, who, F.NO_USER_NOR_SESSION)
    rejected |= nobody
    out["user_id"] = _cut(user, "user_id")
    out["session_id"] = _cut(session, "session_id")

    for name in (
        "page",
        "source",
        "medium",
        "campaign",
        "channel",
        "device",
        "country",
        "order_id",
    ):
        values = _text(frame, cells, plan.sources.get(name, []))
        out[name] = _empty(frame) if values is None else values
    pair = _text(frame, cells, plan.sources.get("source_medium", []))
    if pair is not None:
        split = pair.str.split("/", n=1, expand=True).reindex(columns=[0, 1]).fillna("")
        out["source"] = out["source"].where(out["source"].ne(""), split[0].str.strip())
        out["medium"] = out["medium"].where(out["medium"].ne(""), split[1].str.strip())
    has_traffic = any(name in plan.sources for name in ("source", "medium", "source_medium"))
    if "channel" not in plan.sources and has_traffic:
        out["channel"] = derive_channels(out["source"], out["medium"], out["campaign"])
    for name in ("source", "medium", "campaign", "channel", "device", "country", "order_id"):
        out[name] = _cut(out[name], name)

    raw_revenue = _text(frame, cells, plan.sources.get("revenue", []))
    if raw_revenue is None:
        out["revenue"] = 0.0
    else:
        revenue, bad_revenue = parse_numbers(raw_revenue, plan.decimal)
        counts = pd.Series(True, index=frame.index)
        if plan.revenue_events is not None:
            counts = event.str.lower().isin(plan.revenue_events)
        bad_revenue &= counts
        problems += _problems(
            bad_revenue, raw_revenue, _source_name(plan, "revenue"), F.BAD_REVENUE
        )
        rejected |= bad_revenue
        out["revenue"] = revenue.where(counts & revenue.notna(), 0.0).astype("float64")

    used = {source for sources in plan.sources.values() for source in sources}
    also = {}
    if hashed is not None:
        also["email_hash"] = hashed  # the email itself is never stored
    if plan.revenue_events is not None and raw_revenue is not None:
        # The price of the other events is kept, as a property, for rules on it.
        also[plan.sources["revenue"][0]] = raw_revenue
    extra = _extra(plan, frame, cells, used, also)
    out["extra"] = extra
    out = out[~rejected.to_numpy()]
    out.insert(0, "line", out.index.to_numpy())
    return out.reset_index(drop=True)[EVENT_COLUMNS], problems


def order_key(plan: Plan, frame: pd.DataFrame) -> pd.Series:
    """The order each row belongs to (Shopify's `Name`); a row without one is its own order."""
    sources = plan.sources.get("order_id", [])
    key = _text(frame, None, sources) if sources else None
    if key is None:
        return pd.Series(frame.index.astype(str), index=frame.index, dtype="str")
    return key.where(key.ne(""), "line " + pd.Series(frame.index.astype(str), index=frame.index))


def fold_orders(plan: Plan, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per order: the order's fields from its first row, its line items gathered."""
    if frame.empty:
        return frame
    key = order_key(plan, frame)
    first = frame[~key.duplicated().to_numpy()].copy()
    if len(first) == len(frame):
        return first
    grouped = frame.groupby(key.to_numpy(), sort=False)
    for column in frame.columns:
        lowered = column.lower()
        if not lowered.startswith("lineitem"):
            continue
        if lowered == "lineitem quantity":
            totals = grouped[column].agg(lambda values: _sum_text(values))
        else:
            totals = grouped[column].agg(
                lambda values: "; ".join(value.strip() for value in values if value.strip())
            )
        first[column] = totals.reindex(key[first.index].to_numpy()).to_numpy()
    return first


def _sum_text(values: Iterable[str]) -> str:
    numbers, _invalid = parse_numbers(pd.Series(list(values), dtype="str"))
    total = numbers.sum()
    return f"{total:g}"


# -- surveys -----------------------------------------------------------------------------------


def transform_survey(plan: Plan, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    problems: list[Problem] = []
    out = pd.DataFrame(index=frame.index)
    raw_score = _text(frame, None, plan.sources["score"])
    scores, bad = parse_numbers(raw_score, plan.decimal)
    missing = scores.isna() & ~bad
    whole = scores.notna() & (scores == scores.round()) & (scores >= 0) & (scores <= 10)
    bad = ~missing & ~whole
    column = _source_name(plan, "score")
    problems += _problems(missing, raw_score, column, F.MISSING_SCORE)
    problems += _problems(bad, raw_score, column, F.BAD_SCORE)
    rejected = missing | bad
    out["score"] = scores.fillna(-1).astype("int64")
    user = _text(frame, None, plan.sources.get("user_id", []))
    user = _empty(frame) if user is None else user
    emails = user.str.contains("@", regex=False)
    if emails.any():
        user = user.copy()
        user[emails] = [email_hash(value) for value in user[emails]]
    out["user_id"] = _cut(user, "user_id")
    date_sources = plan.sources.get("responded_at", [])
    if date_sources:
        raw_date = _text(frame, None, date_sources)
        dates, bad_date = parse_dates(raw_date, plan.date_formats.get(date_sources[0]))
        bad_date |= ~_in_range(dates)
        problems += _problems(bad_date, raw_date, _source_name(plan, "responded_at"), F.BAD_DATE)
        rejected |= bad_date
        out["responded_at"] = dates
    else:
        out["responded_at"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    comment = _text(frame, None, plan.sources.get("comment", []))
    out["comment"] = _empty(frame) if comment is None else comment
    out["extra"] = _extra(plan, frame, None, set())
    out = out[~rejected.to_numpy()]
    out.insert(0, "line", out.index.to_numpy())
    problems.sort()
    return out.reset_index(drop=True)[SURVEY_COLUMNS], problems


# -- aggregate reports -------------------------------------------------------------------------


def is_totals_row(dimensions: dict[str, str]) -> bool:
    """A report's totals row: every dimension empty, or the first one says 'Total'."""
    values = [value.strip() for value in dimensions.values()]
    if not any(values):
        return True
    return values[0].lower().rstrip(":") in TOTAL_LABELS


def transform_aggregate(plan: Plan, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    problems: list[Problem] = []
    dimension_columns = [
        source
        for source, target in plan.mapping.items()
        if target in F.AGGREGATE_DIMENSIONS and source in frame.columns
    ]
    metric_columns = [
        source
        for source, target in plan.mapping.items()
        if target in F.AGGREGATE_METRICS and source in frame.columns
    ]
    order = {column: position for position, column in enumerate(plan.columns)}
    dimension_columns.sort(key=order.get)
    metric_columns.sort(key=order.get)
    numbers = {}
    rejected = pd.Series(False, index=frame.index)
    for column in metric_columns:
        values, bad = parse_numbers(frame[column], plan.decimal)
        problems += _problems(bad, frame[column], column, F.BAD_METRIC)
        rejected |= bad
        numbers[column] = values
    dates = {}
    for column in dimension_columns:
        if plan.mapping[column] == "date" and plan.date_formats.get(column):
            parsed, _bad = parse_dates(frame[column], plan.date_formats[column])
            dates[column] = parsed
    rows = []
    totals = 0
    for position, line in enumerate(frame.index):
        dimensions: dict[str, str] = {}
        for column in dimension_columns:
            value = frame[column].iat[position].strip()
            if column in dates and not pd.isna(dates[column].iat[position]):
                value = dates[column].iat[position].strftime("%Y-%m-%d")
            name = plan.mapping[column]
            if name == "source_medium":
                source, _, medium = value.partition("/")
                dimensions.setdefault("source", source.strip())
                dimensions.setdefault("medium", medium.strip())
            name = column if name == "dimension" else name
            dimensions.setdefault(name, value)
        if rejected.iat[position]:
            continue
        if is_totals_row({column: frame[column].iat[position] for column in dimension_columns}):
            totals += 1
            continue
        metrics = {}
        for column in metric_columns:
            name = plan.mapping[column]
            name = column if name == "metric" else name
            value = numbers[column].iat[position]
            metrics.setdefault(name, 0.0 if pd.isna(value) else float(value))
        rows.append((int(line), json.dumps(dimensions, ensure_ascii=False), json.dumps(metrics)))
    out = pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)
    out.attrs["totals_rows"] = totals
    spans = [values.dropna() for values in dates.values()]
    spans = [values for values in spans if len(values)]
    if spans:
        out.attrs["span"] = (min(v.min() for v in spans), max(v.max() for v in spans))
    return out, problems


# -- sessions, for the preview -----------------------------------------------------------------

SESSION_GAP = pd.Timedelta(minutes=30)


def derive_sessions(rows: pd.DataFrame, prefix: str = "~") -> pd.Series:
    """Session ids by the 30-minute rule for rows without one (the preview's view of it)."""
    sessions = rows["session_id"].copy()
    todo = rows[rows["session_id"].eq("")].sort_values(["user_id", "timestamp"], kind="stable")
    if todo.empty:
        return sessions
    gap = todo.groupby("user_id", sort=False)["timestamp"].diff()
    starts = gap.isna() | (gap > SESSION_GAP)
    numbers = starts.astype("int64").groupby(todo["user_id"], sort=False).cumsum()
    sessions[todo.index] = prefix + numbers.astype(str)
    return sessions
