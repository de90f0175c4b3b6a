"""A map's history: take a snapshot, restore it (all or nothing, undoable), compare two versions."""

import copy
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from journeymap.history import (
    ADDED,
    CHANGED,
    REMOVED,
    SAME,
    live_period,
    map_diff,
    snapshot_restore,
    snapshot_take,
)
from journeymap.mapjson import SCHEMA, MapJSONError, map_export, map_import
from journeymap.models import JourneyMap, MapChange, Snapshot
from stages.models import Stage
from tests import factories
from touchpoints.models import Touchpoint

HTMX = {"HX-Request": "true"}


@dataclass
class Board:
    journey_map: JourneyMap
    awareness: Stage
    purchase: Stage
    ads: Touchpoint
    landing: Touchpoint


@pytest.fixture
def board(workspace, ws_admin) -> Board:
    """A two-stage map with cards of every kind, links between them and a persona."""
    journey_map = factories.make_map(
        workspace, "Spring sale", slug="spring-sale", description="The April campaign."
    )
    journey_map.personas.set([factories.make_persona(workspace, "Bargain hunter")])
    awareness = factories.make_stage(
        journey_map,
        "Awareness",
        kind="awareness",
        customer_goal="Find a deal.",
        thoughts="Is it really cheaper?",
        emotion=1,
    )
    purchase = factories.make_stage(journey_map, "Purchase", kind="purchase", emotion=-1)
    ads = factories.make_touchpoint(
        awareness,
        "Instagram ads",
        channel="ads",
        rule={"all": [{"field": "source", "op": "equals", "value": "instagram"}]},
    )
    landing = factories.make_touchpoint(awareness, "Landing page", channel="website")
    slow = factories.make_pain_point(awareness, "Slow page", severity=4, touchpoint=landing)
    factories.make_opportunity(awareness, "Lighter images", impact=4, pain_point=slow)
    factories.make_kpi(awareness, "users", target=1000)
    factories.make_touchpoint(purchase, "Checkout", channel="website")
    factories.make_kpi(purchase, "revenue", target=5000.0)
    return Board(journey_map, awareness, purchase, ads, landing)


def url(name: str, *args: object) -> str:
    return reverse(name, args=["acme", "spring-sale", *args])


def change_the_map(board: Board) -> None:
    """What a team does after a snapshot: edit a stage, delete a touchpoint, add a stage."""
    board.awareness.customer_goal = "Find the best deal fast."
    board.awareness.emotion = -2
    board.awareness.save()
    board.ads.delete()
    factories.make_stage(board.journey_map, "Advocacy", kind="advocacy")
    board.journey_map.name = "Spring sale v2"
    board.journey_map.save()


# --- taking a snapshot ------------------------------------------------------------------------


def test_a_snapshot_keeps_the_map_as_its_json_and_is_logged(board, ws_editor) -> None:
    snapshot = snapshot_take(
        journey_map=board.journey_map,
        user=ws_editor,
        name="  Before the redesign ",
        kind="to_be",
        note="What we show the board.",
    )

    assert snapshot.name == "Before the redesign"
    assert snapshot.get_kind_display() == "To-be"
    assert snapshot.created_by == ws_editor
    assert snapshot.data == map_export(board.journey_map)
    assert [s["name"] for s in snapshot.data["stages"]] == ["Awareness", "Purchase"]
    logged = MapChange.objects.filter(map=board.journey_map).first()
    assert logged.user == ws_editor
    assert logged.summary == "Took snapshot Before the redesign (To-be)"


def test_an_editor_takes_a_snapshot_from_the_history_page(ws_editor_client, board) -> None:
    page = ws_editor_client.get(url("map_history"))
    assertContains(page, "Take a snapshot")
    assertContains(page, "No snapshots yet.")

    response = ws_editor_client.post(
        url("snapshot_take"), {"name": "Launch", "kind": "as_is", "note": "Day one."}
    )

    assertRedirects(response, url("map_history"), fetch_redirect_response=False)
    page = ws_editor_client.get(url("map_history"))
    assertContains(page, "Took snapshot “Launch”.")
    assertContains(page, '<strong class="snapshot-name">Launch</strong>', html=True)
    assertContains(page, "As-is")
    assertContains(page, "Day one.")
    assertContains(page, "by eddie")
    assert Snapshot.objects.get().data == map_export(board.journey_map)


def test_a_snapshot_needs_a_name(ws_editor_client, board) -> None:
    response = ws_editor_client.post(url("snapshot_take"), {"name": " ", "kind": "as_is"})

    assertContains(response, "This field is required.", status_code=422)
    assert not Snapshot.objects.exists()
    assert not MapChange.objects.exists()


def test_the_list_is_newest_first_and_user_text_is_escaped(ws_viewer_client, board) -> None:
    first = snapshot_take(journey_map=board.journey_map, user=None, name="First")
    second = snapshot_take(
        journey_map=board.journey_map, user=None, name="<b>Second</b>", note="<i>why</i>"
    )
    Snapshot.objects.filter(pk=first.pk).update(created_at=second.created_at - timedelta(days=1))

    page = ws_viewer_client.get(url("map_history")).content.decode()

    assert page.index("&lt;b&gt;Second&lt;/b&gt;") < page.index(">First<")
    assert "<b>Second</b>" not in page and "<i>why</i>" not in page
    assert "by a former member" in page


# --- restoring --------------------------------------------------------------------------------


def test_restore_brings_back_exactly_the_snapshot_and_keeps_what_it_replaced(
    board, ws_editor
) -> None:
    journey_map = board.journey_map
    snapshot = snapshot_take(journey_map=journey_map, user=ws_editor, name="Launch")
    change_the_map(board)
    changed = map_export(journey_map)
    assert changed != snapshot.data
    version = JourneyMap.objects.get(pk=journey_map.pk).version

    before = snapshot_restore(snapshot=snapshot, user=ws_editor)

    restored = JourneyMap.objects.get(pk=journey_map.pk)
    assert map_export(restored) == snapshot.data
    assert (restored.pk, restored.slug) == (journey_map.pk, "spring-sale")
    assert restored.name == "Spring sale"
    assert restored.version > version  # open editors of the header get a stale refusal
    assert before.name == "Before restoring Launch"
    assert before.data == changed
    assert "Launch" in before.note
    goal = Stage.objects.get(map=restored, name="Awareness").customer_goal
    assert goal == "Find a deal."
    assert restored.stages.filter(name="Advocacy").count() == 0
    assert Touchpoint.objects.filter(stage__map=restored, name="Instagram ads").exists()


def test_a_restore_can_itself_be_undone(board, ws_editor) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=ws_editor, name="Launch")
    change_the_map(board)
    changed = map_export(board.journey_map)
    before = snapshot_restore(snapshot=snapshot, user=ws_editor)

    snapshot_restore(snapshot=before, user=ws_editor)

    assert map_export(JourneyMap.objects.get(pk=board.journey_map.pk)) == changed


def test_an_editor_restores_from_the_page_and_the_log_says_so(ws_editor_client, board) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch")
    change_the_map(board)

    page = ws_editor_client.get(url("map_history"))
    assertContains(page, "Restore “Launch”")
    assertContains(page, "Before restoring Launch")  # the confirmation says what is kept
    response = ws_editor_client.post(url("snapshot_restore", snapshot.pk))

    assertRedirects(response, url("map_history"), fetch_redirect_response=False)
    page = ws_editor_client.get(url("map_history"))
    assertContains(page, "Restored snapshot “Launch”.")
    kept = "<strong class='snapshot-name'>Before restoring Launch</strong>"
    assertContains(page, kept, html=True)
    assert map_export(JourneyMap.objects.get(pk=board.journey_map.pk)) == snapshot.data
    log = list(MapChange.objects.filter(map=board.journey_map).values_list("summary", flat=True))
    assert log[0].startswith("Restored snapshot Launch")
    assert "Took snapshot Launch (As-is)" in log
    editor = ws_editor_client.get(reverse("map_detail", args=["acme", "spring-sale"]))
    assertContains(editor, "Find a deal.")
    assertNotContains(editor, "Advocacy")


def test_the_open_header_of_the_map_goes_stale_after_a_restore(ws_editor_client, board) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch")
    seen_version = JourneyMap.objects.get(pk=board.journey_map.pk).version
    ws_editor_client.post(url("snapshot_restore", snapshot.pk))

    response = ws_editor_client.post(
        reverse("map_details_edit", args=["acme", "spring-sale"]),
        {
            "name": "Overwrite",
            "description": "",
            "status": "draft",
            "conversion_window_days": "30",
            "expected_version": seen_version,
        },
    )

    assert response.status_code == 409
    assert JourneyMap.objects.get(pk=board.journey_map.pk).name == "Spring sale"


@pytest.mark.parametrize(
    ("corrupt", "path"),
    [
        (lambda data: data["stages"][1].update(emotion=7), "stages[1].emotion"),
        (lambda data: data["stages"][0]["touchpoints"][0].pop("name"), "touchpoints[0].name"),
        (lambda data: data.update(schema="journeymap/v0"), "schema"),
    ],
    ids=["out-of-range", "missing-key", "wrong-schema"],
)
def test_a_corrupted_snapshot_is_refused_whole(board, ws_editor, corrupt, path) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=ws_editor, name="Launch")
    change_the_map(board)
    data = copy.deepcopy(snapshot.data)
    corrupt(data)
    Snapshot.objects.filter(pk=snapshot.pk).update(data=data)
    snapshot.refresh_from_db()
    changed = map_export(board.journey_map)
    snapshots, changes = Snapshot.objects.count(), MapChange.objects.count()

    with pytest.raises(MapJSONError) as error:
        snapshot_restore(snapshot=snapshot, user=ws_editor)

    assert path in str(error.value)
    assert map_export(JourneyMap.objects.get(pk=board.journey_map.pk)) == changed
    assert Snapshot.objects.count() == snapshots  # not even the "Before restoring" one
    assert MapChange.objects.count() == changes


def test_the_page_explains_a_refused_restore(ws_editor_client, board) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch")
    data = copy.deepcopy(snapshot.data)
    data["stages"][0]["kind"] = "nonsense"
    Snapshot.objects.filter(pk=snapshot.pk).update(data=data)
    before = map_export(board.journey_map)

    response = ws_editor_client.post(url("snapshot_restore", snapshot.pk))

    assertContains(response, "Snapshot “Launch” cannot be restored", status_code=422)
    assertContains(response, "stages[0].kind", status_code=422)
    assertContains(response, "The map was not changed.", status_code=422)
    assert map_export(JourneyMap.objects.get(pk=board.journey_map.pk)) == before


# --- download and live period -----------------------------------------------------------------


def test_a_snapshot_downloads_as_an_importable_map_file(ws_viewer_client, board, workspace) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch day")
    change_the_map(board)

    response = ws_viewer_client.get(url("snapshot_download", snapshot.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="spring-sale-snapshot-{snapshot.pk}-launch-day.json"'
    )
    data = json.loads(response.content)
    assert data == snapshot.data
    copy_of_it = map_import(data=data, workspace=workspace)
    assert copy_of_it.slug == "spring-sale-2"
    assert map_export(copy_of_it) == {**snapshot.data, "slug": "spring-sale-2"}


def test_a_snapshot_is_live_until_the_next_one(board) -> None:
    first = snapshot_take(journey_map=board.journey_map, user=None, name="First")
    second = snapshot_take(journey_map=board.journey_map, user=None, name="Second")
    other_map = factories.make_map(board.journey_map.workspace, "Other")
    snapshot_take(journey_map=other_map, user=None, name="Elsewhere")

    assert live_period(first) == (first.created_at, second.created_at)
    assert live_period(second) == (second.created_at, None)


# --- comparing: the diff ----------------------------------------------------------------------


def document(*stages: dict, **fields: object) -> dict:
    return {"schema": SCHEMA, "name": "Journey", "stages": list(stages), **fields}


def test_the_diff_of_a_map_with_itself_is_empty(board) -> None:
    data = map_export(board.journey_map)

    diff = map_diff(data, copy.deepcopy(data))

    assert not diff.has_changes
    assert [stage.status for stage in diff.stages] == [SAME, SAME]
    assert all(card.status == SAME for s in diff.stages for lane in s.lanes for card in lane.cards)


def test_the_diff_finds_added_removed_and_changed_stages() -> None:
    old = document(
        {"name": "Awareness", "customer_goal": "Find us", "emotion": 1},
        {"name": "Consideration"},
        {"name": "Purchase", "kind": "purchase"},
    )
    new = document(
        {"name": "Awareness", "customer_goal": "Find us fast", "emotion": -1},
        {"name": "Purchase", "kind": "decision"},
        {"name": "Advocacy"},
        name="Journey v2",
    )

    diff = map_diff(old, new)

    by_name = {stage.name: stage for stage in diff.stages}
    assert [stage.name for stage in diff.stages] == [
        "Awareness",
        "Consideration",
        "Purchase",
        "Advocacy",
    ]
    assert by_name["Consideration"].status == REMOVED
    assert by_name["Consideration"].new is None
    assert by_name["Advocacy"].status == ADDED
    assert by_name["Advocacy"].old is None
    awareness = by_name["Awareness"]
    assert awareness.status == CHANGED
    assert [(c.label, c.old_text, c.new_text) for c in awareness.changes] == [
        ("Goal", "Find us", "Find us fast"),
        ("Emotion", "+1", "−1"),
    ]
    purchase = by_name["Purchase"]
    assert [(c.field, c.old_text, c.new_text) for c in purchase.changes] == [
        ("kind", "Purchase", "Decision")
    ]  # position 3 → 2 only because a stage before it went: not a move
    assert [(c.field, c.old, c.new) for c in diff.changes] == [("name", "Journey", "Journey v2")]
    assert diff.counts["stages_added"] == diff.counts["stages_removed"] == 1
    assert diff.counts["stages_changed"] == 2


def test_the_diff_reports_a_stage_that_really_moved() -> None:
    old = document({"name": "A"}, {"name": "B"}, {"name": "C"})
    new = document({"name": "C"}, {"name": "A"}, {"name": "B"})

    diff = map_diff(old, new)

    moved = [(s.name, c.old, c.new) for s in diff.stages for c in s.changes]
    assert moved == [("C", 3, 1)]
    assert [s.status for s in diff.stages] == [CHANGED, SAME, SAME]


def test_the_diff_matches_cards_and_names_their_changed_fields() -> None:
    old = document(
        {
            "name": "Awareness",
            "touchpoints": [
                {"name": "Instagram ads", "channel": "ads"},
                {"name": "Newsletter", "channel": "email"},
            ],
            "pain_points": [{"title": "Slow page", "severity": 3, "touchpoint": "Instagram ads"}],
            "opportunities": [{"title": "Lighter images", "status": "idea"}],
            "kpis": [{"metric": "users", "target": 1000}],
        }
    )
    new = document(
        {
            "name": "Awareness",
            "touchpoints": [
                {"name": "Instagram ads", "channel": "social", "owner": "Marketing"},
                {"name": "TikTok", "channel": "social"},
            ],
            "pain_points": [{"title": "Slow page", "severity": 5, "touchpoint": None}],
            "opportunities": [],
            "kpis": [{"metric": "users", "target": 1500}, {"metric": "revenue"}],
        }
    )

    stage = map_diff(old, new).stages[0]

    cards = {(card.kind, card.title): card for lane in stage.lanes for card in lane.cards}
    assert stage.status == CHANGED
    ads = cards["touchpoint", "Instagram ads"]
    assert ads.status == CHANGED
    assert [(c.label, c.old_text, c.new_text) for c in ads.changes] == [
        ("Channel", "Ads", "Social media"),
        ("Owner", "(empty)", "Marketing"),
    ]
    assert cards["touchpoint", "Newsletter"].status == REMOVED
    assert cards["touchpoint", "TikTok"].status == ADDED
    slow = cards["pain_point", "Slow page"]
    assert [(c.label, c.old_text, c.new_text) for c in slow.changes] == [
        ("Severity", "3", "5"),
        ("Touchpoint", "Instagram ads", "—"),
    ]
    assert cards["opportunity", "Lighter images"].status == REMOVED
    users = cards["kpi", "Users"]
    assert [(c.label, c.old, c.new) for c in users.changes] == [("Target", 1000, 1500)]
    assert cards["kpi", "Revenue"].status == ADDED
    assert cards["kpi", "Revenue"].new_detail == "target — · Higher is better"


def test_the_diff_pairs_cards_with_the_same_name_in_order() -> None:
    old = document({"name": "S", "pain_points": [{"title": ""}, {"title": "", "severity": 1}]})
    new = document({"name": "S", "pain_points": [{"title": ""}, {"title": "", "severity": 2}]})

    cards = map_diff(old, new).stages[0].lanes[1].cards

    assert [card.status for card in cards] == [SAME, CHANGED]
    assert cards[1].title == "(untitled pain point)"


def test_the_diff_marks_every_card_of_an_added_stage_as_added() -> None:
    new = document({"name": "Retention", "touchpoints": [{"name": "Loyalty mail"}]})

    stage = map_diff(document(), new).stages[0]

    assert stage.status == ADDED
    assert [(card.title, card.status) for card in stage.lanes[0].cards] == [("Loyalty mail", ADDED)]


# --- comparing: the page ----------------------------------------------------------------------


def test_the_compare_page_shows_both_sides_and_highlights_differences(
    ws_viewer_client, board
) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch")
    change_the_map(board)

    response = ws_viewer_client.get(url("map_history"), {"a": snapshot.pk, "b": "current"})

    assert response.status_code == 200
    assertContains(response, "Launch")
    assertContains(response, "Current map")
    assertContains(response, "until now (the latest snapshot)")
    assertContains(response, 'class="diff-block diff-stage diff-added"')
    assertContains(response, 'aria-label="Stage Advocacy: added"')
    assertContains(response, 'aria-label="Stage Awareness: changed"')
    assertContains(response, 'aria-label="Stage Purchase: same"')
    assertContains(response, "<del>Find a deal.</del>", html=True)
    assertContains(response, "<ins>Find the best deal fast.</ins>", html=True)
    assertContains(response, "<ins>−2</ins>", html=True)
    assertContains(response, "<del>Spring sale</del>", html=True)  # the map's own name
    assertContains(response, "stages 1 added, 0 removed, 1 changed")
    assertContains(response, "cards 0 added, 1 removed, 0 changed")
    assertContains(response, 'class="diff-card diff-removed"')


def test_only_the_differences_on_request(ws_viewer_client, board) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch")
    change_the_map(board)

    response = ws_viewer_client.get(
        url("map_history"), {"a": snapshot.pk, "b": "current", "changes": "1"}
    )

    assertContains(response, 'aria-label="Stage Advocacy: added"')
    assertNotContains(response, 'aria-label="Stage Purchase: same"')
    assertNotContains(response, "Checkout")


def test_two_snapshots_compare_and_htmx_gets_only_the_comparison(ws_viewer_client, board) -> None:
    first = snapshot_take(journey_map=board.journey_map, user=None, name="First")
    change_the_map(board)
    second = snapshot_take(journey_map=board.journey_map, user=None, name="Second")

    response = ws_viewer_client.get(
        url("map_history"), {"a": first.pk, "b": second.pk}, headers=HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="compare"')
    assert "<html" not in html and "Take a snapshot" not in html
    assert "(the next snapshot)" in html
    assert 'aria-label="Stage Advocacy: added"' in html
    # The same URL without htmx is the whole page, and the picker shows the choice.
    page = ws_viewer_client.get(url("map_history"), {"a": first.pk, "b": second.pk})
    assertContains(page, "<html")
    assertContains(page, f'<option value="{second.pk}" selected>', count=1)


def test_nothing_differs_when_a_snapshot_is_compared_with_an_unchanged_map(
    ws_viewer_client, board
) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch")

    response = ws_viewer_client.get(url("map_history"), {"a": "current", "b": snapshot.pk})

    assertContains(response, "No differences: A and B hold the same map.")


def test_the_history_page_costs_a_constant_number_of_queries(
    ws_viewer_client, board, django_assert_max_num_queries
) -> None:
    for number in range(6):
        snapshot_take(journey_map=board.journey_map, user=None, name=f"Snapshot {number}")
    first = Snapshot.objects.order_by("created_at", "id").first()

    with django_assert_max_num_queries(20):
        response = ws_viewer_client.get(url("map_history"), {"a": first.pk, "b": "current"})

    assert response.status_code == 200


# --- access ---------------------------------------------------------------------------------


def test_a_viewer_lists_downloads_and_compares_but_cannot_take_or_restore(
    ws_viewer_client, board
) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch")
    change_the_map(board)
    changed = map_export(board.journey_map)

    page = ws_viewer_client.get(url("map_history"))
    assertContains(page, "Launch")
    assertContains(page, "Download JSON")
    assertContains(page, "Compare with current")
    assertNotContains(page, "Take a snapshot")
    assertNotContains(page, "Restore")

    assert ws_viewer_client.get(url("snapshot_download", snapshot.pk)).status_code == 200
    assert ws_viewer_client.post(url("snapshot_take"), {"name": "Mine"}).status_code == 403
    assert ws_viewer_client.post(url("snapshot_restore", snapshot.pk)).status_code == 403
    assert Snapshot.objects.count() == 1
    assert map_export(JourneyMap.objects.get(pk=board.journey_map.pk)) == changed


def test_an_outsider_sees_nothing_of_the_history(outsider_client, board) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch")

    for response in (
        outsider_client.get(url("map_history")),
        outsider_client.get(url("map_history"), {"a": snapshot.pk, "b": "current"}),
        outsider_client.get(url("snapshot_download", snapshot.pk)),
        outsider_client.post(url("snapshot_take"), {"name": "Mine"}),
        outsider_client.post(url("snapshot_restore", snapshot.pk)),
    ):
        assert response.status_code == 404
        assertNotContains(response, "Launch", status_code=404)
    assert Snapshot.objects.count() == 1


def test_a_snapshot_of_another_map_is_not_found_through_this_one(
    ws_admin_client, board, outsider
) -> None:
    mine_elsewhere = factories.make_map(board.journey_map.workspace, "Other map")
    sibling = snapshot_take(journey_map=mine_elsewhere, user=None, name="Sibling")
    rival_map = factories.make_map(factories.make_workspace("rival-2"), "Rival map")
    foreign = snapshot_take(journey_map=rival_map, user=None, name="Foreign")

    for snapshot in (sibling, foreign):
        assert ws_admin_client.get(url("snapshot_download", snapshot.pk)).status_code == 404
        assert ws_admin_client.post(url("snapshot_restore", snapshot.pk)).status_code == 404
        compare = ws_admin_client.get(url("map_history"), {"a": snapshot.pk, "b": "current"})
        assert compare.status_code == 404
    assert ws_admin_client.get(url("map_history"), {"a": "x1", "b": "current"}).status_code == 404
    assert map_export(rival_map)["name"] == "Rival map"
    assert Snapshot.objects.count() == 2


def test_history_needs_a_login(board) -> None:
    response = Client().get(url("map_history"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_posts_need_the_csrf_token(board, ws_editor) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch")
    change_the_map(board)
    changed = map_export(board.journey_map)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ws_editor)

    assert browser.post(url("snapshot_take"), {"name": "Forged"}).status_code == 403
    assert browser.post(url("snapshot_restore", snapshot.pk)).status_code == 403
    assert Snapshot.objects.count() == 1
    assert map_export(JourneyMap.objects.get(pk=board.journey_map.pk)) == changed

    page = browser.get(url("map_history"))
    assertContains(page, 'name="csrfmiddlewaretoken"')
    token = browser.cookies["csrftoken"].value
    data = {"name": "Real", "kind": "as_is", "csrfmiddlewaretoken": token}
    accepted = browser.post(url("snapshot_take"), data)
    assert accepted.status_code == 302
    assert Snapshot.objects.filter(name="Real").exists()


def test_a_corrupted_snapshot_is_not_compared_but_explained(ws_viewer_client, board) -> None:
    snapshot = snapshot_take(journey_map=board.journey_map, user=None, name="Launch")
    data = copy.deepcopy(snapshot.data)
    data["stages"][1]["touchpoints"] = "not a list"
    Snapshot.objects.filter(pk=snapshot.pk).update(data=data)

    response = ws_viewer_client.get(url("map_history"), {"a": snapshot.pk, "b": "current"})

    assertContains(response, "Snapshot “Launch” cannot be compared", status_code=422)
    assertContains(response, "stages[1].touchpoints: must be a list", status_code=422)
    assertNotContains(response, 'class="diff"', status_code=422)
