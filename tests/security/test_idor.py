"""The other workspace's ids slipped into Acme's forms, htmx endpoints and query strings.

tests/journeymap/test_access.py (ELSEWHERE) tries every object URL with a rival object in the
path; here the rival id travels in a form field or a query parameter of an Acme URL that an
admin of Acme may use. Each is refused (404, or 422 for a form that names the field) and
changes nothing in either workspace, and no answer shows the rival's names.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from tests.journeymap.test_access import (
    ADMIN,
    Scene,
    comment_data,
    mapping_data,
    send,
    snapshot_data,
    state,
    touchpoint_data,
)

RIVAL_NAMES = ("Rival secret plan", "Rival awareness", "Rival billboard", "Rival persona")


@dataclass(frozen=True)
class Attempt:
    """An Acme URL, a method, and data or a query carrying a rival id; the statuses allowed."""

    name: str
    url_name: str
    method: str
    kwargs: Callable[[Scene], dict[str, Any]]
    data: Callable[[Scene], dict[str, Any]]
    statuses: tuple[int, ...] = (404,)
    htmx: bool = False


def acme_map(s: Scene) -> dict[str, Any]:
    return {"slug": s.journey_map.slug}


ATTEMPTS = [
    Attempt(
        "move a touchpoint into the rival's stage",
        "card_move",
        "post",
        lambda s: {"pk": s.touchpoint.pk},
        lambda s: {"stage": s.rival_stage.pk, "position": "1"},
        htmx=True,
    ),
    Attempt(
        "put the rival's persona on my map",
        "map_personas",
        "post",
        acme_map,
        lambda s: {"persona": s.rival_persona.pk, "action": "add"},
        htmx=True,
    ),
    Attempt(
        "take the rival's persona off my map",
        "map_personas",
        "post",
        acme_map,
        lambda s: {"persona": s.rival_persona.pk, "action": "remove"},
    ),
    Attempt(
        "attach my dataset to the rival's map",
        "dataset_maps",
        "post",
        lambda s: {"pk": s.datasets.ready.pk},
        lambda s: {"maps": [s.journey_map.pk, s.rival_map.pk]},
        statuses=(422,),
        htmx=True,  # as the dataset page posts it (without htmx: a redirect with the refusal)
    ),
    Attempt(
        "comment on the rival's touchpoint through my map",
        "comment_add",
        "post",
        lambda s: {
            "slug": s.journey_map.slug,
            "kind": "touchpoint",
            "target_id": s.rival_touchpoint.pk,
        },
        comment_data,
    ),
    Attempt(
        "comment on the rival's stage through my map",
        "comment_add",
        "post",
        lambda s: {"slug": s.journey_map.slug, "kind": "stage", "target_id": s.rival_stage.pk},
        comment_data,
    ),
    Attempt(
        "add a card to my stage with the rival's touchpoint as its version",
        "card_add",
        "post",
        lambda s: {"pk": s.awareness.pk, "kind": "pain_point"},
        lambda s: {"title": "x", "severity": "3", "touchpoint": s.rival_touchpoint.pk},
        statuses=(302, 422),  # the card may be made, but never linked to the rival's touchpoint
    ),
    Attempt(
        "compare my map with the rival's snapshot",
        "map_history",
        "get",
        acme_map,
        lambda s: {"a": s.rival_snapshot.pk, "b": "current"},
    ),
    Attempt(
        "compare the rival's snapshot with mine",
        "map_history",
        "get",
        acme_map,
        lambda s: {"a": s.snapshot.pk, "b": s.rival_snapshot.pk},
        htmx=True,
    ),
    Attempt(
        "open my comments focused on the rival's card",
        "map_comments",
        "get",
        acme_map,
        lambda s: {"on": f"touchpoint-{s.rival_touchpoint.pk}"},
        statuses=(200,),
    ),
    Attempt(
        "my map's figures for the rival's persona",
        "map_detail",
        "get",
        acme_map,
        lambda s: {"persona": s.rival_persona.pk},
        statuses=(200,),
    ),
    Attempt(
        "my dashboard for the rival's persona",
        "map_dashboard",
        "get",
        acme_map,
        lambda s: {"persona": s.rival_persona.pk},
        statuses=(200,),
    ),
    Attempt(
        "change the rival admin's role through my members page",
        "member_role",
        "post",
        lambda s: {"pk": s.outsider_membership.pk},
        lambda s: {"role": "viewer"},
    ),
    Attempt(
        "take a snapshot of my map named like a rival id",
        "snapshot_take",
        "post",
        acme_map,
        lambda s: {**snapshot_data(s), "map": s.rival_map.pk},
        statuses=(302,),  # the unknown field is ignored: the snapshot is of my map
    ),
    Attempt(
        "edit my touchpoint with the rival's stage in the form",
        "card_edit",
        "post",
        lambda s: {"kind": "touchpoint", "pk": s.touchpoint.pk},
        lambda s: {**touchpoint_data(s), "stage": s.rival_stage.pk, "map": s.rival_map.pk},
        statuses=(302,),  # saved, and still in my stage
    ),
    Attempt(
        "preview the rival's dataset mapping through mine",
        "dataset_preview",
        "post",
        lambda s: {"pk": s.datasets.pending.pk},
        lambda s: {**mapping_data(s.datasets.pending), "dataset": s.datasets.rival_pending.pk},
        statuses=(200,),
    ),
]


def rival_state(scene: Scene) -> tuple:
    """What of Rival's an attempt could change, seen from Rival's side."""
    return (
        scene.rival_map.__class__.objects.filter(pk=scene.rival_map.pk).values_list(
            "name", "version"
        )[0],
        list(scene.rival_stage.touchpoints.values_list("pk", "name", "version")),
        list(scene.rival_map.personas.values_list("pk", flat=True)),
        list(scene.rival_map.datasets.values_list("pk", flat=True)),
        list(scene.rival_map.comments.values_list("pk", "body")),
        list(scene.rival_map.snapshots.values_list("pk", "name")),
    )


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=lambda attempt: attempt.name)
def test_a_rival_id_in_my_forms_reaches_nothing_of_the_rival(scene: Scene, attempt: Attempt):
    url = reverse(attempt.url_name, kwargs={"workspace": "acme", **attempt.kwargs(scene)})
    data = attempt.data(scene)
    if attempt.method == "get":
        url, data = f"{url}?{urlencode(data)}", {}
    before, rival_before = state(), rival_state(scene)

    response = send(scene.clients[ADMIN], attempt.method, url, data, attempt.htmx)

    assert response.status_code in attempt.statuses
    body = response.content.decode(errors="replace")
    assert not any(name in body for name in RIVAL_NAMES), "a rival name was shown"
    assert rival_state(scene) == rival_before
    if attempt.method == "get" or response.status_code in (404, 422):
        assert state() == before
    scene.touchpoint.refresh_from_db()
    assert scene.touchpoint.stage_id == scene.awareness.pk
    assert not scene.journey_map.personas.filter(pk=scene.rival_persona.pk).exists()


@pytest.mark.parametrize(
    ("url_name", "query"),
    [("map_history", {"a": "²", "b": "current"}), ("map_comments", {"on": "touchpoint-²"})],
)
def test_a_unicode_digit_in_an_id_is_no_id(scene: Scene, url_name: str, query: dict) -> None:
    """Found while reading the views: str.isdigit() accepts "²", which int() refuses (a 500)."""
    url = reverse(url_name, args=["acme", scene.journey_map.slug])

    response = scene.clients[ADMIN].get(url, query)

    assert response.status_code in (200, 404)


@pytest.mark.parametrize(
    ("url_name", "field"), [("map_personas", "persona"), ("card_move", "stage")]
)
@pytest.mark.parametrize("value", [":", "=1+1", " ", "²", "1.0", "99999999999999999999999"])
def test_an_id_field_that_is_no_id_is_not_found(
    scene: Scene, url_name: str, field: str, value: str
) -> None:
    """Found by the forms fuzzer: Django's int() of the posted id failed, a 500."""
    kwargs = {"slug": scene.journey_map.slug} if url_name == "map_personas" else {}
    kwargs = kwargs or {"pk": scene.touchpoint.pk}
    url = reverse(url_name, kwargs={"workspace": "acme", **kwargs})
    before = state()

    response = scene.clients[ADMIN].post(url, {field: value, "position": "1", "action": "add"})

    assert response.status_code == 404
    assert state() == before
