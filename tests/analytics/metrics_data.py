"""Analytics rows for the metrics engine's tests, written directly (not through the import)."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from analytics.models import (
    AggregateRow,
    Dataset,
    DatasetKind,
    DatasetStatus,
    Event,
    SurveyResponse,
)
from journeymap.models import JourneyMap, Workspace
from stages.models import Stage
from tests import factories

T0 = datetime(2019, 10, 1, tzinfo=UTC)


def at(**offset: float) -> datetime:
    """T0 plus an offset: at(hours=2), at(days=1, seconds=1)."""
    return T0 + timedelta(**offset)


def event(
    when: datetime,
    name: str,
    user: str = "",
    session: str = "s",
    *,
    revenue: float = 0.0,
    order: str = "",
    extra: dict | None = None,
    **fields: str,
) -> Event:
    """An unsaved event in canonical form."""
    return Event(
        timestamp=when,
        event=name,
        user_id=user,
        session_id=session,
        revenue=revenue,
        order_id=order,
        extra=extra,
        **fields,
    )


def dataset(
    workspace: Workspace,
    *,
    kind: str = DatasetKind.EVENTS,
    feeds: Iterable[JourneyMap] = (),
    name: str = "",
) -> Dataset:
    """A ready dataset of the workspace, attached to the maps it feeds."""
    created = Dataset.objects.create(
        workspace=workspace,
        name=name or f"{kind} export",
        kind=kind,
        status=DatasetStatus.READY,
        content_hash=f"{kind}-{Dataset.objects.count()}",
    )
    for journey_map in feeds:
        journey_map.datasets.add(created)
    return created


def events_dataset(
    workspace: Workspace, events: Iterable[Event], *, feeds: Iterable[JourneyMap] = ()
) -> Dataset:
    """An events dataset holding `events`."""
    created = dataset(workspace, feeds=feeds)
    rows = list(events)
    for row in rows:
        row.dataset = created
    Event.objects.bulk_create(rows)
    return created


def survey_dataset(
    workspace: Workspace,
    responses: Iterable[tuple[int, datetime | None]],
    *,
    feeds: Iterable[JourneyMap] = (),
) -> Dataset:
    """A survey dataset of (score, responded_at) answers."""
    created = dataset(workspace, kind=DatasetKind.SURVEY, feeds=feeds)
    SurveyResponse.objects.bulk_create(
        SurveyResponse(dataset=created, score=score, responded_at=when) for score, when in responses
    )
    return created


def aggregate_dataset(
    workspace: Workspace,
    rows: Iterable[tuple[dict, dict]],
    *,
    feeds: Iterable[JourneyMap] = (),
    name: str = "GA4 pages report",
) -> Dataset:
    """An aggregate (report) dataset of (dimensions, metrics) rows."""
    created = dataset(workspace, kind=DatasetKind.AGGREGATE, feeds=feeds, name=name)
    AggregateRow.objects.bulk_create(
        AggregateRow(dataset=created, dimensions=dimensions, metrics=metrics)
        for dimensions, metrics in rows
    )
    return created


def equals(field: str, value: object) -> dict:
    """The rule {"all": [field equals value]}."""
    return {"all": [{"field": field, "op": "equals", "value": value}]}


def stage(journey_map: JourneyMap, name: str, *rules: dict | None, kind: str = "custom") -> Stage:
    """A stage with one touchpoint per rule (None: a touchpoint without a rule)."""
    created = factories.make_stage(journey_map, name, kind=kind)
    for index, rule in enumerate(rules, start=1):
        factories.make_touchpoint(created, f"{name} touchpoint {index}", rule=rule)
    return created
