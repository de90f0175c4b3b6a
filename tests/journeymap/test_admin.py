"""Edits made in the Django admin count as edits of the map: logged, versioned, recomputed."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from analytics.models import MapMetricsState
from journeymap.models import MapChange
from tests import factories
from touchpoints.models import PainPoint


@pytest.fixture
def board(workspace):
    journey_map = factories.make_map(workspace, "Admin edits")
    stage = factories.make_stage(journey_map, "Checkout")
    factories.make_touchpoint(stage, "Payment page")
    factories.make_pain_point(stage, "Card refused")
    return journey_map


@pytest.fixture
def root_client(db) -> Client:
    root = get_user_model().objects.create_superuser("root", "root@example.com", "not-used-1")
    client = Client()
    client.force_login(root)
    return client


def _requested(journey_map) -> int:
    state = MapMetricsState.objects.filter(map=journey_map).first()
    return state.requested_generation if state else 0


def test_a_card_renamed_in_the_admin_shows_on_the_cached_board(
    board, ws_viewer_client, root_client
) -> None:
    page = board.get_absolute_url()
    assertContains(ws_viewer_client.get(page), "Card refused")  # the lanes are now cached
    pain_point = PainPoint.objects.get(title="Card refused")
    change_url = reverse("admin:touchpoints_painpoint_change", args=[pain_point.pk])
    form = root_client.get(change_url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["title"] = "Card declined by the bank"
    requested = _requested(board)

    response = root_client.post(change_url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    html = ws_viewer_client.get(page).content.decode()
    assert "Card declined by the bank" in html
    assert "Card refused" not in html
    change = MapChange.objects.filter(map=board).latest("pk")
    assert change.summary == "Pain point edited in the admin: Card declined by the bank"
    assert change.user.username == "root"
    assert _requested(board) == requested + 1


def test_a_card_deleted_in_the_admin_leaves_the_cached_board(
    board, ws_viewer_client, root_client
) -> None:
    page = board.get_absolute_url()
    touchpoint = board.stages.get().touchpoints.get()
    card = f'id="touchpoint-{touchpoint.pk}"'
    assertContains(ws_viewer_client.get(page), card)  # the lanes are now cached
    delete_url = reverse("admin:touchpoints_touchpoint_delete", args=[touchpoint.pk])

    response = root_client.post(delete_url, {"post": "yes"})

    assert response.status_code == 302
    assertNotContains(ws_viewer_client.get(page), card)
    change = MapChange.objects.filter(map=board).latest("pk")
    assert change.summary == "Touchpoint deleted in the admin: Payment page"


def test_a_stage_renamed_in_the_admin_with_its_kpis_inline(board, ws_viewer_client, root_client):
    stage = board.stages.get()
    factories.make_kpi(stage, "users", target=10)
    page = board.get_absolute_url()
    assertContains(ws_viewer_client.get(page), "Checkout")
    change_url = reverse("admin:stages_stage_change", args=[stage.pk])
    context = root_client.get(change_url).context
    data = {k: v for k, v in context["adminform"].form.initial.items() if v is not None}
    for inline in context["inline_admin_formsets"]:  # the KPIs, unchanged
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for number, form in enumerate(formset.initial_forms):
            data[f"{formset.prefix}-{number}-id"] = form.instance.pk
            for name, value in form.initial.items():
                if value is not None:
                    data[f"{formset.prefix}-{number}-{name}"] = value
    data["name"] = "Pay"

    response = root_client.post(change_url, data)

    assert response.status_code == 302
    assertContains(ws_viewer_client.get(page), "<h2>Pay</h2>")
    change = MapChange.objects.filter(map=board).latest("pk")
    assert change.summary == "Stage edited in the admin: Pay"


def test_a_map_edited_in_the_admin_is_logged_and_recomputed(board, root_client) -> None:
    change_url = reverse("admin:journeymap_journeymap_change", args=[board.pk])
    form = root_client.get(change_url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["personas"] = []
    data["conversion_window_days"] = 7
    requested = _requested(board)

    response = root_client.post(change_url, data)

    assert response.status_code == 302
    board.refresh_from_db()
    assert board.conversion_window_days == 7
    assert MapChange.objects.filter(map=board).latest("pk").summary == "Map edited in the admin"
    assert _requested(board) == requested + 1


def test_a_persona_edited_in_the_admin_asks_for_its_maps_figures(
    board, workspace, root_client
) -> None:
    persona = factories.make_persona(workspace, "Bargain hunter")
    board.personas.add(persona)
    change_url = reverse("admin:personas_persona_change", args=[persona.pk])
    form = root_client.get(change_url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.pop("avatar")  # no file: nothing to post
    data["summary"] = "Waits for the sales."
    requested = _requested(board)

    response = root_client.post(change_url, data)

    assert response.status_code == 302
    assert _requested(board) == requested + 1
