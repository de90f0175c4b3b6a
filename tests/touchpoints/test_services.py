"""Moving touchpoints within and between the stages of a map."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stages.models import Stage
from tests import factories
from touchpoints.models import Touchpoint
from touchpoints.services import renumber_touchpoints, touchpoint_move


@pytest.fixture
def editor(ws_editor):
    return ws_editor


@pytest.fixture
def journey_map(workspace):
    """Awareness: Instagram ads, Google search, Newsletter. Consideration: Product page, Reviews."""
    journey_map = factories.make_map(workspace, "Spring sale")
    awareness = factories.make_stage(journey_map, "Awareness")
    for name in ("Instagram ads", "Google search", "Newsletter"):
        factories.make_touchpoint(awareness, name)
    consideration = factories.make_stage(journey_map, "Consideration")
    for name in ("Product page", "Reviews"):
        factories.make_touchpoint(consideration, name)
    factories.make_stage(journey_map, "Purchase")
    return journey_map


def stage(journey_map, name: str) -> Stage:
    return journey_map.stages.get(name=name)


def touchpoint(name: str) -> Touchpoint:
    return Touchpoint.objects.select_related("stage").get(name=name)


def order(journey_map, stage_name: str) -> list[tuple[int, str]]:
    touchpoints = Touchpoint.objects.filter(stage__map=journey_map, stage__name=stage_name)
    return list(touchpoints.order_by("position").values_list("position", "name"))


@pytest.mark.parametrize(
    ("name", "position", "expected"),
    [
        ("Google search", 1, ["Google search", "Instagram ads", "Newsletter"]),  # up
        ("Google search", 3, ["Instagram ads", "Newsletter", "Google search"]),  # down
        ("Instagram ads", 3, ["Google search", "Newsletter", "Instagram ads"]),
        ("Newsletter", 1, ["Newsletter", "Instagram ads", "Google search"]),
        ("Newsletter", 3, ["Instagram ads", "Google search", "Newsletter"]),  # where it is
    ],
)
def test_a_touchpoint_moves_within_its_stage(journey_map, editor, name, position, expected):
    moved = touchpoint(name)

    touchpoint_move(
        touchpoint=moved, user=editor, stage=stage(journey_map, "Awareness"), position=position
    )

    assert moved.position == position
    assert order(journey_map, "Awareness") == list(enumerate(expected, start=1))
    change = journey_map.changes.first()
    assert (change.user, change.action, change.summary) == (
        editor,
        "touchpoint_moved",
        f"Moved touchpoint {name} in Awareness",
    )


def test_a_touchpoint_moves_to_another_stage_and_both_stages_close_up(journey_map, editor):
    moved = touchpoint("Google search")

    touchpoint_move(
        touchpoint=moved, user=editor, stage=stage(journey_map, "Consideration"), position=2
    )

    assert order(journey_map, "Awareness") == [(1, "Instagram ads"), (2, "Newsletter")]
    assert order(journey_map, "Consideration") == [
        (1, "Product page"),
        (2, "Google search"),
        (3, "Reviews"),
    ]
    assert touchpoint("Google search").stage.name == "Consideration"
    assert journey_map.changes.first().summary == (
        "Moved touchpoint Google search in Awareness to Consideration"
    )


def test_a_touchpoint_moves_into_an_empty_stage(journey_map, editor) -> None:
    touchpoint_move(
        touchpoint=touchpoint("Reviews"),
        user=editor,
        stage=stage(journey_map, "Purchase"),
        position=5,
    )

    assert order(journey_map, "Purchase") == [(1, "Reviews")]
    assert order(journey_map, "Consideration") == [(1, "Product page")]


@pytest.mark.parametrize(("position", "landed"), [(0, 1), (-3, 1), (3, 3), (9999, 3)])
def test_a_position_off_the_stage_is_clamped_to_its_ends(journey_map, editor, position, landed):
    moved = touchpoint("Instagram ads")

    touchpoint_move(
        touchpoint=moved, user=editor, stage=stage(journey_map, "Consideration"), position=position
    )

    assert moved.position == landed
    assert order(journey_map, "Consideration")[landed - 1] == (landed, "Instagram ads")
    assert [p for p, _ in order(journey_map, "Consideration")] == [1, 2, 3]


def test_a_pain_point_keeps_its_stage_but_loses_a_touchpoint_that_left(journey_map, editor):
    awareness = stage(journey_map, "Awareness")
    moved = touchpoint("Instagram ads")
    slow_ads = factories.make_pain_point(awareness, "Slow ads", touchpoint=moved)
    stays = factories.make_pain_point(awareness, "Spammy", touchpoint=touchpoint("Newsletter"))

    touchpoint_move(
        touchpoint=moved, user=editor, stage=stage(journey_map, "Consideration"), position=1
    )

    slow_ads.refresh_from_db()
    stays.refresh_from_db()
    assert (slow_ads.stage, slow_ads.touchpoint) == (awareness, None)
    assert stays.touchpoint.name == "Newsletter"


def test_a_pain_point_keeps_its_touchpoint_when_it_moves_within_the_stage(journey_map, editor):
    awareness = stage(journey_map, "Awareness")
    moved = touchpoint("Instagram ads")
    slow_ads = factories.make_pain_point(awareness, "Slow ads", touchpoint=moved)

    touchpoint_move(touchpoint=moved, user=editor, stage=awareness, position=3)

    slow_ads.refresh_from_db()
    assert slow_ads.touchpoint == moved


def test_a_touchpoint_never_moves_to_another_map(journey_map, workspace, editor) -> None:
    elsewhere = factories.make_stage(factories.make_map(workspace, "Black Friday"), "Elsewhere")
    moved = touchpoint("Instagram ads")

    with pytest.raises(ValueError, match="only between stages of its own map"):
        touchpoint_move(touchpoint=moved, user=editor, stage=elsewhere, position=1)

    assert touchpoint("Instagram ads").stage.name == "Awareness"
    assert order(journey_map, "Awareness")[0] == (1, "Instagram ads")
    assert not elsewhere.touchpoints.exists()
    assert not journey_map.changes.exists()


def test_renumbering_writes_only_the_touchpoints_whose_position_changed(journey_map) -> None:
    touchpoints = list(Touchpoint.objects.filter(stage__name="Awareness").order_by("position"))
    touchpoints.append(touchpoints.pop(1))  # Instagram ads, Newsletter, Google search

    with CaptureQueriesContext(connection) as queries:
        renumber_touchpoints(touchpoints)

    assert len(queries) == 1  # one bulk update, of two rows
    assert order(journey_map, "Awareness") == [
        (1, "Instagram ads"),
        (2, "Newsletter"),
        (3, "Google search"),
    ]


def test_renumbering_touchpoints_already_in_order_writes_nothing(journey_map) -> None:
    touchpoints = list(Touchpoint.objects.filter(stage__name="Awareness").order_by("position"))

    with CaptureQueriesContext(connection) as queries:
        renumber_touchpoints(touchpoints)

    assert len(queries) == 0
