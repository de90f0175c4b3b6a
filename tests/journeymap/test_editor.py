"""The map editor as its users meet it: every lane edited in place, with htmx and without it.

Each endpoint answers an htmx request (the headers a browser sends) with the region it changed and a
plain request with a redirect back to the map, or the full page with the form open. Two people
editing the same thing never silently overwrite each other; viewers change nothing; people of
another workspace find nothing.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from journeymap import editor_views
from journeymap.editor import CARD_KINDS, card_update
from journeymap.models import JourneyMap, MapChange
from journeymap.scoping import Role
from journeymap.services import map_details_update
from personas.models import Persona
from stages.models import Stage, StageKPI
from stages.services import stage_update
from tests import factories
from touchpoints.models import Opportunity, PainPoint, Touchpoint

HTMX = {"HX-Request": "true"}

STALE = "Someone else saved a change to this while you were editing."
STALE_EMOTION = "Someone else changed that stage while you were looking at it"
BAD_EMOTION = "The emotion score must be a whole number from −2 to +2."
GONE = "This was deleted by someone else while you were editing it; your text was not saved."
REQUIRED = "This field is required."


@dataclass
class Board:
    """Acme's "Spring sale" map with a card of every kind, and Rival's map beside it."""

    journey_map: JourneyMap
    awareness: Stage
    consideration: Stage
    purchase: Stage
    instagram: Touchpoint
    search: Touchpoint
    newsletter: Touchpoint
    product_page: Touchpoint
    reviews: Touchpoint
    slow_ads: PainPoint
    lighter_ads: Opportunity
    users_kpi: StageKPI
    bargain_hunter: Persona
    gift_buyer: Persona
    other_map: JourneyMap
    other_map_stage: Stage
    rival_stage: Stage
    rival_persona: Persona
    cards: dict = field(default_factory=dict)


@pytest.fixture
def board(workspace, other_workspace) -> Board:
    journey_map = factories.make_map(workspace, "Spring sale")
    bargain_hunter = factories.make_persona(workspace, "Bargain hunter")
    journey_map.personas.add(bargain_hunter)
    awareness = factories.make_stage(
        journey_map, "Awareness", kind="awareness", emotion=1, customer_goal="Find a gift"
    )
    consideration = factories.make_stage(journey_map, "Consideration", emotion=-1)
    purchase = factories.make_stage(journey_map, "Purchase", emotion=2)
    instagram = factories.make_touchpoint(awareness, "Instagram ads", channel="social")
    search = factories.make_touchpoint(awareness, "Google search", channel="search")
    newsletter = factories.make_touchpoint(awareness, "Newsletter", channel="email")
    product_page = factories.make_touchpoint(consideration, "Product page", channel="website")
    reviews = factories.make_touchpoint(consideration, "Reviews", channel="website")
    slow_ads = factories.make_pain_point(awareness, "Slow ads", touchpoint=instagram, severity=4)
    lighter_ads = factories.make_opportunity(awareness, "Lighter ads", pain_point=slow_ads)
    users_kpi = factories.make_kpi(awareness, "users", target=1000)
    other_map = factories.make_map(workspace, "Black Friday")
    rival_map = factories.make_map(other_workspace, "Rival plan")
    rival_stage = factories.make_stage(rival_map, "Rival stage")
    result = Board(
        journey_map=journey_map,
        awareness=awareness,
        consideration=consideration,
        purchase=purchase,
        instagram=instagram,
        search=search,
        newsletter=newsletter,
        product_page=product_page,
        reviews=reviews,
        slow_ads=slow_ads,
        lighter_ads=lighter_ads,
        users_kpi=users_kpi,
        bargain_hunter=bargain_hunter,
        gift_buyer=factories.make_persona(workspace, "Gift buyer"),
        other_map=other_map,
        other_map_stage=factories.make_stage(other_map, "Elsewhere"),
        rival_stage=rival_stage,
        rival_persona=factories.make_persona(other_workspace, "Rival persona"),
    )
    result.cards = {
        "touchpoint": instagram,
        "pain_point": slow_ads,
        "opportunity": lighter_ads,
        "kpi": users_kpi,
    }
    return result


@pytest.fixture
def bob(workspace) -> AbstractBaseUser:
    """A second editor, saving his own changes while ours are open."""
    return factories.make_member(workspace, Role.EDITOR, factories.make_user("bob"))


def url(name: str, *args: object, workspace: str = "acme") -> str:
    return reverse(name, args=[workspace, *args])


def map_url(board: Board) -> str:
    return board.journey_map.get_absolute_url()


def is_fragment(response) -> bool:
    """An htmx answer is a region of the page, not a whole document."""
    return b"<html" not in response.content


def version_in(response) -> str:
    """The version a form in the response will save against."""
    match = re.search(r'name="expected_version" value="(\d+)"', response.content.decode())
    assert match, "the response has no versioned form"
    return match.group(1)


def shown_in_order(response, ids: list[str]) -> bool:
    content = response.content.decode()
    positions = [content.index(f'id="{element_id}"') for element_id in ids]
    return positions == sorted(positions)


def stage_order(journey_map: JourneyMap) -> list[tuple[int, str]]:
    return list(journey_map.stages.order_by("position").values_list("position", "name"))


def touchpoint_order(stage: Stage) -> list[tuple[int, str]]:
    return list(stage.touchpoints.order_by("position").values_list("position", "name"))


def last_change(journey_map: JourneyMap) -> MapChange:
    return journey_map.changes.select_related("user").first()


# --- the page ----------------------------------------------------------------------------------


def test_an_editor_sees_the_map_with_its_edit_controls(ws_editor_client, board) -> None:
    response = ws_editor_client.get(map_url(board))

    assertContains(response, "Spring sale")
    assertContains(response, "hx-post")
    assertContains(response, "+ Add touchpoint", count=3)
    assertContains(response, "+ Add pain point", count=3)
    assertContains(response, "+ Stage")
    assertContains(response, "Delete…")
    assertContains(response, url("card_edit", "touchpoint", board.instagram.pk))
    assertContains(response, url("stage_part_edit", board.awareness.pk, "goal"))
    assertContains(response, "Edit map details")


def test_a_viewer_sees_the_same_map_read_only(ws_viewer_client, board) -> None:
    response = ws_viewer_client.get(map_url(board))

    assert response.status_code == 200
    for shown in ("Spring sale", "Awareness", "Instagram ads", "Slow ads", "Lighter ads", "Users"):
        assertContains(response, shown)
    for control in ("hx-post", "edit-link", "/edit/", "+ Add", "+ Stage", "Delete…"):
        assertNotContains(response, control)
    # The only form that changes anything is the logout; the persona switcher of the figures
    # only reads (method="get").
    forms = re.findall(r"<form[^>]*>", response.content.decode())
    changing = [form for form in forms if 'method="get"' not in form]
    assert len(changing) == 1 and f'action="{reverse("logout")}"' in changing[0], forms


def test_stages_are_shown_in_position_order(ws_viewer_client, workspace) -> None:
    journey_map = factories.make_map(workspace, "Reordered")
    last = factories.make_stage(journey_map, "Advocacy", position=3)
    first = factories.make_stage(journey_map, "Awareness", position=1)
    middle = factories.make_stage(journey_map, "Purchase", position=2)

    response = ws_viewer_client.get(journey_map.get_absolute_url())

    assert shown_in_order(response, [f"stage-{s.pk}-head" for s in (first, middle, last)])


def test_touchpoints_are_shown_in_position_order(ws_viewer_client, board) -> None:
    board.newsletter.position, board.instagram.position = 1, 3
    Touchpoint.objects.bulk_update([board.newsletter, board.instagram], ["position"])

    response = ws_viewer_client.get(map_url(board))

    expected = [board.newsletter, board.search, board.instagram]
    assert shown_in_order(response, [f"touchpoint-{tp.pk}" for tp in expected])


def test_the_emotion_lane_shows_each_stages_level(ws_viewer_client, board) -> None:
    response = ws_viewer_client.get(map_url(board))

    for stage, level, words in (
        (board.awareness, 1, "+1 positive"),
        (board.consideration, -1, "−1 negative"),
        (board.purchase, 2, "+2 very positive"),
    ):
        assertContains(response, f'id="stage-{stage.pk}-emotion" data-emotion="{level}"')
        assertContains(response, f"{stage.name}: emotion {words}")


# --- the map's details -------------------------------------------------------------------------

DETAILS = {
    "name": "Summer sale",
    "description": "Our biggest campaign",
    "status": "published",
    "conversion_window_days": "14",
}


def test_the_map_details_form_opens_in_place(ws_editor_client, board) -> None:
    response = ws_editor_client.get(url("map_details_edit", "spring-sale"), headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, 'id="map-details"')
    assertContains(response, 'value="Spring sale"')
    assertContains(response, "Conversion window (days)")
    assertContains(response, f'name="expected_version" value="{board.journey_map.version}"')


def test_without_htmx_the_map_details_form_opens_in_the_full_page(ws_editor_client, board) -> None:
    response = ws_editor_client.get(url("map_details_edit", "spring-sale"))

    assert response.status_code == 200 and not is_fragment(response)
    assertContains(response, 'class="map-details editing"')
    assertContains(response, 'value="Spring sale"')
    assertContains(response, "Instagram ads")  # the rest of the map is there too


def test_saving_the_map_details_shows_them_in_place(ws_editor_client, board) -> None:
    data = {**DETAILS, "expected_version": board.journey_map.version}

    response = ws_editor_client.post(url("map_details_edit", "spring-sale"), data, headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, "Summer sale")
    assertContains(response, "Our biggest campaign")
    assertContains(response, "Published")
    assertContains(response, "Conversion window 14 days")
    board.journey_map.refresh_from_db()
    assert board.journey_map.name == "Summer sale"
    assert board.journey_map.description == "Our biggest campaign"
    assert board.journey_map.status == "published"
    assert board.journey_map.conversion_window_days == 14
    assert board.journey_map.slug == "spring-sale"  # links to the map keep working


def test_saving_the_map_details_without_htmx_goes_back_to_the_map(ws_editor_client, board) -> None:
    data = {**DETAILS, "expected_version": board.journey_map.version}

    response = ws_editor_client.post(url("map_details_edit", "spring-sale"), data)

    assertRedirects(response, map_url(board))
    assertContains(ws_editor_client.get(map_url(board)), "Summer sale")


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_bad_map_details_are_refused_with_the_errors(ws_editor_client, board, htmx) -> None:
    data = {**DETAILS, "name": "", "conversion_window_days": "0"}
    data["expected_version"] = board.journey_map.version

    response = ws_editor_client.post(
        url("map_details_edit", "spring-sale"), data, headers=HTMX if htmx else {}
    )

    assert response.status_code == 422
    assert is_fragment(response) == htmx
    assertContains(response, REQUIRED, status_code=422)
    assertContains(response, "greater than or equal to 1", status_code=422)
    board.journey_map.refresh_from_db()
    assert board.journey_map.name == "Spring sale"
    assert board.journey_map.conversion_window_days == 30


def test_cancel_puts_the_map_details_back(ws_editor_client, board) -> None:
    response = ws_editor_client.get(url("map_details", "spring-sale"), headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, "Spring sale")
    assertContains(response, "Edit map details")
    assertNotContains(response, "<form")
    assertRedirects(ws_editor_client.get(url("map_details", "spring-sale")), map_url(board))


# --- personas on the map -----------------------------------------------------------------------


def test_an_editor_puts_a_persona_on_the_map(ws_editor_client, board) -> None:
    data = {"persona": board.gift_buyer.pk}

    response = ws_editor_client.post(url("map_personas", "spring-sale"), data, headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, "Remove persona Gift buyer from this map")
    assert set(board.journey_map.personas.all()) == {board.bargain_hunter, board.gift_buyer}


def test_an_editor_takes_a_persona_off_the_map(ws_editor_client, board) -> None:
    data = {"persona": board.bargain_hunter.pk, "action": "remove"}

    response = ws_editor_client.post(url("map_personas", "spring-sale"), data, headers=HTMX)

    assert response.status_code == 200
    assertNotContains(response, "Remove persona Bargain hunter")
    assertContains(response, f'<option value="{board.bargain_hunter.pk}">Bargain hunter</option>')
    assert not board.journey_map.personas.exists()
    assert Persona.objects.filter(pk=board.bargain_hunter.pk).exists()  # only off the map


def test_personas_without_htmx_go_back_to_the_map(ws_editor_client, board) -> None:
    response = ws_editor_client.post(
        url("map_personas", "spring-sale"), {"persona": board.gift_buyer.pk}
    )

    assertRedirects(response, map_url(board))
    assert board.journey_map.personas.filter(pk=board.gift_buyer.pk).exists()


@pytest.mark.parametrize("action", ["add", "remove"])
def test_a_persona_of_another_workspace_is_not_found(ws_editor_client, board, action) -> None:
    data = {"persona": board.rival_persona.pk, "action": action}

    response = ws_editor_client.post(url("map_personas", "spring-sale"), data, headers=HTMX)

    assert response.status_code == 404
    assert list(board.journey_map.personas.all()) == [board.bargain_hunter]


# --- stages: add, edit each lane, move, delete -----------------------------------------------


def test_a_new_stage_is_appended_after_the_last(ws_editor_client, board) -> None:
    response = ws_editor_client.post(url("stage_create", "spring-sale"), headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, 'id="board"')
    assertContains(response, "New stage")
    assert stage_order(board.journey_map)[-1] == (4, "New stage")


def test_a_new_stage_without_htmx_goes_back_to_the_map(ws_editor_client, board) -> None:
    response = ws_editor_client.post(url("stage_create", "spring-sale"))

    assertRedirects(response, map_url(board))
    assert stage_order(board.journey_map) == [
        (1, "Awareness"),
        (2, "Consideration"),
        (3, "Purchase"),
        (4, "New stage"),
    ]


def test_the_first_stage_of_an_empty_map_is_at_position_one(ws_editor_client, board) -> None:
    response = ws_editor_client.post(url("stage_create", "black-friday"), headers=HTMX)

    assert response.status_code == 200
    assert stage_order(board.other_map) == [(1, "Elsewhere"), (2, "New stage")]


# part, what is typed, what the lane then shows, what is stored
LANES = [
    ("head", {"name": "Discover", "kind": "consideration"}, "Discover", {"name": "Discover"}),
    (
        "goal",
        {"customer_goal": "Find a present fast", "description": "First contact"},
        "Find a present fast",
        {"customer_goal": "Find a present fast", "description": "First contact"},
    ),
    (
        "actions",
        {"actions": "Scrolls the feed"},
        "Scrolls the feed",
        {"actions": "Scrolls the feed"},
    ),
    ("thoughts", {"thoughts": "Is this legit?"}, "Is this legit?", {"thoughts": "Is this legit?"}),
    ("feelings", {"feelings": "Curious"}, "Curious", {"feelings": "Curious"}),
]


@pytest.mark.parametrize(("part", "typed", "shown", "stored"), LANES, ids=[p[0] for p in LANES])
def test_each_lane_of_a_stage_is_saved_in_place(
    ws_editor_client, board, part, typed, shown, stored
) -> None:
    stage = board.awareness
    edit_url = url("stage_part_edit", stage.pk, part)
    form = ws_editor_client.get(edit_url, headers=HTMX)
    assert form.status_code == 200 and is_fragment(form)
    assertContains(form, f'hx-post="{edit_url}"')

    response = ws_editor_client.post(
        edit_url, {**typed, "expected_version": version_in(form)}, headers=HTMX
    )

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, f'id="stage-{stage.pk}-{part}"')
    assertContains(response, shown)
    assertNotContains(response, 'class="editing"')
    stage.refresh_from_db()
    assert {name: getattr(stage, name) for name in stored} == stored
    assert stage.version == 2
    if part == "head":
        assert stage.kind == "consideration"


@pytest.mark.parametrize(("part", "typed", "shown", "stored"), LANES, ids=[p[0] for p in LANES])
def test_each_lane_works_without_htmx(ws_editor_client, board, part, typed, shown, stored) -> None:
    stage = board.awareness
    edit_url = url("stage_part_edit", stage.pk, part)
    form = ws_editor_client.get(edit_url)
    assert form.status_code == 200 and not is_fragment(form)
    assertContains(form, f'action="{edit_url}"')

    response = ws_editor_client.post(edit_url, {**typed, "expected_version": version_in(form)})

    assertRedirects(response, map_url(board))
    assertContains(ws_editor_client.get(map_url(board)), shown)


def test_cancel_puts_a_lane_back_read_only(ws_editor_client, board) -> None:
    response = ws_editor_client.get(url("stage_part", board.awareness.pk, "goal"), headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, "Find a gift")
    assertContains(response, "Edit goal")
    assertNotContains(response, "<form")
    response = ws_editor_client.get(url("stage_part", board.awareness.pk, "goal"))
    assertRedirects(response, map_url(board))


def test_an_unknown_lane_is_not_found(ws_editor_client, board) -> None:
    for name in ("stage_part", "stage_part_edit"):
        response = ws_editor_client.get(url(name, board.awareness.pk, "position"), headers=HTMX)
        assert response.status_code == 404


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_stage_without_a_name_is_refused(ws_editor_client, board, htmx) -> None:
    data = {"name": "", "kind": "awareness", "expected_version": 1}

    response = ws_editor_client.post(
        url("stage_part_edit", board.awareness.pk, "head"), data, headers=HTMX if htmx else {}
    )

    assertContains(response, REQUIRED, status_code=422)
    assert is_fragment(response) == htmx
    board.awareness.refresh_from_db()
    assert board.awareness.name == "Awareness" and board.awareness.version == 1


def test_setting_the_emotion_redraws_the_emotion_lane(ws_editor_client, board) -> None:
    data = {"emotion": "-2", "expected_version": board.awareness.version}

    response = ws_editor_client.post(
        url("stage_part_edit", board.awareness.pk, "emotion"), data, headers=HTMX
    )

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, 'id="emotion-lane"')
    assertContains(response, f'id="stage-{board.awareness.pk}-emotion" data-emotion="-2"')
    assertContains(response, f'id="stage-{board.consideration.pk}-emotion" data-emotion="-1"')
    assertContains(response, "Awareness: emotion −2 very negative")
    board.awareness.refresh_from_db()
    assert board.awareness.emotion == -2


def test_setting_the_emotion_without_htmx_goes_back_to_the_map(ws_editor_client, board) -> None:
    data = {"emotion": "0", "expected_version": board.awareness.version}

    response = ws_editor_client.post(url("stage_part_edit", board.awareness.pk, "emotion"), data)

    assertRedirects(response, map_url(board))
    board.awareness.refresh_from_db()
    assert board.awareness.emotion == 0


@pytest.mark.parametrize("emotion", ["-3", "3", "x", ""])
def test_an_emotion_outside_minus_two_to_two_is_refused(ws_editor_client, board, emotion) -> None:
    data = {"emotion": emotion, "expected_version": board.awareness.version}

    response = ws_editor_client.post(
        url("stage_part_edit", board.awareness.pk, "emotion"), data, headers=HTMX
    )

    assertContains(response, BAD_EMOTION, status_code=422)
    assertContains(
        response, f'id="stage-{board.awareness.pk}-emotion" data-emotion="1"', status_code=422
    )
    board.awareness.refresh_from_db()
    assert board.awareness.emotion == 1 and board.awareness.version == 1
    assert not board.journey_map.changes.exists()


def test_an_emotion_outside_the_scale_is_refused_without_htmx(ws_editor_client, board) -> None:
    data = {"emotion": "3", "expected_version": board.awareness.version}

    response = ws_editor_client.post(url("stage_part_edit", board.awareness.pk, "emotion"), data)

    assertContains(response, BAD_EMOTION, status_code=422)
    assert not is_fragment(response)
    board.awareness.refresh_from_db()
    assert board.awareness.emotion == 1


@pytest.mark.parametrize(
    ("stage_name", "position", "expected"),
    [
        ("Consideration", 1, ["Consideration", "Awareness", "Purchase"]),  # ←
        ("Consideration", 3, ["Awareness", "Purchase", "Consideration"]),  # →
        ("Purchase", 1, ["Purchase", "Awareness", "Consideration"]),  # dragged to the front
        ("Awareness", 3, ["Consideration", "Purchase", "Awareness"]),  # dragged to the end
        ("Awareness", 99, ["Consideration", "Purchase", "Awareness"]),  # past the end: last
        ("Purchase", 0, ["Purchase", "Awareness", "Consideration"]),  # before the start: first
        ("Awareness", 1, ["Awareness", "Consideration", "Purchase"]),  # where it is
    ],
)
def test_a_stage_moves_and_the_positions_stay_one_to_n(
    ws_editor_client, board, stage_name, position, expected
) -> None:
    stage = board.journey_map.stages.get(name=stage_name)

    response = ws_editor_client.post(
        url("stage_reorder", stage.pk), {"position": position}, headers=HTMX
    )

    assert response.status_code == 200 and is_fragment(response)
    assert stage_order(board.journey_map) == list(enumerate(expected, start=1))
    stages = {s.name: s for s in board.journey_map.stages.all()}
    assert shown_in_order(response, [f"stage-{stages[name].pk}-head" for name in expected])


def test_moving_a_stage_without_htmx_goes_back_to_the_map(ws_editor_client, board) -> None:
    response = ws_editor_client.post(url("stage_reorder", board.purchase.pk), {"position": 2})

    assertRedirects(response, map_url(board))
    assert [name for _, name in stage_order(board.journey_map)] == [
        "Awareness",
        "Purchase",
        "Consideration",
    ]


def test_a_stage_move_without_a_whole_number_is_refused(ws_editor_client, board) -> None:
    response = ws_editor_client.post(
        url("stage_reorder", board.purchase.pk), {"position": "left"}, headers=HTMX
    )

    assertContains(response, "Give the new position as a whole number.", status_code=422)
    assert [p for p, _ in stage_order(board.journey_map)] == [1, 2, 3]
    assert stage_order(board.journey_map)[0] == (1, "Awareness")


def test_deleting_a_stage_takes_its_cards_and_closes_the_gap(ws_editor_client, board) -> None:
    data = {"expected_version": board.awareness.version}

    response = ws_editor_client.post(url("stage_remove", board.awareness.pk), data, headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, "Deleted stage Awareness.")
    assertNotContains(response, "Instagram ads")
    assert stage_order(board.journey_map) == [(1, "Consideration"), (2, "Purchase")]
    for model in (Touchpoint, PainPoint, Opportunity, StageKPI):
        assert not model.objects.filter(stage_id=board.awareness.pk).exists()
    assert Touchpoint.objects.filter(stage=board.consideration).count() == 2


def test_deleting_a_stage_without_htmx_goes_back_to_the_map(ws_editor_client, board) -> None:
    data = {"expected_version": board.purchase.version}

    response = ws_editor_client.post(url("stage_remove", board.purchase.pk), data, follow=True)

    assertRedirects(response, map_url(board))
    assertContains(response, "Deleted stage Purchase.")
    assert stage_order(board.journey_map) == [(1, "Awareness"), (2, "Consideration")]


# --- cards: add, edit, delete each kind ------------------------------------------------------

KINDS = list(CARD_KINDS)

# What a user types into a new or edited card, where it is stored and how the card shows it.
TYPED = {
    "touchpoint": {
        "name": "TikTok video",
        "channel": "social",
        "owner": "Sam",
        "description": "Short unboxing clip",
        "emotion": "1",
        "rule": "",
    },
    "pain_point": {
        "title": "Shipping cost surprise",
        "severity": "5",
        "touchpoint": "",
        "description": "",
        "evidence": "12 support tickets",
        "status": "investigating",
    },
    "opportunity": {
        "title": "Free shipping over 50",
        "impact": "5",
        "effort": "2",
        "status": "planned",
        "owner": "Ops",
        "pain_point": "",
        "description": "",
    },
    "kpi": {"metric": "orders", "target": "250", "direction": "lower"},
}
STORED = {
    "touchpoint": {"name": "TikTok video", "channel": "social", "owner": "Sam", "emotion": 1},
    "pain_point": {"title": "Shipping cost surprise", "severity": 5, "status": "investigating"},
    "opportunity": {"title": "Free shipping over 50", "impact": 5, "effort": 2, "owner": "Ops"},
    "kpi": {"metric": "orders", "target": 250.0, "direction": "lower"},
}
SHOWN = {
    "touchpoint": "TikTok video",
    "pain_point": "Shipping cost surprise",
    "opportunity": "Free shipping over 50",
    "kpi": "Orders",
}
# The field a card cannot do without.
REQUIRED_FIELD = {
    "touchpoint": "name",
    "pain_point": "title",
    "opportunity": "title",
    "kpi": "metric",
}


def stored(card) -> dict:
    card.refresh_from_db()
    return {name: getattr(card, name) for name in STORED[type_slug(card)]}


def type_slug(card) -> str:
    return next(slug for slug, kind in CARD_KINDS.items() if isinstance(card, kind.model))


def cards_of(stage: Stage, kind: str):
    return CARD_KINDS[kind].model.objects.filter(stage=stage)


@pytest.mark.parametrize("kind", KINDS)
def test_the_new_card_form_opens_in_place(ws_editor_client, board, kind) -> None:
    label = CARD_KINDS[kind].label

    response = ws_editor_client.get(url("card_add", board.purchase.pk, kind), headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, f"New {label}")
    assertContains(response, f'hx-target="#cell-{kind}-{board.purchase.pk}"')


@pytest.mark.parametrize("kind", KINDS)
def test_without_htmx_the_new_card_form_opens_in_the_full_page(ws_editor_client, board, kind):
    response = ws_editor_client.get(url("card_add", board.purchase.pk, kind))

    assert response.status_code == 200 and not is_fragment(response)
    assertContains(response, f"New {CARD_KINDS[kind].label}")
    assertContains(response, f'id="add-{kind}-{board.purchase.pk}" method="post"')
    assertContains(response, "Instagram ads")


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_card_is_added_to_its_cell(ws_editor_client, board, kind) -> None:
    response = ws_editor_client.post(
        url("card_add", board.purchase.pk, kind), TYPED[kind], headers=HTMX
    )

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, f'id="cell-{kind}-{board.purchase.pk}"')
    assertContains(response, SHOWN[kind])
    (card,) = cards_of(board.purchase, kind)
    assert stored(card) == STORED[kind]
    assertContains(response, f'id="{kind}-{card.pk}"')


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_card_without_htmx_goes_back_to_the_map(ws_editor_client, board, kind) -> None:
    response = ws_editor_client.post(url("card_add", board.purchase.pk, kind), TYPED[kind])

    assertRedirects(response, map_url(board))
    assert cards_of(board.purchase, kind).count() == 1
    assertContains(ws_editor_client.get(map_url(board)), SHOWN[kind])


def test_a_new_touchpoint_goes_after_the_others(ws_editor_client, board) -> None:
    response = ws_editor_client.post(
        url("card_add", board.awareness.pk, "touchpoint"), TYPED["touchpoint"], headers=HTMX
    )

    assert response.status_code == 200
    assert touchpoint_order(board.awareness)[-1] == (4, "TikTok video")
    ids = [f"touchpoint-{tp.pk}" for tp in board.awareness.touchpoints.order_by("position")]
    assert shown_in_order(response, ids)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_new_card_without_its_title_is_refused(ws_editor_client, board, kind, htmx) -> None:
    data = {**TYPED[kind], REQUIRED_FIELD[kind]: ""}

    response = ws_editor_client.post(
        url("card_add", board.purchase.pk, kind), data, headers=HTMX if htmx else {}
    )

    assertContains(response, REQUIRED, status_code=422)
    assertContains(response, f"New {CARD_KINDS[kind].label}", status_code=422)
    assert is_fragment(response) == htmx
    assert not cards_of(board.purchase, kind).exists()
    assert not board.journey_map.changes.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_the_edit_form_of_a_card_opens_in_place(ws_editor_client, board, kind) -> None:
    card = board.cards[kind]

    response = ws_editor_client.get(url("card_edit", kind, card.pk), headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, f'<li class="card editing-card" id="{kind}-{card.pk}">')
    assertContains(response, f'name="expected_version" value="{card.version}"')


@pytest.mark.parametrize("kind", KINDS)
def test_without_htmx_the_edit_form_opens_in_the_full_page(ws_editor_client, board, kind) -> None:
    card = board.cards[kind]

    response = ws_editor_client.get(url("card_edit", kind, card.pk))

    assert response.status_code == 200 and not is_fragment(response)
    assertContains(response, f'<li class="card editing-card" id="{kind}-{card.pk}">')
    assertContains(response, "Consideration")  # the rest of the map is there too


@pytest.mark.parametrize("kind", KINDS)
def test_an_edited_card_is_saved_and_shown_in_place(ws_editor_client, board, kind) -> None:
    card = board.cards[kind]
    data = {**TYPED[kind], "expected_version": card.version}

    response = ws_editor_client.post(url("card_edit", kind, card.pk), data, headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, f'id="{kind}-{card.pk}"')
    assertContains(response, SHOWN[kind])
    assertNotContains(response, "editing-card")
    assert stored(card) == STORED[kind]
    assert card.version == 2


@pytest.mark.parametrize("kind", KINDS)
def test_an_edited_card_without_htmx_goes_back_to_the_map(ws_editor_client, board, kind) -> None:
    card = board.cards[kind]
    data = {**TYPED[kind], "expected_version": card.version}

    response = ws_editor_client.post(url("card_edit", kind, card.pk), data)

    assertRedirects(response, map_url(board))
    assert stored(card) == STORED[kind]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("kind", KINDS)
def test_an_edited_card_without_its_title_is_refused(ws_editor_client, board, kind, htmx) -> None:
    card = board.cards[kind]
    before = stored(card)
    data = {**TYPED[kind], REQUIRED_FIELD[kind]: "", "expected_version": card.version}

    response = ws_editor_client.post(
        url("card_edit", kind, card.pk), data, headers=HTMX if htmx else {}
    )

    assertContains(response, REQUIRED, status_code=422)
    assertContains(response, f'id="{kind}-{card.pk}"', status_code=422)
    assert is_fragment(response) == htmx
    assert stored(card) == before and card.version == 1


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_puts_the_card_back(ws_editor_client, board, kind) -> None:
    card = board.cards[kind]

    response = ws_editor_client.get(url("card_detail", kind, card.pk), headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, f'id="{kind}-{card.pk}"')
    assertNotContains(response, "editing-card")
    assertRedirects(ws_editor_client.get(url("card_detail", kind, card.pk)), map_url(board))


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_on_a_new_card_puts_the_cell_back(ws_editor_client, board, kind) -> None:
    response = ws_editor_client.get(url("stage_cell", board.awareness.pk, kind), headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, f'id="cell-{kind}-{board.awareness.pk}"')
    assertContains(response, f'id="{kind}-{board.cards[kind].pk}"')
    response = ws_editor_client.get(url("stage_cell", board.awareness.pk, kind))
    assertRedirects(response, map_url(board))


def test_an_unknown_kind_of_card_is_not_found(ws_editor_client, board) -> None:
    assert ws_editor_client.get(url("card_add", board.awareness.pk, "sticker")).status_code == 404
    assert ws_editor_client.get(url("card_edit", "sticker", board.instagram.pk)).status_code == 404


@pytest.mark.parametrize("kind", KINDS)
def test_a_deleted_card_leaves_its_cell(ws_editor_client, board, kind) -> None:
    card = board.cards[kind]

    response = ws_editor_client.post(
        url("card_remove", kind, card.pk), {"expected_version": card.version}, headers=HTMX
    )

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, f'id="cell-{kind}-{board.awareness.pk}"')
    assertNotContains(response, f'id="{kind}-{card.pk}"')
    assert not CARD_KINDS[kind].model.objects.filter(pk=card.pk).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_card_deleted_without_htmx_goes_back_to_the_map(ws_editor_client, board, kind) -> None:
    card = board.cards[kind]

    response = ws_editor_client.post(
        url("card_remove", kind, card.pk), {"expected_version": card.version}, follow=True
    )

    assertRedirects(response, map_url(board))
    assertContains(response, f"Deleted {CARD_KINDS[kind].label}")
    assert not CARD_KINDS[kind].model.objects.filter(pk=card.pk).exists()


def test_deleting_a_touchpoint_closes_the_gap(ws_editor_client, board) -> None:
    response = ws_editor_client.post(
        url("card_remove", "touchpoint", board.instagram.pk), {"expected_version": 1}, headers=HTMX
    )

    assert response.status_code == 200
    assert touchpoint_order(board.awareness) == [(1, "Google search"), (2, "Newsletter")]
    board.slow_ads.refresh_from_db()
    assert board.slow_ads.touchpoint is None  # the pain point stays, without its touchpoint


# --- moving touchpoints --------------------------------------------------------------------


def move(client: Client, touchpoint: Touchpoint, stage: Stage, position: object, **kwargs):
    data = {"stage": stage.pk, "position": position}
    return client.post(url("card_move", touchpoint.pk), data, **kwargs)


@pytest.mark.parametrize(
    ("name", "position", "expected"),
    [
        ("Google search", 1, ["Google search", "Instagram ads", "Newsletter"]),  # ↑
        ("Google search", 3, ["Instagram ads", "Newsletter", "Google search"]),  # ↓
        ("Newsletter", 1, ["Newsletter", "Instagram ads", "Google search"]),  # dragged up
        ("Instagram ads", 9999, ["Google search", "Newsletter", "Instagram ads"]),  # to the end
        ("Newsletter", -5, ["Newsletter", "Instagram ads", "Google search"]),  # to the start
    ],
)
def test_a_touchpoint_moves_within_its_stage(
    ws_editor_client, board, name, position, expected
) -> None:
    touchpoint = board.awareness.touchpoints.get(name=name)

    response = move(ws_editor_client, touchpoint, board.awareness, position, headers=HTMX)

    assert response.status_code == 200 and is_fragment(response)
    assertContains(response, 'id="board"')
    assert touchpoint_order(board.awareness) == list(enumerate(expected, start=1))
    shown = [board.awareness.touchpoints.get(name=n) for n in expected]
    assert shown_in_order(response, [f"touchpoint-{tp.pk}" for tp in shown])


def test_a_touchpoint_moves_to_another_stage_and_both_close_up(ws_editor_client, board) -> None:
    response = move(ws_editor_client, board.instagram, board.consideration, 2, headers=HTMX)

    assert response.status_code == 200
    assert touchpoint_order(board.awareness) == [(1, "Google search"), (2, "Newsletter")]
    assert touchpoint_order(board.consideration) == [
        (1, "Product page"),
        (2, "Instagram ads"),
        (3, "Reviews"),
    ]
    assert shown_in_order(
        response,
        [f"touchpoint-{tp.pk}" for tp in (board.product_page, board.instagram, board.reviews)],
    )
    cell = response.content.decode().split(f'id="cell-touchpoint-{board.consideration.pk}"')[1]
    assert f'id="touchpoint-{board.instagram.pk}"' in cell.split("</ul>")[0]


def test_a_pain_point_loses_its_link_to_a_touchpoint_that_left_its_stage(
    ws_editor_client, board
) -> None:
    move(ws_editor_client, board.instagram, board.purchase, 1, headers=HTMX)

    board.slow_ads.refresh_from_db()
    assert board.slow_ads.stage == board.awareness
    assert board.slow_ads.touchpoint is None
    response = ws_editor_client.get(map_url(board))
    assertNotContains(response, "At Instagram ads")


def test_moving_a_touchpoint_without_htmx_goes_back_to_the_map(ws_editor_client, board) -> None:
    response = move(ws_editor_client, board.reviews, board.awareness, 1)

    assertRedirects(response, map_url(board))
    assert touchpoint_order(board.awareness)[0] == (1, "Reviews")
    assert touchpoint_order(board.consideration) == [(1, "Product page")]


@pytest.mark.parametrize("where", ["other_map_stage", "rival_stage"])
def test_a_touchpoint_cannot_move_to_a_stage_of_another_map(ws_editor_client, board, where):
    response = move(ws_editor_client, board.instagram, getattr(board, where), 1, headers=HTMX)

    assert response.status_code == 404
    board.instagram.refresh_from_db()
    assert board.instagram.stage == board.awareness and board.instagram.position == 1
    assert not getattr(board, where).touchpoints.exists()


def test_a_touchpoint_move_without_a_whole_number_is_refused(ws_editor_client, board) -> None:
    response = move(ws_editor_client, board.instagram, board.consideration, "top", headers=HTMX)

    assertContains(response, "Give the new position as a whole number.", status_code=422)
    board.instagram.refresh_from_db()
    assert board.instagram.stage == board.awareness


# --- links between cards stay within the stage ------------------------------------------------


@pytest.mark.parametrize("how", ["add", "edit"])
def test_a_pain_point_refuses_a_touchpoint_of_another_stage(ws_editor_client, board, how) -> None:
    data = {**TYPED["pain_point"], "touchpoint": board.product_page.pk, "expected_version": 1}
    target = (
        url("card_add", board.awareness.pk, "pain_point")
        if how == "add"
        else url("card_edit", "pain_point", board.slow_ads.pk)
    )

    response = ws_editor_client.post(target, data, headers=HTMX)

    assertContains(response, "Select a valid choice", status_code=422)
    assert not PainPoint.objects.filter(touchpoint=board.product_page).exists()
    assert PainPoint.objects.count() == 1


def test_a_pain_point_accepts_a_touchpoint_of_its_stage(ws_editor_client, board) -> None:
    data = {**TYPED["pain_point"], "touchpoint": board.search.pk, "expected_version": 1}

    response = ws_editor_client.post(
        url("card_edit", "pain_point", board.slow_ads.pk), data, headers=HTMX
    )

    assertContains(response, "At Google search")
    board.slow_ads.refresh_from_db()
    assert board.slow_ads.touchpoint == board.search


@pytest.mark.parametrize("how", ["add", "edit"])
def test_an_opportunity_refuses_a_pain_point_of_another_stage(ws_editor_client, board, how):
    elsewhere = factories.make_pain_point(board.consideration, "Too many choices")
    data = {**TYPED["opportunity"], "pain_point": elsewhere.pk, "expected_version": 1}
    target = (
        url("card_add", board.awareness.pk, "opportunity")
        if how == "add"
        else url("card_edit", "opportunity", board.lighter_ads.pk)
    )

    response = ws_editor_client.post(target, data, headers=HTMX)

    assertContains(response, "Select a valid choice", status_code=422)
    assert not Opportunity.objects.filter(pain_point=elsewhere).exists()
    board.lighter_ads.refresh_from_db()
    assert board.lighter_ads.pain_point == board.slow_ads


# --- a touchpoint's rule ------------------------------------------------------------------------


def save_rule(client: Client, board: Board, rule: str):
    data = {**TYPED["touchpoint"], "rule": rule, "expected_version": board.instagram.version}
    return client.post(url("card_edit", "touchpoint", board.instagram.pk), data, headers=HTMX)


def test_a_valid_rule_is_saved(ws_editor_client, board) -> None:
    rule = '{"all": [{"field": "page", "op": "starts_with", "value": "/checkout"}]}'

    response = save_rule(ws_editor_client, board, rule)

    assert response.status_code == 200
    assertContains(response, "/checkout")
    board.instagram.refresh_from_db()
    assert board.instagram.rule == {
        "all": [{"field": "page", "op": "starts_with", "value": "/checkout"}]
    }


def test_an_empty_rule_means_not_measured(ws_editor_client, board) -> None:
    Touchpoint.objects.filter(pk=board.instagram.pk).update(rule={"all": []})

    response = save_rule(ws_editor_client, board, "  ")

    assert response.status_code == 200
    board.instagram.refresh_from_db()
    assert board.instagram.rule is None


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('{"all": [', "Not valid JSON: Expecting value at line 1, column 10."),
        ('{"all": [{"field": "event", "op": "equal", "value": "x"}]}', "rule.all[0].op"),
        ('{"all": [{"field": "event", "op": "in", "value": "x"}]}', "rule.all[0].value"),
        ('{"every": []}', "rule: must have exactly one key"),
        ("[1, 2]", "rule: must be an object"),
    ],
)
def test_a_bad_rule_is_refused_with_where_it_is_wrong(ws_editor_client, board, rule, message):
    response = save_rule(ws_editor_client, board, rule)

    assertContains(response, message, status_code=422)
    board.instagram.refresh_from_db()
    assert board.instagram.rule is None and board.instagram.name == "Instagram ads"


def test_a_new_touchpoint_with_a_bad_rule_is_not_created(ws_editor_client, board) -> None:
    data = {**TYPED["touchpoint"], "rule": '{"any": [{"field": "", "op": "equals", "value": 1}]}'}

    response = ws_editor_client.post(
        url("card_add", board.purchase.pk, "touchpoint"), data, headers=HTMX
    )

    assertContains(response, "rule.any[0].field", status_code=422)
    assert not board.purchase.touchpoints.exists()


# --- no lost update ------------------------------------------------------------------------


def test_a_stale_card_save_is_refused_with_the_other_persons_version(
    ws_editor_client, board, bob
) -> None:
    edit_url = url("card_edit", "touchpoint", board.instagram.pk)
    form = ws_editor_client.get(edit_url, headers=HTMX)
    theirs = Touchpoint.objects.get(pk=board.instagram.pk)
    theirs.name = "Meta ads by Bob"
    card_update(
        kind=CARD_KINDS["touchpoint"],
        card=theirs,
        user=bob,
        expected_version=theirs.version,
        fields=["name"],
    )
    mine = {**TYPED["touchpoint"], "name": "Instagram reels", "expected_version": version_in(form)}

    response = ws_editor_client.post(edit_url, mine, headers=HTMX)

    assertContains(response, STALE, status_code=409)
    assertContains(response, "Meta ads by Bob", status_code=409)  # what Bob saved
    assertContains(response, 'value="Instagram reels"', status_code=409)  # what I typed
    assert Touchpoint.objects.get(pk=board.instagram.pk).name == "Meta ads by Bob"

    response = ws_editor_client.post(
        edit_url, {**mine, "expected_version": version_in(response)}, headers=HTMX
    )

    assertContains(response, "Instagram reels")
    assert Touchpoint.objects.get(pk=board.instagram.pk).name == "Instagram reels"


def test_a_stale_card_save_without_htmx_shows_the_page_with_both_versions(
    ws_editor_client, board, bob
) -> None:
    theirs = Touchpoint.objects.get(pk=board.instagram.pk)
    theirs.owner = "Bob"
    card_update(
        kind=CARD_KINDS["touchpoint"], card=theirs, user=bob, expected_version=1, fields=["owner"]
    )
    mine = {**TYPED["touchpoint"], "owner": "Sam", "expected_version": 1}

    response = ws_editor_client.post(url("card_edit", "touchpoint", board.instagram.pk), mine)

    assert response.status_code == 409 and not is_fragment(response)
    assertContains(response, STALE, count=1, status_code=409)
    assertContains(response, "<dd>Bob</dd>", status_code=409)
    assertContains(response, 'name="expected_version" value="2"', status_code=409)
    assert Touchpoint.objects.get(pk=board.instagram.pk).owner == "Bob"


@pytest.mark.parametrize("kind", ["pain_point", "opportunity", "kpi"])
def test_a_stale_save_is_refused_for_every_kind_of_card(ws_editor_client, board, bob, kind):
    card = board.cards[kind]
    CARD_KINDS[kind].model.objects.filter(pk=card.pk).update(version=2)  # Bob saved meanwhile
    data = {**TYPED[kind], "expected_version": 1}

    response = ws_editor_client.post(url("card_edit", kind, card.pk), data, headers=HTMX)

    assertContains(response, STALE, status_code=409)
    assert version_in(response) == "2"
    assert stored(card) != STORED[kind]


def test_a_stale_lane_save_is_refused_with_the_other_persons_version(
    ws_editor_client, board, bob
) -> None:
    edit_url = url("stage_part_edit", board.awareness.pk, "goal")
    form = ws_editor_client.get(edit_url, headers=HTMX)
    theirs = Stage.objects.get(pk=board.awareness.pk)
    theirs.customer_goal = "Goal from Bob"
    stage_update(stage=theirs, user=bob, expected_version=theirs.version, fields=["customer_goal"])
    mine = {"customer_goal": "My goal", "description": "", "expected_version": version_in(form)}

    response = ws_editor_client.post(edit_url, mine, headers=HTMX)

    assertContains(response, STALE, status_code=409)
    assertContains(response, "Goal from Bob", status_code=409)
    assertContains(response, "My goal", status_code=409)
    assert Stage.objects.get(pk=board.awareness.pk).customer_goal == "Goal from Bob"

    response = ws_editor_client.post(
        edit_url, {**mine, "expected_version": version_in(response)}, headers=HTMX
    )

    assertContains(response, "My goal")
    assert Stage.objects.get(pk=board.awareness.pk).customer_goal == "My goal"


def test_a_stale_lane_save_without_htmx_shows_the_page_with_both_versions(
    ws_editor_client, board, bob
) -> None:
    theirs = Stage.objects.get(pk=board.awareness.pk)
    theirs.actions = "Bob's actions"
    stage_update(stage=theirs, user=bob, expected_version=1, fields=["actions"])

    response = ws_editor_client.post(
        url("stage_part_edit", board.awareness.pk, "actions"),
        {"actions": "My actions", "expected_version": 1},
    )

    assert response.status_code == 409 and not is_fragment(response)
    assertContains(response, STALE, count=1, status_code=409)
    assertContains(response, "Bob&#x27;s actions", status_code=409)
    assert Stage.objects.get(pk=board.awareness.pk).actions == "Bob's actions"


def test_a_stale_emotion_is_refused_with_the_current_curve(ws_editor_client, board, bob) -> None:
    theirs = Stage.objects.get(pk=board.awareness.pk)
    theirs.emotion = -1
    stage_update(stage=theirs, user=bob, expected_version=1, fields=["emotion"])

    response = ws_editor_client.post(
        url("stage_part_edit", board.awareness.pk, "emotion"),
        {"emotion": "2", "expected_version": 1},
        headers=HTMX,
    )

    assertContains(response, STALE_EMOTION, status_code=409)
    assertContains(
        response, f'id="stage-{board.awareness.pk}-emotion" data-emotion="-1"', status_code=409
    )
    assert Stage.objects.get(pk=board.awareness.pk).emotion == -1


def test_a_stale_emotion_without_htmx_shows_the_map_with_the_message(
    ws_editor_client, board, bob
) -> None:
    Stage.objects.filter(pk=board.awareness.pk).update(emotion=-1, version=2)

    response = ws_editor_client.post(
        url("stage_part_edit", board.awareness.pk, "emotion"),
        {"emotion": "2", "expected_version": 1},
    )

    assert response.status_code == 409 and not is_fragment(response)
    assertContains(response, STALE_EMOTION, count=1, status_code=409)
    assert Stage.objects.get(pk=board.awareness.pk).emotion == -1


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_stale_map_details_are_refused_with_the_other_persons_version(
    ws_editor_client, board, bob, htmx
) -> None:
    headers = HTMX if htmx else {}
    edit_url = url("map_details_edit", "spring-sale")
    form = ws_editor_client.get(edit_url, headers=headers)
    theirs = JourneyMap.objects.get(pk=board.journey_map.pk)
    theirs.name = "Name from Bob"
    map_details_update(
        journey_map=theirs, user=bob, expected_version=theirs.version, fields=["name"]
    )
    mine = {**DETAILS, "expected_version": version_in(form)}

    response = ws_editor_client.post(edit_url, mine, headers=headers)

    assert response.status_code == 409 and is_fragment(response) == htmx
    assertContains(response, STALE, count=1, status_code=409)
    assertContains(response, "Name from Bob", status_code=409)
    assertContains(response, 'value="Summer sale"', status_code=409)
    assert JourneyMap.objects.get(pk=board.journey_map.pk).name == "Name from Bob"

    response = ws_editor_client.post(
        edit_url, {**mine, "expected_version": version_in(response)}, headers=headers
    )

    assert response.status_code == (200 if htmx else 302)
    assert JourneyMap.objects.get(pk=board.journey_map.pk).name == "Summer sale"


def test_editing_a_card_does_not_make_the_map_details_stale(ws_editor_client, board) -> None:
    form = ws_editor_client.get(url("map_details_edit", "spring-sale"), headers=HTMX)
    ws_editor_client.post(
        url("card_edit", "touchpoint", board.instagram.pk),
        {**TYPED["touchpoint"], "expected_version": 1},
        headers=HTMX,
    )

    response = ws_editor_client.post(
        url("map_details_edit", "spring-sale"),
        {**DETAILS, "expected_version": version_in(form)},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert JourneyMap.objects.get(pk=board.journey_map.pk).name == "Summer sale"


@pytest.mark.parametrize("kind", KINDS)
def test_a_stale_delete_is_refused_and_the_card_stays(ws_editor_client, board, kind) -> None:
    card = board.cards[kind]
    CARD_KINDS[kind].model.objects.filter(pk=card.pk).update(version=2)  # edited meanwhile

    response = ws_editor_client.post(
        url("card_remove", kind, card.pk), {"expected_version": 1}, headers=HTMX
    )

    assertContains(response, "was changed by someone else", status_code=409)
    assertContains(response, f'id="{kind}-{card.pk}"', status_code=409)
    assert CARD_KINDS[kind].model.objects.filter(pk=card.pk).exists()


def test_a_stale_delete_without_htmx_goes_back_to_the_map_with_the_reason(
    ws_editor_client, board
) -> None:
    Touchpoint.objects.filter(pk=board.instagram.pk).update(version=2, name="Meta ads")

    response = ws_editor_client.post(
        url("card_remove", "touchpoint", board.instagram.pk), {"expected_version": 1}, follow=True
    )

    assertRedirects(response, map_url(board))
    assertContains(response, "was changed by someone else since you loaded it, so it was not")
    assertContains(response, "Meta ads")
    assert Touchpoint.objects.filter(pk=board.instagram.pk).exists()


def test_a_delete_without_a_version_is_refused(ws_editor_client, board) -> None:
    response = ws_editor_client.post(
        url("card_remove", "touchpoint", board.instagram.pk), headers=HTMX
    )

    assert response.status_code == 409
    assert Touchpoint.objects.filter(pk=board.instagram.pk).exists()


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_stale_stage_delete_is_refused_and_the_stage_stays(ws_editor_client, board, htmx):
    Stage.objects.filter(pk=board.awareness.pk).update(version=2, name="Discover")
    headers = HTMX if htmx else {}

    response = ws_editor_client.post(
        url("stage_remove", board.awareness.pk),
        {"expected_version": 1},
        headers=headers,
        follow=not htmx,
    )

    assertContains(response, "was changed by someone else", status_code=409 if htmx else 200)
    assertContains(response, "Discover", status_code=409 if htmx else 200)
    assert Stage.objects.filter(pk=board.awareness.pk).exists()
    assert board.awareness.touchpoints.count() == 3


@pytest.mark.parametrize("kind", KINDS)
def test_a_card_deleted_by_someone_else_is_not_found(ws_editor_client, board, kind) -> None:
    pk = board.cards[kind].pk
    form = ws_editor_client.get(url("card_edit", kind, pk), headers=HTMX)
    CARD_KINDS[kind].model.objects.filter(pk=pk).delete()

    saved = ws_editor_client.post(
        url("card_edit", kind, pk),
        {**TYPED[kind], "expected_version": version_in(form)},
        headers=HTMX,
    )
    deleted = ws_editor_client.post(
        url("card_remove", kind, pk), {"expected_version": 1}, headers=HTMX
    )

    assert saved.status_code == 404 and deleted.status_code == 404
    assert not CARD_KINDS[kind].model.objects.filter(pk=pk).exists()  # not brought back


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_card_deleted_while_it_is_being_saved_is_refused_not_a_crash(
    ws_editor_client, board, monkeypatch, htmx
) -> None:
    save = editor_views.card_update

    def deleted_just_before(**kwargs):
        Touchpoint.objects.filter(pk=kwargs["card"].pk).delete()  # someone else's delete wins
        return save(**kwargs)

    monkeypatch.setattr(editor_views, "card_update", deleted_just_before)

    response = ws_editor_client.post(
        url("card_edit", "touchpoint", board.instagram.pk),
        {**TYPED["touchpoint"], "expected_version": 1},
        headers=HTMX if htmx else {},
        follow=not htmx,
    )

    assertContains(response, GONE, status_code=409 if htmx else 200)
    assert not Touchpoint.objects.filter(name="TikTok video").exists()


def test_a_lane_of_a_stage_deleted_by_someone_else_is_not_found(ws_editor_client, board) -> None:
    edit_url = url("stage_part_edit", board.purchase.pk, "goal")
    form = ws_editor_client.get(edit_url, headers=HTMX)
    Stage.objects.filter(pk=board.purchase.pk).delete()

    response = ws_editor_client.post(
        edit_url,
        {"customer_goal": "Pay", "description": "", "expected_version": version_in(form)},
        headers=HTMX,
    )

    assert response.status_code == 404


# --- who may do what -----------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    name: str
    args: Callable[[Board], tuple]
    data: Callable[[Board], dict] = lambda board: {}

    def call(self, client: Client, board: Board, workspace: str = "acme", **kwargs):
        target = url(self.name, *self.args(board), workspace=workspace)
        if self.method == "get":
            return client.get(target, **kwargs)
        return client.post(target, self.data(board), **kwargs)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.name}"


def _slug(board: Board) -> tuple:
    return ("spring-sale",)


READ_ONLY = [
    Endpoint("get", "map_detail", _slug),
    Endpoint("get", "map_details", _slug),
    Endpoint("get", "stage_part", lambda b: (b.awareness.pk, "goal")),
    Endpoint("get", "stage_cell", lambda b: (b.awareness.pk, "touchpoint")),
    Endpoint("get", "card_detail", lambda b: ("touchpoint", b.instagram.pk)),
]
EDITING = [
    Endpoint("get", "map_details_edit", _slug),
    Endpoint("post", "map_details_edit", _slug, lambda b: {**DETAILS, "expected_version": 1}),
    Endpoint("post", "map_personas", _slug, lambda b: {"persona": b.gift_buyer.pk}),
    Endpoint(
        "post",
        "map_personas",
        _slug,
        lambda b: {"persona": b.bargain_hunter.pk, "action": "remove"},
    ),
    Endpoint("post", "stage_create", _slug),
    *[
        Endpoint("get", "stage_part_edit", lambda b, part=part: (b.awareness.pk, part))
        for part, *_ in LANES
    ],
    *[
        Endpoint(
            "post",
            "stage_part_edit",
            lambda b, part=part: (b.awareness.pk, part),
            lambda b, typed=typed: {**typed, "expected_version": 1},
        )
        for part, typed, *_ in LANES
    ],
    Endpoint(
        "post",
        "stage_part_edit",
        lambda b: (b.awareness.pk, "emotion"),
        lambda b: {"emotion": "-2", "expected_version": 1},
    ),
    Endpoint("post", "stage_reorder", lambda b: (b.awareness.pk,), lambda b: {"position": 3}),
    Endpoint(
        "post", "stage_remove", lambda b: (b.awareness.pk,), lambda b: {"expected_version": 1}
    ),
    *[Endpoint("get", "card_add", lambda b, k=kind: (b.awareness.pk, k)) for kind in KINDS],
    *[
        Endpoint(
            "post", "card_add", lambda b, k=kind: (b.awareness.pk, k), lambda b, k=kind: TYPED[k]
        )
        for kind in KINDS
    ],
    *[Endpoint("get", "card_edit", lambda b, k=kind: (k, b.cards[k].pk)) for kind in KINDS],
    *[
        Endpoint(
            "post",
            "card_edit",
            lambda b, k=kind: (k, b.cards[k].pk),
            lambda b, k=kind: {**TYPED[k], "expected_version": 1},
        )
        for kind in KINDS
    ],
    *[
        Endpoint(
            "post",
            "card_remove",
            lambda b, k=kind: (k, b.cards[k].pk),
            lambda b: {"expected_version": 1},
        )
        for kind in KINDS
    ],
    Endpoint(
        "post",
        "card_move",
        lambda b: (b.instagram.pk,),
        lambda b: {"stage": b.consideration.pk, "position": 1},
    ),
]


def everything_on(board: Board) -> dict:
    """All that an editor could change on the map, to compare before and after."""
    journey_map = JourneyMap.objects.get(pk=board.journey_map.pk)
    stage_ids = list(Stage.objects.filter(map=journey_map).values_list("pk", flat=True))
    return {
        "map": (journey_map.name, journey_map.version, journey_map.updated_at),
        "personas": sorted(journey_map.personas.values_list("pk", flat=True)),
        "stages": list(Stage.objects.filter(map=journey_map).order_by("pk").values()),
        **{
            kind.slug: list(kind.model.objects.filter(stage__in=stage_ids).order_by("pk").values())
            for kind in CARD_KINDS.values()
        },
        "changes": MapChange.objects.count(),
    }


@pytest.mark.parametrize("endpoint", EDITING, ids=str)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_viewer_is_refused_every_edit_and_nothing_changes(
    ws_viewer_client, board, endpoint, htmx
) -> None:
    before = everything_on(board)

    response = endpoint.call(ws_viewer_client, board, headers=HTMX if htmx else {})

    assert response.status_code == 403
    assert everything_on(board) == before


@pytest.mark.parametrize("endpoint", READ_ONLY, ids=str)
def test_a_viewer_reads_every_region_without_edit_controls(ws_viewer_client, board, endpoint):
    response = endpoint.call(ws_viewer_client, board, headers=HTMX)

    assert response.status_code == 200
    for control in ("hx-post", "edit-link", "/edit/", "Delete…", "+ Add"):
        assertNotContains(response, control)


@pytest.mark.parametrize("endpoint", READ_ONLY + EDITING, ids=str)
def test_an_outsider_finds_nothing_of_this_workspace(outsider_client, board, endpoint) -> None:
    before = everything_on(board)

    through_acme = endpoint.call(outsider_client, board, headers=HTMX)
    through_their_own = endpoint.call(outsider_client, board, workspace="rival", headers=HTMX)

    assert through_acme.status_code == 404
    assert through_their_own.status_code == 404
    assert everything_on(board) == before


@pytest.mark.parametrize("endpoint", READ_ONLY + EDITING, ids=str)
def test_an_anonymous_visitor_is_sent_to_log_in(client, board, endpoint) -> None:
    before = everything_on(board)

    response = endpoint.call(client, board, headers=HTMX)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert everything_on(board) == before


def test_an_admin_edits_like_an_editor(ws_admin_client, board) -> None:
    response = ws_admin_client.post(
        url("card_edit", "touchpoint", board.instagram.pk),
        {**TYPED["touchpoint"], "expected_version": 1},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert Touchpoint.objects.get(pk=board.instagram.pk).name == "TikTok video"


# --- the change log ----------------------------------------------------------------------------

# what the editor does, the action logged, the summary a reader sees
CHANGES = [
    (
        Endpoint("post", "map_details_edit", _slug, lambda b: {**DETAILS, "expected_version": 1}),
        "map_edited",
        "Edited the map's details",
    ),
    (
        Endpoint("post", "map_personas", _slug, lambda b: {"persona": b.gift_buyer.pk}),
        "persona_added",
        "Added persona Gift buyer",
    ),
    (
        Endpoint(
            "post",
            "map_personas",
            _slug,
            lambda b: {"persona": b.bargain_hunter.pk, "action": "remove"},
        ),
        "persona_removed",
        "Removed persona Bargain hunter",
    ),
    (Endpoint("post", "stage_create", _slug), "stage_added", "Added stage New stage"),
    (
        Endpoint(
            "post",
            "stage_part_edit",
            lambda b: (b.awareness.pk, "goal"),
            lambda b: {"customer_goal": "Buy", "description": "", "expected_version": 1},
        ),
        "stage_edited",
        "Edited customer goal, description of stage Awareness",
    ),
    (
        Endpoint(
            "post",
            "stage_part_edit",
            lambda b: (b.awareness.pk, "emotion"),
            lambda b: {"emotion": "-1", "expected_version": 1},
        ),
        "stage_edited",
        "Edited emotion of stage Awareness",
    ),
    (
        Endpoint("post", "stage_reorder", lambda b: (b.awareness.pk,), lambda b: {"position": 3}),
        "stage_moved",
        "Moved stage Awareness to position 3",
    ),
    (
        Endpoint(
            "post", "stage_remove", lambda b: (b.purchase.pk,), lambda b: {"expected_version": 1}
        ),
        "stage_deleted",
        "Deleted stage Purchase",
    ),
    (
        Endpoint(
            "post",
            "card_add",
            lambda b: (b.purchase.pk, "touchpoint"),
            lambda b: TYPED["touchpoint"],
        ),
        "touchpoint_added",
        "Added touchpoint TikTok video to Purchase",
    ),
    (
        Endpoint(
            "post",
            "card_add",
            lambda b: (b.purchase.pk, "pain_point"),
            lambda b: TYPED["pain_point"],
        ),
        "pain_point_added",
        "Added pain point Shipping cost surprise to Purchase",
    ),
    (
        Endpoint(
            "post",
            "card_add",
            lambda b: (b.purchase.pk, "opportunity"),
            lambda b: TYPED["opportunity"],
        ),
        "opportunity_added",
        "Added opportunity Free shipping over 50 to Purchase",
    ),
    (
        Endpoint("post", "card_add", lambda b: (b.purchase.pk, "kpi"), lambda b: TYPED["kpi"]),
        "kpi_added",
        "Added KPI Orders to Purchase",
    ),
    (
        Endpoint(
            "post",
            "card_edit",
            lambda b: ("touchpoint", b.instagram.pk),
            lambda b: {**TYPED["touchpoint"], "expected_version": 1},
        ),
        "touchpoint_edited",
        "Edited touchpoint TikTok video in Awareness",
    ),
    (
        Endpoint(
            "post",
            "card_edit",
            lambda b: ("pain_point", b.slow_ads.pk),
            lambda b: {**TYPED["pain_point"], "expected_version": 1},
        ),
        "pain_point_edited",
        "Edited pain point Shipping cost surprise in Awareness",
    ),
    (
        Endpoint(
            "post",
            "card_edit",
            lambda b: ("opportunity", b.lighter_ads.pk),
            lambda b: {**TYPED["opportunity"], "expected_version": 1},
        ),
        "opportunity_edited",
        "Edited opportunity Free shipping over 50 in Awareness",
    ),
    (
        Endpoint(
            "post",
            "card_edit",
            lambda b: ("kpi", b.users_kpi.pk),
            lambda b: {**TYPED["kpi"], "expected_version": 1},
        ),
        "kpi_edited",
        "Edited KPI Orders in Awareness",
    ),
    (
        Endpoint(
            "post",
            "card_remove",
            lambda b: ("pain_point", b.slow_ads.pk),
            lambda b: {"expected_version": 1},
        ),
        "pain_point_deleted",
        "Deleted pain point Slow ads from Awareness",
    ),
    (
        Endpoint(
            "post",
            "card_remove",
            lambda b: ("opportunity", b.lighter_ads.pk),
            lambda b: {"expected_version": 1},
        ),
        "opportunity_deleted",
        "Deleted opportunity Lighter ads from Awareness",
    ),
    (
        Endpoint(
            "post",
            "card_remove",
            lambda b: ("kpi", b.users_kpi.pk),
            lambda b: {"expected_version": 1},
        ),
        "kpi_deleted",
        "Deleted KPI Users from Awareness",
    ),
    (
        Endpoint(
            "post",
            "card_remove",
            lambda b: ("touchpoint", b.newsletter.pk),
            lambda b: {"expected_version": 1},
        ),
        "touchpoint_deleted",
        "Deleted touchpoint Newsletter from Awareness",
    ),
    (
        Endpoint(
            "post",
            "card_move",
            lambda b: (b.instagram.pk,),
            lambda b: {"stage": b.consideration.pk, "position": 1},
        ),
        "touchpoint_moved",
        "Moved touchpoint Instagram ads in Awareness to Consideration",
    ),
    (
        Endpoint(
            "post",
            "card_move",
            lambda b: (b.instagram.pk,),
            lambda b: {"stage": b.awareness.pk, "position": 3},
        ),
        "touchpoint_moved",
        "Moved touchpoint Instagram ads in Awareness",
    ),
]


@pytest.mark.parametrize(("endpoint", "action", "summary"), CHANGES, ids=[c[2] for c in CHANGES])
def test_each_edit_goes_on_the_change_log(
    ws_editor_client, ws_editor, board, endpoint, action, summary
) -> None:
    response = endpoint.call(ws_editor_client, board, headers=HTMX)

    assert response.status_code == 200
    change = last_change(board.journey_map)
    assert (change.user, change.action, change.summary) == (ws_editor, action, summary)
    assert board.journey_map.changes.count() == 1
    page = ws_editor_client.get(map_url(board))
    assertContains(page, f"eddie · {summary}".replace("'", "&#x27;"))


def test_a_refused_edit_is_not_logged(ws_editor_client, board) -> None:
    ws_editor_client.post(
        url("card_edit", "touchpoint", board.instagram.pk),
        {**TYPED["touchpoint"], "expected_version": 7},
        headers=HTMX,
    )
    ws_editor_client.post(url("card_add", board.awareness.pk, "kpi"), {"metric": ""}, headers=HTMX)

    assert not board.journey_map.changes.exists()


# --- queries per page ----------------------------------------------------------------------


def map_of_size(workspace, name: str, stages: int, cards: int) -> JourneyMap:
    """A map of `stages` stages with `cards` cards in each lane, linked to each other."""
    journey_map = factories.make_map(workspace, name)
    journey_map.personas.add(factories.make_persona(workspace, f"{name} persona"))
    for s in range(stages):
        stage = factories.make_stage(journey_map, f"{name} stage {s}", emotion=s % 5 - 2)
        for c in range(cards):
            touchpoint = factories.make_touchpoint(stage, f"Touchpoint {s}.{c}")
            pain_point = factories.make_pain_point(stage, f"Pain {s}.{c}", touchpoint=touchpoint)
            factories.make_opportunity(stage, f"Idea {s}.{c}", pain_point=pain_point)
            factories.make_kpi(stage, "users", target=c)
        MapChange.objects.create(map=journey_map, action="edited", summary=f"Edit {s}")
    return journey_map


def queries_for(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


# Session, user, membership, the map, its personas, stages, touchpoints, pain points (with their
# touchpoint), opportunities (with their pain point), KPIs, the personas not on it yet, the open
# comment counts, the workspace switcher, recent changes: measured on SQLite and PostgreSQL; and 2
# for the stored figures (analytics.figures.load_map_figures: the map's figures state with whether
# datasets feed it, and the stored figures of the persona shown), whatever the map's size.
EDITOR_PAGE_QUERIES = 16


@pytest.mark.parametrize("who", ["ws_editor_client", "ws_viewer_client"])
def test_the_editor_page_costs_the_same_queries_for_a_small_or_a_big_map(
    request, workspace, who, django_assert_max_num_queries
) -> None:
    client = request.getfixturevalue(who)
    small = map_of_size(workspace, "Small", stages=2, cards=2)
    big = map_of_size(workspace, "Big", stages=8, cards=6)
    client.get(small.get_absolute_url())  # the first visit remembers the workspace in the session
    cache.clear()  # the lanes are rendered from the database

    small_queries = queries_for(client, small.get_absolute_url())
    big_queries = queries_for(client, big.get_absolute_url())

    assert big_queries == small_queries <= EDITOR_PAGE_QUERIES
    # Visited again, the lanes come rendered from the cache: no stage or card is read.
    assert queries_for(client, small.get_absolute_url()) == small_queries - LANES_QUERIES
    with django_assert_max_num_queries(EDITOR_PAGE_QUERIES - LANES_QUERIES):
        response = client.get(big.get_absolute_url())
    assertContains(response, "Touchpoint 7.5")
    assertContains(response, "Idea 7.5")


# Stages, touchpoints, pain points, opportunities, KPIs: what only the lanes show.
LANES_QUERIES = 5


def test_a_change_to_the_map_shows_on_the_next_visit_despite_the_cached_lanes(
    workspace, ws_editor_client
) -> None:
    journey_map = map_of_size(workspace, "Cached", stages=2, cards=1)
    page = journey_map.get_absolute_url()
    assertContains(ws_editor_client.get(page), "Touchpoint 1.0")  # rendered and cached
    touchpoint = Touchpoint.objects.get(name="Touchpoint 1.0")
    response = ws_editor_client.post(
        reverse("card_edit", args=[workspace.slug, "touchpoint", touchpoint.pk]),
        {
            "name": "Renamed ad",
            "channel": "email",
            "emotion": "0",
            "rule": "",
            "expected_version": touchpoint.version,
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200

    response = ws_editor_client.get(page)
    assertContains(response, "Renamed ad")
    assertNotContains(response, "Touchpoint 1.0")


def test_viewers_never_get_the_lanes_cached_for_an_editor(
    workspace, ws_editor_client, ws_viewer_client
) -> None:
    journey_map = map_of_size(workspace, "Roles", stages=2, cards=1)
    touchpoint = Touchpoint.objects.get(name="Touchpoint 1.0")
    edit_url = reverse("card_edit", args=[workspace.slug, "touchpoint", touchpoint.pk])
    assertContains(ws_editor_client.get(journey_map.get_absolute_url()), edit_url)

    response = ws_viewer_client.get(journey_map.get_absolute_url())
    assertContains(response, "Touchpoint 1.0")
    assertNotContains(response, edit_url)


def test_forms_in_cached_lanes_carry_the_token_of_whoever_loads_the_page(
    workspace, ws_editor_client, ws_admin
) -> None:
    journey_map = map_of_size(workspace, "Tokens", stages=2, cards=1)
    touchpoint = Touchpoint.objects.get(name="Touchpoint 1.0")
    ws_editor_client.get(journey_map.get_absolute_url())  # the editor's visit caches the lanes
    browser = Client(enforce_csrf_checks=True)  # a person without JavaScript: the form's token
    browser.force_login(ws_admin)

    page = browser.get(journey_map.get_absolute_url()).content.decode()
    remove = reverse("card_remove", args=[workspace.slug, "touchpoint", touchpoint.pk])
    token = re.search(
        rf'action="{re.escape(remove)}".*?name="csrfmiddlewaretoken" value="([^"]+)"', page, re.S
    )
    assert editor_views.CSRF_SLOT not in page
    response = browser.post(
        remove, {"csrfmiddlewaretoken": token.group(1), "expected_version": touchpoint.version}
    )

    assertRedirects(response, journey_map.get_absolute_url(), fetch_redirect_response=False)
    assert not Touchpoint.objects.filter(pk=touchpoint.pk).exists()
