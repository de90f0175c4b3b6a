"""The pages of the journeymap app as a user sees them: maps, one map, import/export, members."""

import json
import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pytest_django.asserts import (
    assertContains,
    assertInHTML,
    assertNotContains,
    assertRedirects,
)

from journeymap.models import JourneyMap, MapChange, Membership
from journeymap.scoping import Role
from personas.models import Persona
from stages.models import Stage
from tests import factories
from tests.conftest import logged_in
from touchpoints.models import Touchpoint

XSS = "<script>alert(1)</script>"
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def maps_url(**query: str) -> str:
    url = reverse("map_list", args=["acme"])
    return f"{url}?{'&'.join(f'{key}={value}' for key, value in query.items())}" if query else url


def card(response, journey_map: JourneyMap) -> str:
    """The HTML of one map's card on the maps list."""
    content = response.content.decode()
    start = content.index(f'<li class="card map-card" id="map-{journey_map.pk}">')
    return content[start : content.index("</li>", start) + len("</li>")]


def in_order(content: str, *texts: str) -> bool:
    """Whether every text appears in the page, each after the one before."""
    positions = [content.index(text) for text in texts]
    return positions == sorted(positions)


def shown_in_order(content: str, prefix: str, objects: list) -> bool:
    """Whether the page shows the objects' elements (`id="<prefix>-<pk>..."`) in that order."""
    found = [re.search(rf'id="{prefix}-{obj.pk}["-]', content) for obj in objects]
    assert all(found), f"not every {prefix} is on the page"
    positions = [match.start() for match in found]
    return positions == sorted(positions)


def stage_names(journey_map: JourneyMap) -> list[str]:
    return list(journey_map.stages.order_by("position").values_list("name", flat=True))


def map_file(document: object, name: str = "journey.json") -> SimpleUploadedFile:
    text = document if isinstance(document, str | bytes) else json.dumps(document)
    content = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, content, content_type="application/json")


def spring_sale(workspace) -> JourneyMap:
    """A published map with two personas and three stages; Awareness has two touchpoints."""
    journey_map = factories.make_map(workspace, "Spring sale", status="published")
    journey_map.personas.add(
        factories.make_persona(workspace, "Bargain hunter"),
        factories.make_persona(workspace, "Gift buyer"),
    )
    awareness = factories.make_stage(journey_map, "Awareness", kind="awareness")
    factories.make_touchpoint(awareness, "Instagram ads", channel="social")
    factories.make_touchpoint(awareness, "Newsletter", channel="email")
    factories.make_stage(journey_map, "Consideration", kind="consideration")
    factories.make_stage(journey_map, "Purchase", kind="purchase")
    return journey_map


# --- the maps list -----------------------------------------------------------------------------


def test_maps_list_shows_a_card_per_map_with_personas_stage_count_and_status(
    ws_viewer_client, workspace
) -> None:
    journey_map = spring_sale(workspace)
    idea = factories.make_map(workspace, "Blank idea")

    response = ws_viewer_client.get(maps_url())

    spring = card(response, journey_map)
    assertInHTML(f'<a href="{journey_map.get_absolute_url()}">Spring sale</a>', spring)
    assertInHTML('<span class="chip" title="">Bargain hunter</span>', spring)
    assertInHTML('<span class="chip" title="">Gift buyer</span>', spring)
    assertInHTML("<div><dt>Stages</dt><dd>3</dd></div>", spring)
    assertInHTML('<span class="badge status-published">Published</span>', spring)
    blank = card(response, idea)
    assert "No persona yet" in blank
    assertInHTML("<div><dt>Stages</dt><dd>0</dd></div>", blank)
    assertInHTML('<span class="badge status-draft">Draft</span>', blank)


def test_maps_list_shows_only_this_workspaces_maps(
    ws_viewer_client, workspace, other_workspace
) -> None:
    factories.make_map(workspace, "Spring sale")
    factories.make_map(other_workspace, "Rival secret plan")

    response = ws_viewer_client.get(maps_url())

    assertContains(response, "Spring sale")
    assertNotContains(response, "Rival secret plan")


def test_an_empty_workspace_invites_an_editor_to_create_a_map(ws_editor_client) -> None:
    response = ws_editor_client.get(maps_url())

    assertContains(response, "No maps yet. Create one from a template above")


def test_a_viewer_sees_the_maps_without_the_buttons_that_change_them(
    ws_viewer_client, workspace
) -> None:
    journey_map = spring_sale(workspace)

    response = ws_viewer_client.get(maps_url())

    assertContains(response, "Export JSON")
    assertNotContains(response, "Create map")
    assertNotContains(response, reverse("map_duplicate", args=["acme", journey_map.slug]))
    assertNotContains(response, reverse("map_archive", args=["acme", journey_map.slug]))
    assertNotContains(response, reverse("map_delete", args=["acme", journey_map.slug]))


def test_an_editor_can_create_duplicate_and_archive_but_not_delete(
    ws_editor_client, workspace
) -> None:
    journey_map = spring_sale(workspace)

    response = ws_editor_client.get(maps_url())

    assertContains(response, "Create map")
    assertContains(response, reverse("map_duplicate", args=["acme", journey_map.slug]))
    assertContains(response, reverse("map_archive", args=["acme", journey_map.slug]))
    assertNotContains(response, reverse("map_delete", args=["acme", journey_map.slug]))


def test_an_admin_gets_a_delete_link_on_each_card(ws_admin_client, workspace) -> None:
    journey_map = spring_sale(workspace)

    response = ws_admin_client.get(maps_url())

    assertContains(response, reverse("map_delete", args=["acme", journey_map.slug]))


def test_an_archived_map_leaves_the_list_and_can_be_restored(ws_editor_client, workspace) -> None:
    journey_map = spring_sale(workspace)
    archive_url = reverse("map_archive", args=["acme", journey_map.slug])

    archived = ws_editor_client.post(archive_url, {"archived": "1"}, follow=True)

    assertRedirects(archived, maps_url())
    assertContains(archived, "Archived “Spring sale”.")
    assertNotContains(archived, f'id="map-{journey_map.pk}"')
    assertContains(archived, '<a href="?archived=1">1 archived map</a>', html=True)

    archive_page = ws_editor_client.get(maps_url(archived="1"))
    assertContains(archive_page, "Archived maps")
    restore_form = card(archive_page, journey_map)
    assertInHTML('<input type="hidden" name="archived" value="0">', restore_form)
    assertInHTML('<button type="submit" class="link">Restore</button>', restore_form)

    restored = ws_editor_client.post(archive_url, {"archived": "0"}, follow=True)

    assertContains(restored, "Restored “Spring sale”.")
    assert "Spring sale" in card(restored, journey_map)
    assertNotContains(restored, "archived map")
    assert ws_editor_client.get(maps_url(archived="1")).context["maps"].count() == 0


def test_the_archived_list_says_when_there_is_none(ws_viewer_client, workspace) -> None:
    factories.make_map(workspace, "Spring sale")

    response = ws_viewer_client.get(maps_url(archived="1"))

    assertContains(response, "No archived maps.")
    assertNotContains(response, "Spring sale")


# --- creating, duplicating, deleting -----------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "default_name", "stages"),
    [
        (
            "ecommerce",
            "E-commerce journey",
            ["Awareness", "Consideration", "Purchase", "Retention", "Advocacy"],
        ),
        (
            "discovery",
            "Discovery to engagement journey",
            ["Discovery", "Interest", "Intent", "Purchase", "Engagement"],
        ),
        ("buyers", "Buyer's journey", ["Awareness", "Interest", "Consideration", "Decision"]),
        ("blank", "Blank map", []),
    ],
)
def test_a_map_created_from_a_template_has_its_stages_in_order(
    ws_editor_client, workspace, template: str, default_name: str, stages: list[str]
) -> None:
    response = ws_editor_client.post(
        reverse("map_create", args=["acme"]), {"name": "", "template": template}, follow=True
    )

    journey_map = JourneyMap.objects.get(workspace=workspace)
    assertRedirects(response, journey_map.get_absolute_url())
    assert journey_map.name == default_name
    assert stage_names(journey_map) == stages
    assertContains(response, f"Created “{escape(default_name)}”.")
    if stages:
        ordered = list(journey_map.stages.order_by("position"))
        assert shown_in_order(response.content.decode(), "stage", ordered)
        for name in stages:
            assertContains(response, name)
    else:
        assertContains(response, "This map has no stages yet.")


def test_a_map_created_with_a_name_keeps_it(ws_editor_client, workspace) -> None:
    response = ws_editor_client.post(
        reverse("map_create", args=["acme"]), {"name": "Black Friday", "template": "ecommerce"}
    )

    assertRedirects(response, "/w/acme/maps/black-friday/")
    assert JourneyMap.objects.get(workspace=workspace).name == "Black Friday"


@pytest.mark.parametrize("name", ["Q3_launch", "Spring sale (copy)_2"])
def test_a_name_with_an_underscore_still_gets_a_map(ws_editor_client, workspace, name: str) -> None:
    response = ws_editor_client.post(
        reverse("map_create", args=["acme"]), {"name": name, "template": "blank"}
    )

    journey_map = JourneyMap.objects.get(workspace=workspace)
    assertRedirects(response, journey_map.get_absolute_url())
    assert journey_map.name == name
    assert "_" not in journey_map.slug


def test_creating_with_an_unknown_template_explains_and_creates_nothing(
    ws_editor_client, workspace
) -> None:
    response = ws_editor_client.post(
        reverse("map_create", args=["acme"]), {"name": "X", "template": "astrology"}, follow=True
    )

    assertRedirects(response, maps_url())
    assertContains(response, "Choose one of the templates to create a map.")
    assert not JourneyMap.objects.exists()


def test_duplicate_makes_a_draft_copy_with_the_same_stages_touchpoints_and_personas(
    ws_editor_client, workspace
) -> None:
    original = spring_sale(workspace)

    response = ws_editor_client.post(
        reverse("map_duplicate", args=["acme", original.slug]), follow=True
    )

    assertRedirects(response, maps_url())
    assertContains(response, "Duplicated as “Spring sale (copy)”.")
    copy = JourneyMap.objects.get(name="Spring sale (copy)")
    assert copy.pk != original.pk
    assert copy.status == "draft"
    assert stage_names(copy) == ["Awareness", "Consideration", "Purchase"]
    assert list(
        Touchpoint.objects.filter(stage__map=copy)
        .order_by("stage__position", "position")
        .values_list("stage__name", "name", "channel")
    ) == [("Awareness", "Instagram ads", "social"), ("Awareness", "Newsletter", "email")]
    assert set(copy.personas.values_list("name", flat=True)) == {"Bargain hunter", "Gift buyer"}
    assert Persona.objects.filter(workspace=workspace).count() == 2
    assert stage_names(original) == ["Awareness", "Consideration", "Purchase"]
    assert "Spring sale (copy)" in card(response, copy)


def test_delete_asks_for_confirmation_first(ws_admin_client, workspace) -> None:
    journey_map = spring_sale(workspace)

    response = ws_admin_client.get(reverse("map_delete", args=["acme", journey_map.slug]))

    assertContains(response, "Delete “Spring sale”?")
    assertContains(response, "with its 3 stages")
    assertContains(response, '<button type="submit" class="danger">Delete the map</button>')
    assert JourneyMap.objects.filter(pk=journey_map.pk).exists()
    assert Stage.objects.filter(map=journey_map).count() == 3


def test_delete_removes_the_map_and_everything_on_it_but_keeps_personas(
    ws_admin_client, workspace
) -> None:
    journey_map = spring_sale(workspace)

    response = ws_admin_client.post(
        reverse("map_delete", args=["acme", journey_map.slug]), follow=True
    )

    assertRedirects(response, maps_url())
    assertContains(response, "Deleted “Spring sale”.")
    assert not JourneyMap.objects.filter(pk=journey_map.pk).exists()
    assert not Stage.objects.exists()
    assert not Touchpoint.objects.exists()
    assert Persona.objects.filter(workspace=workspace).count() == 2
    assert ws_admin_client.get(journey_map.get_absolute_url()).status_code == 404


# --- one map -----------------------------------------------------------------------------------


def test_map_detail_shows_stages_and_touchpoints_in_position_order(
    ws_viewer_client, workspace
) -> None:
    journey_map = factories.make_map(workspace, "Spring sale")
    # Made out of order on purpose: the page must follow `position`, not creation order.
    purchase = factories.make_stage(journey_map, "Purchase", position=3)
    awareness = factories.make_stage(journey_map, "Awareness", position=1)
    factories.make_stage(journey_map, "Consideration", position=2)
    factories.make_touchpoint(awareness, "Newsletter", position=2)
    factories.make_touchpoint(awareness, "Instagram ads", position=1)
    factories.make_touchpoint(purchase, "Checkout", position=1)

    response = ws_viewer_client.get(journey_map.get_absolute_url())

    content = response.content.decode()
    consideration = journey_map.stages.get(name="Consideration")
    assert shown_in_order(content, "stage", [awareness, consideration, purchase])
    assert shown_in_order(
        content, "touchpoint", list(Touchpoint.objects.order_by("stage__position", "position"))
    )
    assert in_order(content, "Instagram ads", "Newsletter", "Checkout")


def test_map_detail_shows_the_cards_of_each_stage(ws_viewer_client, workspace) -> None:
    journey_map = spring_sale(workspace)
    awareness = journey_map.stages.get(name="Awareness")
    factories.make_pain_point(awareness, "Ads look like spam", severity=4)
    factories.make_opportunity(awareness, "Use creator videos", impact=5, effort=2)
    factories.make_kpi(awareness, "users", target=1000)

    response = ws_viewer_client.get(journey_map.get_absolute_url())

    assertContains(response, "Ads look like spam")
    assertContains(response, "Use creator videos")
    assertContains(response, "Bargain hunter")
    assertContains(response, "Gift buyer")
    assertContains(response, '<span class="badge status-published">Published</span>', html=True)


def test_an_unknown_map_is_not_found(ws_viewer_client, workspace) -> None:
    response = ws_viewer_client.get(reverse("map_detail", args=["acme", "no-such-map"]))

    assertContains(response, "Not found", status_code=404)


# --- export and import -------------------------------------------------------------------------


def test_export_downloads_the_map_as_a_json_attachment(ws_viewer_client, workspace) -> None:
    journey_map = spring_sale(workspace)

    response = ws_viewer_client.get(reverse("map_export", args=["acme", journey_map.slug]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="spring-sale.json"'
    document = json.loads(response.content)
    assert document["schema"] == "journeymap/v1"
    assert document["name"] == "Spring sale"
    assert [stage["name"] for stage in document["stages"]] == [
        "Awareness",
        "Consideration",
        "Purchase",
    ]
    assert [tp["name"] for tp in document["stages"][0]["touchpoints"]] == [
        "Instagram ads",
        "Newsletter",
    ]
    assert [persona["name"] for persona in document["personas"]] == ["Bargain hunter", "Gift buyer"]


def test_an_exported_file_imports_back_as_the_same_map(ws_editor_client, workspace) -> None:
    original = spring_sale(workspace)
    exported = ws_editor_client.get(reverse("map_export", args=["acme", original.slug])).content

    response = ws_editor_client.post(
        reverse("map_import", args=["acme"]), {"file": map_file(exported)}
    )

    imported = JourneyMap.objects.exclude(pk=original.pk).get()
    assertRedirects(response, imported.get_absolute_url())
    assert imported.slug == "spring-sale-2"
    assert imported.name == "Spring sale"
    assert stage_names(imported) == stage_names(original)
    reexported = json.loads(
        ws_editor_client.get(reverse("map_export", args=["acme", imported.slug])).content
    )
    assert {**reexported, "slug": "spring-sale"} == json.loads(exported)


def test_importing_a_good_file_opens_the_new_map(ws_editor_client, workspace) -> None:
    document = {
        "schema": "journeymap/v1",
        "name": "Imported journey",
        "stages": [
            {"name": "Awareness", "touchpoints": [{"name": "Newsletter", "channel": "email"}]},
            {"name": "Purchase"},
        ],
    }

    response = ws_editor_client.post(
        reverse("map_import", args=["acme"]), {"file": map_file(document)}, follow=True
    )

    journey_map = JourneyMap.objects.get(workspace=workspace)
    assertRedirects(response, journey_map.get_absolute_url())
    assertContains(response, "Imported “Imported journey”.")
    assertContains(response, "Newsletter")
    assert stage_names(journey_map) == ["Awareness", "Purchase"]


def test_the_import_page_has_an_upload_form(ws_editor_client) -> None:
    response = ws_editor_client.get(reverse("map_import", args=["acme"]))

    assertContains(response, 'enctype="multipart/form-data"')
    assertContains(response, 'type="file" name="file"')


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        pytest.param(
            {
                "schema": "journeymap/v1",
                "name": "Broken",
                "stages": [{"name": "Awareness", "touchpoints": [{"name": "X", "channel": "fax"}]}],
            },
            "stages[0].touchpoints[0].channel: must be one of",
            id="bad-channel",
        ),
        pytest.param(
            {"schema": "journeymap/v1", "name": "Broken", "stages": [{"name": ""}]},
            "stages[0].name",
            id="empty-stage-name",
        ),
        pytest.param(
            {"schema": "journeymap/v1", "stages": []}, "name: is required", id="missing-name"
        ),
        pytest.param('{"schema": "journeymap/v1",', "$: not valid JSON", id="truncated"),
        pytest.param(b"\xff\xfe not text", "$: the file is not UTF-8 text", id="not-utf8"),
        pytest.param("[1, 2]", "$: must be an object, not a list", id="a-list"),
    ],
)
def test_a_bad_file_is_refused_with_the_json_path_and_nothing_is_created(
    ws_editor_client, workspace, content: object, shown: str
) -> None:
    response = ws_editor_client.post(
        reverse("map_import", args=["acme"]), {"file": map_file(content)}
    )

    assertContains(response, "The file was not imported; nothing was created.", status_code=422)
    assertContains(response, shown, status_code=422)
    assert not JourneyMap.objects.exists()
    assert not Stage.objects.exists()
    assert not Persona.objects.exists()
    assert not MapChange.objects.exists()


def test_a_bad_file_does_not_create_its_personas_either(ws_editor_client, workspace) -> None:
    document = {
        "schema": "journeymap/v1",
        "name": "Broken",
        "personas": [{"name": "Gift buyer"}],
        "stages": [{"name": "Awareness", "emotion": 7}],
    }

    response = ws_editor_client.post(
        reverse("map_import", args=["acme"]), {"file": map_file(document)}
    )

    assertContains(response, "stages[0].emotion", status_code=422)
    assert not Persona.objects.exists()


def test_an_oversized_file_is_refused_with_its_size_and_the_limit(
    ws_editor_client, workspace, settings
) -> None:
    settings.MAX_MAP_JSON_BYTES = 1_000_000
    padding = " " * 1_500_000
    document = f'{{"schema": "journeymap/v1", "name": "Huge", "stages": []{padding}}}'

    response = ws_editor_client.post(
        reverse("map_import", args=["acme"]), {"file": map_file(document)}
    )

    assertContains(response, "The file is 1.5 MB; a map file may be at most 1 MB.", status_code=422)
    assert not JourneyMap.objects.exists()


def test_an_import_without_a_file_says_one_is_needed(ws_editor_client) -> None:
    response = ws_editor_client.post(reverse("map_import", args=["acme"]), {})

    assertContains(response, "This field is required.", status_code=422)
    assert not JourneyMap.objects.exists()


# --- members ----------------------------------------------------------------------------------


def members_url() -> str:
    return reverse("member_list", args=["acme"])


def role_of(username: str, workspace) -> str | None:
    membership = Membership.objects.filter(workspace=workspace, user__username=username).first()
    return membership.role if membership else None


def test_members_page_lists_each_member_with_their_role(
    ws_admin_client, ws_editor, ws_viewer, workspace
) -> None:
    response = ws_admin_client.get(members_url())

    content = response.content.decode()
    assert in_order(content, "alice", "eddie", "vera")
    assertContains(response, 'alice <span class="muted">(you)</span>', html=False)
    eddie = Membership.objects.get(user=ws_editor)
    assertContains(response, f'id="member-{eddie.pk}"')
    assertInHTML('<option value="editor" selected>Editor</option>', content)
    assertInHTML('<option value="viewer" selected>Viewer</option>', content)


def test_an_admin_adds_a_member_by_username(ws_admin_client, workspace) -> None:
    factories.make_user("bob")

    response = ws_admin_client.post(
        members_url(), {"identifier": "bob", "role": Role.EDITOR}, follow=True
    )

    assertRedirects(response, members_url())
    assertContains(response, "Added bob as Editor.")
    assert role_of("bob", workspace) == Role.EDITOR


def test_an_admin_adds_a_member_by_email_whatever_its_case(ws_admin_client, workspace) -> None:
    factories.make_user("bob", email="Bob.Smith@Example.com")

    response = ws_admin_client.post(
        members_url(), {"identifier": "  bob.smith@EXAMPLE.COM ", "role": Role.VIEWER}, follow=True
    )

    assertContains(response, "Added bob as Viewer.")
    assert role_of("bob", workspace) == Role.VIEWER


def test_adding_an_unknown_user_says_so_and_adds_nobody(ws_admin_client, workspace) -> None:
    response = ws_admin_client.post(members_url(), {"identifier": "ghost", "role": Role.EDITOR})

    assertContains(response, "No user with username or email", status_code=422)
    assertContains(response, "ghost", status_code=422)
    assert Membership.objects.filter(workspace=workspace).count() == 1


def test_adding_someone_who_is_already_a_member_says_so_and_keeps_their_role(
    ws_admin_client, ws_viewer, workspace
) -> None:
    response = ws_admin_client.post(members_url(), {"identifier": "vera", "role": Role.ADMIN})

    assertContains(response, "vera is already a member.", status_code=422)
    assert role_of("vera", workspace) == Role.VIEWER


def test_adding_with_an_empty_form_asks_for_a_username_or_email(ws_admin_client, workspace) -> None:
    response = ws_admin_client.post(members_url(), {})

    assertContains(response, "This field is required.", status_code=422)
    assert Membership.objects.filter(workspace=workspace).count() == 1


def test_an_admin_changes_a_members_role(ws_admin_client, ws_editor, workspace) -> None:
    eddie = Membership.objects.get(user=ws_editor)

    response = ws_admin_client.post(
        reverse("member_role", args=["acme", eddie.pk]), {"role": Role.VIEWER}, follow=True
    )

    assertRedirects(response, members_url())
    assertContains(response, "eddie is now Viewer.")
    assert role_of("eddie", workspace) == Role.VIEWER


def test_an_unknown_role_is_refused_with_a_message(ws_admin_client, ws_editor, workspace) -> None:
    eddie = Membership.objects.get(user=ws_editor)

    response = ws_admin_client.post(
        reverse("member_role", args=["acme", eddie.pk]), {"role": "owner"}, follow=True
    )

    assertContains(response, "Choose admin, editor or viewer.")
    assert role_of("eddie", workspace) == Role.EDITOR


def test_an_admin_removes_a_member_who_then_loses_access(
    ws_admin_client, ws_editor, workspace
) -> None:
    eddie = Membership.objects.get(user=ws_editor)

    response = ws_admin_client.post(reverse("member_remove", args=["acme", eddie.pk]), follow=True)

    assertRedirects(response, members_url())
    assertContains(response, "Removed eddie.")
    assert role_of("eddie", workspace) is None
    assert logged_in(ws_editor).get(maps_url()).status_code == 404


def test_the_last_admin_cannot_be_demoted(ws_admin_client, ws_admin, workspace) -> None:
    alice = Membership.objects.get(user=ws_admin)

    response = ws_admin_client.post(
        reverse("member_role", args=["acme", alice.pk]), {"role": Role.EDITOR}, follow=True
    )

    assertContains(response, "A workspace needs at least one admin: this is the last one.")
    assert role_of("alice", workspace) == Role.ADMIN


def test_the_last_admin_cannot_be_removed(ws_admin_client, ws_admin, workspace) -> None:
    alice = Membership.objects.get(user=ws_admin)

    response = ws_admin_client.post(reverse("member_remove", args=["acme", alice.pk]), follow=True)

    assertContains(response, "A workspace needs at least one admin: this is the last one.")
    assert role_of("alice", workspace) == Role.ADMIN


def test_an_admin_who_leaves_is_taken_home(ws_admin_client, ws_admin, workspace) -> None:
    factories.make_member(workspace, Role.ADMIN, factories.make_user("ada"))
    alice = Membership.objects.get(user=ws_admin)

    response = ws_admin_client.post(reverse("member_remove", args=["acme", alice.pk]), follow=True)

    assertRedirects(response, reverse("home"))
    assertContains(response, "Removed alice.")
    assertContains(response, "You are not a member of any workspace yet.")
    assert role_of("ada", workspace) == Role.ADMIN


# --- home, login, logout ----------------------------------------------------------------------


def test_home_goes_straight_to_the_only_workspace(ws_viewer_client) -> None:
    response = ws_viewer_client.get(reverse("home"))

    assertRedirects(response, maps_url())


def test_home_lets_a_member_of_several_workspaces_pick_one(
    workspace, other_workspace, ws_viewer
) -> None:
    factories.make_member(other_workspace, Role.EDITOR, ws_viewer)

    response = logged_in(ws_viewer).get(reverse("home"))

    assertContains(response, "Your workspaces")
    assertContains(response, '<a class="card block-link" href="/w/acme/">Acme Shop</a>', html=True)
    assertContains(
        response, '<a class="card block-link" href="/w/rival/">Rival Shop</a>', html=True
    )


def test_home_returns_to_the_workspace_used_last(workspace, other_workspace, ws_viewer) -> None:
    factories.make_member(other_workspace, Role.EDITOR, ws_viewer)
    client = logged_in(ws_viewer)
    client.get(reverse("map_list", args=["rival"]))

    response = client.get(reverse("home"))

    assertRedirects(response, "/w/rival/")


def test_home_explains_what_to_do_without_a_workspace(db) -> None:
    response = logged_in(factories.make_user("newbie")).get(reverse("home"))

    assertContains(response, "You are not a member of any workspace yet.")
    assertContains(response, "Ask an admin of your team's workspace to add you")


def test_login_with_the_right_password_lands_in_the_workspace(ws_editor) -> None:
    client = Client()

    response = client.post(
        reverse("login"), {"username": "eddie", "password": factories.PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/w/acme/"
    assertContains(response, "Journey maps")
    assertContains(response, "eddie · Editor")


def test_login_with_a_wrong_password_is_refused(ws_editor) -> None:
    client = Client()

    response = client.post(reverse("login"), {"username": "eddie", "password": "guess"})

    assertContains(response, "Your username and password didn't match.")
    assert client.get(maps_url()).status_code == 302


def test_login_returns_to_the_page_asked_for(ws_editor, workspace) -> None:
    journey_map = factories.make_map(workspace, "Spring sale")
    url = journey_map.get_absolute_url()

    response = Client().post(
        f"{reverse('login')}?next={url}",
        {"username": "eddie", "password": factories.PASSWORD, "next": url},
    )

    assertRedirects(response, url)


def test_logout_is_a_post_button_that_logs_out(ws_editor_client) -> None:
    page = ws_editor_client.get(maps_url())
    assertInHTML(
        '<button type="submit" class="link">Log out</button>', page.content.decode(), count=1
    )
    assertContains(page, f'<form method="post" action="{reverse("logout")}" class="inline">')

    refused = ws_editor_client.get(reverse("logout"))
    assert refused.status_code == 405
    assert ws_editor_client.get(maps_url()).status_code == 200

    response = ws_editor_client.post(reverse("logout"))

    assertRedirects(response, reverse("login"))
    assert ws_editor_client.get(maps_url()).status_code == 302


# --- user text is escaped ---------------------------------------------------------------------


def test_user_text_is_escaped_on_the_list_and_the_map(ws_admin_client, workspace) -> None:
    journey_map = factories.make_map(workspace, XSS, slug="xss", description=XSS)
    journey_map.personas.add(factories.make_persona(workspace, XSS, summary=XSS))
    stage = factories.make_stage(journey_map, XSS, customer_goal=XSS, thoughts=XSS)
    factories.make_touchpoint(stage, XSS, owner=XSS)
    factories.make_pain_point(stage, XSS)
    factories.make_opportunity(stage, XSS)

    for url in (
        maps_url(),
        journey_map.get_absolute_url(),
        reverse("map_delete", args=["acme", "xss"]),
    ):
        response = ws_admin_client.get(url)

        assertNotContains(response, XSS)
        assertContains(response, ESCAPED_XSS)


def test_a_map_name_in_a_message_is_escaped(ws_editor_client) -> None:
    response = ws_editor_client.post(
        reverse("map_create", args=["acme"]), {"name": XSS, "template": "blank"}, follow=True
    )

    assertContains(response, f"Created “{ESCAPED_XSS}”.")
    assertNotContains(response, XSS)


def test_a_username_is_escaped_on_the_members_page(ws_admin_client, workspace) -> None:
    factories.make_member(workspace, Role.VIEWER, factories.make_user("eve", email=XSS))

    response = ws_admin_client.get(members_url())

    assertNotContains(response, XSS)
    assertContains(response, ESCAPED_XSS)


# --- a constant number of queries per page (DESIGN §10) ---------------------------------------


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def big_map(workspace, name: str, stages: int, touchpoints: int, personas: list) -> JourneyMap:
    journey_map = factories.make_map(workspace, name, status="published")
    journey_map.personas.add(*personas)
    for s in range(stages):
        stage = factories.make_stage(journey_map, f"Stage {s}")
        factories.make_kpi(stage, "users", target=100)
        factories.make_pain_point(stage, f"Pain {s}")
        factories.make_opportunity(stage, f"Idea {s}")
        for t in range(touchpoints):
            factories.make_touchpoint(stage, f"Touchpoint {s}.{t}")
    for n in range(15):
        MapChange.objects.create(map=journey_map, action="edited", summary=f"Edit {n}")
    return journey_map


# Measured on SQLite and PostgreSQL, whatever the number of maps, stages and cards.
# The list: session, user, membership, archived count, the switcher's workspaces, the maps with
# their stage counts, their personas. A map: session, user, membership, the map, its personas,
# stages, touchpoints, pain points, opportunities, KPIs, the personas not on it yet, the
# switcher's workspaces, recent changes; and the 14th, the open comment counts per stage and card
# (one GROUP BY query for the comment buttons of the whole map, whatever its size); and 2 for the
# stored figures (the map's figures state with whether datasets feed it, and the stored figures of
# the persona shown: analytics.figures.load_map_figures).
MAPS_LIST_QUERIES = 7
MAP_DETAIL_QUERIES = 16


def test_the_maps_list_costs_the_same_queries_for_one_map_or_many(
    ws_editor_client, workspace, django_assert_max_num_queries
) -> None:
    factories.make_stage(factories.make_map(workspace, "Lonely"), "Awareness")
    ws_editor_client.get(maps_url())  # the first visit also remembers the workspace in the session
    one_map = count_queries(ws_editor_client, maps_url())
    personas = [factories.make_persona(workspace, f"Persona {n}") for n in range(4)]
    for n in range(12):
        big_map(workspace, f"Map {n}", stages=4, touchpoints=2, personas=personas)
        factories.make_map(workspace, f"Archived {n}", archived_at=timezone.now())

    many_maps = count_queries(ws_editor_client, maps_url())

    assert many_maps == one_map
    with django_assert_max_num_queries(MAPS_LIST_QUERIES):
        response = ws_editor_client.get(maps_url())
    assert len(response.context["maps"]) == 13


def test_the_map_page_costs_the_same_queries_for_a_small_or_a_big_map(
    ws_viewer_client, workspace, django_assert_max_num_queries
) -> None:
    personas = [factories.make_persona(workspace, f"Persona {n}") for n in range(5)]
    small = big_map(workspace, "Small", stages=1, touchpoints=1, personas=personas[:1])
    big = big_map(workspace, "Big", stages=8, touchpoints=6, personas=personas)
    ws_viewer_client.get(small.get_absolute_url())
    cache.clear()  # each map's lanes are rendered from the database, not the cache

    small_map = count_queries(ws_viewer_client, small.get_absolute_url())
    big_map_queries = count_queries(ws_viewer_client, big.get_absolute_url())

    assert big_map_queries == small_map
    with django_assert_max_num_queries(MAP_DETAIL_QUERIES):
        response = ws_viewer_client.get(big.get_absolute_url())
    assertContains(response, "Touchpoint 7.5")


def test_an_admin_who_steps_down_lands_on_the_maps_list(workspace, ws_admin, ws_admin_client):
    factories.make_member(workspace, Role.ADMIN)  # another admin remains
    own = Membership.objects.get(user=ws_admin, workspace=workspace)

    response = ws_admin_client.post(
        f"/w/acme/members/{own.pk}/role/", {"role": "editor"}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/w/acme/"
    assert "is now Editor" in response.content.decode()


def test_the_workspace_switcher_comes_with_the_membership_check(
    workspace, other_workspace, ws_viewer
) -> None:
    """A workspace page reads the user's memberships once: the URL's workspace is checked in it
    and the switcher lists every workspace of the user, by name, without a query of its own."""
    factories.make_member(other_workspace, Role.EDITOR, ws_viewer)
    factories.make_workspace("hidden", name="Not Mine")
    client = logged_in(ws_viewer)
    page = reverse("map_list", args=[workspace.slug])
    client.get(page)  # the first visit remembers the workspace in the session

    with CaptureQueriesContext(connection) as captured:
        response = client.get(page)

    html = response.content.decode()
    switcher = re.search(r'aria-label="Switch workspace".*?</details>', html, re.S).group(0)
    assert re.findall(r'<a href="[^"]+"[^>]*>([^<]+)</a>', switcher) == ["Acme Shop", "Rival Shop"]
    workspace_reads = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].lstrip().startswith('SELECT "journeymap_workspace"')
    ]
    assert workspace_reads == []
