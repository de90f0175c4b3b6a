"""Figures over a chosen date range (the dashboard's range picker), materialised on demand.

The default range ("all": the whole span of the data) is stored by analytics.materialise with the
map's other figures. Any other range is stored in a RangeMetrics row the first time a page asks for
it: `range_figures` returns the row when it is current (computed against the map's latest
requested generation), and otherwise enqueues `compute_range_metrics` once and returns None; the
page then says so and polls until the row is there.

Presets are anchored on the latest day of the map's data, not on today (exports arrive late):
"7d" is that day and the 6 before it. A range is [start, end) with midnight-UTC bounds, exactly
`journey_metrics --start FROM --end TO+1day`; the page shows the last day included.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.models import MapMetricsState, RangeMetrics
from journeymap.models import JourneyMap

logger = logging.getLogger(__name__)

ALL = "all"
PRESETS = {
    ALL: "Whole span of the data",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "month": "This month",
    "custom": "Custom",
}
PRESET_DAYS = {"7d": 7, "30d": 30, "90d": 90}
MAX_CUSTOM_DAYS = 3 * 366
# A computation asked for longer ago than this is taken as lost (a worker that died): ask again.
PENDING_TIMEOUT = timedelta(minutes=10)


class RangeError(ValueError):
    """A range the page cannot show, with the message to show instead."""


@dataclass(frozen=True)
class DateRange:
    """A range of whole UTC days [start, end) and the period of equal length just before it."""

    preset: str
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def previous_start(self) -> datetime:
        return self.start - (self.end - self.start)

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last day shown (the end is exclusive)."""
        return (self.end - timedelta(days=1)).date()

    @property
    def label(self) -> str:
        """1–30 Oct 2026"""
        return days_text(self.first_day, self.last_day)

    @property
    def previous_label(self) -> str:
        return days_text(self.previous_start.date(), self.first_day - timedelta(days=1))

    def query(self) -> dict[str, str]:
        """The URL parameters that give this range back."""
        if self.preset == "custom":
            return {
                "range": "custom",
                "from": self.first_day.isoformat(),
                "to": self.last_day.isoformat(),
            }
        return {"range": self.preset}


def days_text(first: date, last: date) -> str:
    """A span of days as people write it: 5 Oct 2026, 1–30 Oct 2026, 28 Sep – 4 Oct 2026."""
    if first == last:
        return f"{first.day} {first:%b %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def resolve_range(params: Mapping[str, str], *, data_end: datetime | None) -> DateRange | None:
    """The range asked for by ?range=7d|30d|90d|month|custom&from=&to= (None: the default range).

    `data_end` is the end of the map's default range (its latest event + 1 µs): the presets end
    with the day of that latest event. Raises RangeError with a message for the page.
    """
    preset = (params.get("range") or ALL).strip()
    if preset == ALL:
        return None
    if preset not in PRESETS:
        raise RangeError(f"Unknown date range {preset[:40]!r}: choose one of the presets.")
    if preset == "custom":
        first = _day(params.get("from"), "From")
        last = _day(params.get("to"), "To")
        if last < first:
            raise RangeError(f"The range ends ({last:%-d %b %Y}) before it starts.")
        if (last - first).days + 1 > MAX_CUSTOM_DAYS:
            raise RangeError(f"A custom range is at most {MAX_CUSTOM_DAYS} days long.")
        return DateRange("custom", midnight(first), midnight(last + timedelta(days=1)))
    if data_end is None:
        raise RangeError("There is no data yet, so there is no latest day to count back from.")
    latest = (data_end.astimezone(UTC) - timedelta(microseconds=1)).date()
    end = midnight(latest + timedelta(days=1))
    if preset == "month":
        return DateRange(preset, midnight(latest.replace(day=1)), end)
    return DateRange(preset, end - timedelta(days=PRESET_DAYS[preset]), end)


def _day(text: str | None, name: str) -> date:
    text = (text or "").strip()
    if not text:
        raise RangeError(f"{name}: give a date (YYYY-MM-DD) for a custom range.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RangeError(f"{name}: {text[:40]!r} is not a date (YYYY-MM-DD).") from None


def current_generation(map_id: int) -> int:
    """The generation a map's figures must be computed against to be current."""
    state = MapMetricsState.objects.filter(map_id=map_id).values_list(
        "requested_generation", flat=True
    )
    return state.first() or 0


def _rows(map_id: int, persona_id: int | None, start: datetime, end: datetime) -> Any:
    rows = RangeMetrics.objects.filter(map_id=map_id, start=start, end=end)
    return rows.filter(persona_id=persona_id) if persona_id else rows.filter(persona__isnull=True)


def range_figures(
    *, journey_map: JourneyMap, persona_id: int | None, start: datetime, end: datetime
) -> RangeMetrics | None:
    """The stored figures of the map over [start, end) for a persona (None: all users) when they
    are current; otherwise None, having asked (once) for them to be computed.

    One query when the row is current. The persona must be on the map (the caller checks).
    """
    row = _rows(journey_map.pk, persona_id, start, end).select_related("map__metrics_state").first()
    if row is not None:
        try:
            generation = row.map.metrics_state.requested_generation
        except MapMetricsState.DoesNotExist:
            generation = 0
        if row.figures is not None and row.generation >= generation:
            return row
    else:
        generation = current_generation(journey_map.pk)
    now = timezone.now()
    if (
        row is not None
        and row.requested_generation >= generation
        and row.requested_at is not None
        and row.requested_at > now - PENDING_TIMEOUT
    ):
        return None  # already on its way
    _request(journey_map.pk, persona_id, start, end, generation, now)
    # an immediate task backend (tests, a single process) has computed it already
    row = _rows(journey_map.pk, persona_id, start, end).first()
    if row is not None and row.figures is not None and row.generation >= generation:
        return row
    return None


def range_failure(
    *, journey_map: JourneyMap, persona_id: int | None, start: datetime, end: datetime
) -> str:
    """Why the figures of a range asked for could not be computed ("" when they are on their
    way): the page then stops waiting for them."""
    row = _rows(journey_map.pk, persona_id, start, end).first()
    return str((row.breakdowns or {}).get("error", "")) if row is not None else ""


def _request(
    map_id: int,
    persona_id: int | None,
    start: datetime,
    end: datetime,
    generation: int,
    now: datetime,
) -> None:
    from analytics.tasks import compute_range_metrics

    marks = {"requested_generation": generation, "requested_at": now, "breakdowns": {}}
    try:
        with transaction.atomic():
            if not _rows(map_id, persona_id, start, end).update(**marks):
                RangeMetrics.objects.create(
                    map_id=map_id, persona_id=persona_id, start=start, end=end, **marks
                )
    except IntegrityError:  # another request created it meanwhile: it enqueued the task
        return
    transaction.on_commit(
        lambda: compute_range_metrics.enqueue(
            map_id, persona_id, start.isoformat(), end.isoformat()
        ),
        robust=True,
    )


def range_metrics_compute(
    *, map_id: int, persona_id: int | None, start: datetime, end: datetime
) -> dict[str, Any]:
    """Compute and store the figures of a range unless the stored ones are current."""
    from analytics.engine import compute_breakdowns, compute_metrics
    from analytics.materialise import _stage_ids

    result = {"map": map_id, "persona": persona_id, "start": start.isoformat()}
    journey_map = JourneyMap.objects.filter(pk=map_id).first()
    if journey_map is None:
        return {**result, "status": "deleted"}
    personas = list(journey_map.personas.order_by("name", "pk"))
    persona = next((p for p in personas if p.pk == persona_id), None)
    if persona_id is not None and persona is None:
        return {**result, "status": "persona not on the map"}
    generation = current_generation(map_id)
    stored = _rows(map_id, persona_id, start, end).first()
    if stored is not None and stored.figures is not None and stored.generation >= generation:
        return {**result, "status": "up to date", "generation": stored.generation}

    stages = list(journey_map.stages.order_by("position", "pk").values_list("pk", "position"))
    try:
        figures = compute_metrics(journey_map=journey_map, start=start, end=end, persona=persona)
        previous = compute_metrics(
            journey_map=journey_map, start=start - (end - start), end=start, persona=persona
        )
        breakdowns = compute_breakdowns(
            journey_map=journey_map, start=start, end=end, persona=persona
        )
        breakdowns["persona"] = _persona_breakdown(
            journey_map, personas, persona, figures, start, end
        )
    except Exception as error:
        logger.exception("Figures of map %s over %s – %s failed", map_id, start, end)
        # the page stops polling and says why; a visit after PENDING_TIMEOUT asks again
        _rows(map_id, persona_id, start, end).update(
            breakdowns={"error": f"{type(error).__name__}: {error}"[:2000]}
        )
        return {**result, "status": "failed", "generation": generation}

    with transaction.atomic():
        row = _rows(map_id, persona_id, start, end).select_for_update().first()
        if row is not None and row.figures is not None and row.generation > generation:
            return {**result, "status": "superseded", "generation": generation}
        values = {
            "generation": generation,
            "computed_at": timezone.now(),
            "figures": figures,
            "previous": previous,
            "breakdowns": breakdowns,
            "stage_ids": _stage_ids(stages, figures["stages"]),
        }
        if row is None:
            RangeMetrics.objects.create(
                map_id=map_id, persona_id=persona_id, start=start, end=end, **values
            )
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.save(update_fields=list(values))
        # rows computed against an older generation would be computed again anyway: drop them
        RangeMetrics.objects.filter(map_id=map_id, generation__lt=generation).exclude(
            requested_generation__gte=generation
        ).delete()
    return {**result, "status": "ready", "generation": generation}


def _persona_breakdown(
    journey_map: JourneyMap,
    personas: list[Any],
    chosen: Any,
    chosen_figures: dict[str, Any],
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """Users of every measured stage for each persona on the map (their figures for the range)."""
    from analytics.engine import compute_metrics

    everyone = chosen_figures if chosen is None else None
    columns = []
    for persona in personas:
        if persona == chosen:
            figures = chosen_figures
        elif persona.segment is None:  # a persona without a segment keeps every user (§7)
            if everyone is None:
                everyone = compute_metrics(journey_map=journey_map, start=start, end=end)
            figures = everyone
        else:
            figures = compute_metrics(
                journey_map=journey_map, start=start, end=end, persona=persona
            )
        columns.append(figures["stages"])
    measured = [entry for entry in chosen_figures["stages"] if entry["measured"]]
    indexes = [chosen_figures["stages"].index(entry) for entry in measured]
    return {
        "dimension": "persona",
        "values": [persona.name for persona in personas],
        "stages": [
            {
                "position": entry["position"],
                "name": entry["name"],
                "users": [stages[index]["users"] for stages in columns],
            }
            for index, entry in zip(indexes, measured, strict=True)
        ],
    }
