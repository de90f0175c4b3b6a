"""What the per-map dashboard shows, read from the stored figures only (DESIGN §7, §9).

`load_dashboard` costs a constant number of queries whatever the size of the map: the stored
figures (analytics.figures.load_map_figures, two queries), those of the chosen range with the
breakdowns (analytics.ranges.range_figures, one when they are stored), the stages with their KPIs,
pain points and opportunities (four), and the personas on the map (one). It never reads a row of
events.

Over the default range the page shows the stored MapMetrics (changes: the last 28 days against the
28 before); over a chosen range, its RangeMetrics row in their place (changes: the range against
the period of equal length before it; trends: the stored ISO weeks that touch the range). The
breakdowns always come from a RangeMetrics row, over the default range keyed on its bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Prefetch
from django.utils.safestring import SafeString

from analytics import charts, insights
from analytics.engine import TOTAL_KEYS
from analytics.figures import STAGE_METRICS, KpiFigure, MapFigures, load_map_figures
from analytics.models import MapMetrics, RangeMetrics
from analytics.ranges import (
    ALL,
    PRESETS,
    DateRange,
    RangeError,
    range_failure,
    range_figures,
    resolve_range,
)
from journeymap.exports import csv_text
from journeymap.models import JourneyMap
from stages.models import Stage, StageKPI
from touchpoints.models import Opportunity, PainPoint

TOTALS = TOTAL_KEYS  # the §8 totals, in their order
CSV_HEADER = ["section", "week", "stage_position", "stage", "metric", "value", "group"]
BREAKDOWNS = (
    ("channel", "Channel", "Users of the first measured stage by channel"),
    ("device", "Device", "Users of each measured stage by device"),
    ("persona", "Persona", "Users of each measured stage by persona"),
)


@dataclass
class Breakdown:
    """One breakdown as the page shows it: a grouped bar chart and its table."""

    key: str
    heading: str
    title: str
    data: dict[str, Any]

    @property
    def chart(self) -> SafeString:
        return charts.breakdown_chart(self.data, f"breakdown-{self.key}-chart", self.title)

    @property
    def rows(self) -> list[tuple[str, list[Any]]]:
        """(value, users of each stage) for the table."""
        stages = self.data.get("stages") or []
        return [
            (value, [stage["users"][index] for stage in stages])
            for index, value in enumerate(self.data.get("values") or [])
        ]


@dataclass
class StageCard:
    """A stage's KPI card: its stored figures and each KPI against its target."""

    stage: Stage
    entry: dict[str, Any] | None  # the stage's entry of the stored figures
    kpis: list[tuple[StageKPI, KpiFigure]]


@dataclass
class Dashboard:
    """Everything the dashboard page shows of one map, for all users or one persona."""

    map_figures: MapFigures
    personas: list[Any]
    cards: list[StageCard]
    figures: dict[str, Any] | None
    weekly: list[dict[str, Any]]
    funnel: list[dict[str, Any]] = field(default_factory=list)
    biggest_drop_off: insights.Step | None = None
    at_risk: list[insights.StageAtRisk] = field(default_factory=list)
    purchase_stage: dict[str, Any] | None = None
    ranked_cards: list[insights.RankedCard] = field(default_factory=list)
    belief_checks: list[insights.BeliefCheck] = field(default_factory=list)
    date_range: DateRange | None = None  # None: the default range
    range_error: str = ""  # why the range asked for is not shown
    range_query: Mapping[str, str] = field(default_factory=dict)
    range_pending: bool = False  # the chosen range's figures are being computed
    breakdowns: list[Breakdown] = field(default_factory=list)
    breakdowns_pending: bool = False
    range_failed: str = ""  # why the figures of the range (or the breakdowns) could not be computed
    previous: dict[str, Any] | None = None  # the figures of the period compared against

    @property
    def query(self) -> str:
        """The URL parameters of what the page shows (range and persona), for its links."""
        params = dict(self.date_range.query()) if self.date_range is not None else {}
        if self.map_figures.persona_id:
            params["persona"] = str(self.map_figures.persona_id)
        return urlencode(params)

    @property
    def from_value(self) -> str:
        """The first day shown (for the picker), or what was typed when it was refused."""
        if self.range_error:
            return self.range_query.get("from", "")[:10]
        if self.date_range is not None:
            return self.date_range.first_day.isoformat()
        start = self.map_figures.start
        return start.date().isoformat() if start is not None else ""

    @property
    def to_value(self) -> str:
        """The last day shown (included), or what was typed when it was refused."""
        if self.range_error:
            return self.range_query.get("to", "")[:10]
        if self.date_range is not None:
            return self.date_range.last_day.isoformat()
        end = self.map_figures.end
        return (end - timedelta(microseconds=1)).date().isoformat() if end is not None else ""

    @property
    def presets(self) -> list[tuple[str, str]]:
        return list(PRESETS.items())

    @property
    def preset(self) -> str:
        return self.date_range.preset if self.date_range is not None else ALL

    crossed_targets: list[insights.CrossedTarget] = field(default_factory=list)
    map_url: str = ""
    stage_ids: list[int | None] = field(default_factory=list)
    # which stored rows the figures were read from (id, generation, computed_at), for the page's
    # cache key: the default range's MapMetrics and the chosen range's RangeMetrics
    sources: tuple[Any, ...] = ()
    range_row: RangeMetrics | None = None  # the chosen range's stored row (its breakdowns)

    def cache_parts(self) -> list[Any]:
        """Everything the figures' region shows besides the map's content (which the map's
        `updated_at` versions): the stored rows read, their computation state, the range and the
        personas offered."""
        state = self.map_figures.state
        return [
            self.sources,
            self.map_figures.persona_id,
            self.map_figures.has_datasets,
            (state.status, state.requested_generation, state.computed_generation, state.error)
            if state is not None
            else None,
            sorted(self.date_range.query().items()) if self.date_range is not None else None,
            self.range_error,
            self.range_pending,
            self.breakdowns_pending,
            self.range_failed,
            [(persona.pk, persona.name) for persona in self.personas],
        ]

    def stage_href(self, index: int) -> str:
        """The map editor's anchor on the stage at `index` of the stored figures (the map itself
        if that stage is gone since)."""
        stage_id = self.stage_ids[index] if 0 <= index < len(self.stage_ids) else None
        return f"{self.map_url}#stage-{stage_id}-head" if stage_id else self.map_url

    @property
    def median_times(self) -> list[tuple[str, float | None]]:
        return charts.median_times(self.figures) if self.figures else []

    @property
    def median_time_chart(self) -> SafeString | None:
        return charts.median_time_chart(self.figures) if self.median_times else None

    @property
    def weekly_conversion(self) -> list[tuple[str, list[float | None]]]:
        return charts.weekly_conversion(self.weekly)

    @property
    def weekly_conversion_rows(self) -> list[tuple[str, list[float | None]]]:
        """(week, conversion of each step) for the table of the weekly conversion chart."""
        steps = self.weekly_conversion
        return [
            (week["week"], [rates[number] for _, rates in steps])
            for number, week in enumerate(self.weekly)
        ]

    @property
    def weekly_conversion_chart(self) -> SafeString | None:
        return charts.weekly_conversion_chart(self.weekly) if self.weekly_conversion else None

    @property
    def measured_names(self) -> list[str]:
        return [entry["name"] for entry in self.funnel]

    @property
    def weekly_rows(self) -> list[tuple[str, list[Any]]]:
        """(week, users of each measured stage) for the trends table."""
        indexes = [
            index
            for index, entry in enumerate((self.figures or {}).get("stages") or [])
            if entry.get("measured")
        ]
        return [
            (week["week"], [week["stages"][index]["users"] for index in indexes])
            for week in self.weekly
            if len(week["stages"]) == len((self.figures or {}).get("stages") or [])
        ]

    @property
    def funnel_chart(self) -> SafeString | None:
        return charts.funnel_chart(self.figures) if self.funnel else None

    @property
    def trends_chart(self) -> SafeString | None:
        return charts.trends_chart(self.weekly) if self.weekly and self.funnel else None


def load_dashboard(
    *,
    journey_map: JourneyMap,
    persona_id: int | None,
    range_query: Mapping[str, str] | None = None,
    complete: bool = True,
) -> Dashboard:
    """The dashboard of a map for a persona on it (else all users), from the stored figures, over
    the range `range_query` asks for (?range=30d, analytics.ranges.resolve_range; the default
    range when it asks for none or for one that cannot be shown, saying why in `range_error`).
    Without `complete`, only what the page shows around the figures (and `cache_parts`): the
    stages, KPI cards, breakdowns and insights are left to `complete_dashboard`."""
    map_figures = load_map_figures(map_id=journey_map.pk, persona_id=persona_id)
    stored_row = map_figures.row  # a chosen range's figures replace it below, its weeks are kept
    range_row = range_pending = date_range = None
    range_failed = ""
    range_error = ""
    if map_figures.row is not None:
        try:
            date_range = resolve_range(range_query or {}, data_end=map_figures.row.end)
        except RangeError as error:
            range_error = str(error)
        stored = map_figures.row
        start, end = (
            (date_range.start, date_range.end) if date_range else (stored.start, stored.end)
        )
        if start is not None and end is not None:  # else no event: nothing to break down
            range_row = range_figures(
                journey_map=journey_map, persona_id=map_figures.persona_id, start=start, end=end
            )
            range_pending = range_row is None
        if range_pending:
            range_failed = range_failure(
                journey_map=journey_map, persona_id=map_figures.persona_id, start=start, end=end
            )
        if date_range is not None:
            map_figures.row = _range_as_map_metrics(range_row, stored, date_range)
    row = map_figures.row
    dashboard = Dashboard(
        map_figures=map_figures,
        personas=list(journey_map.personas.order_by("name", "pk")),
        cards=[],
        figures=row.figures if row is not None else None,
        weekly=row.weekly if row is not None else [],
        date_range=date_range,
        range_error=range_error,
        range_query=range_query or {},
        range_pending=bool(range_pending and date_range is not None),
        breakdowns_pending=bool(range_pending),
        range_failed=range_failed,
        previous=row.previous if row is not None else None,
        map_url=journey_map.get_absolute_url(),
        stage_ids=row.stage_ids if row is not None else [],
        sources=tuple(
            (source.pk, source.generation, source.computed_at)
            for source in (stored_row, range_row)
            if source is not None
        ),
        range_row=range_row,
    )
    if complete:
        complete_dashboard(dashboard, journey_map)
    return dashboard


def complete_dashboard(dashboard: Dashboard, journey_map: JourneyMap) -> None:
    """The stages with their KPI cards, the breakdowns and the insights (four queries)."""
    map_figures = dashboard.map_figures
    stages = list(
        journey_map.stages.order_by("position", "pk").prefetch_related(
            Prefetch("kpis", queryset=StageKPI.objects.order_by("pk")),
            Prefetch("pain_points", queryset=PainPoint.objects.order_by("-severity", "pk")),
            Prefetch("opportunities", queryset=Opportunity.objects.order_by("-impact", "pk")),
        )
    )
    for stage in stages:
        stage_figures = map_figures.stage(stage.pk)
        kpis = [
            (
                kpi,
                map_figures.kpi(
                    stage_id=stage.pk,
                    metric=kpi.metric,
                    target=kpi.target,
                    direction=kpi.direction,
                ),
            )
            for kpi in stage.kpis.all()
        ]
        dashboard.cards.append(
            StageCard(stage, stage_figures.entry if stage_figures else None, kpis)
        )
    range_row = dashboard.range_row
    if range_row is not None:
        dashboard.breakdowns = [
            Breakdown(key, heading, title, range_row.breakdowns[key])
            for key, heading, title in BREAKDOWNS
            if (range_row.breakdowns.get(key) or {}).get("values")
        ]
    figures, row = dashboard.figures, map_figures.row
    if figures is None:
        return
    notes = _stage_notes(stages, row.stage_ids)
    dashboard.funnel = [entry for entry in figures["stages"] if entry.get("measured")]
    dashboard.biggest_drop_off = insights.biggest_drop_off(figures)
    dashboard.purchase_stage = insights.purchase_stage(figures)
    dashboard.at_risk = insights.revenue_at_risk(figures)
    dashboard.ranked_cards = insights.ranked_cards(dashboard.at_risk, notes)
    dashboard.belief_checks = insights.belief_checks(figures, notes)
    dashboard.crossed_targets = insights.crossed_targets(
        _kpi_targets(stages, row.stage_ids), row.recent, row.previous
    )


def _range_as_map_metrics(
    range_row: RangeMetrics | None, stored: MapMetrics, date_range: DateRange
) -> MapMetrics | None:
    """A chosen range's figures in the shape of the default range's (unsaved): its KPI change is
    the range against the period before it, its trends the stored weeks that touch the range."""
    if range_row is None:
        return None
    weekly = [
        week
        for week in stored.weekly
        if _instant(week["start"]) < date_range.end and _instant(week["end"]) > date_range.start
    ]
    return MapMetrics(
        map_id=stored.map_id,
        persona_id=stored.persona_id,
        generation=range_row.generation,
        computed_at=range_row.computed_at,
        start=date_range.start,
        end=date_range.end,
        figures=range_row.figures,
        stage_ids=range_row.stage_ids,
        comparison_days=date_range.days,
        recent=range_row.figures,
        previous=range_row.previous,
        weekly=weekly,
        approximate=stored.approximate,
    )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _kpi_targets(stages: list[Stage], stage_ids: list[int | None]) -> list[insights.KpiTarget]:
    """The KPIs of the stages in the stored figures, in stage then KPI order."""
    index_of = {stage_id: index for index, stage_id in enumerate(stage_ids) if stage_id}
    return [
        insights.KpiTarget(
            index=index_of[stage.pk],
            stage=stage.name,
            metric=kpi.metric,
            label=kpi.get_metric_display(),
            target=kpi.target,
            direction=kpi.direction,
        )
        for stage in stages
        if stage.pk in index_of
        for kpi in stage.kpis.all()
    ]


def _stage_notes(
    stages: list[Stage], stage_ids: list[int | None]
) -> dict[int, insights.StageNotes]:
    """The team's notes on each stage, keyed by the stage's index in the stored figures."""
    by_id = {stage.pk: stage for stage in stages}
    notes = {}
    for index, stage_id in enumerate(stage_ids):
        stage = by_id.get(stage_id)
        if stage is None:
            continue
        notes[index] = insights.StageNotes(
            name=stage.name,
            emotion=stage.emotion,
            pain_points=[(pp.title, pp.severity) for pp in stage.pain_points.all()],
            opportunities=[(op.title, op.impact) for op in stage.opportunities.all()],
        )
    return notes


def dashboard_csv(dashboard: Dashboard) -> str:
    """The figures behind the page, one value a row: totals, each stage, each stage per week, the
    same for the period compared against (previous_*), and the breakdowns (by_*, with the group)."""
    figures = dashboard.figures
    if figures is None:
        return csv_text(CSV_HEADER, [])
    rows = _figures_rows(figures, "")
    for week in dashboard.weekly:
        for entry in week["stages"]:
            if entry.get("measured"):
                rows.append(
                    [
                        "week",
                        week["week"],
                        entry["position"],
                        entry["name"],
                        "users",
                        entry["users"],
                        "",
                    ]
                )
    if dashboard.previous:
        rows += _figures_rows(dashboard.previous, "previous_")
    for breakdown in dashboard.breakdowns:
        for stage in breakdown.data["stages"]:
            for value, users in zip(breakdown.data["values"], stage["users"], strict=True):
                position, name = stage["position"], stage["name"]
                rows.append([f"by_{breakdown.key}", "", position, name, "users", users, value])
    rows.extend(_weekly_conversion_rows(dashboard))
    return csv_text(CSV_HEADER, rows)


def _figures_rows(figures: dict[str, Any], prefix: str) -> list[list[Any]]:
    totals = figures.get("totals") or {}
    rows: list[list[Any]] = [
        [f"{prefix}totals", "", "", "", metric, _cell(totals.get(metric)), ""] for metric in TOTALS
    ]
    for entry in figures["stages"]:
        for metric in STAGE_METRICS:
            value = _cell(entry.get(metric))
            rows.append([f"{prefix}stage", "", entry["position"], entry["name"], metric, value, ""])
    return rows


def _weekly_conversion_rows(dashboard: Dashboard) -> list[list[Any]]:
    """The weekly conversion chart's figures: each step's conversion_rate per week, on the row of
    the stage the step leads to (its median time to convert is in that stage's rows)."""
    first = dashboard.weekly[0]["stages"] if dashboard.weekly else []
    measured = [entry for entry in first if entry.get("measured")]
    rows = []
    for (_, rates), entry in zip(dashboard.weekly_conversion, measured[1:], strict=False):
        for week, rate in zip(dashboard.weekly, rates, strict=True):
            rows.append(
                [
                    "week",
                    week["week"],
                    entry["position"],
                    entry["name"],
                    "conversion_rate",
                    _cell(rate),
                    "",
                ]
            )
    return rows


def _cell(value: Any) -> Any:
    return "" if value is None else value
