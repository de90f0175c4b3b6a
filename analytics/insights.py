"""Insights of the dashboard (DESIGN §9a), read off a map's stored figures: each one carries the
numbers behind it.

Pure functions over the §8 figures dict (its "stages" and "totals") and, where the team's own view
of a stage matters, `StageNotes` (or, for KPIs, `KpiTarget`) keyed by the index of the stage in
`figures["stages"]`. Nothing here queries the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics.figures import TOTAL_METRICS


@dataclass(frozen=True)
class StageNotes:
    """What the team wrote on a stage: its emotion score, pain points and opportunities."""

    name: str
    emotion: int = 0
    pain_points: Sequence[tuple[str, int]] = field(default_factory=tuple)  # (title, severity)
    opportunities: Sequence[tuple[str, int]] = field(default_factory=tuple)  # (title, impact)


@dataclass(frozen=True)
class Step:
    """One step of the funnel: from the measured stage before to this one."""

    index: int  # of the stage in figures["stages"]
    name: str
    from_name: str
    from_users: int
    users: int
    drop_off: int
    conversion_rate: float | None


@dataclass(frozen=True)
class StageAtRisk:
    """Revenue at risk at a step: users lost there × the purchase stage's average order value."""

    step: Step
    aov: float
    at_risk: float


@dataclass(frozen=True)
class RankedCard:
    """A pain point or an opportunity of a stage, ranked by the revenue at risk of its stage."""

    kind: str  # "pain point" or "opportunity"
    title: str
    score: int  # severity or impact
    stage: str
    at_risk: float


@dataclass(frozen=True)
class BeliefCheck:
    """A stage where the team's emotion score and the data disagree."""

    kind: str  # "feels_fine_converts_worst" or "feels_bad_converts_best"
    step: Step
    emotion: int


def funnel_steps(figures: Mapping[str, Any] | None) -> list[Step]:
    """The steps of the funnel: each measured stage after the first, from the one before it."""
    if not figures:
        return []
    steps: list[Step] = []
    before: tuple[str, int] | None = None
    for index, entry in enumerate(figures.get("stages") or []):
        if not entry.get("measured") or entry.get("funnel_users") is None:
            continue
        if before is not None:
            steps.append(
                Step(
                    index=index,
                    name=entry["name"],
                    from_name=before[0],
                    from_users=before[1],
                    users=entry["funnel_users"],
                    drop_off=entry.get("drop_off") or 0,
                    conversion_rate=entry.get("conversion_rate"),
                )
            )
        before = (entry["name"], entry["funnel_users"])
    return steps


def biggest_drop_off(figures: Mapping[str, Any] | None) -> Step | None:
    """The step that loses the most users (the first of equal ones); None if none loses any."""
    losing = [step for step in funnel_steps(figures) if step.drop_off > 0]
    return max(losing, key=lambda step: step.drop_off, default=None)


def purchase_stage(figures: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The stage whose average order value prices a lost user: the measured stage of kind
    purchase, else the last measured stage with revenue; None when there is neither."""
    stages = [entry for entry in (figures or {}).get("stages") or [] if entry.get("measured")]
    for entry in stages:
        if entry.get("kind") == "purchase":
            return entry
    with_revenue = [entry for entry in stages if (entry.get("revenue") or 0) > 0]
    return with_revenue[-1] if with_revenue else None


def revenue_at_risk(figures: Mapping[str, Any] | None) -> list[StageAtRisk]:
    """Each losing step's drop-off × totals.aov, the most money first; empty without a purchase
    stage or an average order value."""
    if purchase_stage(figures) is None:
        return []
    aov = (figures or {}).get("totals", {}).get("aov")
    if not aov:
        return []
    risks = [
        StageAtRisk(step=step, aov=aov, at_risk=step.drop_off * aov)
        for step in funnel_steps(figures)
        if step.drop_off > 0
    ]
    return sorted(risks, key=lambda risk: (-risk.at_risk, risk.step.index))


def ranked_cards(risks: Sequence[StageAtRisk], notes: Mapping[int, StageNotes]) -> list[RankedCard]:
    """The pain points and opportunities of the stages at risk, the most money first (then the
    highest severity or impact)."""
    cards: list[RankedCard] = []
    for risk in risks:
        stage = notes.get(risk.step.index)
        if stage is None:
            continue
        for title, severity in stage.pain_points:
            cards.append(RankedCard("pain point", title, severity, risk.step.name, risk.at_risk))
        for title, impact in stage.opportunities:
            cards.append(RankedCard("opportunity", title, impact, risk.step.name, risk.at_risk))
    return sorted(cards, key=lambda card: (-card.at_risk, -card.score))


def belief_checks(
    figures: Mapping[str, Any] | None, notes: Mapping[int, StageNotes]
) -> list[BeliefCheck]:
    """Where feeling and data disagree: the step with the worst conversion (the highest share of
    users dropping off) scored positive (emotion > 0), and the one with the best conversion scored
    negative (emotion < 0)."""
    steps = [step for step in funnel_steps(figures) if step.conversion_rate is not None]
    if not steps:
        return []
    checks: list[BeliefCheck] = []
    worst = min(steps, key=lambda step: step.conversion_rate)
    best = max(steps, key=lambda step: step.conversion_rate)
    if worst.index in notes and notes[worst.index].emotion > 0:
        checks.append(BeliefCheck("feels_fine_converts_worst", worst, notes[worst.index].emotion))
    if best.index in notes and notes[best.index].emotion < 0:
        checks.append(BeliefCheck("feels_bad_converts_best", best, notes[best.index].emotion))
    return checks


@dataclass(frozen=True)
class KpiTarget:
    """A stage KPI as the insights read it: where its value lives and the target it aims at."""

    index: int  # of its stage in figures["stages"]
    stage: str
    metric: str  # of the catalogue (stages.models.Metric)
    label: str
    target: float | None
    direction: str  # "higher" or "lower" is better


@dataclass(frozen=True)
class CrossedTarget:
    """A KPI that met its target in one period and not in the other: before → after vs target."""

    kpi: KpiTarget
    before: float
    after: float

    @property
    def now_met(self) -> bool:
        return meets(self.after, self.kpi)


def kpi_value(figures: Mapping[str, Any] | None, index: int, metric: str) -> float | None:
    """The KPI's value in a figures dict: a map total, or its stage's figure (None if missing)."""
    if not figures:
        return None
    if metric in TOTAL_METRICS:
        return (figures.get("totals") or {}).get(TOTAL_METRICS[metric][0])
    stages = figures.get("stages") or []
    return stages[index].get(metric) if 0 <= index < len(stages) else None


def meets(value: float, kpi: KpiTarget) -> bool:
    """Whether a value meets the KPI's target in its direction."""
    assert kpi.target is not None
    return value >= kpi.target if kpi.direction == "higher" else value <= kpi.target


def crossed_targets(
    kpis: Sequence[KpiTarget],
    current: Mapping[str, Any] | None,
    previous: Mapping[str, Any] | None,
) -> list[CrossedTarget]:
    """The KPIs that crossed their target between the previous period and the current one (either
    way: now met, or no longer met), in the order given; a KPI without a target or without a value
    in either period never crosses."""
    crossed = []
    for kpi in kpis:
        if kpi.target is None:
            continue
        before = kpi_value(previous, kpi.index, kpi.metric)
        after = kpi_value(current, kpi.index, kpi.metric)
        if before is None or after is None:
            continue
        if meets(before, kpi) != meets(after, kpi):
            crossed.append(CrossedTarget(kpi=kpi, before=before, after=after))
    return crossed
