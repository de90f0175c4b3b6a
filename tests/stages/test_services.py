"""Writes on stages: add, edit one lane, reorder, delete; each on the map's change log."""

import pytest
from django.core.exceptions import ValidationError

from analytics.models import MapMetricsState
from journeymap.models import JourneyMap
from journeymap.versioning import StaleEdit
from stages.forms import STAGE_PARTS
from stages.models import Stage, StageKPI
from stages.services import stage_add, stage_delete, stage_move, stage_update
from tests import factories
from touchpoints.models import Opportunity, PainPoint, Touchpoint


@pytest.fixture
def editor(ws_editor):
    return ws_editor


@pytest.fixture
def journey_map(workspace) -> JourneyMap:
    """Awareness, Consideration, Purchase, Retention, in that order."""
    journey_map = factories.make_map(workspace, "Spring sale")
    for name in ("Awareness", "Consideration", "Purchase", "Retention"):
        factories.make_stage(journey_map, name)
    return journey_map


def order(journey_map: JourneyMap) -> list[tuple[int, str]]:
    return list(journey_map.stages.order_by("position").values_list("position", "name"))


def names(journey_map: JourneyMap) -> list[str]:
    return [name for _, name in order(journey_map)]


def stage(journey_map: JourneyMap, name: str) -> Stage:
    return journey_map.stages.get(name=name)


def last_change(journey_map: JourneyMap):
    return journey_map.changes.first()


# --- stage_add -------------------------------------------------------------------------------


def test_a_new_stage_goes_after_the_last(journey_map, editor) -> None:
    added = stage_add(journey_map=journey_map, user=editor, name="Advocacy")

    assert added.position == 5
    assert order(journey_map)[-1] == (5, "Advocacy")
    change = last_change(journey_map)
    assert (change.user, change.action, change.summary) == (
        editor,
        "stage_added",
        "Added stage Advocacy",
    )


def test_the_first_stage_of_a_blank_map_is_at_position_one(workspace, editor) -> None:
    blank = factories.make_map(workspace, "Blank")

    added = stage_add(journey_map=blank, user=editor)

    assert (added.position, added.name, added.version) == (1, "New stage", 1)


def test_a_new_stage_after_a_gap_still_goes_last(journey_map, editor) -> None:
    Stage.objects.filter(name="Retention").update(position=9)

    added = stage_add(journey_map=journey_map, user=editor)

    assert added.position == 10


def test_a_stage_without_a_name_is_refused_and_not_created(journey_map, editor) -> None:
    with pytest.raises(ValidationError) as refused:
        stage_add(journey_map=journey_map, user=editor, name="")

    assert "name" in refused.value.message_dict
    assert journey_map.stages.count() == 4
    assert not journey_map.changes.exists()


# --- stage_update ----------------------------------------------------------------------------


def test_an_edit_saves_only_its_lane_and_bumps_the_version(journey_map, editor) -> None:
    edited = stage(journey_map, "Purchase")
    edited.customer_goal = "Pay without surprises"
    edited.thoughts = "not part of this lane"

    stage_update(stage=edited, user=editor, expected_version=1, fields=["customer_goal"])

    stored = Stage.objects.get(pk=edited.pk)
    assert stored.customer_goal == "Pay without surprises"
    assert stored.thoughts == ""
    assert stored.version == edited.version == 2
    assert last_change(journey_map).summary == "Edited customer goal of stage Purchase"


def test_an_edit_against_an_old_version_is_refused_with_the_current_stage(
    journey_map, editor
) -> None:
    theirs = stage(journey_map, "Purchase")
    theirs.feelings = "Relieved"
    stage_update(stage=theirs, user=editor, expected_version=1, fields=["feelings"])
    mine = stage(journey_map, "Purchase")
    mine.feelings = "Anxious"

    with pytest.raises(StaleEdit) as refused:
        stage_update(stage=mine, user=editor, expected_version=1, fields=["feelings"])

    assert refused.value.current.feelings == "Relieved"
    assert refused.value.current.version == 2
    assert Stage.objects.get(pk=mine.pk).feelings == "Relieved"
    assert journey_map.changes.count() == 1  # only the save that went through


def test_saving_again_with_the_fresh_version_overwrites_deliberately(journey_map, editor) -> None:
    Stage.objects.filter(name="Purchase").update(feelings="Relieved", version=2)
    mine = stage(journey_map, "Purchase")
    mine.feelings = "Anxious"

    stage_update(stage=mine, user=editor, expected_version=2, fields=["feelings"])

    assert Stage.objects.get(pk=mine.pk).feelings == "Anxious"


def test_an_edit_of_a_deleted_stage_is_refused_with_nothing_current(journey_map, editor) -> None:
    gone = stage(journey_map, "Retention")
    Stage.objects.filter(pk=gone.pk).delete()
    gone.name = "Loyalty"

    with pytest.raises(StaleEdit) as refused:
        stage_update(stage=gone, user=editor, expected_version=1, fields=["name"])

    assert refused.value.current is None
    assert not Stage.objects.filter(name="Loyalty").exists()


@pytest.mark.parametrize("emotion", [-3, 3])
def test_an_emotion_outside_the_scale_is_refused(journey_map, editor, emotion) -> None:
    edited = stage(journey_map, "Awareness")
    edited.emotion = emotion

    with pytest.raises(ValidationError):
        stage_update(stage=edited, user=editor, expected_version=1, fields=["emotion"])

    stored = Stage.objects.get(pk=edited.pk)
    assert (stored.emotion, stored.version) == (0, 1)


def test_editing_one_stage_leaves_the_others_and_the_map_version_alone(journey_map, editor) -> None:
    edited = stage(journey_map, "Awareness")
    edited.name = "Discover"

    stage_update(stage=edited, user=editor, expected_version=1, fields=["name"])

    assert set(journey_map.stages.exclude(pk=edited.pk).values_list("version", flat=True)) == {1}
    assert JourneyMap.objects.get(pk=journey_map.pk).version == journey_map.version


# --- stage_move ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "position", "expected"),
    [
        ("Purchase", 1, ["Purchase", "Awareness", "Consideration", "Retention"]),
        ("Awareness", 4, ["Consideration", "Purchase", "Retention", "Awareness"]),
        ("Consideration", 3, ["Awareness", "Purchase", "Consideration", "Retention"]),
        ("Retention", 2, ["Awareness", "Retention", "Consideration", "Purchase"]),
        ("Purchase", 3, ["Awareness", "Consideration", "Purchase", "Retention"]),
    ],
)
def test_a_moved_stage_lands_where_asked_and_the_others_close_up(
    journey_map, editor, name, position, expected
) -> None:
    stage_move(stage=stage(journey_map, name), user=editor, position=position)

    assert order(journey_map) == list(enumerate(expected, start=1))


@pytest.mark.parametrize(("position", "landed"), [(0, 1), (-7, 1), (5, 4), (1000, 4)])
def test_a_position_off_the_map_is_clamped_to_its_ends(
    journey_map, editor, position, landed
) -> None:
    moved = stage(journey_map, "Consideration")

    stage_move(stage=moved, user=editor, position=position)

    assert moved.position == landed
    assert order(journey_map)[landed - 1] == (landed, "Consideration")
    assert [p for p, _ in order(journey_map)] == [1, 2, 3, 4]
    assert last_change(journey_map).summary == f"Moved stage Consideration to position {landed}"


def test_a_move_repairs_gaps_in_the_positions(journey_map, editor) -> None:
    for position, name in ((2, "Awareness"), (5, "Consideration"), (7, "Purchase")):
        Stage.objects.filter(name=name).update(position=position)
    Stage.objects.filter(name="Retention").update(position=11)

    stage_move(stage=stage(journey_map, "Retention"), user=editor, position=1)

    assert order(journey_map) == [
        (1, "Retention"),
        (2, "Awareness"),
        (3, "Consideration"),
        (4, "Purchase"),
    ]


def test_a_move_touches_only_this_map(journey_map, workspace, editor) -> None:
    other = factories.make_map(workspace, "Black Friday")
    factories.make_stage(other, "Elsewhere A")
    factories.make_stage(other, "Elsewhere B")

    stage_move(stage=stage(journey_map, "Retention"), user=editor, position=1)

    assert order(other) == [(1, "Elsewhere A"), (2, "Elsewhere B")]
    assert not other.changes.exists()


# --- stage_delete ----------------------------------------------------------------------------


def test_a_deleted_stage_takes_its_cards_and_the_others_close_up(journey_map, editor) -> None:
    doomed = stage(journey_map, "Consideration")
    touchpoint = factories.make_touchpoint(doomed, "Reviews")
    factories.make_pain_point(doomed, "Too many choices", touchpoint=touchpoint)
    factories.make_opportunity(doomed, "Comparison table")
    factories.make_kpi(doomed, "users")
    kept = factories.make_touchpoint(stage(journey_map, "Purchase"), "Checkout")

    stage_delete(stage=doomed, user=editor, expected_version=1)

    assert order(journey_map) == [(1, "Awareness"), (2, "Purchase"), (3, "Retention")]
    for model in (Touchpoint, PainPoint, Opportunity, StageKPI):
        assert not model.objects.filter(stage_id=doomed.pk).exists()
    assert Touchpoint.objects.filter(pk=kept.pk).exists()
    change = last_change(journey_map)
    assert (change.user, change.action, change.summary) == (
        editor,
        "stage_deleted",
        "Deleted stage Consideration",
    )


def test_a_stage_changed_since_it_was_seen_is_not_deleted(journey_map, editor) -> None:
    seen = stage(journey_map, "Purchase")
    Stage.objects.filter(pk=seen.pk).update(name="Checkout", version=2)

    with pytest.raises(StaleEdit) as refused:
        stage_delete(stage=seen, user=editor, expected_version=1)

    assert refused.value.current.name == "Checkout"
    assert names(journey_map) == ["Awareness", "Consideration", "Checkout", "Retention"]
    assert not journey_map.changes.exists()


def test_deleting_the_last_stage_leaves_an_empty_map(workspace, editor) -> None:
    journey_map = factories.make_map(workspace, "Tiny")
    only = factories.make_stage(journey_map, "Only")

    stage_delete(stage=only, user=editor, expected_version=1)

    assert order(journey_map) == []


# --- which stage edits ask for the figures again ---------------------------------------------


def requested_generation(journey_map: JourneyMap) -> int:
    state = MapMetricsState.objects.filter(map=journey_map).first()
    return state.requested_generation if state else 0


@pytest.mark.parametrize("part", ["goal", "actions", "thoughts", "feelings", "emotion"])
def test_a_text_edit_of_a_stage_does_not_ask_for_a_recompute(
    part, journey_map, editor, django_capture_on_commit_callbacks
) -> None:
    edited = stage(journey_map, "Purchase")
    fields = STAGE_PARTS[part]
    for name in fields:
        setattr(edited, name, 1 if name == "emotion" else f"New {name}")

    with django_capture_on_commit_callbacks() as callbacks:
        stage_update(stage=edited, user=editor, expected_version=1, fields=fields)

    assert callbacks == []  # no recompute task enqueued
    assert requested_generation(journey_map) == 0
    assert last_change(journey_map).action == "stage_edited"  # still on the change log
    assert Stage.objects.get(pk=edited.pk).version == 2


def test_renaming_a_stage_asks_for_a_recompute_as_the_figures_carry_its_name(
    journey_map, editor, django_capture_on_commit_callbacks
) -> None:
    edited = stage(journey_map, "Purchase")
    edited.name = "Checkout"

    with django_capture_on_commit_callbacks() as callbacks:
        stage_update(stage=edited, user=editor, expected_version=1, fields=["name", "kind"])

    assert len(callbacks) == 1
    assert requested_generation(journey_map) == 1
