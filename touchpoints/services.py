"""Moving touchpoints within and between the stages of a map."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from journeymap.services import map_record_change
from stages.models import Stage
from stages.services import _lock_map
from touchpoints.models import Touchpoint


def touchpoint_move(
    *, touchpoint: Touchpoint, user: AbstractBaseUser | None, stage: Stage, position: int
) -> None:
    """Put a touchpoint at `position` (1-based, clamped) of `stage`, a stage of the same map."""
    if stage.map_id != touchpoint.stage.map_id:
        raise ValueError("A touchpoint moves only between stages of its own map.")
    source = touchpoint.stage
    with transaction.atomic():
        _lock_map(stage.map)
        siblings = [
            tp for tp in stage.touchpoints.order_by("position", "id") if tp.pk != touchpoint.pk
        ]
        position = max(1, min(position, len(siblings) + 1))
        touchpoint.stage = stage
        siblings.insert(position - 1, touchpoint)
        renumber_touchpoints(siblings)
        Touchpoint.objects.filter(pk=touchpoint.pk).update(stage=stage)
        if source.pk != stage.pk:
            renumber_touchpoints(list(source.touchpoints.order_by("position", "id")))
            # A pain point stays in its stage; its link to a touchpoint that left is dropped.
            touchpoint.pain_points.exclude(stage=stage).update(touchpoint=None)
        where = stage.name if source.pk == stage.pk else f"{source.name} to {stage.name}"
        map_record_change(
            journey_map=stage.map,
            user=user,
            action="touchpoint_moved",
            summary=f"Moved touchpoint {touchpoint.name} in {where}",
        )
    touchpoint.position = position


def renumber_touchpoints(touchpoints: list[Touchpoint]) -> None:
    """Give the touchpoints positions 1..n in list order, writing only those that changed."""
    changed = []
    for position, item in enumerate(touchpoints, start=1):
        if item.position != position:
            item.position = position
            changed.append(item)
    Touchpoint.objects.bulk_update(changed, ["position"])
