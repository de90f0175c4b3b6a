"""Writes on stages: add, edit one lane, reorder, delete; each goes on the map's change log."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max

from journeymap.models import JourneyMap
from journeymap.services import map_record_change
from journeymap.versioning import StaleEdit, save_versioned
from stages.models import Stage


def _lock_map(journey_map: JourneyMap) -> None:
    # Structural changes (positions) on one map are serialised on the map row.
    JourneyMap.objects.select_for_update().filter(pk=journey_map.pk).values_list("pk").first()


def stage_add(
    *, journey_map: JourneyMap, user: AbstractBaseUser | None, name: str = "New stage"
) -> Stage:
    """Append a stage at the end of the map."""
    with transaction.atomic():
        _lock_map(journey_map)
        last = journey_map.stages.aggregate(last=Max("position"))["last"] or 0
        stage = Stage(map=journey_map, name=name, position=last + 1)
        stage.full_clean()
        stage.save()
        map_record_change(
            journey_map=journey_map, user=user, action="stage_added", summary=f"Added stage {name}"
        )
    return stage


# What the team writes on a stage: no figure is computed from it (the belief check reads the
# emotion score live), so editing it never costs a recompute over the events. The name and kind
# are not here: the stored figures carry them as the labels of the funnel and the dashboard.
STAGE_TEXT_FIELDS = frozenset(
    {"customer_goal", "description", "actions", "thoughts", "feelings", "emotion"}
)


def stage_update(
    *, stage: Stage, user: AbstractBaseUser | None, expected_version: int, fields: list[str]
) -> Stage:
    """Save the given fields of an edited stage unless someone else changed it first."""
    stage.full_clean()
    with transaction.atomic():
        save_versioned(instance=stage, expected_version=expected_version, fields=fields)
        map_record_change(
            journey_map=stage.map,
            user=user,
            action="stage_edited",
            summary=f"Edited {', '.join(fields).replace('_', ' ')} of stage {stage.name}",
            moves_figures=not STAGE_TEXT_FIELDS.issuperset(fields),
        )
    return stage


def stage_move(*, stage: Stage, user: AbstractBaseUser | None, position: int) -> None:
    """Move a stage to `position` (1-based, clamped); the others close up around it."""
    with transaction.atomic():
        _lock_map(stage.map)
        stages = list(stage.map.stages.order_by("position", "id"))
        current = next(s for s in stages if s.pk == stage.pk)
        stages.remove(current)
        position = max(1, min(position, len(stages) + 1))
        stages.insert(position - 1, current)
        _renumber(stages)
        map_record_change(
            journey_map=stage.map,
            user=user,
            action="stage_moved",
            summary=f"Moved stage {stage.name} to position {position}",
        )
    stage.position = position


def stage_delete(*, stage: Stage, user: AbstractBaseUser | None, expected_version: int) -> None:
    """Delete a stage and its cards, unless it changed since the editor saw it."""
    with transaction.atomic():
        _lock_map(stage.map)
        deleted, _ = Stage.objects.filter(pk=stage.pk, version=expected_version).delete()
        if not deleted:
            raise StaleEdit(Stage.objects.filter(pk=stage.pk).first())
        _renumber(list(stage.map.stages.order_by("position", "id")))
        map_record_change(
            journey_map=stage.map,
            user=user,
            action="stage_deleted",
            summary=f"Deleted stage {stage.name}",
        )


def _renumber(stages: list[Stage]) -> None:
    changed = []
    for position, item in enumerate(stages, start=1):
        if item.position != position:
            item.position = position
            changed.append(item)
    Stage.objects.bulk_update(changed, ["position"])
