"""CSV exports a spreadsheet can open safely: no cell is ever read as a formula."""

import csv
import io
from collections.abc import Iterable
from typing import Any

from journeymap.models import JourneyMap
from touchpoints.rules import describe_rule

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value for a CSV cell; text that a spreadsheet would run as a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """Rows as CSV text (with a header), every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


CARDS_HEADER = [
    "stage_position",
    "stage",
    "lane",
    "title",
    "channel",
    "owner",
    "emotion",
    "severity",
    "impact",
    "effort",
    "status",
    "metric_target",
    "description",
    "details",
]


def map_cards_csv(journey_map: JourneyMap) -> str:
    """Every stage field and card of a map, one row each, in map order."""
    stages = journey_map.stages.order_by("position", "id").prefetch_related(
        "touchpoints", "pain_points__touchpoint", "opportunities__pain_point", "kpis"
    )
    rows: list[list[Any]] = []
    for stage in stages:
        at = [stage.position, stage.name]
        rows.append(
            [
                *at,
                "stage",
                stage.name,
                "",
                "",
                stage.emotion,
                "",
                "",
                "",
                stage.kind,
                "",
                stage.description,
                f"goal: {stage.customer_goal}",
            ]
        )
        for lane in ("actions", "thoughts", "feelings"):
            if getattr(stage, lane):
                rows.append(
                    [*at, lane, "", "", "", "", "", "", "", "", "", getattr(stage, lane), ""]
                )
        for tp in sorted(stage.touchpoints.all(), key=lambda item: (item.position, item.id)):
            rows.append(
                [
                    *at,
                    "touchpoint",
                    tp.name,
                    tp.channel,
                    tp.owner,
                    tp.emotion,
                    "",
                    "",
                    "",
                    "",
                    "",
                    tp.description,
                    f"rule: {describe_rule(tp.rule)}",
                ]
            )
        for pp in stage.pain_points.all():
            where = f"at: {pp.touchpoint.name}" if pp.touchpoint else ""
            rows.append(
                [
                    *at,
                    "pain_point",
                    pp.title,
                    "",
                    "",
                    "",
                    pp.severity,
                    "",
                    "",
                    pp.status,
                    "",
                    pp.description,
                    "; ".join(filter(None, [where, pp.evidence])),
                ]
            )
        for op in stage.opportunities.all():
            solves = f"solves: {op.pain_point.title}" if op.pain_point else ""
            rows.append(
                [
                    *at,
                    "opportunity",
                    op.title,
                    "",
                    op.owner,
                    "",
                    "",
                    op.impact,
                    op.effort,
                    op.status,
                    "",
                    op.description,
                    solves,
                ]
            )
        for kpi in stage.kpis.all():
            rows.append(
                [
                    *at,
                    "kpi",
                    kpi.metric,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    kpi.direction,
                    "" if kpi.target is None else kpi.target,
                    "",
                    "",
                ]
            )
    return csv_text(CARDS_HEADER, rows)
