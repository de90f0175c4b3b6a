"""Stored figures as pages show them: read from MapMetrics (never from rows) and formatted.

`load_map_figures` costs two queries whatever the size of the map: the map's state (with whether
any dataset feeds it and whether the persona asked for is on it) and the stored row for that
persona. Everything else here is formatting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.db.models import Exists, OuterRef
from django.http import HttpRequest

from analytics.models import MapMetrics, MapMetricsState, MetricsStatus
from journeymap.models import JourneyMap

# How each metric of the catalogue (stages.models.Metric) reads, and where its value lives.
COUNT, RATE, MONEY, DURATION, SCORE = "count", "rate", "money", "duration", "score"
STAGE_METRICS = {
    "users": COUNT,
    "sessions": COUNT,
    "events": COUNT,
    "revenue": MONEY,
    "orders": COUNT,
    "funnel_users": COUNT,
    "conversion_rate": RATE,
    "overall_conversion": RATE,
    "drop_off": COUNT,
    "median_time_to_convert_seconds": DURATION,
}
# KPI metric → (key in the totals, kind): the map totals of DESIGN §7.
TOTAL_METRICS = {
    "purchasers": ("purchasers", COUNT),
    "total_conversion_rate": ("conversion_rate", RATE),
    "aov": ("aov", MONEY),
    "revenue_per_user": ("revenue_per_user", MONEY),
    "repeat_purchase_rate": ("repeat_purchase_rate", RATE),
    "bounce_rate": ("bounce_rate", RATE),
    "nps": ("nps", SCORE),
    "nps_responses": ("nps_responses", COUNT),
}


def metric_kind(metric: str) -> str:
    """count, rate, money, duration or score."""
    if metric in STAGE_METRICS:
        return STAGE_METRICS[metric]
    return TOTAL_METRICS.get(metric, ("", COUNT))[1]


def format_value(value: float | None, kind: str) -> str:
    """8,000 · 8.6% · 51,234.50 · 2 h 5 min · 41.7; an em dash for no value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if kind == RATE:
        return f"{value * 100:,.1f}%"
    if kind == MONEY:
        return f"{value:,.2f}"
    if kind == DURATION:
        return format_duration(value)
    if kind == SCORE:
        return f"{value:,.1f}"
    return f"{round(value):,}"


def format_duration(seconds: float) -> str:
    """A duration as a person says it: 45 s, 12 min, 3 h 20 min, 2 d 4 h."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 or seconds == 0 else f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@dataclass(frozen=True)
class StageFigures:
    """One stage's stored figures, and the step from the measured stage before it."""

    entry: dict[str, Any]
    previous_name: str | None  # the measured stage before it in the funnel

    @property
    def measured(self) -> bool:
        return bool(self.entry.get("measured"))

    @property
    def users(self) -> str:
        return format_value(self.entry.get("users"), COUNT)

    @property
    def funnel_users(self) -> str:
        return format_value(self.entry.get("funnel_users"), COUNT)

    @property
    def conversion(self) -> str:
        return format_value(self.entry.get("conversion_rate"), RATE)

    @property
    def drop_off(self) -> str:
        return format_value(self.entry.get("drop_off"), COUNT)

    @property
    def median_time(self) -> str | None:
        value = self.entry.get("median_time_to_convert_seconds")
        return None if value is None else format_duration(value)


@dataclass(frozen=True)
class KpiFigure:
    """A KPI as the map shows it: actual, target, met or not, change against the period before."""

    state: str  # "ok", "not_measured", "no_data" (no dataset), "not_computed"
    actual: str = "—"
    target: str = ""
    met: bool | None = None  # None: no target, or no actual value
    change: float | None = None  # relative change, recent period against the one before
    change_good: bool | None = None
    comparison_days: int = 0

    @property
    def change_text(self) -> str:
        if self.change is None:
            return ""
        arrow = "▲" if self.change > 0 else "▼" if self.change < 0 else "="
        return f"{arrow} {abs(self.change) * 100:,.1f}%"


@dataclass
class MapFigures:
    """What one page shows of a map's figures: the stored row for a persona (or all users)."""

    map_id: int
    persona_id: int | None
    has_datasets: bool
    state: MapMetricsState | None
    row: MapMetrics | None

    @property
    def pending(self) -> bool:
        return self.state is not None and self.state.pending

    @property
    def failed(self) -> bool:
        return self.state is not None and self.state.status == MetricsStatus.FAILED

    @property
    def error(self) -> str:
        return self.state.error if self.state is not None else ""

    @property
    def computed_at(self) -> datetime | None:
        return self.row.computed_at if self.row is not None else None

    @property
    def generation(self) -> int:
        return self.row.generation if self.row is not None else 0

    @property
    def start(self) -> datetime | None:
        return self.row.start if self.row is not None else None

    @property
    def end(self) -> datetime | None:
        return self.row.end if self.row is not None else None

    @property
    def totals(self) -> dict[str, Any]:
        return self.row.figures.get("totals", {}) if self.row is not None else {}

    @property
    def comparison_days(self) -> int:
        return self.row.comparison_days if self.row is not None else 0

    def _index(self, stage_id: int) -> int | None:
        if self.row is None:
            return None
        try:
            return self.row.stage_ids.index(stage_id)
        except ValueError:
            return None

    def stage(self, stage_id: int) -> StageFigures | None:
        """The stage's figures, or None when they were computed before the stage existed."""
        index = self._index(stage_id)
        if index is None:
            return None
        stages = self.row.figures["stages"]
        previous_name = None
        for earlier in reversed(stages[:index]):
            if earlier.get("measured"):
                previous_name = earlier["name"]
                break
        return StageFigures(stages[index], previous_name)

    def kpi(self, *, stage_id: int, metric: str, target: float | None, direction: str) -> KpiFigure:
        """A KPI of the stage: its actual value from the stored figures, against its target."""
        kind = metric_kind(metric)
        target_text = format_value(target, kind) if target is not None else ""
        if not self.has_datasets:
            return KpiFigure("no_data", target=target_text)
        index = self._index(stage_id)
        if self.row is None or index is None:
            return KpiFigure("not_computed", target=target_text)
        in_totals = metric in TOTAL_METRICS
        if not in_totals and not self.row.figures["stages"][index].get("measured"):
            return KpiFigure("not_measured", target=target_text)

        def value(figures: dict[str, Any] | None) -> float | None:
            if not figures:
                return None
            if in_totals:
                return figures["totals"].get(TOTAL_METRICS[metric][0])
            stages = figures["stages"]
            return stages[index].get(metric) if index < len(stages) else None

        actual = value(self.row.figures)
        met = None
        if actual is not None and target is not None:
            met = actual >= target if direction == "higher" else actual <= target
        recent, previous = value(self.row.recent), value(self.row.previous)
        change = change_good = None
        if recent is not None and previous:
            change = (recent - previous) / abs(previous)
            if change:
                change_good = (change > 0) == (direction == "higher")
        return KpiFigure(
            "ok",
            actual=format_value(actual, kind),
            target=target_text,
            met=met,
            change=change,
            change_good=change_good,
            comparison_days=self.row.comparison_days,
        )


def load_map_figures(
    *, map_id: int, persona_id: int | None, with_weekly: bool = True
) -> MapFigures:
    """The stored figures of a map for a persona on it (else all users): two queries. Without
    `with_weekly` the weekly series (the biggest field by far, only the dashboard draws it) is
    not read."""
    feeds = JourneyMap.datasets.through.objects.filter(journeymap_id=OuterRef("pk"))
    journey_map = (
        JourneyMap.objects.filter(pk=map_id)
        .select_related("metrics_state")
        .annotate(
            has_datasets=Exists(feeds),
            persona_on_map=Exists(
                JourneyMap.personas.through.objects.filter(
                    journeymap_id=OuterRef("pk"), persona_id=persona_id or 0
                )
            ),
        )
        .first()
    )
    if journey_map is None:
        return MapFigures(map_id, None, False, None, None)
    if not journey_map.persona_on_map:
        persona_id = None
    try:
        state = journey_map.metrics_state
    except MapMetricsState.DoesNotExist:
        state = None
    rows = MapMetrics.objects.filter(map_id=map_id)
    rows = rows.filter(persona_id=persona_id) if persona_id else rows.filter(persona__isnull=True)
    if not with_weekly:
        rows = rows.defer("weekly")
    return MapFigures(map_id, persona_id, journey_map.has_datasets, state, rows.first())


def page_persona_id(request: HttpRequest) -> int | None:
    """The persona a page shows figures for: ?persona=<id>, or that of the page an htmx request
    came from (its HX-Current-URL), so that a card saved in place keeps the page's persona."""
    value = request.GET.get("persona")
    if value is None and getattr(request, "htmx", False):
        current = request.headers.get("HX-Current-URL", "")
        value = (parse_qs(urlsplit(current).query).get("persona") or [None])[0]
    try:
        persona_id = int(value) if value else None
    except ValueError:
        return None
    # An id past what the database stores (a hand-edited link) is no persona, not a 500.
    return persona_id if persona_id and 0 < persona_id < 2**63 else None


def request_map_figures(request: HttpRequest, map_id: int) -> MapFigures:
    """`load_map_figures` once per request and map, for the page's persona (map pages show no
    weekly series)."""
    cache = request.__dict__.setdefault("_map_figures", {})
    if map_id not in cache:
        cache[map_id] = load_map_figures(
            map_id=map_id, persona_id=page_persona_id(request), with_weekly=False
        )
    return cache[map_id]
