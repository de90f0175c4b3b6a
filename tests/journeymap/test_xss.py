"""User text is never rendered as HTML: a map imported with an XSS payload in every text field is
shown escaped on the editor, persona, comments and share pages."""

import pytest
from django.test import Client
from django.urls import reverse

from journeymap import collab, mapjson
from journeymap.models import Membership
from personas.models import Persona
from stages.models import Stage

PAYLOAD = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
RAW_FRAGMENTS = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>")
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def hostile_map() -> dict:
    """A journeymap/v1 document whose every free-text field holds the payload."""
    card = {"name": PAYLOAD, "description": PAYLOAD, "owner": PAYLOAD}
    text_fields = ("description", "customer_goal", "actions", "thoughts", "feelings")
    persona_fields = (
        "summary", "occupation", "location", "goals", "needs", "pain_points",
        "motivations", "online_behaviour", "quote",
    )  # fmt: skip
    return {
        "schema": mapjson.SCHEMA,
        "name": PAYLOAD,
        "description": PAYLOAD,
        "personas": [
            {"name": PAYLOAD, "channels": [PAYLOAD], "age_range": PAYLOAD[:25]}  # 40 at most
            | dict.fromkeys(persona_fields, PAYLOAD)
        ],
        "stages": [
            {
                "name": PAYLOAD,
                **dict.fromkeys(text_fields, PAYLOAD),
                "touchpoints": [card],
                "pain_points": [{"title": PAYLOAD, "description": PAYLOAD, "evidence": PAYLOAD}],
                "opportunities": [{"title": PAYLOAD, "description": PAYLOAD, "owner": PAYLOAD}],
            }
        ],
    }


def assert_inert(response) -> None:
    assert response.status_code == 200
    content = response.content.decode()
    for fragment in RAW_FRAGMENTS:
        assert fragment not in content, f"unescaped {fragment!r} in {response.request['PATH_INFO']}"
    assert ESCAPED in content  # the text is shown, escaped


@pytest.fixture
def imported(workspace, ws_admin):
    journey_map = mapjson.map_import(data=hostile_map(), workspace=workspace, user=ws_admin)
    membership = Membership.objects.get(workspace=workspace, user=ws_admin)
    stage = Stage.objects.get(map=journey_map)
    collab.comment_add(
        journey_map=journey_map, kind="stage", target_id=stage.pk, membership=membership,
        body=PAYLOAD,
    )  # fmt: skip
    return journey_map, membership


def test_the_payload_is_inert_on_every_page(imported, ws_admin_client: Client):
    journey_map, membership = imported
    map_args = {"workspace": journey_map.workspace.slug, "slug": journey_map.slug}
    persona = Persona.objects.get(workspace=journey_map.workspace)

    for url in (
        reverse("map_list", kwargs={"workspace": journey_map.workspace.slug}),
        reverse("map_detail", kwargs=map_args),
        reverse("map_comments", kwargs=map_args),
        reverse("map_activity", kwargs=map_args),
        reverse("map_history", kwargs=map_args),
        reverse("persona_list", kwargs={"workspace": journey_map.workspace.slug}),
        reverse(
            "persona_detail", kwargs={"workspace": journey_map.workspace.slug, "pk": persona.pk}
        ),
    ):
        assert_inert(ws_admin_client.get(url))

    link = collab.share_link_create(journey_map=journey_map, membership=membership)
    assert_inert(Client().get(reverse("shared_map", kwargs={"token": link.token})))
