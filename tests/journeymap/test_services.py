"""The write services of journeymap, called directly as views and commands call them."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from journeymap import services
from journeymap.models import JourneyMap, MapChange, Membership
from journeymap.scoping import Role
from personas.models import Persona
from stages.models import Stage, StageKPI
from tests import factories
from touchpoints.models import Opportunity, PainPoint, Touchpoint


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def role_of(user, workspace) -> str | None:
    membership = Membership.objects.filter(workspace=workspace, user=user).first()
    return membership.role if membership else None


def membership(user, workspace) -> Membership:
    return Membership.objects.get(workspace=workspace, user=user)


# --- member_add ------------------------------------------------------------------------------


def test_member_add_finds_a_user_by_username_whatever_its_case(workspace) -> None:
    bob = factories.make_user("bob")

    added = services.member_add(workspace=workspace, identifier=" BOB ", role=Role.EDITOR)

    assert added.user == bob
    assert role_of(bob, workspace) == Role.EDITOR


def test_member_add_finds_a_user_by_email_whatever_its_case(workspace) -> None:
    bob = factories.make_user("bob", email="Bob.Smith@Example.com")

    services.member_add(workspace=workspace, identifier="bob.smith@EXAMPLE.COM", role=Role.VIEWER)

    assert role_of(bob, workspace) == Role.VIEWER


@pytest.mark.parametrize("identifier", ["ghost", "ghost@example.com", "", "   "])
def test_member_add_refuses_someone_who_has_no_account(workspace, identifier: str) -> None:
    with pytest.raises(ValidationError) as refused:
        services.member_add(workspace=workspace, identifier=identifier, role=Role.EDITOR)

    assert "No user with username or email" in refused.value.message_dict["identifier"][0]
    assert not Membership.objects.filter(workspace=workspace).exists()


def test_member_add_refuses_a_deactivated_account(workspace) -> None:
    factories.make_user("gone", is_active=False)

    with pytest.raises(ValidationError, match="No user with username or email"):
        services.member_add(workspace=workspace, identifier="gone", role=Role.EDITOR)

    assert not Membership.objects.filter(workspace=workspace).exists()


def test_member_add_refuses_an_existing_member_and_keeps_their_role(workspace, ws_viewer) -> None:
    with pytest.raises(ValidationError) as refused:
        services.member_add(workspace=workspace, identifier="vera", role=Role.ADMIN)

    assert refused.value.message_dict["identifier"] == ["vera is already a member."]
    assert role_of(ws_viewer, workspace) == Role.VIEWER


def test_member_add_refuses_an_unknown_role(workspace) -> None:
    bob = factories.make_user("bob")

    with pytest.raises(ValidationError) as refused:
        services.member_add(workspace=workspace, identifier="bob", role="owner")

    assert "role" in refused.value.message_dict
    assert role_of(bob, workspace) is None


def test_member_add_to_one_workspace_leaves_the_other_alone(
    workspace, other_workspace, outsider
) -> None:
    services.member_add(workspace=workspace, identifier="mallory", role=Role.VIEWER)

    assert role_of(outsider, workspace) == Role.VIEWER
    assert role_of(outsider, other_workspace) == Role.ADMIN


# --- member_set_role -------------------------------------------------------------------------


def test_member_set_role_changes_the_role(workspace, ws_admin, ws_viewer) -> None:
    services.member_set_role(membership=membership(ws_viewer, workspace), role=Role.EDITOR)

    assert role_of(ws_viewer, workspace) == Role.EDITOR


def test_the_last_admin_cannot_be_demoted(workspace, ws_admin, ws_editor) -> None:
    with pytest.raises(ValidationError, match="at least one admin"):
        services.member_set_role(membership=membership(ws_admin, workspace), role=Role.VIEWER)

    assert role_of(ws_admin, workspace) == Role.ADMIN


def test_an_admin_of_another_workspace_does_not_count_as_the_other_admin(
    workspace, ws_admin, outsider
) -> None:
    with pytest.raises(ValidationError, match="at least one admin"):
        services.member_set_role(membership=membership(ws_admin, workspace), role=Role.EDITOR)

    assert role_of(ws_admin, workspace) == Role.ADMIN


def test_an_admin_can_be_demoted_when_another_admin_remains(workspace, ws_admin) -> None:
    ada = factories.make_member(workspace, Role.ADMIN, factories.make_user("ada"))

    services.member_set_role(membership=membership(ws_admin, workspace), role=Role.EDITOR)

    assert role_of(ws_admin, workspace) == Role.EDITOR
    assert role_of(ada, workspace) == Role.ADMIN


def test_the_last_admin_may_be_set_to_admin_again(workspace, ws_admin) -> None:
    services.member_set_role(membership=membership(ws_admin, workspace), role=Role.ADMIN)

    assert role_of(ws_admin, workspace) == Role.ADMIN


def test_member_set_role_refuses_an_unknown_role(workspace, ws_admin, ws_editor) -> None:
    with pytest.raises(ValidationError) as refused:
        services.member_set_role(membership=membership(ws_editor, workspace), role="owner")

    assert "role" in refused.value.message_dict
    assert role_of(ws_editor, workspace) == Role.EDITOR


# --- member_remove ---------------------------------------------------------------------------


def test_member_remove_takes_the_member_out_but_keeps_the_account(
    workspace, ws_admin, ws_editor
) -> None:
    services.member_remove(membership=membership(ws_editor, workspace))

    assert role_of(ws_editor, workspace) is None
    ws_editor.refresh_from_db()
    assert ws_editor.is_active


def test_the_last_admin_cannot_be_removed(workspace, ws_admin, ws_editor) -> None:
    with pytest.raises(ValidationError, match="at least one admin"):
        services.member_remove(membership=membership(ws_admin, workspace))

    assert role_of(ws_admin, workspace) == Role.ADMIN


def test_an_admin_can_be_removed_when_another_admin_remains(workspace, ws_admin) -> None:
    factories.make_member(workspace, Role.ADMIN, factories.make_user("ada"))

    services.member_remove(membership=membership(ws_admin, workspace))

    assert role_of(ws_admin, workspace) is None


# --- maps ------------------------------------------------------------------------------------


def test_map_create_refuses_an_unknown_template_and_creates_nothing(workspace, ws_editor) -> None:
    with pytest.raises(ValidationError) as refused:
        services.map_create(workspace=workspace, user=ws_editor, name="X", template="astrology")

    assert refused.value.message_dict == {"template": ["Unknown template 'astrology'."]}
    assert not JourneyMap.objects.exists()
    assert not MapChange.objects.exists()


def test_map_create_gives_a_second_map_of_the_same_name_its_own_address(
    workspace, ws_editor
) -> None:
    first = services.map_create(workspace=workspace, user=ws_editor, name="", template="buyers")
    second = services.map_create(workspace=workspace, user=ws_editor, name="", template="buyers")

    assert (first.name, first.slug) == ("Buyer's journey", "buyers-journey")
    assert (second.name, second.slug) == ("Buyer's journey", "buyers-journey-2")
    assert first.created_by == second.created_by == ws_editor


def test_map_create_logs_who_created_the_map(workspace, ws_editor) -> None:
    journey_map = services.map_create(
        workspace=workspace, user=ws_editor, name="Spring sale", template="ecommerce"
    )

    change = journey_map.changes.get()
    assert (change.user, change.summary) == (ws_editor, "Created Spring sale")


def test_map_duplicate_copies_everything_and_keeps_the_same_personas(workspace, ws_editor) -> None:
    original = factories.make_map(workspace, "Spring sale", status="published")
    hunter = factories.make_persona(workspace, "Bargain hunter")
    gifter = factories.make_persona(workspace, "Gift buyer")
    original.personas.add(hunter, gifter)
    stage = factories.make_stage(original, "Awareness", kind="awareness", emotion=1)
    ads = factories.make_touchpoint(stage, "Instagram ads", channel="social")
    factories.make_touchpoint(stage, "Newsletter", channel="email")
    pain = factories.make_pain_point(stage, "Ads look like spam", touchpoint=ads, severity=4)
    factories.make_opportunity(stage, "Creator videos", pain_point=pain)
    factories.make_kpi(stage, "users", target=1000)
    factories.make_stage(original, "Purchase", kind="purchase")

    copy = services.map_duplicate(journey_map=original, user=ws_editor)

    assert (copy.name, copy.slug, copy.status) == (
        "Spring sale (copy)",
        "spring-sale-copy",
        "draft",
    )
    assert set(copy.personas.all()) == {hunter, gifter}
    assert Persona.objects.filter(workspace=workspace).count() == 2
    assert list(copy.stages.order_by("position").values_list("name", "kind", "emotion")) == [
        ("Awareness", "awareness", 1),
        ("Purchase", "purchase", 0),
    ]
    copied_stage = copy.stages.get(name="Awareness")
    assert list(copied_stage.touchpoints.order_by("position").values_list("name", flat=True)) == [
        "Instagram ads",
        "Newsletter",
    ]
    copied_pain = PainPoint.objects.get(stage=copied_stage)
    assert (copied_pain.title, copied_pain.touchpoint.name) == (
        "Ads look like spam",
        "Instagram ads",
    )
    assert copied_pain.touchpoint.stage == copied_stage
    assert Opportunity.objects.get(stage=copied_stage).pain_point == copied_pain
    assert StageKPI.objects.get(stage=copied_stage).target == 1000
    # The original is untouched.
    assert Stage.objects.filter(map=original).count() == 2
    assert Touchpoint.objects.filter(stage__map=original).count() == 2
    assert original.personas.count() == 2


def test_duplicating_twice_gives_each_copy_its_own_address(workspace, ws_editor) -> None:
    original = factories.make_map(workspace, "Spring sale")

    first = services.map_duplicate(journey_map=original, user=ws_editor)
    second = services.map_duplicate(journey_map=original, user=ws_editor)

    assert [first.slug, second.slug] == ["spring-sale-copy", "spring-sale-copy-2"]
    assert first.name == second.name == "Spring sale (copy)"


def test_map_set_archived_logs_the_change_and_marks_the_map_as_just_edited(
    workspace, ws_editor
) -> None:
    journey_map = factories.make_map(workspace, "Spring sale")
    JourneyMap.objects.filter(pk=journey_map.pk).update(
        updated_at=timezone.now() - timedelta(days=3)
    )

    services.map_set_archived(journey_map=journey_map, user=ws_editor, archived=True)

    journey_map.refresh_from_db()
    assert journey_map.is_archived
    assert timezone.now() - journey_map.updated_at < timedelta(minutes=1)
    assert not JourneyMap.objects.active().filter(pk=journey_map.pk).exists()
    change = journey_map.changes.get()
    assert (change.user, change.action, change.summary) == (ws_editor, "archived", "Archived")


def test_map_set_archived_restores_and_logs_that_too(workspace, ws_editor) -> None:
    journey_map = factories.make_map(workspace, "Spring sale")
    services.map_set_archived(journey_map=journey_map, user=ws_editor, archived=True)

    services.map_set_archived(journey_map=journey_map, user=ws_editor, archived=False)

    journey_map.refresh_from_db()
    assert not journey_map.is_archived
    assert JourneyMap.objects.active().filter(pk=journey_map.pk).exists()
    assert list(journey_map.changes.values_list("action", flat=True)) == ["restored", "archived"]


def test_map_delete_removes_the_map_but_not_the_workspace_personas(workspace) -> None:
    journey_map = factories.make_map(workspace, "Spring sale")
    journey_map.personas.add(factories.make_persona(workspace, "Bargain hunter"))
    factories.make_touchpoint(factories.make_stage(journey_map, "Awareness"), "Ads")

    services.map_delete(journey_map=journey_map)

    assert not JourneyMap.objects.exists()
    assert not Stage.objects.exists()
    assert not Touchpoint.objects.exists()
    assert Persona.objects.filter(workspace=workspace, name="Bargain hunter").exists()
