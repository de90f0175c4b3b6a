"""Snapshots against figures: for two snapshots, the figures of the period each was live.

A snapshot is live from its creation until the next snapshot of the map (`history.live_period`);
an open end means "until the latest data". Each period is clamped to the span of the map's data
(the stored MapMetrics of all users give it) and counted with the map's current stages and rules
by `analytics.ranges.range_figures`, which answers None while it computes them in the background.
The comparison says, for the totals and each stage, how B moved against A.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analytics.figures import COUNT, DURATION, MONEY, RATE, SCORE, format_duration, format_value
from analytics.models import MapMetrics
from analytics.ranges import range_figures
from journeymap.history import live_period
from journeymap.models import JourneyMap, Snapshot

# Where a period's figures stand.
READY = "ready"  # figures counted over the period
COMPUTING = "computing"  # a background task is counting them
NO_DATA = "no_data"  # the period holds no data of the map (or the map has none at all)

# The totals shown, as (key in the §8 totals, label, kind, higher is better).
TOTALS = (
    ("users", "Users", COUNT, True),
    ("conversion_rate", "Conversion", RATE, True),
    ("revenue", "Revenue", MONEY, True),
    ("aov", "Average order value", MONEY, True),
    ("nps", "NPS", SCORE, True),
)
# Totals also shown per day, as (key in the totals, label, kind): the periods seldom have the same
# length, so their counts alone do not compare.
PER_DAY = (
    ("users", "Users per day", COUNT),
    ("revenue", "Revenue per day", MONEY),
)
# Each stage's figures shown, the same way.
STAGE_FIGURES = (
    ("users", "Users", COUNT, True),
    ("conversion_rate", "Conversion", RATE, True),
    ("drop_off", "Drop-off", COUNT, False),
    ("median_time_to_convert_seconds", "Median time to convert", DURATION, False),
)


@dataclass(frozen=True)
class PeriodFigures:
    """One snapshot's live period, clamped to the data, and its figures once counted."""

    snapshot: Snapshot
    live_from: datetime
    live_until: datetime | None  # None: it is the latest snapshot
    start: datetime | None  # the period counted: [start, end), inside the data's span
    end: datetime | None
    data_start: datetime | None  # the span of the map's data
    data_end: datetime | None
    state: str
    figures: dict[str, Any] | None = None

    @property
    def ready(self) -> bool:
        return self.state == READY

    @property
    def computing(self) -> bool:
        return self.state == COMPUTING

    @property
    def days(self) -> float | None:
        """The length of the period counted, in days."""
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).total_seconds() / 86400

    @property
    def days_text(self) -> str:
        """61 days · 43.7 days"""
        days = self.days
        if days is None:
            return ""
        shown = f"{days:,.0f}" if abs(days - round(days)) < 0.05 else f"{days:,.1f}"
        return f"{shown} day{'' if shown == '1' else 's'}"

    def per_day(self, key: str) -> float | None:
        """A total divided by the days counted: periods of different lengths compare."""
        value = (self.figures or {}).get("totals", {}).get(key)
        days = self.days
        return value / days if value is not None and days else None

    @property
    def clamped(self) -> bool:
        """Part of the live period lies outside the data, so fewer days are counted."""
        if self.start is None:
            return False
        return self.start != self.live_from or self.end != self.live_until


def data_span(*, journey_map: JourneyMap) -> tuple[datetime | None, datetime | None]:
    """[first event, last event + 1 µs) of the map's data, as its stored figures give it."""
    row = (
        MapMetrics.objects.filter(map=journey_map, persona__isnull=True)
        .values_list("start", "end")
        .first()
    )
    return row if row is not None else (None, None)


def counted_period(
    *,
    live_from: datetime,
    live_until: datetime | None,
    span: tuple[datetime | None, datetime | None],
) -> tuple[datetime, datetime] | None:
    """The part [start, end) of a live period inside the data's span; None if there is none."""
    data_start, data_end = span
    if data_start is None or data_end is None:
        return None
    start = max(live_from, data_start)
    end = data_end if live_until is None else min(live_until, data_end)
    return (start, end) if start < end else None  # None: live before or after all the data


def period_figures(
    *,
    journey_map: JourneyMap,
    snapshot: Snapshot,
    span: tuple[datetime | None, datetime | None],
    persona_id: int | None = None,
) -> PeriodFigures:
    """The figures of the period the snapshot was live, as far as the map's data reaches."""
    live_from, live_until = live_period(snapshot)
    data_start, data_end = span
    period = {
        "snapshot": snapshot,
        "live_from": live_from,
        "live_until": live_until,
        "data_start": data_start,
        "data_end": data_end,
    }
    bounds = counted_period(live_from=live_from, live_until=live_until, span=span)
    if bounds is None:
        return PeriodFigures(**period, start=None, end=None, state=NO_DATA)
    start, end = bounds
    result = range_figures(journey_map=journey_map, persona_id=persona_id, start=start, end=end)
    if result is None:
        return PeriodFigures(**period, start=start, end=end, state=COMPUTING)
    figures = result.figures
    users = (figures.get("totals") or {}).get("users")
    return PeriodFigures(
        **period, start=start, end=end, state=READY if users else NO_DATA, figures=figures
    )


@dataclass(frozen=True)
class FigureRow:
    """One figure for A and B, and how B moved against A."""

    label: str
    kind: str
    higher_is_better: bool
    a: float | None
    b: float | None

    @property
    def a_text(self) -> str:
        return format_value(self.a, self.kind)

    @property
    def b_text(self) -> str:
        return format_value(self.b, self.kind)

    @property
    def delta(self) -> float | None:
        """B − A; None when either has no value."""
        if self.a is None or self.b is None:
            return None
        return self.b - self.a

    @property
    def direction(self) -> str:
        """ "up", "down" or "same"; "" when there is nothing to compare."""
        delta = self.delta
        if delta is None:
            return ""
        if self.kind == RATE:  # a change below 0.05 percentage points shows as 0.0 pp
            delta = round(delta * 100, 1)
        return "up" if delta > 0 else "down" if delta < 0 else "same"

    @property
    def verdict(self) -> str:
        """ "good", "bad" or "neutral": the colour of the change."""
        if self.direction in ("", "same"):
            return "neutral"
        return "good" if (self.direction == "up") == self.higher_is_better else "bad"

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼", "same": "="}.get(self.direction, "")

    @property
    def delta_text(self) -> str:
        """The change as people read it: percentage points for rates, else the amount and %."""
        delta = self.delta
        if delta is None:
            return "—"
        if self.kind == RATE:
            return f"{delta * 100:+,.1f} pp"
        if self.kind == DURATION:
            sign = "+" if delta > 0 else "−" if delta < 0 else "±"
            return f"{sign}{format_duration(abs(delta))}"
        if delta == 0:
            return "0.00" if self.kind == MONEY else "0"
        if self.kind == MONEY:
            amount = f"{delta:+,.2f}"
        elif self.kind == SCORE:
            amount = f"{delta:+,.1f}"
        else:
            amount = f"{round(delta):+,}"
        if self.a:
            return f"{amount} ({delta / abs(self.a) * 100:+,.1f}%)"
        return amount


@dataclass(frozen=True)
class StageRows:
    """A stage of the map with its figures in both periods."""

    position: int
    name: str
    measured: bool
    rows: list[FigureRow]


@dataclass(frozen=True)
class FiguresComparison:
    """The two periods and, when both have figures, the totals and the stages side by side."""

    a: PeriodFigures
    b: PeriodFigures
    totals: list[FigureRow]
    stages: list[StageRows]

    @property
    def computing(self) -> bool:
        return self.a.computing or self.b.computing

    @property
    def comparable(self) -> bool:
        return self.a.ready and self.b.ready


def figures_comparison(*, journey_map: JourneyMap, a: Snapshot, b: Snapshot) -> FiguresComparison:
    """The figures of the periods snapshots A and B were live, and how B moved against A."""
    span = data_span(journey_map=journey_map)
    side_a = period_figures(journey_map=journey_map, snapshot=a, span=span)
    side_b = period_figures(journey_map=journey_map, snapshot=b, span=span)
    if not (side_a.ready and side_b.ready):
        return FiguresComparison(side_a, side_b, [], [])
    totals_a, totals_b = side_a.figures["totals"], side_b.figures["totals"]
    totals = [
        FigureRow(label, kind, better, totals_a.get(key), totals_b.get(key))
        for key, label, kind, better in TOTALS
    ] + [
        FigureRow(label, kind, True, side_a.per_day(key), side_b.per_day(key))
        for key, label, kind in PER_DAY
    ]
    # Both periods are counted with the map's current stages, so they pair by position; a stage
    # one of them lacks (the map changed between the two computations) shows no value there.
    stages_b = {(entry["position"], entry["name"]): entry for entry in side_b.figures["stages"]}
    stages = []
    for entry_a in side_a.figures["stages"]:
        entry_b = stages_b.get((entry_a["position"], entry_a["name"]), {})
        stages.append(
            StageRows(
                entry_a["position"],
                entry_a["name"],
                bool(entry_a.get("measured") and entry_b.get("measured")),
                [
                    FigureRow(label, kind, better, entry_a.get(key), entry_b.get(key))
                    for key, label, kind, better in STAGE_FIGURES
                ],
            )
        )
    return FiguresComparison(side_a, side_b, totals, stages)
