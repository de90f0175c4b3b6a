from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from journeymap.models import MapChange
from journeymap.versioning import StaleEdit
from personas import services
from personas.models import Persona
from tests import factories
from tests.personas.images import image_bytes, upload


@pytest.fixture
def persona(workspace):
    return factories.make_persona(workspace, "Bargain hunter", goals="Pay less")


def test_create_makes_a_persona_at_version_one(workspace):
    persona = services.persona_create(
        workspace=workspace, name="  Gift giver ", summary="Buys for others"
    )

    persona.refresh_from_db()
    assert (persona.name, persona.summary, persona.version) == ("Gift giver", "Buys for others", 1)


def test_create_refuses_a_name_already_used_in_the_workspace(workspace, persona):
    with pytest.raises(ValidationError) as refusal:
        services.persona_create(workspace=workspace, name="Bargain hunter")

    assert refusal.value.message_dict == {
        "name": ["There is already a persona named “Bargain hunter” in this workspace."]
    }


def test_the_same_name_is_fine_in_another_workspace(other_workspace, persona):
    services.persona_create(workspace=other_workspace, name="Bargain hunter")

    assert Persona.objects.filter(name="Bargain hunter").count() == 2


def test_update_saves_and_increments_the_version(persona):
    services.persona_update(
        persona=persona,
        expected_version=1,
        changes={"goals": "Find the best deal", "quote": "Cheap!"},
    )

    persona.refresh_from_db()
    assert (persona.goals, persona.quote, persona.version) == ("Find the best deal", "Cheap!", 2)


def test_update_on_an_old_version_is_refused_and_changes_nothing(persona):
    services.persona_update(persona=persona, expected_version=1, changes={"goals": "First save"})
    stale_copy = Persona.objects.get(pk=persona.pk)
    stale_copy.version = 1  # what the second editor's form still carries

    with pytest.raises(StaleEdit):
        services.persona_update(persona=stale_copy, expected_version=1, changes={"goals": "Second"})

    persona.refresh_from_db()
    assert (persona.goals, persona.version) == ("First save", 2)


def test_update_refuses_a_bad_segment_rule_with_its_path(persona):
    bad = {"all": [{"field": "event", "op": "like", "value": "x"}]}

    with pytest.raises(ValidationError) as refusal:
        services.persona_update(persona=persona, expected_version=1, changes={"segment": bad})

    assert "rule.all[0].op: unknown operator 'like'" in refusal.value.message_dict["segment"][0]
    persona.refresh_from_db()
    assert (persona.segment, persona.version) == (None, 1)


def test_update_refuses_renaming_onto_another_persona(workspace, persona):
    other = factories.make_persona(workspace, "Loyal fan")

    with pytest.raises(ValidationError) as refusal:
        services.persona_update(
            persona=other, expected_version=1, changes={"name": "Bargain hunter"}
        )

    assert "already a persona named “Bargain hunter”" in refusal.value.message_dict["name"][0]
    assert Persona.objects.get(pk=other.pk).name == "Loyal fan"


def test_update_refuses_fields_that_are_not_editable(persona):
    with pytest.raises(ValueError, match="workspace"):
        services.persona_update(persona=persona, expected_version=1, changes={"workspace": None})


def test_set_avatar_stores_the_image_under_a_generated_name(persona):
    services.persona_set_avatar(
        persona=persona, expected_version=1, upload=upload("<b>me</b>.png", image_bytes("PNG"))
    )

    persona.refresh_from_db()
    assert persona.avatar.name.startswith("avatars/")
    assert persona.avatar.name.endswith(".png")
    assert "<b>" not in persona.avatar.name
    assert persona.avatar.read() == image_bytes("PNG")
    assert persona.version == 2


def test_set_avatar_names_the_file_by_its_real_format(persona):
    services.persona_set_avatar(
        persona=persona, expected_version=1, upload=upload("photo.png", image_bytes("JPEG"))
    )

    persona.refresh_from_db()
    assert persona.avatar.name.endswith(".jpg")


def test_set_avatar_refuses_what_is_not_an_image(persona):
    with pytest.raises(ValidationError, match="not an image"):
        services.persona_set_avatar(
            persona=persona, expected_version=1, upload=upload("x.png", b"GIF89a but not really")
        )

    persona.refresh_from_db()
    assert (persona.avatar.name, persona.version) == ("", 1)


def test_set_avatar_on_an_old_version_is_refused_and_leaves_no_file(persona, settings):
    services.persona_update(persona=persona, expected_version=1, changes={"quote": "Hi"})

    with pytest.raises(StaleEdit):
        services.persona_set_avatar(
            persona=persona, expected_version=1, upload=upload("a.png", image_bytes("PNG"))
        )

    persona.refresh_from_db()
    assert persona.avatar.name == ""
    avatars = settings.MEDIA_ROOT / "avatars"
    assert not avatars.exists() or not any(avatars.iterdir())


def test_removing_the_avatar_goes_back_to_initials_and_deletes_the_file(
    persona, django_capture_on_commit_callbacks
):
    services.persona_set_avatar(
        persona=persona, expected_version=1, upload=upload("a.png", image_bytes("PNG"))
    )
    stored = Path(persona.avatar.path)
    assert stored.exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.persona_set_avatar(persona=persona, expected_version=2, upload=None)

    persona.refresh_from_db()
    assert (persona.avatar.name, persona.initials, persona.version) == ("", "BH", 3)
    assert not stored.exists()


def test_delete_takes_the_persona_off_its_maps_and_logs_it(workspace, persona, ws_editor):
    kept = factories.make_persona(workspace, "Loyal fan")
    journey = factories.make_map(workspace, "Checkout journey")
    journey.personas.set([persona, kept])

    services.persona_delete(persona=persona, user=ws_editor)

    assert not Persona.objects.filter(name="Bargain hunter").exists()
    assert list(journey.personas.values_list("name", flat=True)) == ["Loyal fan"]
    change = MapChange.objects.get(map=journey)
    assert change.user == ws_editor
    assert "Bargain hunter" in change.summary
