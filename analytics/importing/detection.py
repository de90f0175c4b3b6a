"""Which tool wrote a file, and how its columns map onto the canonical fields (DESIGN §5).

Detection looks at the header (and the first rows) only. The mapping it proposes is a starting
point the admin can change in the browser or with `--map COL=FIELD`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from analytics.importing import jsoncells
from analytics.importing.fields import EXTRA, IGNORE
from analytics.importing.parsing import (
    detect_date_format,
    detect_decimal,
    looks_numeric,
    parse_numbers,
)
from analytics.importing.sniffing import Sample

# The formats `--format` and the options accept, and the kind of dataset each makes.
FORMAT_KINDS = {
    "events": "events",
    "ecommerce-events": "events",
    "posthog": "events",
    "segment": "events",
    "mixpanel": "events",
    "ga4-bigquery": "events",
    "purchase-log": "events",
    "shopify-orders": "events",
    "ga4": "aggregate",
    "ga4-report": "aggregate",
    "ua-report": "aggregate",
    "survey": "survey",
}
FORMAT_LABELS = {
    "events": "Event log",
    "ecommerce-events": "E-commerce event log (event_time, event_type, user_session)",
    "posthog": "PostHog events export",
    "segment": "Segment tracks table",
    "mixpanel": "Mixpanel raw export (JSON Lines)",
    "ga4-bigquery": "GA4 BigQuery export (flattened to CSV)",
    "purchase-log": "Purchase log without a header",
    "shopify-orders": "Shopify orders export",
    "ga4-report": "GA4 report export",
    "ua-report": "Universal Analytics report export",
    "survey": "Survey (NPS)",
}

PURCHASE_EVENTS = frozenset(
    {
        "purchase",
        "purchased",
        "order",
        "order_completed",
        "order completed",
        "completed_order",
        "checkout_completed",
        "checkout completed",
        "transaction",
        "buy",
        "payment",
        "$purchase",
    }
)

# Canonical field → the normalised column names that mean it, best first.
EVENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "timestamp": (
        "timestamp",
        "event_timestamp",
        "event_time",
        "properties.time",
        "time",
        "datetime",
        "date_time",
        "occurred_at",
        "original_timestamp",
        "sent_at",
        "received_at",
        "created_at",
        "createdat",
        "event_date",
        "invoicedate",
        "date",
        "ts",
    ),
    "event": (
        "event",
        "event_name",
        "event_type",
        "eventname",
        "eventtype",
        "event_action",
        "action",
        "type",
    ),
    "user_id": (
        "user_pseudo_id",
        "distinct_id",
        "properties.distinct_id",
        "user_id",
        "userid",
        "anonymous_id",
        "customer_id",
        "customerid",
        "person_id",
        "visitor_id",
        "client_id",
        "member_id",
        "account_id",
        "uid",
        "user",
        "email",
    ),
    "session_id": (
        "session_id",
        "user_session",
        "sessionid",
        "session",
        "ga_session_id",
        "event_params.ga_session_id",
        "properties.$session_id",
        "visit_id",
        "session_key",
    ),
    "page": (
        "page",
        "page_path",
        "pagepath",
        "page_url",
        "url",
        "page_location",
        "event_params.page_location",
        "properties.$current_url",
        "current_url",
        "context_page_path",
        "context_page_url",
        "path",
        "landing_page",
    ),
    "source": (
        "source",
        "utm_source",
        "session_source",
        "traffic_source.source",
        "context_campaign_source",
        "properties.utm_source",
        "traffic_source",
    ),
    "medium": (
        "medium",
        "utm_medium",
        "session_medium",
        "traffic_source.medium",
        "context_campaign_medium",
        "properties.utm_medium",
    ),
    "source_medium": ("source_medium", "session_source_medium"),
    "campaign": (
        "campaign",
        "utm_campaign",
        "campaign_name",
        "session_campaign",
        "traffic_source.name",
        "context_campaign_name",
        "properties.utm_campaign",
    ),
    "channel": (
        "channel",
        "channel_group",
        "default_channel_group",
        "session_default_channel_group",
    ),
    "device": (
        "device",
        "device_type",
        "device_category",
        "device.category",
        "context_device_type",
        "properties.$device_type",
    ),
    "country": (
        "country",
        "country_code",
        "geo_country",
        "geo.country",
        "properties.$geoip_country_code",
        "properties.mp_country_code",
        "billing_country",
        "shipping_country",
    ),
    "revenue": (
        "revenue",
        "purchase_revenue",
        "ecommerce.purchase_revenue",
        "properties.revenue",
        "order_total",
        "total",
        "amount",
        "value",
        "price",
        "sales",
    ),
    "order_id": (
        "order_id",
        "orderid",
        "transaction_id",
        "ecommerce.transaction_id",
        "properties.order_id",
        "order_number",
        "invoice_no",
        "invoiceno",
    ),
}

SURVEY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "score": ("nps", "nps_score", "score", "likelihood_to_recommend", "recommend", "rating"),
    "user_id": ("respondent_id", "respondent", "user_id", "customer_id", "userid", "id", "email"),
    "responded_at": (
        "responded_at",
        "submitted_at",
        "submitdate",
        "date",
        "timestamp",
        "created_at",
        "end_date",
        "start_date",
        "time",
    ),
    "comment": ("comment", "comments", "feedback", "reason", "verbatim", "why", "text", "answer"),
}

AGGREGATE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": ("date", "day_index", "day", "week", "month", "year_month", "nth_day"),
    "event": ("event_name",),
    "page": (
        "page_path_and_screen_class",
        "page_path",
        "landing_page",
        "landing_page_query_string",
        "page",
        "page_location",
    ),
    "source_medium": ("session_source_medium", "source_medium", "first_user_source_medium"),
    "source": ("session_source", "source", "first_user_source"),
    "medium": ("session_medium", "medium", "first_user_medium"),
    "campaign": ("session_campaign", "campaign", "first_user_campaign"),
    "channel": (
        "session_default_channel_group",
        "first_user_primary_channel_group_default_channel_group",
        "default_channel_grouping",
        "default_channel_group",
        "channel_grouping",
    ),
    "device": ("device_category", "device"),
    "country": ("country",),
    "users": ("total_users", "active_users", "users"),
    "new_users": ("new_users",),
    "sessions": ("sessions",),
    "engaged_sessions": ("engaged_sessions",),
    "views": ("views", "pageviews", "screen_page_views", "page_views"),
    "events": ("event_count",),
    "key_events": ("key_events", "conversions", "goal_completions", "goal_completions_all"),
    "transactions": ("transactions", "ecommerce_purchases", "purchases"),
    "revenue": ("total_revenue", "revenue", "purchase_revenue", "transaction_revenue"),
}
GA_METRIC_HINTS = frozenset(
    {
        "sessions",
        "views",
        "active_users",
        "total_users",
        "new_users",
        "event_count",
        "key_events",
        "bounce_rate",
        "pageviews",
        "users",
        "total_revenue",
        "engaged_sessions",
        "new_sessions",
        "pages_session",
        "avg_session_duration",
    }
)
UA_HINTS = frozenset(
    {"new_sessions", "bounce_rate", "pages_session", "avg_session_duration", "day_index"}
)
DIMENSION_NAME = re.compile(r"(date|day|hour|week|month|year|index|_id$|^id$|code|zip|name)")

# Shopify columns that hold personal data other than the email: never stored.
SHOPIFY_PERSONAL = re.compile(
    r"^(billing|shipping) (name|street|address1|address2|company|phone|zip)$|^phone$|^notes$"
    r"|^payment reference|^payment id$|^device id$",
    re.IGNORECASE,
)


def normalise(column: str) -> str:
    """A column name for matching: lowercase words joined by '_' ('Created at' → 'created_at')."""
    name = column.strip().lower().replace("%", " ")
    name = re.sub(r"[^0-9a-z.$]+", "_", name)
    return name.strip("_")


@dataclass
class Detection:
    """The detected format and the proposed mapping and options."""

    source_format: str
    kind: str
    mapping: dict[str, str]
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _column_values(sample: Sample, column: str) -> list[str]:
    position = sample.columns.index(column)
    return [row[position] if position < len(row) else "" for row in sample.rows]


def json_sources(sample: Sample) -> dict[str, list[str]]:
    """JSON columns of the sample → the dotted keys found in them."""
    sources = {}
    for column in sample.columns:
        values = _column_values(sample, column)
        if jsoncells.is_json_column(values):
            sources[column] = jsoncells.sample_keys(column, values[:500])
    return sources


def detect_format(sample: Sample, json_keys: dict[str, list[str]]) -> str:
    """The source format of a sample, from its column names (and its values for surveys)."""
    names = {normalise(column) for column in sample.columns}
    for keys in json_keys.values():
        names |= {normalise(key) for key in keys}
    if sample.options.get("jsonl"):
        return "mixpanel" if "properties.time" in names else "events"
    shopify = {"total", "lineitem_name", "lineitem_price", "lineitem_quantity", "financial_status"}
    if {"name", "created_at"} <= names and len(shopify & names) >= 2:
        return "shopify-orders"
    if {"event_timestamp", "event_name"} <= names:
        return "ga4-bigquery"
    if {"event", "properties", "distinct_id"} <= names:
        return "posthog"
    if {"anonymous_id", "event"} <= names:
        return "segment"
    if {"event_time", "event_type"} <= names:
        return "ecommerce-events"
    if _survey_score_column(sample):
        has_event = any(name in names for name in EVENT_SYNONYMS["event"][:4])
        if not has_event:
            return "survey"
    if not sample.options.get("header", True) and _compact_date_column(sample):
        return "purchase-log"
    ids = {"user_id", "session_id", "user_pseudo_id", "distinct_id", "user_session", "client_id"}
    if names & GA_METRIC_HINTS and not names & ids:
        return "ua-report" if names & UA_HINTS else "ga4-report"
    return "events"


def _survey_score_column(sample: Sample) -> str:
    for column in sample.columns:
        name = normalise(column)
        named = name in SURVEY_SYNONYMS["score"] or name.startswith("how_likely")
        if not named:
            continue
        numbers, _invalid = parse_numbers(_series(_column_values(sample, column)))
        valid = numbers.dropna()
        if len(valid) and ((valid >= 0) & (valid <= 10)).mean() >= 0.6:
            return column
    return ""


def _compact_date_column(sample: Sample) -> str:
    for column in sample.columns:
        values = _column_values(sample, column)
        date_format, _guess = detect_date_format(values)
        if date_format and date_format.kind == "compact":
            return column
    return ""


def _series(values: list[str]):
    import pandas as pd

    return pd.Series(values, dtype="str")


def _propose(
    candidates: list[str], synonyms: dict[str, tuple[str, ...]], taken: set[str]
) -> dict[str, str]:
    """Column → field for the best synonym match of each field (each field used once)."""
    by_name: dict[str, str] = {}
    for column in candidates:
        by_name.setdefault(normalise(column), column)
    mapping: dict[str, str] = {}
    for target, names in synonyms.items():
        for name in names:
            column = by_name.get(name)
            if column and column not in mapping and column not in taken:
                mapping[column] = target
                break
    return mapping


def propose(sample: Sample, forced_format: str = "") -> Detection:
    """Detect the format of a sample (unless forced) and propose its mapping and options."""
    json_keys = json_sources(sample)
    source_format = forced_format or detect_format(sample, json_keys)
    if source_format == "ga4":
        source_format = "ga4-report"
    kind = FORMAT_KINDS[source_format]
    options: dict[str, Any] = {"format": source_format}
    notes: list[str] = []
    values = [cell for row in sample.rows[:500] for cell in row]
    options["decimal"] = detect_decimal(values, sample.options.get("delimiter", ","))
    if kind == "events":
        mapping = _propose_events(sample, json_keys, source_format, options, notes)
    elif kind == "survey":
        mapping = _propose_survey(sample, options, notes)
    else:
        mapping = _propose_aggregate(sample, options)
    options["json_columns"] = sorted(json_keys)
    options["date_formats"] = _date_formats(sample, mapping, json_keys, notes)
    return Detection(source_format, kind, mapping, options, notes)


def _propose_events(
    sample: Sample,
    json_keys: dict[str, list[str]],
    source_format: str,
    options: dict[str, Any],
    notes: list[str],
) -> dict[str, str]:
    columns = list(sample.columns)
    virtual = [key for column in json_keys for key in json_keys[column]]
    plain = [column for column in columns if column not in json_keys]
    mapping = {column: EXTRA for column in columns}
    synonyms = dict(EVENT_SYNONYMS)
    if source_format == "shopify-orders":
        synonyms = {
            "timestamp": ("created_at", "paid_at"),
            "order_id": ("name",),
            "revenue": ("total",),
            "user_id": ("email",),
            "source": (),
        }
        for column in columns:
            if SHOPIFY_PERSONAL.match(column.strip()):
                mapping[column] = IGNORE
        proposed = _propose(columns, synonyms, set())
        for column in columns:
            if normalise(column) in ("billing_country", "shipping_country"):
                proposed[column] = "country"
        options["constant_event"] = "purchase"
        notes.append(
            "Each order becomes one purchase event with the order total as revenue; emails are "
            "kept only as a salted hash."
        )
    elif source_format == "ga4-bigquery":
        synonyms["user_id"] = ("user_pseudo_id", "user_id")
        synonyms["timestamp"] = ("event_timestamp",)
        proposed = _propose(plain + virtual, synonyms, set())
    elif source_format == "segment":
        # Identified users keep their anonymous id, so a visitor stays one user after login;
        # server-side events without one fall back to user_id.
        synonyms["user_id"] = ("anonymous_id",)
        proposed = _propose(plain + virtual, synonyms, set())
        for column in columns:
            if normalise(column) == "user_id":
                proposed[column] = "user_id"
    else:
        proposed = _propose(plain + virtual, synonyms, set())
    if source_format == "purchase-log":
        proposed = _propose_headerless(sample)
        options["constant_event"] = "purchase"
        notes.append("No header row: every row is read as one purchase.")
    mapping.update(proposed)
    for column in columns:
        if column in json_keys:
            mapping[column] = EXTRA
        elif normalise(column) in ("email", "e_mail", "email_address") and column not in proposed:
            mapping[column] = IGNORE
    if source_format == "ga4-bigquery":
        for column in columns:
            if normalise(column) in ("event_date", "event_server_timestamp_offset"):
                mapping[column] = IGNORE
    revenue = [column for column, target in mapping.items() if target == "revenue"]
    event = [column for column, target in mapping.items() if target == "event"]
    if revenue and event and source_format != "shopify-orders":
        events_seen = {value.strip() for value in _values(sample, json_keys, event[0]) if value}
        purchases = sorted(name for name in events_seen if name.lower() in PURCHASE_EVENTS)
        amounts = _values(sample, json_keys, revenue[0])
        on_every_row = sum(1 for value in amounts if value.strip()) >= 0.95 * max(1, len(amounts))
        if purchases and on_every_row:
            options["revenue_events"] = purchases
            notes.append(
                f"The {revenue[0]!r} column has a value on every row: revenue counts only on "
                f"{', '.join(purchases)} events."
            )
    return mapping


def _values(sample: Sample, json_keys: dict[str, list[str]], source: str) -> list[str]:
    if source in sample.columns:
        return _column_values(sample, source)
    for column, keys in json_keys.items():
        if source in keys:
            cells = _column_values(sample, column)
            out = []
            for cell in cells:
                flat = jsoncells.flatten(jsoncells.parse_cell(cell.strip()), column)
                value = flat.get(source)
                out.append("" if value is None else str(value))
            return out
    return []


def _propose_headerless(sample: Sample) -> dict[str, str]:
    mapping: dict[str, str] = {}
    date_column = _compact_date_column(sample)
    if date_column:
        mapping[date_column] = "timestamp"
    rest = [column for column in sample.columns if column != date_column]
    if rest:
        mapping[rest[0]] = "user_id"
    for column in reversed(rest[1:]):
        values = _column_values(sample, column)
        if any("." in value for value in values) and looks_numeric(values) >= 0.95:
            mapping[column] = "revenue"
            break
    return mapping


def _propose_survey(sample: Sample, options: dict[str, Any], notes: list[str]) -> dict[str, str]:
    mapping = {column: EXTRA for column in sample.columns}
    score = _survey_score_column(sample)
    synonyms = dict(SURVEY_SYNONYMS)
    proposed = _propose(sample.columns, synonyms, {score} if score else set())
    proposed = {column: target for column, target in proposed.items() if target != "score"}
    if score:
        proposed[score] = "score"
    mapping.update(proposed)
    for column in sample.columns:
        if re.fullmatch(r"column_1|unnamed.*|x|\.\.\.1", normalise(column) or "column_1"):
            values = _column_values(sample, column)
            if all(value.isdigit() for value in values if value):
                mapping[column] = IGNORE  # R's row numbers
        if normalise(column) in ("email", "e_mail") and mapping[column] != "user_id":
            mapping[column] = IGNORE
    return mapping


def _propose_aggregate(sample: Sample, options: dict[str, Any]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    decimal = options.get("decimal", ".")
    used: set[str] = set()
    for column in sample.columns:
        name = normalise(column)
        target = next((field_ for field_, names in AGGREGATE_SYNONYMS.items() if name in names), "")
        numeric = looks_numeric(_column_values(sample, column), decimal) >= 0.9
        if target in used:
            target = ""
        if not target:
            target = "metric" if numeric and not DIMENSION_NAME.search(name) else "dimension"
        if target not in ("metric", "dimension"):
            used.add(target)
        mapping[column] = target
    return mapping


def date_formats_for(
    sample: Sample, mapping: dict[str, str], known: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Date formats for the mapped date columns, detecting those not known yet; and notes."""
    notes: list[str] = []
    todo = {source: target for source, target in mapping.items() if source not in known}
    found = _date_formats(sample, todo, json_sources(sample) if todo else {}, notes)
    wanted = {
        source
        for source, target in mapping.items()
        if target in ("timestamp", "responded_at", "date")
    }
    formats = {source: text for source, text in {**known, **found}.items() if source in wanted}
    return formats, notes


def _date_formats(
    sample: Sample, mapping: dict[str, str], json_keys: dict[str, list[str]], notes: list[str]
) -> dict[str, str]:
    formats = {}
    for source, target in mapping.items():
        if target not in ("timestamp", "responded_at", "date"):
            continue
        date_format, guessed = detect_date_format(_values(sample, json_keys, source))
        if date_format is None:
            continue
        formats[source] = f"{date_format.kind}:{date_format.unit}".rstrip(":")
        if guessed:
            order = "month" if date_format.kind == "mdy" else "day"
            notes.append(
                f"Dates in {source!r} such as 01/02/2020 could be day or month first; they are "
                f"read {order} first. Change the date order in the options if that is wrong."
            )
    return formats
