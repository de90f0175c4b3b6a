"""Deleting a workspace: the admin types its exact name; everything in it goes, files included."""

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from analytics import services as analytics_services
from analytics.models import Dataset, Event, MapMetrics
from journeymap import history, services
from journeymap.models import JourneyMap, Membership, Snapshot, Workspace
from journeymap.scoping import Role
from personas import services as persona_services
from personas.models import Persona
from stages.models import Stage
from tests import factories
from tests.analytics import uploads
from tests.conftest import logged_in
from tests.personas.images import image_bytes, upload

EVENTS = (
    "event_time,event_type,user_id,user_session,price\n"
    "2024-03-01 09:00:00 UTC,view,{user},s1,\n"
    "2024-03-01 09:05:00 UTC,purchase,{user},s1,12.50\n"
    "not a date,view,u9,s9,\n"  # rejected: the dataset gets an error report
)


def fill(workspace: Workspace, user: str) -> dict[str, Path]:
    """A map with a stage, a snapshot, a persona with a picture and an imported dataset feeding
    the map; return the files they stored on disk."""
    journey_map = factories.make_map(workspace, name=f"Journey of {user}")
    factories.make_stage(journey_map)
    history.snapshot_take(journey_map=journey_map, user=None, name="As-is")
    persona = factories.make_persona(workspace, name=f"Persona of {user}")
    persona = persona_services.persona_set_avatar(
        persona=persona, expected_version=persona.version, upload=upload("me.png", image_bytes())
    )
    dataset = uploads.imported(workspace, EVENTS.format(user=user), f"{user}.csv")
    analytics_services.dataset_attach(dataset=dataset, journey_map=journey_map)
    dataset.refresh_from_db()
    media = Path(settings.MEDIA_ROOT)
    files = {
        "original": media / dataset.original_file.name,
        "error report": media / dataset.error_report.name,
        "avatar": media / persona.avatar.name,
    }
    assert all(path.is_file() for path in files.values()), files
    return files


@pytest.fixture
def url(workspace) -> str:
    return reverse("workspace_delete", args=[workspace.slug])


def test_the_page_counts_what_goes_with_the_workspace(workspace, ws_admin_client, url) -> None:
    fill(workspace, "u1")
    factories.make_map(workspace, name="Second map")

    response = ws_admin_client.get(url)

    assertContains(response, "Delete the workspace “Acme Shop”?")
    assertContains(response, "<strong>2</strong> maps")
    assertContains(response, "<strong>1</strong> dataset with <strong>2</strong> events")
    assertContains(response, "<strong>1</strong> member")
    assertContains(response, 'name="csrfmiddlewaretoken"')


def test_the_members_page_links_to_it(ws_admin_client, url) -> None:
    response = ws_admin_client.get(reverse("member_list", args=["acme"]))

    assertContains(response, f'href="{url}"')


@pytest.mark.parametrize("typed", ["acme", "Acme shop", "Acme Shop ", ""])
def test_a_wrong_name_is_refused_and_deletes_nothing(
    workspace, ws_admin_client, url, typed: str
) -> None:
    files = fill(workspace, "u1")

    response = ws_admin_client.post(url, {"confirm_name": typed})

    assert response.status_code == 422
    assert Workspace.objects.filter(slug="acme").exists()
    assert JourneyMap.objects.filter(workspace=workspace).count() == 1
    assert Event.objects.filter(dataset__workspace=workspace).count() == 2
    assert all(path.is_file() for path in files.values())
    if typed:
        assertContains(response, "Type the workspace&#x27;s name exactly", status_code=422)
    else:
        assertContains(response, "This field is required.", status_code=422)


@pytest.mark.django_db(transaction=True)  # the files go once the deletion commits
def test_the_right_name_deletes_everything_in_it_and_nothing_else(
    workspace, other_workspace, ws_admin, ws_viewer, outsider
) -> None:
    files = fill(workspace, "u1")
    rival_files = fill(other_workspace, "x1")
    rival_counts = (
        JourneyMap.objects.filter(workspace=other_workspace).count(),
        Stage.objects.filter(map__workspace=other_workspace).count(),
        Event.objects.filter(dataset__workspace=other_workspace).count(),
        Persona.objects.filter(workspace=other_workspace).count(),
        Snapshot.objects.filter(map__workspace=other_workspace).count(),
    )

    response = logged_in(ws_admin).post(
        reverse("workspace_delete", args=["acme"]), {"confirm_name": "Acme Shop"}
    )

    assertRedirects(response, reverse("home"), fetch_redirect_response=False)
    assert not Workspace.objects.filter(slug="acme").exists()
    assert not Membership.objects.filter(workspace_id=workspace.pk).exists()
    assert not JourneyMap.objects.filter(workspace_id=workspace.pk).exists()
    assert not Dataset.objects.filter(workspace_id=workspace.pk).exists()
    assert not Persona.objects.filter(workspace_id=workspace.pk).exists()
    assert not Event.objects.filter(dataset__workspace_id=workspace.pk).exists()
    assert not MapMetrics.objects.filter(map__workspace_id=workspace.pk).exists()
    assert not any(path.exists() for path in files.values()), files
    # The users keep their accounts; the other workspace keeps all it had.
    assert type(ws_viewer).objects.filter(pk=ws_viewer.pk).exists()
    assert rival_counts == (
        JourneyMap.objects.filter(workspace=other_workspace).count(),
        Stage.objects.filter(map__workspace=other_workspace).count(),
        Event.objects.filter(dataset__workspace=other_workspace).count(),
        Persona.objects.filter(workspace=other_workspace).count(),
        Snapshot.objects.filter(map__workspace=other_workspace).count(),
    )
    assert rival_counts == (1, 1, 2, 1, 1)
    assert all(path.is_file() for path in rival_files.values())
    # The admin is sent on to the workspaces they still have: none here, so the switcher.
    assertContains(logged_in(ws_admin).get(reverse("home")), "not a member of any workspace")


@pytest.mark.django_db(transaction=True)
def test_the_files_stay_when_the_deletion_fails(workspace, monkeypatch) -> None:
    files = fill(workspace, "u1")

    def fail(self, *args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Workspace, "delete", fail)
    with pytest.raises(RuntimeError):
        services.workspace_delete(workspace=workspace, confirm_name="Acme Shop")

    assert Event.objects.filter(dataset__workspace=workspace).count() == 2
    assert all(path.is_file() for path in files.values())


def test_an_admin_of_another_workspace_is_sent_there(workspace, other_workspace, ws_admin, url):
    factories.make_member(other_workspace, Role.VIEWER, ws_admin)
    client = logged_in(ws_admin)

    response = client.post(url, {"confirm_name": "Acme Shop"}, follow=True)

    assertContains(response, "Deleted the workspace “Acme Shop”.")
    assert response.redirect_chain[-1][0] == other_workspace.get_absolute_url()


def test_editors_and_viewers_are_refused(ws_editor_client, ws_viewer_client, url) -> None:
    for client in (ws_editor_client, ws_viewer_client):
        assert client.get(url).status_code == 403
        assert client.post(url, {"confirm_name": "Acme Shop"}).status_code == 403
    assert Workspace.objects.filter(slug="acme").exists()


def test_an_outsider_is_not_found(outsider_client, url) -> None:
    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(url, {"confirm_name": "Acme Shop"}).status_code == 404
    assert Workspace.objects.filter(slug="acme").exists()


def test_the_post_needs_its_csrf_token(workspace, ws_admin, url) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(ws_admin)

    assert client.post(url, {"confirm_name": "Acme Shop"}).status_code == 403
    assert Workspace.objects.filter(slug="acme").exists()
