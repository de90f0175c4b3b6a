"""Collaboration as members and visitors see it: comments, @mentions, the activity feed, sharing."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from journeymap import collab
from journeymap.models import Comment, JourneyMap, MapChange, Membership, ShareLink
from journeymap.scoping import Role
from stages.services import stage_add
from tests import factories

XSS = "<script>alert(1)</script>"
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def journey_map(workspace) -> JourneyMap:
    """Spring sale: Awareness (Instagram ads, a pain point, an idea, a KPI), then Purchase."""
    journey_map = factories.make_map(workspace, "Spring sale", description="Our spring campaign")
    journey_map.personas.add(factories.make_persona(workspace, "Bargain hunter"))
    awareness = factories.make_stage(
        journey_map, "Awareness", kind="awareness", emotion=1, customer_goal="Find a deal"
    )
    factories.make_touchpoint(awareness, "Instagram ads", channel="social", owner="Sam Jones")
    factories.make_pain_point(awareness, "Slow landing page", severity=4)
    factories.make_opportunity(awareness, "Lighter images")
    factories.make_kpi(awareness, "users", target=1000)
    factories.make_stage(journey_map, "Purchase", kind="purchase", emotion=-2)
    return journey_map


@pytest.fixture
def touchpoint(journey_map):
    return journey_map.stages.get(name="Awareness").touchpoints.get()


def membership(user, journey_map: JourneyMap) -> Membership:
    return Membership.objects.get(user=user, workspace=journey_map.workspace)


def add_comment(user, journey_map: JourneyMap, target, body: str, kind: str = "") -> Comment:
    kind = kind or {"Stage": "stage", "StageKPI": "kpi", "PainPoint": "pain_point"}.get(
        type(target).__name__, type(target).__name__.lower()
    )
    return collab.comment_add(
        journey_map=journey_map,
        kind=kind,
        target_id=target.pk,
        membership=membership(user, journey_map),
        body=body,
    )


def url(name: str, journey_map: JourneyMap, *args: object) -> str:
    return reverse(name, args=[journey_map.workspace.slug, journey_map.slug, *args])


def add_url(journey_map: JourneyMap, kind: str, target_id: int) -> str:
    return url("comment_add", journey_map, kind, target_id)


def comments_page(client: Client, journey_map: JourneyMap, **query: str) -> str:
    response = client.get(url("map_comments", journey_map), query)
    assert response.status_code == 200
    return response.content.decode()


def comment_html(content: str, comment: Comment) -> str:
    """The HTML of one comment on a page."""
    start = content.index(f'id="comment-{comment.pk}"')
    return content[start : content.index("</li>", start)]


def feed_lines(response) -> list[str]:
    """The activity feed's lines as a person reads them."""
    items = re.findall(r'<li class="event[^"]*">(.*?)</li>', response.content.decode(), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def count_queries(client: Client, address: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
    assert response.status_code == 200
    return len(queries)


# --- adding, editing, deleting, resolving ------------------------------------------------------


def test_a_viewer_comments_on_a_touchpoint_and_everyone_reads_it(
    ws_viewer_client, ws_editor_client, ws_viewer, journey_map, touchpoint
) -> None:
    response = ws_viewer_client.post(
        add_url(journey_map, "touchpoint", touchpoint.pk), {"body": "Is this ad still running?"}
    )

    comment = Comment.objects.get()
    assertRedirects(
        response,
        url("map_comments", journey_map) + f"?on=touchpoint-{touchpoint.pk}#comment-{comment.pk}",
    )
    assert comment.author == ws_viewer
    page = comments_page(ws_editor_client, journey_map)
    assert "Is this ad still running?" in comment_html(page, comment)
    assert "vera" in comment_html(page, comment)
    assert "Instagram ads" in page
    assert f'href="{journey_map.get_absolute_url()}#touchpoint-{touchpoint.pk}"' in page


def test_a_comment_added_in_the_editors_side_panel_comes_back_with_the_new_count(
    ws_viewer_client, journey_map, touchpoint
) -> None:
    key = f"touchpoint-{touchpoint.pk}"
    panel = ws_viewer_client.get(
        url("comment_thread", journey_map, "touchpoint", touchpoint.pk) + "?panel=1",
        headers={**HTMX, "HX-Target": "comment-panel"},
    )
    assertContains(panel, 'id="comment-panel"')
    assertContains(panel, "No open comments yet.")

    response = ws_viewer_client.post(
        add_url(journey_map, "touchpoint", touchpoint.pk),
        {"body": "Great ad", "panel": "1"},
        headers={**HTMX, "HX-Target": f"comments-{key}"},
    )

    assert response.status_code == 200
    assertContains(response, f'id="comments-{key}"')
    assertContains(response, "Great ad")
    button = re.search(
        rf'<a [^>]*id="comment-button-{key}"[^>]*>.*?</a>', response.content.decode()
    )
    assert button and 'hx-swap-oob="true"' in button.group(0)
    assert re.sub(r"<[^>]+>", "", button.group(0)).split() == ["1", "open", "comment"]


def test_an_empty_comment_is_refused_with_a_message(
    ws_viewer_client, journey_map, touchpoint
) -> None:
    response = ws_viewer_client.post(
        add_url(journey_map, "touchpoint", touchpoint.pk), {"body": "   "}, headers=HTMX
    )

    assert response.status_code == 422
    assertContains(response, "This field is required.", status_code=422)
    assert not Comment.objects.exists()


def test_the_author_edits_their_comment(
    ws_viewer_client, ws_viewer, journey_map, touchpoint
) -> None:
    comment = add_comment(ws_viewer, journey_map, touchpoint, "Typo in the hedline")
    edit = url("comment_edit", journey_map, comment.pk)

    form = ws_viewer_client.get(edit, headers=HTMX)
    assertContains(form, "Typo in the hedline")
    response = ws_viewer_client.post(edit, {"body": "Typo in the headline"}, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "Typo in the headline")
    assertContains(response, "(edited)")
    comment.refresh_from_db()
    assert comment.body == "Typo in the headline"


def test_editing_works_without_javascript_too(
    ws_viewer_client, ws_viewer, journey_map, touchpoint
) -> None:
    comment = add_comment(ws_viewer, journey_map, touchpoint, "First draft")
    edit = url("comment_edit", journey_map, comment.pk)

    form = ws_viewer_client.get(edit)
    refused = ws_viewer_client.post(edit, {"body": ""})
    saved = ws_viewer_client.post(edit, {"body": "Second draft"})

    assertContains(form, f'<textarea name="body" id="comment-edit-{comment.pk}"')
    assertContains(form, "First draft</textarea>")
    assertContains(refused, "This field is required.", status_code=422)
    assertRedirects(
        saved,
        url("map_comments", journey_map) + f"?on=touchpoint-{touchpoint.pk}#comment-{comment.pk}",
    )
    assert "Second draft" in comment_html(comments_page(ws_viewer_client, journey_map), comment)


def test_the_side_panel_closes(ws_viewer_client, journey_map) -> None:
    response = ws_viewer_client.get(url("comment_panel", journey_map), headers=HTMX)

    assertContains(response, '<aside id="comment-panel" class="comment-panel no-print"')
    assertNotContains(response, "Add a comment")


def test_nobody_edits_or_deletes_someone_elses_comment_not_even_an_admin(
    ws_admin_client, ws_viewer, journey_map, touchpoint
) -> None:
    comment = add_comment(ws_viewer, journey_map, touchpoint, "My own words")

    page = comments_page(ws_admin_client, journey_map)
    edit = ws_admin_client.post(url("comment_edit", journey_map, comment.pk), {"body": "Yours"})
    delete = ws_admin_client.post(url("comment_delete", journey_map, comment.pk))

    assert "Edit</a>" not in comment_html(page, comment)
    assert "Delete comment" not in comment_html(page, comment)
    assert edit.status_code == 403
    assert delete.status_code == 403
    comment.refresh_from_db()
    assert comment.body == "My own words"


def test_the_author_deletes_their_comment(ws_viewer_client, ws_viewer, journey_map, touchpoint):
    comment = add_comment(ws_viewer, journey_map, touchpoint, "Never mind")

    response = ws_viewer_client.post(url("comment_delete", journey_map, comment.pk), headers=HTMX)

    assert response.status_code == 200
    assertNotContains(response, "Never mind")
    assert not Comment.objects.exists()


def test_an_editor_resolves_a_comment_and_it_leaves_the_open_list(
    ws_editor_client, ws_viewer, journey_map, touchpoint
) -> None:
    comment = add_comment(ws_viewer, journey_map, touchpoint, "Fix the price in the ad")

    response = ws_editor_client.post(url("comment_resolve", journey_map, comment.pk))

    assert response.status_code == 302
    assert "Fix the price in the ad" not in comments_page(ws_editor_client, journey_map)
    with_resolved = comments_page(ws_editor_client, journey_map, resolved="1")
    assert "Fix the price in the ad" in comment_html(with_resolved, comment)
    assert "Resolved by eddie" in comment_html(with_resolved, comment)
    assert collab.open_comment_counts(journey_map) == {}


def test_a_resolved_comment_can_be_reopened(ws_editor_client, ws_editor, journey_map, touchpoint):
    comment = add_comment(ws_editor, journey_map, touchpoint, "Check again")
    collab.comment_set_resolved(
        comment=comment, membership=membership(ws_editor, journey_map), resolved=True
    )

    ws_editor_client.post(url("comment_reopen", journey_map, comment.pk))

    assert "Check again" in comments_page(ws_editor_client, journey_map)
    comment.refresh_from_db()
    assert comment.resolved_at is None


def test_a_viewer_resolves_their_own_comment_but_not_someone_elses(
    ws_viewer_client, ws_viewer, ws_editor, journey_map, touchpoint
) -> None:
    own = add_comment(ws_viewer, journey_map, touchpoint, "Mine")
    other = add_comment(ws_editor, journey_map, touchpoint, "Eddie's")

    page = comments_page(ws_viewer_client, journey_map)
    refused = ws_viewer_client.post(url("comment_resolve", journey_map, other.pk))
    accepted = ws_viewer_client.post(url("comment_resolve", journey_map, own.pk))

    assert "Resolve</button>" in comment_html(page, own)
    assert "Resolve</button>" not in comment_html(page, other)
    assert refused.status_code == 403
    assert accepted.status_code == 302
    other.refresh_from_db()
    own.refresh_from_db()
    assert other.resolved_at is None
    assert own.resolved_at is not None


def test_comments_on_a_stage_and_every_kind_of_card_are_grouped_in_map_order(
    ws_viewer_client, ws_viewer, journey_map
) -> None:
    awareness = journey_map.stages.get(name="Awareness")
    purchase = journey_map.stages.get(name="Purchase")
    add_comment(ws_viewer, journey_map, purchase, "On purchase")
    add_comment(ws_viewer, journey_map, awareness.kpis.get(), "On the KPI")
    add_comment(ws_viewer, journey_map, awareness.opportunities.get(), "On the idea")
    add_comment(ws_viewer, journey_map, awareness.pain_points.get(), "On the pain")
    add_comment(ws_viewer, journey_map, awareness.touchpoints.get(), "On the ad")
    add_comment(ws_viewer, journey_map, awareness, "On awareness")

    page = comments_page(ws_viewer_client, journey_map)

    order = ["On awareness", "On the ad", "On the pain", "On the idea", "On the KPI", "On purchase"]
    positions = [page.index(text) for text in order]
    assert positions == sorted(positions)
    assert f'href="{journey_map.get_absolute_url()}#stage-{purchase.pk}-head"' in page
    assert f'href="{journey_map.get_absolute_url()}#kpi-{awareness.kpis.get().pk}"' in page


def test_a_comment_on_a_deleted_card_still_shows_marked_as_such(
    ws_viewer_client, ws_viewer, journey_map, touchpoint
) -> None:
    comment = add_comment(ws_viewer, journey_map, touchpoint, "Was this worth it?")
    touchpoint.delete()

    page = comments_page(ws_viewer_client, journey_map)

    assert "Was this worth it?" in comment_html(page, comment)
    assert "on a deleted card" in page
    assert "Add a comment" not in page


def test_a_card_of_another_map_or_workspace_cannot_be_commented_through_this_map(
    ws_admin_client, workspace, other_workspace, journey_map
) -> None:
    other_map = factories.make_map(workspace, "Other map")
    elsewhere = factories.make_touchpoint(factories.make_stage(other_map, "Elsewhere"), "Other")
    rival = factories.make_touchpoint(factories.make_stage(factories.make_map(other_workspace)))

    for target in (elsewhere, rival):
        response = ws_admin_client.post(
            add_url(journey_map, "touchpoint", target.pk), {"body": "x"}
        )
        assert response.status_code == 404
    assert (
        ws_admin_client.post(add_url(journey_map, "nonsense", 1), {"body": "x"}).status_code == 404
    )
    assert not Comment.objects.exists()


def test_a_comment_of_another_workspace_is_not_found(
    ws_admin_client, other_workspace, outsider, journey_map
) -> None:
    rival_map = factories.make_map(other_workspace, "Rival plan")
    rival_stage = factories.make_stage(rival_map, "Rival stage")
    secret = add_comment(outsider, rival_map, rival_stage, "Rival secret")

    for name in ("comment_edit", "comment_delete", "comment_resolve", "comment_reopen"):
        response = ws_admin_client.post(url(name, journey_map, secret.pk), {"body": "pwned"})
        assert response.status_code == 404, name
    secret.refresh_from_db()
    assert (secret.body, secret.resolved_at) == ("Rival secret", None)


def test_an_outsider_sees_no_comment_page_of_another_workspace(
    outsider_client, ws_viewer, journey_map, touchpoint
) -> None:
    add_comment(ws_viewer, journey_map, touchpoint, "Internal")

    assert outsider_client.get(url("map_comments", journey_map)).status_code == 404
    response = outsider_client.post(
        add_url(journey_map, "touchpoint", touchpoint.pk), {"body": "x"}
    )
    assert response.status_code == 404
    assert Comment.objects.count() == 1


def test_adding_a_comment_needs_the_csrf_token(ws_viewer, journey_map, touchpoint) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(ws_viewer)

    response = client.post(add_url(journey_map, "touchpoint", touchpoint.pk), {"body": "Hi"})

    assert response.status_code == 403
    assert not Comment.objects.exists()


# --- @mentions and escaping --------------------------------------------------------------------


def test_a_mention_of_a_member_is_stored_and_highlighted(
    ws_viewer_client, ws_viewer, ws_editor, journey_map, touchpoint
) -> None:
    ws_viewer_client.post(
        add_url(journey_map, "touchpoint", touchpoint.pk), {"body": "@eddie can you check this?"}
    )

    comment = Comment.objects.get()
    assert list(comment.mentions.all()) == [ws_editor]
    body = comment_html(comments_page(ws_viewer_client, journey_map), comment)
    assert '<mark class="mention">@eddie</mark> can you check this?' in body


def test_a_mention_of_a_non_member_or_of_another_workspaces_user_is_not_stored(
    ws_viewer_client, outsider, journey_map, touchpoint
) -> None:
    factories.make_user("nobody")

    ws_viewer_client.post(
        add_url(journey_map, "touchpoint", touchpoint.pk),
        {"body": "Ask @mallory or @nobody, mail eddie@example.com"},
    )

    comment = Comment.objects.get()
    assert not comment.mentions.exists()
    body = comment_html(comments_page(ws_viewer_client, journey_map), comment)
    assert "Ask @mallory or @nobody, mail eddie@example.com" in body
    assert "<mark" not in body


def test_editing_a_comment_updates_its_mentions(ws_viewer, ws_editor, ws_admin, journey_map):
    stage = journey_map.stages.first()
    comment = add_comment(ws_viewer, journey_map, stage, "Thanks @eddie.")
    assert list(comment.mentions.all()) == [ws_editor]

    collab.comment_edit(
        comment=comment, membership=membership(ws_viewer, journey_map), body="Thanks @alice!"
    )

    assert list(comment.mentions.all()) == [ws_admin]


def test_a_script_in_a_comment_is_shown_as_text_never_run(
    ws_viewer_client, ws_editor, journey_map, touchpoint
) -> None:
    ws_viewer_client.post(
        add_url(journey_map, "touchpoint", touchpoint.pk),
        {"body": f"{XSS}\n@eddie<img src=x onerror=alert(2)>"},
    )

    comment = Comment.objects.get()
    for address in (
        url("map_comments", journey_map),
        url("map_activity", journey_map),
    ):
        response = ws_viewer_client.get(address)
        assertNotContains(response, XSS)
        assertNotContains(response, "<img src=x")
        assertContains(response, ESCAPED_XSS)
    body = comment_html(comments_page(ws_viewer_client, journey_map), comment)
    assert f'{ESCAPED_XSS}<br><mark class="mention">@eddie</mark>&lt;img src=x' in body


# --- comment counts on the map editor ----------------------------------------------------------


def test_the_map_shows_each_stage_and_cards_open_comment_count(
    ws_viewer_client, ws_viewer, ws_editor, journey_map, touchpoint
) -> None:
    awareness = journey_map.stages.get(name="Awareness")
    add_comment(ws_viewer, journey_map, touchpoint, "One")
    add_comment(ws_editor, journey_map, touchpoint, "Two")
    resolved = add_comment(ws_editor, journey_map, touchpoint, "Done")
    collab.comment_set_resolved(
        comment=resolved, membership=membership(ws_editor, journey_map), resolved=True
    )
    add_comment(ws_viewer, journey_map, awareness, "On the stage")

    content = ws_viewer_client.get(journey_map.get_absolute_url()).content.decode()

    def button(key: str) -> str:
        match = re.search(rf'<a [^>]*id="comment-button-{key}"[^>]*>(.*?)</a>', content, re.S)
        assert match, f"no comment button for {key}"
        return re.sub(r"<[^>]+>", "", match.group(1)).strip()

    assert button(f"touchpoint-{touchpoint.pk}") == "2 open comments"
    assert button(f"stage-{awareness.pk}") == "1 open comment"
    assert button(f"pain_point-{awareness.pain_points.get().pk}") == "0 open comments"
    assert button(f"kpi-{awareness.kpis.get().pk}") == "0 open comments"
    thread = url("comment_thread", journey_map, "touchpoint", touchpoint.pk)
    assert f'hx-get="{thread}?panel=1"' in content
    assert 'id="comment-panel"' in content
    assert "Comments &amp; activity" in content


def test_the_share_action_on_the_map_is_only_for_admins(
    ws_admin_client, ws_editor_client, journey_map
) -> None:
    share = url("share_links", journey_map)

    assertContains(ws_admin_client.get(journey_map.get_absolute_url()), f'href="{share}"')
    assertNotContains(ws_editor_client.get(journey_map.get_absolute_url()), f'href="{share}"')


def test_a_thread_link_without_javascript_leads_to_the_comments_page_at_the_target(
    ws_viewer_client, journey_map, touchpoint
) -> None:
    key = f"touchpoint-{touchpoint.pk}"

    response = ws_viewer_client.get(url("comment_thread", journey_map, "touchpoint", touchpoint.pk))

    assertRedirects(response, url("map_comments", journey_map) + f"?on={key}#comments-{key}")
    page = comments_page(ws_viewer_client, journey_map, on=key)
    assert f'id="comments-{key}"' in page
    assert f'action="{add_url(journey_map, "touchpoint", touchpoint.pk)}"' in page


# --- the activity feed -------------------------------------------------------------------------


def test_the_feed_lists_changes_and_comments_newest_first_with_who(
    ws_viewer_client, ws_editor, ws_viewer, journey_map, touchpoint
) -> None:
    stage_add(journey_map=journey_map, user=ws_editor, name="Loyalty")
    add_comment(ws_viewer, journey_map, touchpoint, "Why loyalty before advocacy?")

    lines = feed_lines(ws_viewer_client.get(url("map_activity", journey_map)))

    assert len(lines) == 2
    assert re.fullmatch(
        r"\S+ \S+ vera commented on touchpoint Instagram ads : “?Why loyalty before advocacy\?”?",
        lines[0],
    ), lines[0]
    assert re.fullmatch(r"\S+ \S+ eddie Added stage Loyalty", lines[1]), lines[1]


def test_the_feed_is_paginated(ws_viewer_client, journey_map) -> None:
    for n in range(collab.FEED_PAGE_SIZE + 5):
        MapChange.objects.create(map=journey_map, action="edited", summary=f"Edit number {n}")

    first = feed_lines(ws_viewer_client.get(url("map_activity", journey_map)))
    second = feed_lines(ws_viewer_client.get(url("map_activity", journey_map), {"page": 2}))

    assert len(first) == collab.FEED_PAGE_SIZE
    assert first[0].endswith(f"Edit number {collab.FEED_PAGE_SIZE + 4}")
    assert [line.split(" someone ")[1] for line in second] == [
        f"Edit number {n}" for n in (4, 3, 2, 1, 0)
    ]


def test_the_feed_costs_the_same_queries_for_few_or_many_events(
    ws_viewer_client, ws_viewer, ws_editor, journey_map, touchpoint
) -> None:
    stage = journey_map.stages.first()
    feed = url("map_activity", journey_map)
    add_comment(ws_viewer, journey_map, touchpoint, "First")
    add_comment(ws_viewer, journey_map, stage, "Stage note")
    MapChange.objects.create(map=journey_map, user=ws_editor, action="edited", summary="Edit")
    ws_viewer_client.get(feed)
    few = count_queries(ws_viewer_client, feed)

    for n in range(12):
        add_comment(ws_editor if n % 2 else ws_viewer, journey_map, touchpoint, f"Comment {n}")
        add_comment(ws_viewer, journey_map, stage, f"Stage comment {n}")
        MapChange.objects.create(map=journey_map, user=ws_editor, action="edited", summary="E")
    many = count_queries(ws_viewer_client, feed)

    assert many == few


def test_the_comments_page_costs_the_same_queries_for_few_or_many_comments(
    ws_viewer_client, ws_viewer, ws_editor, journey_map, touchpoint
) -> None:
    page = url("map_comments", journey_map)
    add_comment(ws_viewer, journey_map, touchpoint, "First @eddie")
    ws_viewer_client.get(page)
    few = count_queries(ws_viewer_client, page)

    for n in range(10):
        add_comment(ws_editor, journey_map, touchpoint, f"More @vera {n}")
    many = count_queries(ws_viewer_client, page)

    assert many == few


# --- share links -------------------------------------------------------------------------------


def create_share_link(client: Client, journey_map: JourneyMap) -> ShareLink:
    response = client.post(url("share_link_create", journey_map))
    assertRedirects(response, url("share_links", journey_map))
    return ShareLink.objects.latest("created_at")


def test_an_admin_creates_a_share_link_and_sees_it_in_the_list(
    ws_admin_client, journey_map
) -> None:
    link = create_share_link(ws_admin_client, journey_map)

    page = ws_admin_client.get(url("share_links", journey_map))

    assert len(link.token) >= 43
    public = f"http://testserver{reverse('shared_map', args=[link.token])}"
    assertContains(page, f'value="{public}"')
    assertContains(page, "Revoke link")
    change = MapChange.objects.get(action="share_link_created")
    assert change.summary == "Created a read-only share link"
    assert link.token not in change.summary


def test_the_shared_map_works_logged_out_and_shows_the_map_only(
    ws_admin_client, ws_viewer, journey_map, touchpoint
) -> None:
    add_comment(ws_viewer, journey_map, touchpoint, "Internal remark")
    link = create_share_link(ws_admin_client, journey_map)

    response = Client().get(reverse("shared_map", args=[link.token]))

    assert response.status_code == 200
    for shown in (
        "Spring sale",
        "Our spring campaign",
        "Awareness",
        "Purchase",
        "Instagram ads",
        "Slow landing page",
        "Lighter images",
        "Bargain hunter",
        "+1 positive",
        "−2 very negative",
        "<polyline",
    ):
        assertContains(response, shown)
    content = response.content.decode()
    for hidden in ("<form", "hx-", "csrf", "Edit", "Delete", "Internal remark", "comment"):
        assert hidden not in content, hidden
    for name in ("alice", "vera", "Sam Jones", "Log out", "Acme Shop"):
        assert name not in content, name
    assert "/w/" not in content
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_revoked_share_link_is_not_found(ws_admin_client, journey_map) -> None:
    link = create_share_link(ws_admin_client, journey_map)
    public = reverse("shared_map", args=[link.token])
    assert Client().get(public).status_code == 200

    response = ws_admin_client.post(url("share_link_revoke", journey_map, link.pk))

    assertRedirects(response, url("share_links", journey_map))
    assert Client().get(public).status_code == 404
    assertNotContains(ws_admin_client.get(url("share_links", journey_map)), link.token)
    assert MapChange.objects.filter(action="share_link_revoked").count() == 1


def test_an_unknown_share_token_is_not_found(db) -> None:
    assert Client().get(reverse("shared_map", args=["not-a-real-token"])).status_code == 404


def test_only_admins_create_or_revoke_share_links(
    ws_admin_client, ws_editor_client, ws_viewer_client, outsider_client, journey_map
) -> None:
    link = create_share_link(ws_admin_client, journey_map)

    for client, refused in (
        (ws_editor_client, 403),
        (ws_viewer_client, 403),
        (outsider_client, 404),
        (Client(), 302),
    ):
        assert client.get(url("share_links", journey_map)).status_code == refused
        assert client.post(url("share_link_create", journey_map)).status_code == refused
        assert client.post(url("share_link_revoke", journey_map, link.pk)).status_code == refused
    assert ShareLink.objects.count() == 1
    assert ShareLink.objects.active().count() == 1


def test_a_share_link_of_another_map_cannot_be_revoked_through_this_one(
    ws_admin_client, workspace, outsider, other_workspace, journey_map
) -> None:
    other_link = collab.share_link_create(
        journey_map=factories.make_map(workspace, "Other"),
        membership=Membership.objects.get(workspace=workspace, role=Role.ADMIN),
    )
    rival_map = factories.make_map(other_workspace, "Rival")
    rival_link = collab.share_link_create(
        journey_map=rival_map, membership=membership(outsider, rival_map)
    )

    for link in (other_link, rival_link):
        response = ws_admin_client.post(url("share_link_revoke", journey_map, link.pk))
        assert response.status_code == 404
    assert ShareLink.objects.active().count() == 2


def test_the_shared_map_costs_the_same_queries_for_a_small_or_a_big_map(
    ws_admin_client, workspace, journey_map
) -> None:
    link = create_share_link(ws_admin_client, journey_map)
    public = reverse("shared_map", args=[link.token])
    anonymous = Client()
    small = count_queries(anonymous, public)

    for s in range(4):
        stage = factories.make_stage(journey_map, f"Stage {s}")
        factories.make_kpi(stage, "users")
        pain = factories.make_pain_point(stage, f"Pain {s}", touchpoint=None)
        factories.make_opportunity(stage, f"Idea {s}", pain_point=pain)
        for t in range(3):
            touchpoint = factories.make_touchpoint(stage, f"Touchpoint {s}.{t}")
        pain.touchpoint = touchpoint
        pain.save()
    journey_map.personas.add(*[factories.make_persona(workspace, f"P{n}") for n in range(3)])
    big = count_queries(anonymous, public)

    assert big == small
    assertContains(anonymous.get(public), "Touchpoint 3.2")
