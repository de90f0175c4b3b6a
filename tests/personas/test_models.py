"""Persona validation: the segment rule, names unique within a workspace, initials."""

import pytest
from django.core.exceptions import ValidationError

from personas.models import Persona
from tests import factories


def test_a_persona_with_a_segment_rule_is_valid(workspace):
    Persona(
        workspace=workspace,
        name="Mobile-first Maya",
        segment={"all": [{"field": "device", "op": "equals", "value": "mobile"}]},
    ).full_clean()


def test_a_persona_without_a_segment_keeps_every_user(workspace):
    persona = Persona(workspace=workspace, name="Everyone", segment=None)

    persona.full_clean()


def test_a_bad_segment_rule_is_refused_with_its_path(workspace):
    persona = Persona(
        workspace=workspace,
        name="Big spender",
        segment={"all": [{"field": "revenue", "op": "gt", "value": [100]}]},
    )

    with pytest.raises(ValidationError) as caught:
        persona.full_clean()

    assert caught.value.message_dict == {
        "segment": ['rule.all[0].value: must be a string or a number for "gt"']
    }


def test_a_persona_name_is_unique_within_its_workspace_only(workspace, other_workspace):
    factories.make_persona(workspace, "Bargain hunter")

    with pytest.raises(ValidationError) as caught:
        Persona(workspace=workspace, name="Bargain hunter").full_clean()
    Persona(workspace=other_workspace, name="Bargain hunter").full_clean()

    assert caught.value.messages == ["Persona with this Workspace and Name already exists."]


def test_a_persona_needs_a_name(workspace):
    with pytest.raises(ValidationError) as caught:
        Persona(workspace=workspace, name="").full_clean()

    assert caught.value.message_dict == {"name": ["This field cannot be blank."]}


@pytest.mark.parametrize(
    ("name", "initials"),
    [
        ("Bargain hunter", "BH"),
        ("maya", "M"),
        ("Loyal Lena the Third", "LL"),
        ("— Ben", "B"),
        ("???", "?"),
    ],
)
def test_the_avatar_shows_the_initials_of_the_name(workspace, name, initials):
    assert Persona(workspace=workspace, name=name).initials == initials
