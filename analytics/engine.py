"""The metrics engine: a map's figures of DESIGN §7, as the JSON object of DESIGN §8.

Everything runs on whole columns (see `analytics.loading`): stage events are boolean masks, users
and sessions integer codes, distinct counts `bincount`s, and the funnel one `minimum.at` per stage
over arrays indexed by user code. No Python loop runs over rows or users.

Exact arithmetic, so that another implementation of §7 agrees to the last digit:
- sums of revenue are correctly rounded (`math.fsum`), whatever the order of the rows;
- ratios divide Python ints (or the correctly rounded sum) once: `100 * (p - d) / n` for the NPS;
- a median time is the correctly rounded value of the exact median in seconds, computed from integer
  microseconds ((a + b) / 2_000_000 for an even count).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Prefetch

from analytics.loading import (
    EventTable,
    events_span,
    load_aggregate_rows,
    load_events,
    load_nps_scores,
)
from analytics.rules import any_rule_mask, instant_text, rule_fields, rule_mask
from journeymap.models import JourneyMap
from personas.models import Persona
from stages.models import Stage
from touchpoints.models import Touchpoint
from touchpoints.rules import validate_rule

MICROS_PER_DAY = 86_400 * 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNREACHED = np.iinfo(np.int64).max  # "no time": a user who has not reached a step

TOTAL_KEYS = (
    "users",
    "sessions",
    "events",
    "revenue",
    "orders",
    "purchasers",
    "conversion_rate",
    "aov",
    "revenue_per_user",
    "repeat_purchase_rate",
    "bounce_rate",
    "nps",
    "nps_responses",
)
STAGE_FIGURES = (
    "users",
    "sessions",
    "events",
    "revenue",
    "orders",
    "funnel_users",
    "conversion_rate",
    "overall_conversion",
    "drop_off",
    "median_time_to_convert_seconds",
)


def compute_metrics(
    *,
    journey_map: JourneyMap,
    start: datetime | None = None,
    end: datetime | None = None,
    persona: Persona | None = None,
) -> dict[str, Any]:
    """The figures of DESIGN §7 for the map over [start, end), as the §8 JSON object."""
    stages = map_stages(journey_map)
    segment = persona.segment if persona is not None else None
    validate_rule(segment, "persona.segment")
    given_start, given_end = _utc(start), _utc(end)
    if given_start is not None and given_end is not None and given_end < given_start:
        raise ValueError("The end of the range is before its start.")
    # Only the given bounds go to the database: a default bound holds every event anyway, and
    # without it the database scans instead of walking the timestamp index (twice as fast when
    # the range is nearly everything).
    events = load_events(
        journey_map=journey_map,
        start=given_start,
        end=given_end,
        fields=metrics_fields(stages, [segment]),
    )
    return compute_metrics_on(
        events, journey_map=journey_map, stages=stages, start=start, end=end, persona=persona
    )


def metrics_fields(
    stages: list[tuple[Stage, list[dict]]], segments: Iterable[dict | None] = ()
) -> set[str]:
    """The fields an EventTable needs for these stages' rules and persona segments."""
    fields: set[str] = set()
    for segment in segments:
        fields |= rule_fields(segment)
    for _, rules in stages:
        fields = fields.union(*map(rule_fields, rules))
    return fields


def compute_metrics_on(
    events: EventTable,
    *,
    journey_map: JourneyMap,
    stages: list[tuple[Stage, list[dict]]],
    start: datetime | None = None,
    end: datetime | None = None,
    persona: Persona | None = None,
    masks: RuleMasks | None = None,
) -> dict[str, Any]:
    """`compute_metrics` on events already loaded: the same figures, to the last digit.

    `events` holds at least every event of the map in [start, end), with the fields of the
    stages' rules and of the persona's segment (`metrics_fields`); the events outside the range
    are left out here, so one table of all the map's events serves every period and persona
    (what the recompute task does). `stages` is `map_stages(journey_map)`. `masks`, the
    `rule_masks` of `events` for these stages and persona, saves testing the rules again.
    """
    segment = persona.segment if persona is not None else None
    validate_rule(segment, "persona.segment")
    given_start, given_end = _utc(start), _utc(end)
    if given_start is not None and given_end is not None and given_end < given_start:
        raise ValueError("The end of the range is before its start.")
    stage_masks = segment_mask = None
    if masks is not None:  # a rule tests one row's values: its masks are sliced with the rows
        stage_masks = masks.stages
        segment_mask = masks.segments[persona.pk] if segment is not None else None
        events = replace(events, fields=pd.DataFrame(index=pd.RangeIndex(len(events))))
    in_range = _range_mask(events.timestamps, given_start, given_end)
    if in_range is not None:
        events = events.take(in_range)
        stage_masks, segment_mask = _sliced(stage_masks, in_range), _sliced(segment_mask, in_range)
    # The events in range give the default bounds, except when there are none (then they may
    # lie outside the given bound, or not exist).
    span = (
        (_instant(events.timestamps.min()), _instant(events.timestamps.max()))
        if len(events)
        else None
    )
    start, end = resolve_range(journey_map=journey_map, start=given_start, end=given_end, span=span)
    if segment is not None:
        kept = _persona_rows(
            events, rule_mask(segment, events.fields) if segment_mask is None else segment_mask
        )
        events, stage_masks = events.take(kept), _sliced(stage_masks, kept)
    scores = load_nps_scores(journey_map=journey_map, start=start, end=end)

    return {
        "map": journey_map.slug,
        "start": instant_text(start) if start is not None else None,
        "end": instant_text(end) if end is not None else None,
        "persona": persona.name if persona is not None else None,
        "conversion_window_days": journey_map.conversion_window_days,
        "totals": _totals(events, scores),
        "stages": _stage_figures(events, stages, journey_map.conversion_window_days, stage_masks),
    }


@dataclass(frozen=True)
class RuleMasks:
    """Which rows of one EventTable each stage's rules match (None: a stage without rules), and
    each persona's segment (by persona id)."""

    stages: list[np.ndarray | None]
    segments: dict[int, np.ndarray]


def rule_masks(
    events: EventTable, stages: list[tuple[Stage, list[dict]]], personas: Iterable[Persona] = ()
) -> RuleMasks:
    """The rules tested once on a whole table, for `compute_metrics_on` of its periods."""
    known: dict[str, np.ndarray] = {}  # condition masks, shared by every rule
    return RuleMasks(
        stages=[
            any_rule_mask(rules, events.fields, known) if rules else None for _, rules in stages
        ],
        segments={
            persona.pk: rule_mask(persona.segment, events.fields, known)
            for persona in personas
            if persona.segment is not None
        },
    )


def _sliced(masks: Any, rows: np.ndarray) -> Any:
    """A mask, or a list of masks (None kept), restricted to `rows`."""
    if masks is None or isinstance(masks, np.ndarray):
        return None if masks is None else masks[rows]
    return [None if mask is None else mask[rows] for mask in masks]


def _range_mask(
    timestamps: np.ndarray, start: datetime | None, end: datetime | None
) -> np.ndarray | None:
    """Which timestamps (µs) lie in [start, end); None when all of them do."""
    mask = None
    if start is not None:
        mask = timestamps >= _micros(start)
    if end is not None:
        before = timestamps < _micros(end)
        mask = before if mask is None else mask & before
    if mask is None or bool(mask.all()):
        return None
    return mask


def compute_approximate_metrics(
    *, journey_map: JourneyMap, start: datetime | None = None, end: datetime | None = None
) -> dict[str, Any] | None:
    """Per-stage sums of the metric columns of the map's aggregate (report) datasets.

    Report rows have no users, so there is no funnel and no persona: a stage's figures are the sums
    of each metric column over the rows whose dimensions match one of its touchpoint rules, flagged
    approximate. Rows with a `date` dimension (20191001 or 2019-10-01) are kept when that day starts
    in [start, end) (the default range as in compute_metrics); without one, the range is not
    applied. None when the map has no aggregate dataset.
    """
    table = load_aggregate_rows(journey_map=journey_map)
    if table is None:
        return None
    stages = map_stages(journey_map)
    start, end = resolve_range(journey_map=journey_map, start=start, end=end)
    dimensions, metrics = table.dimensions, table.metrics
    in_range, range_applied = _aggregate_rows_in_range(dimensions, start, end)

    stage_figures = []
    for stage, rules in stages:
        figures: dict[str, Any] = {
            "position": stage.position,
            "name": stage.name,
            "kind": stage.kind,
            "measured": bool(rules),
            "rows": None,
            "metrics": None,
        }
        if rules:
            mask = any_rule_mask(rules, dimensions) & in_range
            figures["rows"] = int(np.count_nonzero(mask))
            figures["metrics"] = {
                name: _sum(column.to_numpy()[mask]) for name, column in metrics.items()
            }
        stage_figures.append(figures)
    return {
        "approximate": True,
        "datasets": table.dataset_names,
        "rows": int(np.count_nonzero(in_range)),
        "range_applied": range_applied,
        "stages": stage_figures,
    }


def map_stages(journey_map: JourneyMap) -> list[tuple[Stage, list[dict]]]:
    """The map's stages in position order, each with its touchpoints' rules (checked)."""
    stages = journey_map.stages.order_by("position", "pk").prefetch_related(
        Prefetch("touchpoints", queryset=Touchpoint.objects.order_by("position", "pk"))
    )
    result = []
    for stage in stages:
        rules = []
        for touchpoint in stage.touchpoints.all():
            if touchpoint.rule is not None:
                where = f"stage {stage.name!r}, touchpoint {touchpoint.name!r}"
                validate_rule(touchpoint.rule, where)
                rules.append(touchpoint.rule)
        result.append((stage, rules))
    return result


def resolve_range(
    *,
    journey_map: JourneyMap,
    start: datetime | None,
    end: datetime | None,
    span: tuple[datetime, datetime] | None = None,
) -> tuple[datetime | None, datetime | None]:
    """[start, end) in UTC, a missing bound defaulting to the first event / the last event + 1 µs.

    A default bound never crosses a given one (a start after every event gives an empty range, not
    an end before the start); without events a missing bound stays None (open). `span`, the first
    and last event when the caller knows them, saves a query.
    """
    start, end = _utc(start), _utc(end)
    if start is not None and end is not None:
        if end < start:
            raise ValueError("The end of the range is before its start.")
        return start, end
    first, last = span if span is not None else events_span(journey_map=journey_map)
    if start is None and first is not None:
        start = first if end is None else min(_utc(first), end)
    if end is None and last is not None:
        end = _utc(last) + timedelta(microseconds=1)
        end = max(end, start) if start is not None else end
    return _utc(start), end


def _instant(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(micros))


def _micros(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- figures ------------------------------------------------------------------------------------


def _persona_events(events: EventTable, segment: dict) -> EventTable:
    """All the events of the users with at least one event matching the persona's segment."""
    return events.take(_persona_rows(events, rule_mask(segment, events.fields)))


def _persona_rows(events: EventTable, matching: np.ndarray) -> np.ndarray:
    """The events of the users with at least one of the `matching` events."""
    members = np.zeros(events.user_count, dtype=bool)
    members[events.users[matching]] = True
    return members[events.users]


def _totals(events: EventTable, scores: np.ndarray) -> dict[str, Any]:
    users = _distinct(events.users, events.user_count)
    revenue = _sum(events.revenue)
    orders = _orders(events, np.ones(len(events), dtype=bool))
    purchasers, repeat_purchasers = _purchasers(events)
    per_session = np.bincount(events.sessions, minlength=events.session_count)
    sessions = int(np.count_nonzero(per_session))
    responses = len(scores)
    promoters = int(np.count_nonzero(scores >= 9))
    detractors = int(np.count_nonzero(scores <= 6))
    totals = {
        "users": users,
        "sessions": sessions,
        "events": len(events),
        "revenue": revenue,
        "orders": orders,
        "purchasers": purchasers,
        "conversion_rate": _ratio(purchasers, users),
        "aov": _ratio(revenue, orders),
        "revenue_per_user": _ratio(revenue, users),
        "repeat_purchase_rate": _ratio(repeat_purchasers, purchasers),
        "bounce_rate": _ratio(int(np.count_nonzero(per_session == 1)), sessions),
        "nps": _ratio(100 * (promoters - detractors), responses),
        "nps_responses": responses,
    }
    assert tuple(totals) == TOTAL_KEYS
    return totals


def _stage_figures(
    events: EventTable,
    stages: list[tuple[Stage, list[dict]]],
    window_days: int,
    masks: list[np.ndarray | None] | None = None,
) -> list[dict[str, Any]]:
    window = window_days * MICROS_PER_DAY
    known: dict[str, np.ndarray] = {}  # condition masks, shared by the stages' rules
    result = []
    deadline = previous_reached = None
    first_count = previous_count = 0
    for index, (stage, rules) in enumerate(stages):
        figures: dict[str, Any] = {
            "position": stage.position,
            "name": stage.name,
            "kind": stage.kind,
            "measured": bool(rules),
        }
        if not rules:
            figures.update(dict.fromkeys(STAGE_FIGURES))
            result.append(figures)
            continue
        mask = any_rule_mask(rules, events.fields, known) if masks is None else masks[index]
        users, times = events.users[mask], events.timestamps[mask]
        reached = np.full(events.user_count, UNREACHED, dtype=np.int64)
        first_step = previous_reached is None
        if first_step:
            np.minimum.at(reached, users, times)
            has_reached = reached != UNREACHED
            deadline = reached.copy()
            deadline[has_reached] += window
        else:
            # t_k: the earliest time at or after t_(k-1), and at the latest t_1 + W; a user without
            # t_(k-1) has UNREACHED there, which no real time reaches
            in_step = (times >= previous_reached[users]) & (times <= deadline[users])
            np.minimum.at(reached, users[in_step], times[in_step])
            has_reached = reached != UNREACHED
        count = int(np.count_nonzero(has_reached))
        figures.update(
            users=_distinct(users, events.user_count),
            sessions=_distinct(events.sessions[mask], events.session_count),
            events=int(np.count_nonzero(mask)),
            revenue=_sum(events.revenue[mask]),
            orders=_orders(events, mask),
            funnel_users=count,
            conversion_rate=None if first_step else _ratio(count, previous_count),
            overall_conversion=_ratio(count, count if first_step else first_count),
            drop_off=0 if first_step else previous_count - count,
            median_time_to_convert_seconds=(
                None
                if first_step
                else _median_seconds(reached[has_reached] - previous_reached[has_reached])
            ),
        )
        if first_step:
            first_count = count
        previous_reached, previous_count = reached, count
        result.append(figures)
    return result


def _distinct(codes: np.ndarray, size: int) -> int:
    if codes.size == 0:
        return 0
    return int(np.count_nonzero(np.bincount(codes, minlength=size)))


def _orders(events: EventTable, mask: np.ndarray) -> int:
    """Distinct non-empty order ids of the paying events, plus the paying events without one."""
    order_codes = events.orders[mask & (events.revenue > 0)]
    named = order_codes[order_codes >= 0]
    return _distinct(named, events.order_count) + int(order_codes.size - named.size)


def _purchasers(events: EventTable) -> tuple[int, int]:
    """Users with a paying event, and those of them with at least two orders."""
    paying = events.revenue > 0
    users, orders = events.users[paying], events.orders[paying]
    named = orders >= 0
    width = max(events.order_count, 1)
    user_orders = np.unique(users[named] * width + orders[named]) // width
    per_user = np.bincount(user_orders, minlength=events.user_count) + np.bincount(
        users[~named], minlength=events.user_count
    )
    return int(np.count_nonzero(per_user)), int(np.count_nonzero(per_user >= 2))


def _sum(values: np.ndarray) -> float:
    """The correctly rounded sum (NaN skipped), never -0.0."""
    # zeros (most events pay nothing) change no exact sum: only the others become Python floats
    return math.fsum(values[(values != 0) & ~np.isnan(values)].tolist()) + 0.0


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _median_seconds(micros: np.ndarray) -> float | None:
    """The median of durations in µs, in seconds (the mean of the two middle ones if even)."""
    count = micros.size
    if count == 0:
        return None
    low, high = (count - 1) // 2, count // 2
    ordered = np.partition(micros, [low, high])
    return (int(ordered[low]) + int(ordered[high])) / 2_000_000


# --- breakdowns ---------------------------------------------------------------------------------

NOT_SET = "(not set)"  # the group of the events whose value is empty


def compute_breakdowns(
    *,
    journey_map: JourneyMap,
    start: datetime | None = None,
    end: datetime | None = None,
    persona: Persona | None = None,
) -> dict[str, Any]:
    """Users of the first measured stage by channel, and of every measured stage by device.

    Each is {"dimension", "values", "stages": [{"position", "name", "users": [one per value]}]}:
    a stage's users with at least one of its events (in [start, end), of the persona as in
    `compute_metrics`) carrying that value, so a user seen on two devices counts in both.
    """
    stages = map_stages(journey_map)
    segment = persona.segment if persona is not None else None
    validate_rule(segment, "persona.segment")
    fields = rule_fields(segment) | {"channel", "device"}
    for _, rules in stages:
        fields = fields.union(*map(rule_fields, rules))
    events = load_events(journey_map=journey_map, start=_utc(start), end=_utc(end), fields=fields)
    if segment is not None:
        events = _persona_events(events, segment)
    known: dict[str, np.ndarray] = {}
    measured = [
        (stage, any_rule_mask(rules, events.fields, known)) for stage, rules in stages if rules
    ]
    return {
        "channel": grouped_users(events, "channel", measured[:1]),
        "device": grouped_users(events, "device", measured),
    }


def grouped_users(
    events: EventTable, field: str, stages: list[tuple[Stage, np.ndarray]]
) -> dict[str, Any]:
    """Distinct users of each stage (its event mask) per value of a text field: one bincount of
    the distinct (user, value) pairs per stage; values by users of the first stage, most first."""
    column = events.fields[field]
    categories = [str(value).strip() or NOT_SET for value in column.cat.categories] + [NOT_SET]
    labels, label_of_category = np.unique(np.array(categories, dtype=object), return_inverse=True)
    codes = column.cat.codes.to_numpy().astype(np.int64)
    codes[codes < 0] = len(categories) - 1
    groups = label_of_category[codes] if len(codes) else np.empty(0, dtype=np.int64)
    width = len(labels)
    counts = []
    for _, mask in stages:
        pairs = np.unique(events.users[mask] * width + groups[mask])
        counts.append(np.bincount(pairs % width, minlength=width))
    table = np.array(counts, dtype=np.int64).reshape(len(stages), width)
    seen = [index for index in range(width) if table[:, index].any()]
    # most users first (in the first stage, then the next ...), "(not set)" last, then by name
    seen.sort(
        key=lambda index: (
            labels[index] == NOT_SET,
            *(-int(value) for value in table[:, index]),
            labels[index],
        )
    )
    return {
        "dimension": field,
        "values": [str(labels[index]) for index in seen],
        "stages": [
            {
                "position": stage.position,
                "name": stage.name,
                "users": [int(table[row, index]) for index in seen],
            }
            for row, (stage, _) in enumerate(stages)
        ],
    }


# --- aggregate rows -----------------------------------------------------------------------------

DATE_RE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


def _aggregate_rows_in_range(
    dimensions: pd.DataFrame, start: datetime | None, end: datetime | None
) -> tuple[np.ndarray, bool]:
    rows = len(dimensions)
    date_columns = [name for name in dimensions.columns if name.strip().lower() == "date"]
    if not date_columns or (start is None and end is None):
        return np.ones(rows, dtype=bool), False
    column = dimensions[date_columns[0]].astype(object)
    days = pd.to_datetime(
        column.str.strip().str.replace(DATE_RE, r"\1-\2-\3", regex=True),
        format="%Y-%m-%d",
        errors="coerce",
        utc=True,
    )
    in_range = days.notna()
    if start is not None:
        in_range &= days >= start
    if end is not None:
        in_range &= days < end
    return in_range.to_numpy(dtype=bool), True
