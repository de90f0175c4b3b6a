"""Materialised figures (DESIGN §7): computed by a background task, read by the pages.

Any change that can move a map's figures calls `request_recompute` inside its own transaction: it
bumps the map's requested generation and, once the transaction commits, enqueues
`recompute_map_metrics(map_id)`. The task computes the figures for all users and for each persona
on the map (the whole default range, the last `COMPARISON_DAYS` against the period of equal length
before them, and each ISO week), then writes them in one transaction, but only if no newer
generation has been stored meanwhile: a slow old run never overwrites a newer result, and a run
that finds the stored figures up to date does nothing (so running the task twice is running it
once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from analytics.models import MapMetrics, MapMetricsState, MetricsStatus
from journeymap.models import JourneyMap

logger = logging.getLogger(__name__)

COMPARISON_DAYS = 28  # the KPI change: the last 4 weeks of data against the 4 weeks before

# Changes on a map's log that cannot move its figures (no stage, rule, window, persona or dataset).
NEUTRAL_ACTIONS = frozenset(
    {
        "pain_point_added",
        "pain_point_edited",
        "pain_point_deleted",
        "opportunity_added",
        "opportunity_edited",
        "opportunity_deleted",
        "kpi_added",
        "kpi_edited",
        "kpi_deleted",
        "snapshot_taken",
        "archived",
        "restored",
    }
)


def request_recompute(*, journey_map: JourneyMap | int) -> None:
    """Ask for the map's figures to be computed again once the current transaction commits."""
    from analytics.tasks import recompute_map_metrics

    map_id = journey_map if isinstance(journey_map, int) else journey_map.pk
    now = timezone.now()
    bump = {
        "requested_generation": F("requested_generation") + 1,
        "requested_at": now,
        "status": MetricsStatus.COMPUTING,
    }
    with transaction.atomic():
        if not MapMetricsState.objects.filter(map_id=map_id).update(**bump):
            _, created = MapMetricsState.objects.get_or_create(
                map_id=map_id,
                defaults={
                    "requested_generation": 1,
                    "requested_at": now,
                    "status": MetricsStatus.COMPUTING,
                },
            )
            if not created:  # made by a concurrent request between the update and the insert
                MapMetricsState.objects.filter(map_id=map_id).update(**bump)
    transaction.on_commit(lambda: recompute_map_metrics.enqueue(map_id), robust=True)


def request_recompute_of_maps(map_ids: Iterable[int]) -> None:
    """`request_recompute` for several maps (those a dataset or a persona feeds)."""
    for map_id in sorted(set(map_ids)):
        request_recompute(journey_map=map_id)


@dataclass(frozen=True)
class SubjectFigures:
    """The figures of one map for all users (persona_id None) or one persona."""

    persona_id: int | None
    figures: dict[str, Any]
    stage_ids: list[int | None]
    start: datetime | None
    end: datetime | None
    recent: dict[str, Any] | None
    previous: dict[str, Any] | None
    weekly: list[dict[str, Any]]


def metrics_recompute(*, map_id: int) -> dict[str, Any]:
    """Compute and store the map's figures unless the stored ones are already up to date."""
    journey_map = JourneyMap.objects.filter(pk=map_id).first()
    if journey_map is None:
        return {"map": map_id, "status": "deleted"}
    state, _ = MapMetricsState.objects.get_or_create(
        map_id=map_id,
        defaults={"requested_generation": 1, "requested_at": timezone.now()},
    )
    generation = state.requested_generation
    if state.computed_generation >= generation:
        return {"map": map_id, "status": "up to date", "generation": state.computed_generation}
    try:
        subjects, approximate = compute_map_figures(journey_map)
    except Exception as error:
        logger.exception("Figures of map %s (generation %s) failed", map_id, generation)
        _record_failure(map_id, generation, error)
        return {"map": map_id, "status": MetricsStatus.FAILED, "generation": generation}
    stored = _store(map_id, generation, subjects, approximate)
    return {
        "map": map_id,
        "status": MetricsStatus.READY if stored else "superseded",
        "generation": generation,
    }


def compute_map_figures(
    journey_map: JourneyMap,
) -> tuple[list[SubjectFigures], dict[str, Any] | None]:
    """Every figure the pages show: all users and each persona on the map; the report sums.

    The map's events are read once, with the fields of every rule and segment: each period and
    persona is computed on that one table (`compute_metrics_on`), with the figures that
    `compute_metrics` gives for it, and each rule and segment is tested once on all its rows.
    """
    from analytics.engine import (
        compute_approximate_metrics,
        compute_metrics_on,
        map_stages,
        metrics_fields,
        rule_masks,
    )
    from analytics.loading import load_events
    from touchpoints.rules import validate_rule

    stages = list(journey_map.stages.order_by("position", "pk").values_list("pk", "position"))
    personas = list(journey_map.personas.order_by("name", "pk"))
    segments = [persona.segment for persona in personas if persona.segment is not None]
    for segment in segments:
        validate_rule(segment, "persona.segment")
    stage_rules = map_stages(journey_map)
    events = load_events(
        journey_map=journey_map,
        start=None,
        end=None,
        fields=metrics_fields(stage_rules, segments),
    )

    masks = rule_masks(events, stage_rules, personas)  # every rule tested once, on every row

    def compute(**arguments: Any) -> dict[str, Any]:
        return compute_metrics_on(events, stages=stage_rules, masks=masks, **arguments)

    everyone = _subject(journey_map, None, stages, compute)
    subjects = [everyone]
    for persona in personas:
        if persona.segment is None:  # a persona without a segment keeps every user (§7)
            subjects.append(_renamed(everyone, persona.pk, persona.name))
        else:
            subjects.append(_subject(journey_map, persona, stages, compute))
    return subjects, compute_approximate_metrics(journey_map=journey_map)


def _subject(
    journey_map: JourneyMap, persona: Any, stages: list[tuple[int, int]], compute: Any
) -> SubjectFigures:
    figures = compute(journey_map=journey_map, persona=persona)
    start, end = _instant(figures["start"]), _instant(figures["end"])
    recent = previous = None
    weekly: list[dict[str, Any]] = []
    if start is not None and end is not None and end > start:
        window = timedelta(days=COMPARISON_DAYS)
        recent = compute(journey_map=journey_map, start=end - window, end=end, persona=persona)
        previous = compute(
            journey_map=journey_map, start=end - 2 * window, end=end - window, persona=persona
        )
        for week_start, week_end in iso_weeks(start, end):
            week = compute(journey_map=journey_map, start=week_start, end=week_end, persona=persona)
            year, number, _ = week_start.isocalendar()
            weekly.append(
                {
                    "week": f"{year}-W{number:02d}",
                    "start": week["start"],
                    "end": week["end"],
                    "totals": week["totals"],
                    "stages": week["stages"],
                }
            )
    return SubjectFigures(
        persona_id=persona.pk if persona is not None else None,
        figures=figures,
        stage_ids=_stage_ids(stages, figures["stages"]),
        start=start,
        end=end,
        recent=recent,
        previous=previous,
        weekly=weekly,
    )


def _stage_ids(stages: list[tuple[int, int]], figures: list[dict[str, Any]]) -> list[int | None]:
    """The stage of each entry of the figures (both in position order; by position if a stage
    was added or moved between the two reads, which the next run corrects)."""
    if [position for _, position in stages] == [entry["position"] for entry in figures]:
        return [pk for pk, _ in stages]
    by_position = {position: pk for pk, position in stages}
    return [by_position.get(entry["position"]) for entry in figures]


def _renamed(subject: SubjectFigures, persona_id: int, name: str) -> SubjectFigures:
    def named(figures: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if figures is None else {**figures, "persona": name}

    return SubjectFigures(
        persona_id=persona_id,
        figures=named(subject.figures),
        stage_ids=subject.stage_ids,
        start=subject.start,
        end=subject.end,
        recent=named(subject.recent),
        previous=named(subject.previous),
        weekly=subject.weekly,
    )


def iso_weeks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at each Monday 00:00 UTC: one (from, to) per ISO week it touches."""
    monday = datetime.combine(
        (start - timedelta(days=start.weekday())).date(), datetime.min.time(), tzinfo=UTC
    )
    weeks = []
    while monday < end:
        following = monday + timedelta(days=7)
        weeks.append((max(monday, start), min(following, end)))
        monday = following
    return weeks


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _store(
    map_id: int,
    generation: int,
    subjects: list[SubjectFigures],
    approximate: dict[str, Any] | None,
) -> bool:
    """Write a run's figures in one transaction, unless a newer run has already written its own."""
    with transaction.atomic():
        state = MapMetricsState.objects.select_for_update().get(map_id=map_id)
        if state.computed_generation >= generation:
            return False
        now = timezone.now()
        personas = {subject.persona_id for subject in subjects} - {None}
        on_map = set(
            JourneyMap.personas.through.objects.filter(
                journeymap_id=map_id, persona_id__in=personas
            ).values_list("persona_id", flat=True)
        )
        kept = []
        for subject in subjects:
            if subject.persona_id is not None and subject.persona_id not in on_map:
                continue  # taken off the map (or deleted) while this run computed
            kept.append(subject.persona_id)
            MapMetrics.objects.update_or_create(
                map_id=map_id,
                persona_id=subject.persona_id,
                defaults={
                    "generation": generation,
                    "computed_at": now,
                    "start": subject.start,
                    "end": subject.end,
                    "figures": subject.figures,
                    "stage_ids": subject.stage_ids,
                    "comparison_days": COMPARISON_DAYS,
                    "recent": subject.recent,
                    "previous": subject.previous,
                    "weekly": subject.weekly,
                    "approximate": approximate,
                },
            )
        MapMetrics.objects.filter(map_id=map_id, persona__isnull=False).exclude(
            persona_id__in=[pk for pk in kept if pk is not None]
        ).delete()
        state.computed_generation = generation
        state.computed_at = now
        state.error = ""
        if state.requested_generation <= generation:
            state.status = MetricsStatus.READY
        state.save(update_fields=["computed_generation", "computed_at", "error", "status"])
    return True


def _record_failure(map_id: int, generation: int, error: Exception) -> None:
    with transaction.atomic():
        state = MapMetricsState.objects.select_for_update().filter(map_id=map_id).first()
        if state is None or state.requested_generation > generation:
            return  # a newer request is on its way: its run decides
        state.status = MetricsStatus.FAILED
        state.error = f"{type(error).__name__}: {error}"[:2000]
        state.save(update_fields=["status", "error"])
