"""Who may do what: every workspace URL, by every method, for every kind of visitor.

The matrix below is the access policy of DESIGN §1 and §10 written as a table. A URL name added to
the project without a row here fails `test_every_url_name_is_in_the_matrix`.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from pytest_django.asserts import assertContains

from analytics import services as analytics_services
from analytics.forms import MappingForm
from analytics.models import Dataset, DatasetStatus
from journeymap import collab, history
from journeymap.models import Comment, JourneyMap, MapChange, Membership, ShareLink, Snapshot
from journeymap.scoping import Role
from personas import services as persona_services
from personas.models import Persona
from stages.models import Stage
from tests import factories
from tests.analytics import uploads as dataset_uploads
from tests.conftest import logged_in
from tests.personas.images import image_bytes, upload
from touchpoints.models import Touchpoint

ANONYMOUS, VIEWER, EDITOR, ADMIN, OUTSIDER = "anonymous", "viewer", "editor", "admin", "outsider"
# An anonymous browser that has just opened an active share link of Acme's map: the link shows
# that one public page and opens nothing else, so everywhere else it fares as ANONYMOUS does.
SHARE_VISITOR = "share-visitor"
VISITORS = (ANONYMOUS, VIEWER, EDITOR, ADMIN, OUTSIDER, SHARE_VISITOR)
# Methods no view of the project accepts: every URL answers them 405, whoever asks.
UNUSED_METHODS = ("put", "patch", "delete")

# The URL names handled by their own tests below rather than by the matrix.
NOT_IN_A_WORKSPACE = {"home", "login", "logout", "shared_map"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Datasets:
    """Analytics datasets in each state a dataset page acts on."""

    pending: Dataset  # uploaded, its mapping not confirmed yet
    failed: Dataset  # its import failed: it may be started again
    ready: Dataset  # imported, with a rejected row (so an error report), feeding Acme's map
    rival_pending: Dataset
    rival_ready: Dataset


EVENTS = (
    "event_time,event_type,user_id,user_session,price,product\n"
    "2024-03-01 09:00:00 UTC,view,u1,s1,12.50,Shoe\n"
    "2024-03-01 09:05:00 UTC,purchase,u1,s1,12.50,Shoe\n"
    "not a date,view,u2,s2,8.00,Hat\n"
)


def events_file(user: str) -> str:
    """A small event log, its content distinct by `user` (the same file twice is a no-op)."""
    return EVENTS.replace("u1", user)


def make_datasets(journey_map: JourneyMap, rival_workspace: Any) -> Datasets:
    """Acme's datasets, the imported one feeding Acme's map; Rival's."""
    workspace = journey_map.workspace
    ready = dataset_uploads.imported(workspace, events_file("r1"), "march.csv")
    analytics_services.dataset_attach(dataset=ready, journey_map=journey_map)
    failed = dataset_uploads.upload(workspace, events_file("f1"), "may.csv").dataset
    Dataset.objects.filter(pk=failed.pk).update(
        status=DatasetStatus.FAILED, error_message="The import stopped."
    )
    return Datasets(
        pending=dataset_uploads.upload(workspace, events_file("p1"), "april.csv").dataset,
        failed=Dataset.objects.get(pk=failed.pk),
        ready=ready,
        rival_pending=dataset_uploads.upload(
            rival_workspace, events_file("x1"), "rival.csv"
        ).dataset,
        rival_ready=dataset_uploads.imported(rival_workspace, events_file("y1"), "rival-done.csv"),
    )


@dataclass
class Scene:
    """Acme with a map, a member to act on and an outsider; Rival with its own map and admin.

    Acme's map has a persona with a picture, a snapshot, an active share link, and comments on its
    touchpoint: open and resolved ones by the viewer (Vera), and by another viewer (Tess), so
    that "only the author" and "editors, admins or the author" each show in the matrix.
    """

    clients: dict[str, Client]
    journey_map: JourneyMap
    awareness: Stage
    purchase: Stage
    touchpoint: Touchpoint
    persona: Persona
    persona_off_the_map: Persona
    target: Membership
    snapshot: Snapshot
    share_link: ShareLink
    viewer_comment: Comment
    viewer_resolved: Comment
    tess_comment: Comment
    tess_resolved: Comment
    rival_map: JourneyMap
    rival_stage: Stage
    rival_touchpoint: Touchpoint
    rival_persona: Persona
    rival_snapshot: Snapshot
    rival_share_link: ShareLink
    rival_comment: Comment
    rival_resolved: Comment
    outsider_membership: Membership

    def client(self, visitor: str) -> Client:
        """The browser of `visitor`; the share-link visitor's is made (and its link opened) here."""
        if visitor not in self.clients:
            self.clients[visitor] = share_link_visitor(self.share_link)
        return self.clients[visitor]

    @cached_property
    def datasets(self) -> Datasets:
        """Made on first use only: an import costs tens of milliseconds, too much for every row."""
        return make_datasets(self.journey_map, self.rival_map.workspace)


def share_link_visitor(share_link: ShareLink) -> Client:
    """An anonymous browser that has opened `share_link` and seen the shared map."""
    browser = Client()
    assertContains(browser.get(reverse("shared_map", args=[share_link.token])), share_link.map.name)
    return browser


def with_avatar(persona: Persona) -> Persona:
    return persona_services.persona_set_avatar(
        persona=persona, expected_version=persona.version, upload=upload("me.png", image_bytes())
    )


def comment_on(
    touchpoint: Touchpoint, membership: Membership, body: str, resolved: bool = False
) -> Comment:
    comment = collab.comment_add(
        journey_map=touchpoint.stage.map,
        kind="touchpoint",
        target_id=touchpoint.pk,
        membership=membership,
        body=body,
    )
    if resolved:
        collab.comment_set_resolved(comment=comment, membership=membership, resolved=True)
    return comment


@pytest.fixture
def scene(workspace, other_workspace, ws_admin, ws_editor, ws_viewer, outsider) -> Scene:
    journey_map = factories.make_map(workspace, "Launch")
    awareness = factories.make_stage(journey_map, "Awareness")
    purchase = factories.make_stage(journey_map, "Purchase")
    touchpoint = factories.make_touchpoint(awareness, "Instagram ads")
    persona = with_avatar(factories.make_persona(workspace, "Bargain hunter"))
    journey_map.personas.add(persona)
    rival_map = factories.make_map(other_workspace, "Rival secret plan")
    rival_stage = factories.make_stage(rival_map, "Rival awareness")
    rival_touchpoint = factories.make_touchpoint(rival_stage, "Rival billboard")
    tess = factories.make_member(workspace, Role.VIEWER, factories.make_user("tess"))
    factories.make_user("newcomer")
    admin, viewer, tess_membership, outsider_membership = (
        Membership.objects.get(user=user) for user in (ws_admin, ws_viewer, tess, outsider)
    )
    return Scene(
        clients={
            ANONYMOUS: Client(),
            VIEWER: logged_in(ws_viewer),
            EDITOR: logged_in(ws_editor),
            ADMIN: logged_in(ws_admin),
            OUTSIDER: logged_in(outsider),
        },
        journey_map=journey_map,
        awareness=awareness,
        purchase=purchase,
        touchpoint=touchpoint,
        persona=persona,
        persona_off_the_map=factories.make_persona(workspace, "Gift buyer"),
        target=tess_membership,
        snapshot=history.snapshot_take(journey_map=journey_map, user=ws_admin, name="As launched"),
        share_link=collab.share_link_create(journey_map=journey_map, membership=admin),
        viewer_comment=comment_on(touchpoint, viewer, "Vera: too pushy?"),
        viewer_resolved=comment_on(touchpoint, viewer, "Vera: typo", resolved=True),
        tess_comment=comment_on(touchpoint, tess_membership, "Tess: which audience?"),
        tess_resolved=comment_on(touchpoint, tess_membership, "Tess: done", resolved=True),
        rival_map=rival_map,
        rival_stage=rival_stage,
        rival_touchpoint=rival_touchpoint,
        rival_persona=with_avatar(factories.make_persona(other_workspace, "Rival persona")),
        rival_snapshot=history.snapshot_take(journey_map=rival_map, user=outsider, name="Rival v1"),
        rival_share_link=collab.share_link_create(
            journey_map=rival_map, membership=outsider_membership
        ),
        # By Mallory, so that as an admin of both workspaces she would be its author.
        rival_comment=comment_on(rival_touchpoint, outsider_membership, "Rival: secret"),
        rival_resolved=comment_on(
            rival_touchpoint, outsider_membership, "Rival: done", resolved=True
        ),
        outsider_membership=outsider_membership,
    )


def state() -> tuple:
    """Everything a refused request must leave as it was, and an accepted POST must change."""
    return (
        sorted(
            JourneyMap.objects.values_list(
                "workspace__slug", "slug", "name", "status", "archived_at", "version"
            )
        ),
        sorted(Membership.objects.values_list("workspace__slug", "user__username", "role")),
        sorted(
            Stage.objects.values_list("map__slug", "position", "name", "customer_goal", "version")
        ),
        sorted(
            Touchpoint.objects.values_list(
                "stage__map__slug", "stage__name", "position", "name", "version"
            )
        ),
        # Every edit of a persona, its picture included, raises its version.
        sorted(Persona.objects.values_list("workspace__slug", "name", "version", "avatar")),
        sorted(
            JourneyMap.personas.through.objects.values_list("journeymap__slug", "persona__name")
        ),
        sorted(
            (map_slug, kind, target_id, author, body, resolved_at is not None)
            for map_slug, kind, target_id, author, body, resolved_at in Comment.objects.values_list(
                "map__slug", "target_kind", "target_id", "author__username", "body", "resolved_at"
            )
        ),
        sorted(Snapshot.objects.values_list("map__slug", "name", "kind", "note")),
        sorted(
            (map_slug, token, revoked_at is not None)
            for map_slug, token, revoked_at in ShareLink.objects.values_list(
                "map__slug", "token", "revoked_at"
            )
        ),
        sorted(Dataset.objects.values_list("workspace__slug", "name", "status")),
        sorted(
            JourneyMap.datasets.through.objects.values_list("journeymap__slug", "dataset__name")
        ),
        MapChange.objects.count(),
    )


def good_map_file() -> SimpleUploadedFile:
    document = {
        "schema": "journeymap/v1",
        "name": "Imported journey",
        "stages": [{"name": "Awareness", "touchpoints": [{"name": "Newsletter"}]}],
    }
    return SimpleUploadedFile(
        "journey.json", json.dumps(document).encode(), content_type="application/json"
    )


def version_of(instance: Any) -> str:
    """The version stored now, as the editor's hidden field sends it."""
    return str(type(instance).objects.get(pk=instance.pk).version)


# URL arguments besides the workspace.
def map_slug(scene: Scene) -> dict[str, Any]:
    return {"slug": scene.journey_map.slug}


def target_pk(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.target.pk}


def stage_pk(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.awareness.pk}


def stage_goal(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.awareness.pk, "part": "goal"}


def stage_touchpoints(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.awareness.pk, "kind": "touchpoint"}


def the_touchpoint(scene: Scene) -> dict[str, Any]:
    return {"kind": "touchpoint", "pk": scene.touchpoint.pk}


def touchpoint_pk(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.touchpoint.pk}


def the_persona(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.persona.pk}


def persona_goals(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.persona.pk, "section": "goals"}


def the_snapshot(scene: Scene) -> dict[str, Any]:
    return {"slug": scene.journey_map.slug, "pk": scene.snapshot.pk}


def touchpoint_thread(scene: Scene) -> dict[str, Any]:
    return {"slug": scene.journey_map.slug, "kind": "touchpoint", "target_id": scene.touchpoint.pk}


def comment(name: str) -> Callable[[Scene], dict[str, Any]]:
    """The URL arguments of one of the scene's comments, e.g. comment("viewer_comment")."""
    return lambda scene: {"slug": scene.journey_map.slug, "pk": getattr(scene, name).pk}


def the_share_link(scene: Scene) -> dict[str, Any]:
    return {"slug": scene.journey_map.slug, "pk": scene.share_link.pk}


def fed_map(scene: Scene) -> dict[str, Any]:
    """Acme's map once an imported event log feeds it (a rule preview counts its rows)."""
    assert scene.datasets.ready
    return map_slug(scene)


def persona_with_events(scene: Scene) -> dict[str, Any]:
    """A persona of Acme once the workspace has an imported event log (to preview segments on)."""
    assert scene.datasets.ready
    return the_persona(scene)


def dataset(which: str) -> Callable[[Scene], dict[str, Any]]:
    """The URL arguments of one of the datasets, e.g. dataset("ready")."""
    return lambda scene: {"pk": getattr(scene.datasets, which).pk}


# Real form data, so that a 200 or 302 is an honest success.
def map_details_data(scene: Scene) -> dict[str, Any]:
    return {
        "name": "Launch v2",
        "description": "",
        "status": "published",
        "conversion_window_days": "30",
        "expected_version": version_of(scene.journey_map),
    }


def goal_data(scene: Scene) -> dict[str, Any]:
    return {
        "customer_goal": "Find a gift",
        "description": "",
        "expected_version": version_of(scene.awareness),
    }


def touchpoint_data(scene: Scene) -> dict[str, Any]:
    return {
        "name": "Instagram reels",
        "channel": "social",
        "owner": "",
        "description": "",
        "emotion": "1",
        "rule": "",
        "expected_version": version_of(scene.touchpoint),
    }


def persona_goals_data(scene: Scene) -> dict[str, Any]:
    return {"goals": "Pay less than last year", "version": version_of(scene.persona)}


def snapshot_data(scene: Scene) -> dict[str, Any]:
    return {"name": "Checkout redesign", "kind": "to_be", "note": "Where we aim"}


def comment_data(scene: Scene) -> dict[str, Any]:
    return {"body": "Should we test a carousel? @eddie"}


def dataset_file(scene: Scene) -> dict[str, Any]:
    file = SimpleUploadedFile("june.csv", events_file("j1").encode(), content_type="text/csv")
    return {"file": file, "name": "June shop"}


def mapping_data(dataset: Dataset) -> dict[str, str]:
    """What the mapping form posts as the page shows it: the detected mapping, confirmed."""
    form = MappingForm.for_preview(analytics_services.dataset_preview(dataset=dataset))
    return {
        name: "on" if value is True else str(value)
        for name, value in form.initial.items()
        if value is not False
    }


RULE = {"all": [{"field": "event", "op": "equals", "value": "purchase"}]}


def rule_data(scene: Scene) -> dict[str, Any]:
    return {"rule": json.dumps(RULE)}


def segment_data(scene: Scene) -> dict[str, Any]:
    return {"rule_field": "segment", "segment": json.dumps(RULE)}


@dataclass(frozen=True)
class Row:
    """One URL and method; the status each visitor gets, in the order of VISITORS."""

    url_name: str
    method: str
    statuses: tuple[int, ...]
    kwargs: Callable[[Scene], dict[str, Any]] = field(default=lambda scene: {})
    data: Callable[[Scene], dict[str, Any]] = field(default=lambda scene: {})
    htmx: bool = False  # a region of a page, asked for the way the page's htmx asks for it
    case: str = ""  # tells apart rows of one URL and method on different objects
    changes: bool = True  # False for a POST that only computes something to show (a preview)

    def url(self, scene: Scene) -> str:
        return reverse(self.url_name, kwargs={"workspace": "acme", **self.kwargs(scene)})

    @property
    def id(self) -> str:
        return "-".join(part for part in (self.url_name, self.method, self.case) if part)


NOT_ALLOWED = (405, 405, 405, 405, 405, 405)  # the method is refused before anything else
EVERY_MEMBER = (302, 200, 200, 200, 404, 302)
EDITORS_PAGE = (302, 403, 200, 200, 404, 302)
EDITORS = (302, 403, 302, 302, 404, 302)
ADMINS_PAGE = (302, 403, 403, 200, 404, 302)
ADMINS_ACTION = (302, 403, 403, 302, 404, 302)
EVERY_MEMBER_ACTION = (302, 302, 302, 302, 404, 302)  # commenting: viewers too (DESIGN §1)
AUTHOR_PAGE = (302, 200, 403, 403, 404, 302)  # the viewer's own comment: not even an admin edits it
AUTHOR_ACTION = (302, 302, 403, 403, 404, 302)
NOBODY_ELSE = (302, 403, 403, 403, 404, 302)  # another member's comment: no visitor is its author

MATRIX = [
    # The maps list and its actions.
    Row("map_list", "get", EVERY_MEMBER),
    Row("map_list", "post", NOT_ALLOWED),
    Row("map_create", "get", NOT_ALLOWED),
    Row(
        "map_create",
        "post",
        EDITORS,
        data=lambda scene: {"name": "Spring sale", "template": "ecommerce"},
    ),
    Row("map_import", "get", EDITORS_PAGE),
    Row("map_import", "post", EDITORS, data=lambda scene: {"file": good_map_file()}),
    Row("map_export", "get", EVERY_MEMBER, kwargs=map_slug),
    Row("map_export", "post", NOT_ALLOWED, kwargs=map_slug),
    Row("map_export_csv", "get", EVERY_MEMBER, kwargs=map_slug),
    Row("map_export_csv", "post", NOT_ALLOWED, kwargs=map_slug),
    Row("map_duplicate", "get", NOT_ALLOWED, kwargs=map_slug),
    Row("map_duplicate", "post", EDITORS, kwargs=map_slug),
    Row("map_archive", "get", NOT_ALLOWED, kwargs=map_slug),
    Row("map_archive", "post", EDITORS, kwargs=map_slug, data=lambda scene: {"archived": "1"}),
    Row("map_delete", "get", ADMINS_PAGE, kwargs=map_slug),
    Row("map_delete", "post", ADMINS_ACTION, kwargs=map_slug),
    # The map editor.
    Row("map_detail", "get", EVERY_MEMBER, kwargs=map_slug),
    Row("map_detail", "post", NOT_ALLOWED, kwargs=map_slug),
    Row("map_details", "get", EVERY_MEMBER, kwargs=map_slug, htmx=True),
    Row("map_details", "post", NOT_ALLOWED, kwargs=map_slug),
    Row("map_details_edit", "get", EDITORS_PAGE, kwargs=map_slug),
    Row("map_details_edit", "post", EDITORS, kwargs=map_slug, data=map_details_data),
    Row("map_personas", "get", NOT_ALLOWED, kwargs=map_slug),
    Row(
        "map_personas",
        "post",
        EDITORS,
        kwargs=map_slug,
        data=lambda scene: {"persona": scene.persona_off_the_map.pk, "action": "add"},
    ),
    Row("stage_create", "get", NOT_ALLOWED, kwargs=map_slug),
    Row("stage_create", "post", EDITORS, kwargs=map_slug),
    Row("stage_reorder", "get", NOT_ALLOWED, kwargs=lambda scene: {"pk": scene.purchase.pk}),
    Row(
        "stage_reorder",
        "post",
        EDITORS,
        kwargs=lambda scene: {"pk": scene.purchase.pk},
        data=lambda scene: {"position": "1"},
    ),
    Row("stage_remove", "get", NOT_ALLOWED, kwargs=stage_pk),
    Row(
        "stage_remove",
        "post",
        EDITORS,
        kwargs=stage_pk,
        data=lambda scene: {"expected_version": version_of(scene.awareness)},
    ),
    Row("stage_part", "get", EVERY_MEMBER, kwargs=stage_goal, htmx=True),
    Row("stage_part", "post", NOT_ALLOWED, kwargs=stage_goal),
    Row("stage_part_edit", "get", EDITORS_PAGE, kwargs=stage_goal),
    Row("stage_part_edit", "post", EDITORS, kwargs=stage_goal, data=goal_data),
    Row("stage_cell", "get", EVERY_MEMBER, kwargs=stage_touchpoints, htmx=True),
    Row("stage_cell", "post", NOT_ALLOWED, kwargs=stage_touchpoints),
    Row("card_add", "get", EDITORS_PAGE, kwargs=stage_touchpoints),
    Row(
        "card_add",
        "post",
        EDITORS,
        kwargs=stage_touchpoints,
        data=lambda scene: {**touchpoint_data(scene), "name": "Billboard", "expected_version": ""},
    ),
    Row("card_detail", "get", EVERY_MEMBER, kwargs=the_touchpoint, htmx=True),
    Row("card_detail", "post", NOT_ALLOWED, kwargs=the_touchpoint),
    Row("card_edit", "get", EDITORS_PAGE, kwargs=the_touchpoint),
    Row("card_edit", "post", EDITORS, kwargs=the_touchpoint, data=touchpoint_data),
    Row("card_remove", "get", NOT_ALLOWED, kwargs=the_touchpoint),
    Row(
        "card_remove",
        "post",
        EDITORS,
        kwargs=the_touchpoint,
        data=lambda scene: {"expected_version": version_of(scene.touchpoint)},
    ),
    Row("card_move", "get", NOT_ALLOWED, kwargs=touchpoint_pk),
    Row(
        "card_move",
        "post",
        EDITORS,
        kwargs=touchpoint_pk,
        data=lambda scene: {"stage": scene.purchase.pk, "position": "1"},
    ),
    # Personas: every member reads them (the picture too), editors create, edit and delete.
    Row("persona_list", "get", EVERY_MEMBER),
    Row("persona_list", "post", NOT_ALLOWED),
    Row("persona_create", "get", EDITORS_PAGE),
    Row(
        "persona_create",
        "post",
        EDITORS,
        data=lambda scene: {"name": "Night owl", "summary": "Shops after midnight"},
    ),
    Row("persona_detail", "get", EVERY_MEMBER, kwargs=the_persona),
    Row("persona_detail", "post", NOT_ALLOWED, kwargs=the_persona),
    Row("persona_avatar", "get", EVERY_MEMBER, kwargs=the_persona),
    Row("persona_avatar", "post", NOT_ALLOWED, kwargs=the_persona),
    Row("persona_section", "get", EVERY_MEMBER, kwargs=persona_goals, htmx=True),
    Row("persona_section", "post", NOT_ALLOWED, kwargs=persona_goals),
    Row("persona_section_edit", "get", EDITORS_PAGE, kwargs=persona_goals),
    Row("persona_section_edit", "post", EDITORS, kwargs=persona_goals, data=persona_goals_data),
    Row("persona_delete", "get", EDITORS_PAGE, kwargs=the_persona),
    Row("persona_delete", "post", EDITORS, kwargs=the_persona),
    # History: every member lists and downloads snapshots, editors take and restore them.
    Row("map_history", "get", EVERY_MEMBER, kwargs=map_slug),
    Row("map_history", "post", NOT_ALLOWED, kwargs=map_slug),
    Row("snapshot_take", "get", NOT_ALLOWED, kwargs=map_slug),
    Row("snapshot_take", "post", EDITORS, kwargs=map_slug, data=snapshot_data),
    Row("snapshot_download", "get", EVERY_MEMBER, kwargs=the_snapshot),
    Row("snapshot_download", "post", NOT_ALLOWED, kwargs=the_snapshot),
    Row("snapshot_restore", "get", NOT_ALLOWED, kwargs=the_snapshot),
    Row("snapshot_restore", "post", EDITORS, kwargs=the_snapshot),
    # Comments: every member reads and comments, viewers included; only the author edits or
    # deletes a comment; editors, admins and the author resolve or reopen it.
    Row("map_comments", "get", EVERY_MEMBER, kwargs=map_slug),
    Row("map_comments", "post", NOT_ALLOWED, kwargs=map_slug),
    Row("comment_panel", "get", EVERY_MEMBER, kwargs=map_slug, htmx=True),
    Row("comment_panel", "post", NOT_ALLOWED, kwargs=map_slug),
    Row("comment_thread", "get", EVERY_MEMBER, kwargs=touchpoint_thread, htmx=True),
    Row("comment_thread", "post", NOT_ALLOWED, kwargs=touchpoint_thread),
    Row("comment_add", "get", NOT_ALLOWED, kwargs=touchpoint_thread),
    Row("comment_add", "post", EVERY_MEMBER_ACTION, kwargs=touchpoint_thread, data=comment_data),
    Row("comment_edit", "get", AUTHOR_PAGE, kwargs=comment("viewer_comment"), case="own"),
    Row(
        "comment_edit",
        "post",
        AUTHOR_ACTION,
        kwargs=comment("viewer_comment"),
        data=lambda scene: {"body": "Vera: too pushy, I think"},
        case="own",
    ),
    Row("comment_edit", "get", NOBODY_ELSE, kwargs=comment("tess_comment"), case="tess"),
    Row(
        "comment_edit",
        "post",
        NOBODY_ELSE,
        kwargs=comment("tess_comment"),
        data=lambda scene: {"body": "Tess never wrote this"},
        case="tess",
    ),
    Row("comment_delete", "get", NOT_ALLOWED, kwargs=comment("viewer_comment")),
    Row("comment_delete", "post", AUTHOR_ACTION, kwargs=comment("viewer_comment"), case="own"),
    Row("comment_delete", "post", NOBODY_ELSE, kwargs=comment("tess_comment"), case="tess"),
    Row("comment_resolve", "get", NOT_ALLOWED, kwargs=comment("viewer_comment")),
    Row(
        "comment_resolve",
        "post",
        EVERY_MEMBER_ACTION,
        kwargs=comment("viewer_comment"),
        case="own",
    ),
    Row("comment_resolve", "post", EDITORS, kwargs=comment("tess_comment"), case="tess"),
    Row("comment_reopen", "get", NOT_ALLOWED, kwargs=comment("viewer_resolved")),
    Row(
        "comment_reopen",
        "post",
        EVERY_MEMBER_ACTION,
        kwargs=comment("viewer_resolved"),
        case="own",
    ),
    Row("comment_reopen", "post", EDITORS, kwargs=comment("tess_resolved"), case="tess"),
    # The activity feed.
    Row("map_activity", "get", EVERY_MEMBER, kwargs=map_slug),
    Row("map_activity", "post", NOT_ALLOWED, kwargs=map_slug),
    # Share links: admins only.
    Row("share_links", "get", ADMINS_PAGE, kwargs=map_slug),
    Row("share_links", "post", NOT_ALLOWED, kwargs=map_slug),
    Row("share_link_create", "get", NOT_ALLOWED, kwargs=map_slug),
    Row("share_link_create", "post", ADMINS_ACTION, kwargs=map_slug),
    Row("share_link_revoke", "get", NOT_ALLOWED, kwargs=the_share_link),
    Row("share_link_revoke", "post", ADMINS_ACTION, kwargs=the_share_link),
    # Members.
    Row("member_list", "get", ADMINS_PAGE),
    Row(
        "member_list",
        "post",
        ADMINS_ACTION,
        data=lambda scene: {"identifier": "newcomer", "role": Role.EDITOR},
    ),
    Row("member_role", "get", NOT_ALLOWED, kwargs=target_pk),
    Row(
        "member_role",
        "post",
        ADMINS_ACTION,
        kwargs=target_pk,
        data=lambda scene: {"role": Role.EDITOR},
    ),
    Row("member_remove", "get", NOT_ALLOWED, kwargs=target_pk),
    Row("member_remove", "post", ADMINS_ACTION, kwargs=target_pk),
    # Deleting the workspace: admins only, once they type its exact name.
    Row("workspace_delete", "get", ADMINS_PAGE),
    Row(
        "workspace_delete",
        "post",
        ADMINS_ACTION,
        data=lambda scene: {"confirm_name": scene.journey_map.workspace.name},
    ),
    # Analytics datasets: admins only.
    Row("dataset_list", "get", ADMINS_PAGE),
    Row("dataset_list", "post", NOT_ALLOWED),
    Row("dataset_upload", "get", ADMINS_PAGE),
    Row("dataset_upload", "post", ADMINS_ACTION, data=dataset_file),
    Row("dataset_detail", "get", ADMINS_PAGE, kwargs=dataset("ready")),
    Row("dataset_detail", "post", NOT_ALLOWED, kwargs=dataset("ready")),
    Row("dataset_mapping", "get", ADMINS_PAGE, kwargs=dataset("pending")),
    Row(
        "dataset_mapping",
        "post",
        ADMINS_ACTION,
        kwargs=dataset("pending"),
        data=lambda scene: mapping_data(scene.datasets.pending),
    ),
    Row("dataset_preview", "get", NOT_ALLOWED, kwargs=dataset("pending")),
    Row(
        "dataset_preview",
        "post",
        ADMINS_PAGE,
        kwargs=dataset("pending"),
        data=lambda scene: mapping_data(scene.datasets.pending),
        changes=False,
    ),
    Row("dataset_retry", "get", NOT_ALLOWED, kwargs=dataset("failed")),
    Row("dataset_retry", "post", ADMINS_ACTION, kwargs=dataset("failed")),
    Row("dataset_error_report", "get", ADMINS_PAGE, kwargs=dataset("ready")),
    Row("dataset_error_report", "post", NOT_ALLOWED, kwargs=dataset("ready")),
    Row("dataset_maps", "get", NOT_ALLOWED, kwargs=dataset("ready")),
    Row(
        "dataset_maps",
        "post",
        ADMINS_ACTION,
        kwargs=dataset("ready"),
        data=lambda scene: {"maps": []},  # it stops feeding Acme's map
    ),
    Row("dataset_delete", "get", NOT_ALLOWED, kwargs=dataset("ready")),
    Row("dataset_delete", "post", ADMINS_ACTION, kwargs=dataset("ready")),
    # A map's stored figures and the rule previews (analytics): every member reads the figures and
    # what a touchpoint's rule matches; editors try rules in the builders, which store nothing.
    Row("map_figures", "get", EVERY_MEMBER, kwargs=map_slug, htmx=True),
    Row("map_figures", "post", NOT_ALLOWED, kwargs=map_slug),
    Row("rule_preview", "get", NOT_ALLOWED, kwargs=map_slug),
    Row("rule_preview", "post", EDITORS_PAGE, kwargs=fed_map, data=rule_data, changes=False),
    Row("segment_preview", "get", NOT_ALLOWED, kwargs=the_persona),
    Row(
        "segment_preview",
        "post",
        EDITORS_PAGE,
        kwargs=persona_with_events,
        data=segment_data,
        changes=False,
    ),
    Row("touchpoint_matches", "get", EVERY_MEMBER, kwargs=touchpoint_pk),
    Row("touchpoint_matches", "post", NOT_ALLOWED, kwargs=touchpoint_pk),
    # The map's dashboard and its figures as CSV (analytics): every member reads them.
    Row("map_dashboard", "get", EVERY_MEMBER, kwargs=map_slug),
    Row("map_dashboard", "post", NOT_ALLOWED, kwargs=map_slug),
    Row("map_dashboard_csv", "get", EVERY_MEMBER, kwargs=map_slug),
    Row("map_dashboard_csv", "post", NOT_ALLOWED, kwargs=map_slug),
    # The workspace overview of every map's stored figures (analytics): every member reads it.
    Row("workspace_overview", "get", EVERY_MEMBER),
    Row("workspace_overview", "post", NOT_ALLOWED),
]


def send(client: Client, method: str, url: str, data: dict[str, Any], htmx: bool = False) -> Any:
    headers = {"HX-Request": "true"} if htmx else {}
    if method == "get":
        return client.get(url, headers=headers)
    return client.post(url, data, headers=headers)


@pytest.mark.parametrize(
    ("row", "visitor", "expected"),
    [
        pytest.param(row, visitor, expected, id=f"{row.id}-{visitor}")
        for row in MATRIX
        for visitor, expected in zip(VISITORS, row.statuses, strict=True)
    ],
)
def test_access_matrix(scene: Scene, row: Row, visitor: str, expected: int) -> None:
    url, data = row.url(scene), row.data(scene)  # before the snapshot: they may make datasets
    client = scene.client(visitor)
    before = state()

    response = send(client, row.method, url, data, row.htmx)

    assert response.status_code == expected
    anonymous = visitor in (ANONYMOUS, SHARE_VISITOR)
    succeeded = expected in (200, 302) and not anonymous
    if anonymous and expected == 302:
        assert response["Location"].startswith(f"{reverse(settings.LOGIN_URL)}?next=")
    elif expected == 302:
        assert not response["Location"].startswith(reverse(settings.LOGIN_URL))
    if succeeded and row.method == "post" and row.changes:
        assert state() != before, "an accepted POST must change something the user can see"
    else:
        assert state() == before, "a refused request (or a GET) must change nothing"


def _first_row_of_each_url() -> list[Row]:
    rows: dict[str, Row] = {}
    for row in MATRIX:
        rows.setdefault(row.url_name, row)
    return list(rows.values())


@pytest.mark.parametrize("row", _first_row_of_each_url(), ids=lambda row: row.url_name)
def test_every_url_refuses_the_methods_no_view_accepts(scene: Scene, row: Row) -> None:
    url, data = row.url(scene), row.data(scene)
    before = state()

    answers = {
        (visitor, method): getattr(scene.client(visitor), method)(url, data).status_code
        for visitor in VISITORS
        for method in UNUSED_METHODS
    }

    assert answers == {key: 405 for key in answers}
    assert state() == before


def _url_names(patterns: list, namespace: str = "") -> list[str]:
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names += _url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            names.append(f"{namespace}{pattern.name}" if pattern.name else f"<unnamed {pattern}>")
    return names


def test_every_url_name_is_in_the_matrix() -> None:
    in_the_matrix = {row.url_name for row in MATRIX}

    unchecked = set(_url_names(get_resolver().url_patterns)) - in_the_matrix - NOT_IN_A_WORKSPACE

    assert not unchecked, f"add these URL names to MATRIX in {__name__}: {sorted(unchecked)}"


# --- pages outside a workspace -----------------------------------------------------------------


@dataclass(frozen=True)
class Outside:
    """A URL outside any workspace and one method; each visitor's status and, for a redirect,
    where it goes (None: not a redirect)."""

    url_name: str
    method: str
    statuses: tuple[int, ...]
    to: tuple[str | None, ...]
    args: Callable[[Scene], list[Any]] = field(default=lambda scene: [])
    data: dict[str, str] = field(default_factory=dict)

    def url(self, scene: Scene) -> str:
        return reverse(self.url_name, args=self.args(scene))


LOGIN, HOME, ACME, RIVAL = "/accounts/login/", "/", "/w/acme/", "/w/rival/"
NOWHERE = (None,) * 6
THE_LINK = lambda scene: [scene.share_link.token]  # noqa: E731
REVOKED = lambda scene: [revoked_link(scene).token]  # noqa: E731
RIVALS_LINK = lambda scene: [scene.rival_share_link.token]  # noqa: E731

OUTSIDE = [
    # Members go to their workspace, the outsider to hers; nobody else gets past the login page.
    Outside("home", "get", (302,) * 6, (LOGIN, ACME, ACME, ACME, RIVAL, LOGIN)),
    *(Outside("home", method, (405,) * 6, NOWHERE) for method in ("post", *UNUSED_METHODS)),
    Outside("login", "get", (200,) * 6, NOWHERE),
    # A wrong password: the form again, for everyone, and nobody is let in.
    Outside("login", "post", (200,) * 6, NOWHERE, data={"username": "alice", "password": "wrong"}),
    # Django's form views take PUT as POST (without a body Django parses): the empty form again.
    Outside("login", "put", (200,) * 6, NOWHERE),
    *(Outside("login", method, (405,) * 6, NOWHERE) for method in ("patch", "delete")),
    Outside("logout", "post", (302,) * 6, (LOGIN,) * 6),
    *(Outside("logout", method, (405,) * 6, NOWHERE) for method in ("get", *UNUSED_METHODS)),
    # An active link shows its map to anyone; a revoked one to no one, members included.
    Outside("shared_map", "get", (200,) * 6, NOWHERE, args=THE_LINK),
    Outside("shared_map", "get", (200,) * 6, NOWHERE, args=RIVALS_LINK),
    Outside("shared_map", "get", (404,) * 6, NOWHERE, args=REVOKED),
    *(
        Outside("shared_map", method, (405,) * 6, NOWHERE, args=THE_LINK)
        for method in ("post", *UNUSED_METHODS)
    ),
]


def revoked_link(scene: Scene) -> ShareLink:
    admin = Membership.objects.get(user__username="alice")
    link = collab.share_link_create(journey_map=scene.journey_map, membership=admin)
    collab.share_link_revoke(share_link=link, membership=admin)
    return link


@pytest.mark.parametrize(
    ("row", "visitor", "expected", "to"),
    [
        pytest.param(
            row, visitor, expected, to, id=f"{row.url_name}-{row.method}-{index}-{visitor}"
        )
        for index, row in enumerate(OUTSIDE)
        for visitor, expected, to in zip(VISITORS, row.statuses, row.to, strict=True)
    ],
)
def test_access_outside_a_workspace(
    scene: Scene, row: Outside, visitor: str, expected: int, to: str | None
) -> None:
    url = row.url(scene)
    client = scene.client(visitor)
    before = state()

    response = getattr(client, row.method)(url, row.data)

    assert response.status_code == expected
    if to is not None:
        assert response["Location"].split("?")[0] == to
    assert state() == before


def test_every_url_outside_a_workspace_is_in_the_table() -> None:
    assert {row.url_name for row in OUTSIDE} == NOT_IN_A_WORKSPACE


def test_anonymous_visitor_of_home_is_sent_to_login(db) -> None:
    response = Client().get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_login_page_is_open_to_anonymous_visitors(db) -> None:
    response = Client().get(reverse("login"))

    assertContains(response, "Log in to Journeymap")


def test_logout_is_refused_over_get(ws_admin_client) -> None:
    response = ws_admin_client.get(reverse("logout"))

    assert response.status_code == 405
    assert ws_admin_client.get(reverse("map_list", args=["acme"])).status_code == 200


def test_a_shared_map_is_open_to_anonymous_visitors_with_an_active_link(scene: Scene) -> None:
    before = state()

    response = Client().get(reverse("shared_map", args=[scene.share_link.token]))

    assertContains(response, "Launch")
    assertContains(response, "Instagram ads")
    assert state() == before


def test_a_shared_map_is_read_only(scene: Scene) -> None:
    before = state()

    response = Client().post(reverse("shared_map", args=[scene.share_link.token]))

    assert response.status_code == 405
    assert state() == before


@pytest.mark.parametrize("link", ["revoked", "unknown"])
def test_a_revoked_or_unknown_share_link_is_not_found_even_for_a_member(
    scene: Scene, link: str
) -> None:
    token = scene.share_link.token
    if link == "revoked":
        admin = Membership.objects.get(user__username="alice")
        collab.share_link_revoke(share_link=scene.share_link, membership=admin)
    else:
        token = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    before = state()

    for visitor in (ANONYMOUS, VIEWER, ADMIN):
        response = scene.clients[visitor].get(reverse("shared_map", args=[token]))

        assertContains(response, "Not found", status_code=404)
        assert "Launch" not in response.content.decode()
    assert state() == before


# --- objects of another workspace through my workspace's URL ----------------------------------


def rival_slug(scene: Scene) -> dict[str, Any]:
    return {"slug": scene.rival_map.slug}


def rival_stage_goal(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.rival_stage.pk, "part": "goal"}


def rival_stage_touchpoints(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.rival_stage.pk, "kind": "touchpoint"}


def rival_touchpoint(scene: Scene) -> dict[str, Any]:
    return {"kind": "touchpoint", "pk": scene.rival_touchpoint.pk}


def rival_persona(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.rival_persona.pk}


def rival_persona_goals(scene: Scene) -> dict[str, Any]:
    return {"pk": scene.rival_persona.pk, "section": "goals"}


def rival_snapshot_via_mine(scene: Scene) -> dict[str, Any]:
    """Rival's snapshot addressed as a snapshot of Acme's map."""
    return {"slug": scene.journey_map.slug, "pk": scene.rival_snapshot.pk}


def rival_snapshot(scene: Scene) -> dict[str, Any]:
    return {"slug": scene.rival_map.slug, "pk": scene.rival_snapshot.pk}


def rival_thread_via_mine(scene: Scene) -> dict[str, Any]:
    """Rival's touchpoint addressed as a card of Acme's map."""
    return {
        "slug": scene.journey_map.slug,
        "kind": "touchpoint",
        "target_id": scene.rival_touchpoint.pk,
    }


def rival_thread(scene: Scene) -> dict[str, Any]:
    return {
        "slug": scene.rival_map.slug,
        "kind": "touchpoint",
        "target_id": scene.rival_touchpoint.pk,
    }


def rival_comment_via_mine(name: str) -> Callable[[Scene], dict[str, Any]]:
    """A comment of Rival's map addressed as a comment of Acme's map."""
    return lambda scene: {"slug": scene.journey_map.slug, "pk": getattr(scene, name).pk}


def rival_comment(scene: Scene) -> dict[str, Any]:
    return {"slug": scene.rival_map.slug, "pk": scene.rival_comment.pk}


def rival_share_link_via_mine(scene: Scene) -> dict[str, Any]:
    return {"slug": scene.journey_map.slug, "pk": scene.rival_share_link.pk}


def rival_share_link(scene: Scene) -> dict[str, Any]:
    return {"slug": scene.rival_map.slug, "pk": scene.rival_share_link.pk}


def rival_dataset(which: str) -> Callable[[Scene], dict[str, Any]]:
    """A dataset of Rival addressed under /w/acme/datasets/, e.g. rival_dataset("ready")."""
    return lambda scene: {"pk": getattr(scene.datasets, f"rival_{which}").pk}


NOT_FOUND = (404, 404, 404, 404, 404)

# Objects of Rival addressed through /w/acme/ (its map's slug, or its object's id under Acme's map),
# or Rival ids slipped into Acme's forms. Every one is asked by an admin of Acme, with data that
# would succeed on an object of Acme.
ELSEWHERE = [
    # Maps and the map editor.
    Row("map_detail", "get", NOT_FOUND, kwargs=rival_slug),
    Row("map_export", "get", NOT_FOUND, kwargs=rival_slug),
    Row("map_export_csv", "get", NOT_FOUND, kwargs=rival_slug),
    Row("map_duplicate", "post", NOT_FOUND, kwargs=rival_slug),
    Row("map_archive", "post", NOT_FOUND, kwargs=rival_slug, data=lambda s: {"archived": "1"}),
    Row("map_delete", "get", NOT_FOUND, kwargs=rival_slug),
    Row("map_delete", "post", NOT_FOUND, kwargs=rival_slug),
    Row("map_details", "get", NOT_FOUND, kwargs=rival_slug, htmx=True),
    Row("map_details_edit", "get", NOT_FOUND, kwargs=rival_slug),
    Row(
        "map_details_edit",
        "post",
        NOT_FOUND,
        kwargs=rival_slug,
        data=lambda s: {**map_details_data(s), "expected_version": version_of(s.rival_map)},
    ),
    Row(
        "map_personas",
        "post",
        NOT_FOUND,
        kwargs=rival_slug,
        data=lambda s: {"persona": s.rival_persona.pk, "action": "add"},
    ),
    Row(
        "map_personas",  # Acme's map, Rival's persona
        "post",
        NOT_FOUND,
        kwargs=map_slug,
        data=lambda s: {"persona": s.rival_persona.pk, "action": "add"},
    ),
    Row("stage_create", "post", NOT_FOUND, kwargs=rival_slug),
    Row(
        "stage_reorder",
        "post",
        NOT_FOUND,
        kwargs=lambda s: {"pk": s.rival_stage.pk},
        data=lambda s: {"position": "1"},
    ),
    Row(
        "stage_remove",
        "post",
        NOT_FOUND,
        kwargs=lambda s: {"pk": s.rival_stage.pk},
        data=lambda s: {"expected_version": version_of(s.rival_stage)},
    ),
    Row("stage_part", "get", NOT_FOUND, kwargs=rival_stage_goal, htmx=True),
    Row("stage_part_edit", "get", NOT_FOUND, kwargs=rival_stage_goal),
    Row(
        "stage_part_edit",
        "post",
        NOT_FOUND,
        kwargs=rival_stage_goal,
        data=lambda s: {**goal_data(s), "expected_version": version_of(s.rival_stage)},
    ),
    Row("stage_cell", "get", NOT_FOUND, kwargs=rival_stage_touchpoints, htmx=True),
    Row("card_add", "get", NOT_FOUND, kwargs=rival_stage_touchpoints),
    Row(
        "card_add",
        "post",
        NOT_FOUND,
        kwargs=rival_stage_touchpoints,
        data=lambda s: {**touchpoint_data(s), "expected_version": ""},
    ),
    Row("card_detail", "get", NOT_FOUND, kwargs=rival_touchpoint, htmx=True),
    Row("card_edit", "get", NOT_FOUND, kwargs=rival_touchpoint),
    Row(
        "card_edit",
        "post",
        NOT_FOUND,
        kwargs=rival_touchpoint,
        data=lambda s: {**touchpoint_data(s), "expected_version": version_of(s.rival_touchpoint)},
    ),
    Row(
        "card_remove",
        "post",
        NOT_FOUND,
        kwargs=rival_touchpoint,
        data=lambda s: {"expected_version": version_of(s.rival_touchpoint)},
    ),
    Row(
        "card_move",
        "post",
        NOT_FOUND,
        kwargs=lambda s: {"pk": s.rival_touchpoint.pk},
        data=lambda s: {"stage": s.rival_stage.pk, "position": "1"},
    ),
    Row(
        "card_move",  # Acme's touchpoint into Rival's stage
        "post",
        NOT_FOUND,
        kwargs=touchpoint_pk,
        data=lambda s: {"stage": s.rival_stage.pk, "position": "1"},
    ),
    # Personas.
    Row("persona_detail", "get", NOT_FOUND, kwargs=rival_persona),
    Row("persona_avatar", "get", NOT_FOUND, kwargs=rival_persona),  # Rival's has a picture
    Row("persona_section", "get", NOT_FOUND, kwargs=rival_persona_goals, htmx=True),
    Row("persona_section_edit", "get", NOT_FOUND, kwargs=rival_persona_goals),
    Row(
        "persona_section_edit",
        "post",
        NOT_FOUND,
        kwargs=rival_persona_goals,
        data=lambda s: {**persona_goals_data(s), "version": version_of(s.rival_persona)},
    ),
    Row("persona_delete", "get", NOT_FOUND, kwargs=rival_persona),
    Row("persona_delete", "post", NOT_FOUND, kwargs=rival_persona),
    # History.
    Row("map_history", "get", NOT_FOUND, kwargs=rival_slug),
    Row("snapshot_take", "post", NOT_FOUND, kwargs=rival_slug, data=snapshot_data),
    Row("snapshot_download", "get", NOT_FOUND, kwargs=rival_snapshot_via_mine),
    Row("snapshot_download", "get", NOT_FOUND, kwargs=rival_snapshot),
    Row("snapshot_restore", "post", NOT_FOUND, kwargs=rival_snapshot_via_mine),
    Row("snapshot_restore", "post", NOT_FOUND, kwargs=rival_snapshot),
    # Comments: Rival's are Mallory's, who in the next test is an admin of both workspaces.
    Row("map_comments", "get", NOT_FOUND, kwargs=rival_slug),
    Row("comment_panel", "get", NOT_FOUND, kwargs=rival_slug, htmx=True),
    Row("comment_thread", "get", NOT_FOUND, kwargs=rival_thread_via_mine, htmx=True),
    Row("comment_thread", "get", NOT_FOUND, kwargs=rival_thread, htmx=True),
    Row("comment_add", "post", NOT_FOUND, kwargs=rival_thread_via_mine, data=comment_data),
    Row("comment_add", "post", NOT_FOUND, kwargs=rival_thread, data=comment_data),
    Row("comment_edit", "get", NOT_FOUND, kwargs=rival_comment_via_mine("rival_comment")),
    Row(
        "comment_edit",
        "post",
        NOT_FOUND,
        kwargs=rival_comment_via_mine("rival_comment"),
        data=lambda s: {"body": "Rival: leaked"},
    ),
    Row(
        "comment_edit",
        "post",
        NOT_FOUND,
        kwargs=rival_comment,
        data=lambda s: {"body": "Rival: leaked"},
    ),
    Row("comment_delete", "post", NOT_FOUND, kwargs=rival_comment_via_mine("rival_comment")),
    Row("comment_delete", "post", NOT_FOUND, kwargs=rival_comment),
    Row("comment_resolve", "post", NOT_FOUND, kwargs=rival_comment_via_mine("rival_comment")),
    Row("comment_resolve", "post", NOT_FOUND, kwargs=rival_comment),
    Row("comment_reopen", "post", NOT_FOUND, kwargs=rival_comment_via_mine("rival_resolved")),
    Row(
        "comment_reopen",
        "post",
        NOT_FOUND,
        kwargs=lambda s: {"slug": s.rival_map.slug, "pk": s.rival_resolved.pk},
    ),
    # The activity feed and share links.
    Row("map_activity", "get", NOT_FOUND, kwargs=rival_slug),
    Row("share_links", "get", NOT_FOUND, kwargs=rival_slug),
    Row("share_link_create", "post", NOT_FOUND, kwargs=rival_slug),
    Row("share_link_revoke", "post", NOT_FOUND, kwargs=rival_share_link_via_mine),
    Row("share_link_revoke", "post", NOT_FOUND, kwargs=rival_share_link),
    # Analytics datasets: Rival's, in a state where the page would act on them.
    Row("dataset_detail", "get", NOT_FOUND, kwargs=rival_dataset("ready")),
    Row("dataset_mapping", "get", NOT_FOUND, kwargs=rival_dataset("pending")),
    Row(
        "dataset_mapping",
        "post",
        NOT_FOUND,
        kwargs=rival_dataset("pending"),
        data=lambda s: mapping_data(s.datasets.rival_pending),
    ),
    Row(
        "dataset_preview",
        "post",
        NOT_FOUND,
        kwargs=rival_dataset("pending"),
        data=lambda s: mapping_data(s.datasets.rival_pending),
    ),
    Row("dataset_retry", "post", NOT_FOUND, kwargs=rival_dataset("pending")),
    Row("dataset_error_report", "get", NOT_FOUND, kwargs=rival_dataset("ready")),
    Row(
        "dataset_maps",
        "post",
        NOT_FOUND,
        kwargs=rival_dataset("ready"),
        data=lambda s: {"maps": [s.rival_map.pk]},
    ),
    Row("dataset_delete", "post", NOT_FOUND, kwargs=rival_dataset("ready")),
    # Figures and rule previews.
    Row("map_figures", "get", NOT_FOUND, kwargs=rival_slug, htmx=True),
    Row("rule_preview", "post", NOT_FOUND, kwargs=rival_slug, data=rule_data),
    Row("segment_preview", "post", NOT_FOUND, kwargs=rival_persona, data=segment_data),
    Row("touchpoint_matches", "get", NOT_FOUND, kwargs=lambda s: {"pk": s.rival_touchpoint.pk}),
    # The dashboard of Rival's map.
    Row("map_dashboard", "get", NOT_FOUND, kwargs=rival_slug),
    Row("map_dashboard_csv", "get", NOT_FOUND, kwargs=rival_slug),
    # Members.
    Row(
        "member_role",
        "post",
        NOT_FOUND,
        kwargs=lambda s: {"pk": s.outsider_membership.pk},
        data=lambda s: {"role": Role.VIEWER},
    ),
    Row("member_remove", "post", NOT_FOUND, kwargs=lambda s: {"pk": s.outsider_membership.pk}),
]
ELSEWHERE_IDS = [f"{row.url_name}-{row.method}-{index}" for index, row in enumerate(ELSEWHERE)]


@pytest.mark.parametrize("row", ELSEWHERE, ids=ELSEWHERE_IDS)
def test_an_object_of_another_workspace_is_not_found_through_mine(scene: Scene, row: Row) -> None:
    url, data = row.url(scene), row.data(scene)
    before = state()

    response = send(scene.clients[ADMIN], row.method, url, data, row.htmx)

    assert response.status_code == 404
    assertContains(response, "Not found", status_code=404)
    assert state() == before
    scene.outsider_membership.refresh_from_db()
    assert scene.outsider_membership.role == Role.ADMIN


@pytest.mark.parametrize("row", ELSEWHERE, ids=ELSEWHERE_IDS)
def test_an_admin_of_both_workspaces_cannot_reach_rival_objects_through_acme(
    scene: Scene, outsider, row: Row
) -> None:
    factories.make_member(scene.journey_map.workspace, Role.ADMIN, outsider)
    url, data = row.url(scene), row.data(scene)
    before = state()

    response = send(logged_in(outsider), row.method, url, data, row.htmx)

    assert response.status_code == 404
    assert state() == before


def test_every_object_url_is_tried_from_another_workspace() -> None:
    object_urls = {row.url_name for row in MATRIX} - {
        "map_list",
        "map_create",
        "map_import",
        "persona_list",
        "persona_create",
        "member_list",
        "workspace_delete",  # the workspace itself: an outsider's 404 is in MATRIX
        "dataset_list",
        "dataset_upload",
        "workspace_overview",  # the workspace's own page: no object of it in the URL
    }

    assert object_urls <= {row.url_name for row in ELSEWHERE}


def test_a_workspace_that_does_not_exist_is_not_found(scene: Scene) -> None:
    response = scene.clients[ADMIN].get(reverse("map_list", args=["no-such-team"]))

    assert response.status_code == 404


def test_a_refused_role_is_told_why(scene: Scene) -> None:
    response = scene.clients[VIEWER].post(reverse("map_create", args=["acme"]), {"name": "Mine"})

    assertContains(response, "does not allow this", status_code=403)


def test_an_outsider_is_told_nothing_about_the_workspace(scene: Scene) -> None:
    response = scene.clients[OUTSIDER].get(reverse("map_list", args=["acme"]))

    assertContains(response, "Not found", status_code=404)
    assert "Launch" not in response.content.decode()
    assert "Acme Shop" not in response.content.decode()


# --- CSRF -------------------------------------------------------------------------------------


def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(scene: Scene, ws_admin) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ws_admin)
    url = reverse("map_delete", args=["acme", scene.journey_map.slug])
    before = state()

    refused = browser.post(url)

    assert refused.status_code == 403
    assert state() == before
    # The same browser with the token from the confirmation page is let through.
    browser.get(url)
    accepted = browser.post(url, {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert accepted.status_code == 302
    assert not JourneyMap.objects.filter(pk=scene.journey_map.pk).exists()


def test_an_htmx_post_carries_the_csrf_token_in_its_header(scene: Scene, ws_editor) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ws_editor)
    page = browser.get(reverse("map_list", args=["acme"]))
    token = browser.cookies["csrftoken"].value
    assertContains(page, 'hx-headers=\'{"X-CSRFToken": "')

    response = browser.post(
        reverse("map_archive", args=["acme", scene.journey_map.slug]),
        {"archived": "1"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )

    assert response.status_code == 302
    scene.journey_map.refresh_from_db()
    assert scene.journey_map.is_archived
