"""The workspace overview: every active map with its headline figures, read from stored figures.

`load_overview` costs four queries whatever the number of maps: the maps (with their figures'
state and whether a dataset feeds them), their stored all-users figures, their stages and the
stages' KPIs. It never reads a row of events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils.safestring import SafeString

from analytics import charts
from analytics.figures import MapFigures
from analytics.models import MapMetrics, MapMetricsState
from journeymap.models import JourneyMap
from stages.models import Stage, StageKPI


@dataclass
class MapOverview:
    """One map's line of the overview: its stored default-range figures for all users."""

    journey_map: JourneyMap
    figures: MapFigures
    kpis_met: int
    kpis_total: int
    weekly_users: list[int | None]
    weeks: list[str]

    @property
    def totals(self) -> dict[str, Any]:
        return self.figures.totals

    @property
    def sparkline(self) -> SafeString:
        return charts.sparkline_svg(self.weekly_users, "Users per week")


def load_overview(*, maps: QuerySet[JourneyMap]) -> list[MapOverview]:
    """The overview line of each active map of `maps` (already scoped to the user), by name."""
    feeds = JourneyMap.datasets.through.objects.filter(journeymap_id=OuterRef("pk"))
    # recent and previous are read too: MapFigures.kpi compares the two periods.
    stored = MapMetrics.objects.filter(persona__isnull=True).defer("approximate")
    stages = Stage.objects.order_by("position", "pk").prefetch_related(
        Prefetch("kpis", queryset=StageKPI.objects.order_by("pk"))
    )
    rows = (
        maps.active()
        .select_related("workspace", "metrics_state")
        .annotate(has_datasets=Exists(feeds))
        .prefetch_related(
            Prefetch("metrics", queryset=stored, to_attr="all_users_figures"),
            Prefetch("stages", queryset=stages),
        )
        .order_by("name", "pk")
    )
    return [_line(journey_map) for journey_map in rows]


def _line(journey_map: JourneyMap) -> MapOverview:
    try:
        state = journey_map.metrics_state
    except MapMetricsState.DoesNotExist:
        state = None
    row = journey_map.all_users_figures[0] if journey_map.all_users_figures else None
    figures = MapFigures(journey_map.pk, None, journey_map.has_datasets, state, row)
    met = total = 0
    for stage in journey_map.stages.all():
        for kpi in stage.kpis.all():
            total += 1
            kpi_figure = figures.kpi(
                stage_id=stage.pk, metric=kpi.metric, target=kpi.target, direction=kpi.direction
            )
            met += kpi_figure.met is True
    weekly = row.weekly if row is not None else []
    return MapOverview(
        journey_map=journey_map,
        figures=figures,
        kpis_met=met,
        kpis_total=total,
        weekly_users=[(week.get("totals") or {}).get("users") for week in weekly],
        weeks=[week["week"] for week in weekly],
    )
