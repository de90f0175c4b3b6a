"""The cards of the map editor: what each kind is, and how one is added, edited and deleted.

A card is anything that sits in a stage's cell: touchpoints, pain points, opportunities and KPIs.
The editor's views are written once for all of them through this registry.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.db.models import Max

from journeymap.editor_forms import VersionedForm
from journeymap.services import map_record_change
from journeymap.versioning import StaleEdit, save_versioned
from stages.forms import StageKPIForm
from stages.models import Stage, StageKPI
from stages.services import _lock_map
from touchpoints.forms import OpportunityForm, PainPointForm, TouchpointForm
from touchpoints.models import Opportunity, PainPoint, Touchpoint
from touchpoints.services import renumber_touchpoints


@dataclass(frozen=True)
class CardKind:
    slug: str  # in URLs and template partial names
    label: str
    model: type[models.Model]
    form: type[VersionedForm]
    related_name: str  # the stage's reverse relation to its cards of this kind
    positioned: bool = False

    def title_of(self, card: models.Model) -> str:
        if isinstance(card, StageKPI):
            return card.get_metric_display()  # str(kpi) repeats the stage: "Purchase: Orders"
        return getattr(card, "name", None) or getattr(card, "title", "") or str(card)


CARD_KINDS = {
    kind.slug: kind
    for kind in (
        CardKind("touchpoint", "touchpoint", Touchpoint, TouchpointForm, "touchpoints", True),
        CardKind("pain_point", "pain point", PainPoint, PainPointForm, "pain_points"),
        CardKind("opportunity", "opportunity", Opportunity, OpportunityForm, "opportunities"),
        CardKind("kpi", "KPI", StageKPI, StageKPIForm, "kpis"),
    )
}


def card_create(
    *, kind: CardKind, card: models.Model, stage: Stage, user: AbstractBaseUser | None
) -> models.Model:
    """Add a validated new card to the end of its cell."""
    with transaction.atomic():
        _lock_map(stage.map)
        card.stage = stage
        if kind.positioned:
            last = stage.touchpoints.aggregate(last=Max("position"))["last"] or 0
            card.position = last + 1
        card.full_clean()
        card.save()
        map_record_change(
            journey_map=stage.map,
            user=user,
            action=f"{kind.slug}_added",
            summary=f"Added {kind.label} {kind.title_of(card)} to {stage.name}",
        )
    return card


def card_update(
    *,
    kind: CardKind,
    card: models.Model,
    user: AbstractBaseUser | None,
    expected_version: int,
    fields: list[str],
) -> models.Model:
    """Save an edited card unless someone else saved it first (then StaleEdit)."""
    card.full_clean()
    with transaction.atomic():
        save_versioned(instance=card, expected_version=expected_version, fields=fields)
        map_record_change(
            journey_map=card.stage.map,
            user=user,
            action=f"{kind.slug}_edited",
            summary=f"Edited {kind.label} {kind.title_of(card)} in {card.stage.name}",
        )
    return card


def card_delete(
    *, kind: CardKind, card: models.Model, user: AbstractBaseUser | None, expected_version: int
) -> None:
    """Delete a card unless it changed since the editor saw it (then StaleEdit)."""
    stage = card.stage
    with transaction.atomic():
        _lock_map(stage.map)
        deleted, _ = kind.model.objects.filter(pk=card.pk, version=expected_version).delete()
        if not deleted:
            raise StaleEdit(kind.model.objects.filter(pk=card.pk).first())
        if kind.positioned:
            renumber_touchpoints(list(stage.touchpoints.order_by("position", "id")))
        map_record_change(
            journey_map=stage.map,
            user=user,
            action=f"{kind.slug}_deleted",
            summary=f"Deleted {kind.label} {kind.title_of(card)} from {stage.name}",
        )
