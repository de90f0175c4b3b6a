"""Stage and StageKPI validation: what the editor and the JSON import refuse before saving."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from stages.models import Stage, StageKPI
from tests import factories


@pytest.fixture
def journey_map(workspace):
    return factories.make_map(workspace, "Checkout journey")


@pytest.mark.parametrize("emotion", [-2, -1, 0, 1, 2])
def test_an_emotion_from_minus_two_to_plus_two_is_valid(journey_map, emotion):
    stage = Stage(map=journey_map, position=1, name="Awareness", emotion=emotion)

    stage.full_clean()


@pytest.mark.parametrize(
    ("emotion", "message"),
    [
        (-3, "Ensure this value is greater than or equal to -2."),
        (3, "Ensure this value is less than or equal to 2."),
    ],
)
def test_an_emotion_outside_minus_two_to_plus_two_is_refused(journey_map, emotion, message):
    stage = Stage(map=journey_map, position=1, name="Awareness", emotion=emotion)

    with pytest.raises(ValidationError) as caught:
        stage.full_clean()

    assert caught.value.message_dict == {"emotion": [message]}


def test_the_database_refuses_an_out_of_range_emotion_too(journey_map):
    with pytest.raises(IntegrityError), transaction.atomic():
        Stage.objects.create(map=journey_map, position=1, name="Awareness", emotion=5)


def test_a_stage_position_starts_at_one(journey_map):
    Stage(map=journey_map, position=1, name="Awareness").full_clean()

    with pytest.raises(ValidationError) as caught:
        Stage(map=journey_map, position=0, name="Awareness").full_clean()

    assert caught.value.message_dict == {
        "position": ["Ensure this value is greater than or equal to 1."]
    }


def test_a_stage_needs_a_name_of_at_most_120_characters(journey_map):
    with pytest.raises(ValidationError) as caught:
        Stage(map=journey_map, position=1, name="").full_clean()
    assert caught.value.message_dict == {"name": ["This field cannot be blank."]}

    with pytest.raises(ValidationError) as caught:
        Stage(map=journey_map, position=1, name="x" * 121).full_clean()
    assert caught.value.message_dict == {
        "name": ["Ensure this value has at most 120 characters (it has 121)."]
    }


def test_a_stage_kind_must_be_one_of_the_kinds(journey_map):
    stage = Stage(map=journey_map, position=1, name="Awareness", kind="funnel")

    with pytest.raises(ValidationError) as caught:
        stage.full_clean()

    assert caught.value.message_dict == {"kind": ["Value 'funnel' is not a valid choice."]}


def test_a_new_stage_is_custom_and_neutral(journey_map):
    stage = factories.make_stage(journey_map, "Onboarding")

    assert (stage.kind, stage.emotion, stage.get_kind_display()) == ("custom", 0, "Custom")


def test_a_kpi_chooses_its_metric_from_the_catalogue(journey_map):
    stage = factories.make_stage(journey_map)
    StageKPI(stage=stage, metric="conversion_rate", target=0.3, direction="higher").full_clean()

    with pytest.raises(ValidationError) as caught:
        StageKPI(stage=stage, metric="clicks", target=10).full_clean()

    assert caught.value.message_dict == {"metric": ["Value 'clicks' is not a valid choice."]}


def test_a_kpi_target_is_optional_and_its_direction_higher_or_lower(journey_map):
    stage = factories.make_stage(journey_map)
    kpi = StageKPI(stage=stage, metric="bounce_rate", target=None, direction="lower")
    kpi.full_clean()

    kpi.direction = "up"
    with pytest.raises(ValidationError) as caught:
        kpi.full_clean()

    assert caught.value.message_dict == {"direction": ["Value 'up' is not a valid choice."]}


def test_a_kpi_reads_as_its_stage_and_metric(journey_map):
    kpi = factories.make_kpi(factories.make_stage(journey_map, "Purchase"), "aov", target=150)

    assert str(kpi) == "Purchase: Average order value (map total)"
