"""Touchpoint, PainPoint and Opportunity validation, including the touchpoint's rule field."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests import factories
from touchpoints.models import Opportunity, PainPoint, Touchpoint


@pytest.fixture
def stage(workspace):
    return factories.make_stage(factories.make_map(workspace, "Checkout journey"), "Purchase")


def touchpoint(stage, **fields) -> Touchpoint:
    fields = {"position": 1, "name": "Checkout", "channel": "website", **fields}
    return Touchpoint(stage=stage, **fields)


def test_a_touchpoint_with_a_rule_is_valid(stage):
    touchpoint(
        stage, rule={"all": [{"field": "event", "op": "equals", "value": "purchase"}]}
    ).full_clean()


def test_a_touchpoint_without_a_rule_is_valid(stage):
    touchpoint(stage, rule=None).full_clean()


def test_a_bad_rule_is_refused_by_the_model_field_with_its_path(stage):
    bad = touchpoint(stage, rule={"all": [{"field": "event", "op": "like", "value": "buy"}]})

    with pytest.raises(ValidationError) as caught:
        bad.full_clean()

    [message] = caught.value.message_dict["rule"]
    assert message.startswith("rule.all[0].op: unknown operator 'like'; use one of equals,")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"all": [], "any": []}, 'rule: must have exactly one key, "all" or "any"'),
        ({"any": [{"field": "event", "op": "in", "value": "view"}]}, "rule.any[0].value: must"),
        ({"all": [{"field": "page", "op": "regex", "value": "("}]}, "rule.all[0].value: is not"),
    ],
)
def test_other_bad_rules_are_refused_too(stage, rule, message):
    with pytest.raises(ValidationError) as caught:
        touchpoint(stage, rule=rule).full_clean()

    assert caught.value.message_dict["rule"][0].startswith(message)


@pytest.mark.parametrize(("emotion", "ok"), [(-3, False), (-2, True), (2, True), (3, False)])
def test_a_touchpoint_emotion_is_from_minus_two_to_plus_two(stage, emotion, ok):
    card = touchpoint(stage, emotion=emotion)

    if ok:
        card.full_clean()
    else:
        with pytest.raises(ValidationError) as caught:
            card.full_clean()
        assert list(caught.value.message_dict) == ["emotion"]


def test_a_touchpoint_position_starts_at_one(stage):
    with pytest.raises(ValidationError) as caught:
        touchpoint(stage, position=0).full_clean()

    assert caught.value.message_dict == {
        "position": ["Ensure this value is greater than or equal to 1."]
    }


def test_a_touchpoint_channel_must_be_one_of_the_channels(stage):
    with pytest.raises(ValidationError) as caught:
        touchpoint(stage, channel="tiktok").full_clean()

    assert caught.value.message_dict == {"channel": ["Value 'tiktok' is not a valid choice."]}
    assert touchpoint(stage, channel="mobile_app").get_channel_display() == "Mobile app"


@pytest.mark.parametrize(("severity", "ok"), [(0, False), (1, True), (5, True), (6, False)])
def test_a_pain_point_severity_is_from_one_to_five(stage, severity, ok):
    pain_point = PainPoint(stage=stage, title="Forced sign-up", severity=severity)

    if ok:
        pain_point.full_clean()
    else:
        with pytest.raises(ValidationError) as caught:
            pain_point.full_clean()
        assert list(caught.value.message_dict) == ["severity"]


@pytest.mark.parametrize("field", ["impact", "effort"])
@pytest.mark.parametrize(("score", "ok"), [(0, False), (1, True), (5, True), (6, False)])
def test_opportunity_impact_and_effort_are_from_one_to_five(stage, field, score, ok):
    opportunity = Opportunity(stage=stage, title="Guest checkout", **{field: score})

    if ok:
        opportunity.full_clean()
    else:
        with pytest.raises(ValidationError) as caught:
            opportunity.full_clean()
        assert list(caught.value.message_dict) == [field]


def test_the_database_refuses_out_of_range_scores_too(stage):
    with pytest.raises(IntegrityError), transaction.atomic():
        PainPoint.objects.create(stage=stage, title="x", severity=9)
    with pytest.raises(IntegrityError), transaction.atomic():
        Opportunity.objects.create(stage=stage, title="x", effort=0)


def test_new_cards_have_sensible_defaults(stage):
    pain_point = factories.make_pain_point(stage, "Forced sign-up")
    opportunity = factories.make_opportunity(stage, "Guest checkout", pain_point=pain_point)

    assert (pain_point.severity, pain_point.status) == (3, "open")
    assert (opportunity.impact, opportunity.effort, opportunity.status) == (3, 3, "idea")
    assert opportunity.get_status_display() == "Idea"


def test_deleting_a_touchpoint_keeps_its_pain_points_unlinked(stage):
    checkout = factories.make_touchpoint(stage, "Checkout")
    pain_point = factories.make_pain_point(stage, "Forced sign-up", touchpoint=checkout)

    checkout.delete()

    pain_point.refresh_from_db()
    assert pain_point.touchpoint is None


def test_untitled_cards_say_so(stage):
    assert str(PainPoint(stage=stage)) == "(untitled pain point)"
    assert str(Opportunity(stage=stage)) == "(untitled opportunity)"
