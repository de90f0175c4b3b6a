"""Collaboration on a map: comments pinned to stages and cards, the activity feed, share links.

Writes are keyword-only services that check who may do what and validate before saving; reads are
the named queries below, each a constant number of SQL queries whatever the size of the map.
Comment bodies stay plain text: an @mention is highlighted by splitting the text into parts here,
and the template escapes every part.
"""

import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db import models, transaction
from django.db.models import Count, IntegerField, Prefetch, Value
from django.db.models.functions import Lower
from django.utils import timezone

from journeymap.editor import CARD_KINDS
from journeymap.models import (
    Comment,
    CommentTarget,
    JourneyMap,
    MapChange,
    Membership,
    ShareLink,
)
from journeymap.scoping import ROLES_AT_LEAST, Role
from personas.models import Persona
from stages.models import Stage, StageKPI
from touchpoints.models import Opportunity, PainPoint, Touchpoint

# Comment targets in the order of the editor's lanes: the stage head first, then its cards.
TARGET_MODELS: dict[str, type[models.Model]] = {
    CommentTarget.STAGE: Stage,
    **{slug: kind.model for slug, kind in CARD_KINDS.items()},
}
LANE_ORDER = {kind: index for index, kind in enumerate(TARGET_MODELS)}
assert set(TARGET_MODELS) == set(CommentTarget.values), "every comment target needs a model"

BODY_MAX_LENGTH = 5000
FEED_PAGE_SIZE = 30

# `@name` where the name is a Django username (letters, digits and . + - _), not preceded by a
# word character, so that an e-mail address is not a mention. A trailing dot ends the sentence.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]*[\w+-])")


# --- permissions -----------------------------------------------------------------------------


def may_comment(*, membership: Membership) -> bool:
    """Any member may comment, viewers included: managers review maps and say so in comments.

    Editing the map itself stays with editors and admins; a comment changes nothing on the map.
    """
    return membership.role in ROLES_AT_LEAST[Role.VIEWER]


def may_edit_comment(*, comment: Comment, membership: Membership) -> bool:
    """Only the author edits or deletes a comment (not even an admin puts words in their mouth)."""
    return comment.author_id is not None and comment.author_id == membership.user_id


def may_resolve_comment(*, comment: Comment, membership: Membership) -> bool:
    """Editors and admins resolve or reopen any comment; the author their own."""
    return membership.can_edit or may_edit_comment(comment=comment, membership=membership)


def _check_member_of(membership: Membership, journey_map: JourneyMap) -> None:
    if membership.workspace_id != journey_map.workspace_id:
        raise PermissionDenied("You are not a member of this map's workspace.")


# --- @mentions -------------------------------------------------------------------------------


def mentioned_names(body: str) -> set[str]:
    """The lower-cased usernames written as @name in a text."""
    return {match.group(1).lower() for match in MENTION.finditer(body)}


def mentionable_members(*, journey_map: JourneyMap, names: set[str]) -> list[AbstractBaseUser]:
    """The members of the map's workspace among `names`; anyone else is never resolved."""
    if not names:
        return []
    return list(
        get_user_model()
        .objects.filter(memberships__workspace_id=journey_map.workspace_id, is_active=True)
        .annotate(username_lower=Lower("username"))
        .filter(username_lower__in=names)
    )


@dataclass(frozen=True)
class BodyPart:
    """A piece of a comment's text; `mention` marks a resolved @mention to highlight."""

    text: str
    mention: bool = False


def body_parts(body: str, mentioned: set[str]) -> list[BodyPart]:
    """Split a comment's text around the @mentions of `mentioned` (lower-cased usernames)."""
    parts: list[BodyPart] = []
    start = 0
    for match in MENTION.finditer(body):
        if match.group(1).lower() not in mentioned:
            continue
        if match.start() > start:
            parts.append(BodyPart(body[start : match.start()]))
        parts.append(BodyPart(match.group(0), mention=True))
        start = match.end()
    if start < len(body):
        parts.append(BodyPart(body[start:]))
    return parts


# --- comments: writes ------------------------------------------------------------------------


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first: the comment is empty."})
    if len(body) > BODY_MAX_LENGTH:
        raise ValidationError(
            {"body": f"A comment has at most {BODY_MAX_LENGTH} characters (this has {len(body)})."}
        )
    return body


def target_object(*, journey_map: JourneyMap, kind: str, target_id: int) -> models.Model | None:
    """The stage or card of this map that a comment is pinned to, or None if there is none."""
    if kind not in TARGET_MODELS:
        return None
    model = TARGET_MODELS[kind]
    scope = {"map": journey_map} if model is Stage else {"stage__map": journey_map}
    related = ["map"] if model is Stage else ["stage", "stage__map"]
    return model.objects.filter(**scope).select_related(*related).filter(pk=target_id).first()


def comment_add(
    *, journey_map: JourneyMap, kind: str, target_id: int, membership: Membership, body: str
) -> Comment:
    """Pin a new comment to a stage or card of the map; @mentions of members are recorded."""
    _check_member_of(membership, journey_map)
    if not may_comment(membership=membership):
        raise PermissionDenied("You may not comment on this map.")
    if target_object(journey_map=journey_map, kind=kind, target_id=target_id) is None:
        raise ValidationError("That stage or card is not on this map (any more).")
    comment = Comment(
        map=journey_map,
        target_kind=kind,
        target_id=target_id,
        author=membership.user,
        body=_clean_body(body),
    )
    comment.full_clean()
    with transaction.atomic():
        comment.save()
        # Both timestamps equal until the text is edited (resolving leaves `updated_at` alone).
        comment.updated_at = comment.created_at
        Comment.objects.filter(pk=comment.pk).update(updated_at=comment.created_at)
        comment.mentions.set(
            mentionable_members(journey_map=journey_map, names=mentioned_names(comment.body))
        )
    return comment


def comment_edit(*, comment: Comment, membership: Membership, body: str) -> Comment:
    """Change the text of one's own comment; its mentions follow the new text."""
    _check_member_of(membership, comment.map)
    if not may_edit_comment(comment=comment, membership=membership):
        raise PermissionDenied("Only its author can edit a comment.")
    comment.body = _clean_body(body)
    comment.full_clean()
    with transaction.atomic():
        comment.save(update_fields=["body", "updated_at"])
        comment.mentions.set(
            mentionable_members(journey_map=comment.map, names=mentioned_names(comment.body))
        )
    return comment


def comment_delete(*, comment: Comment, membership: Membership) -> None:
    """Delete one's own comment."""
    _check_member_of(membership, comment.map)
    if not may_edit_comment(comment=comment, membership=membership):
        raise PermissionDenied("Only its author can delete a comment.")
    comment.delete()


def comment_set_resolved(*, comment: Comment, membership: Membership, resolved: bool) -> Comment:
    """Resolve a comment (it leaves the list of open comments) or reopen it."""
    _check_member_of(membership, comment.map)
    if not may_resolve_comment(comment=comment, membership=membership):
        raise PermissionDenied("Only editors, admins and its author can resolve a comment.")
    if resolved and comment.resolved_at is None:
        comment.resolved_at, comment.resolved_by = timezone.now(), membership.user
    elif not resolved:
        comment.resolved_at, comment.resolved_by = None, None
    # `updated_at` stays: it tells when the text was last edited.
    comment.save(update_fields=["resolved_at", "resolved_by"])
    return comment


# --- comments: reads -------------------------------------------------------------------------


def open_comment_counts(journey_map: JourneyMap) -> dict[str, int]:
    """Open comments per target of the map, keyed "kind-id" like the element ids on the map."""
    rows = (
        Comment.objects.open()
        .filter(map=journey_map)
        .values_list("target_kind", "target_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {f"{kind}-{target_id}": count for kind, target_id, count in rows}


@dataclass
class Target:
    """What a comment is pinned to, as the comment lists show it."""

    kind: str
    id: int
    obj: models.Model | None  # None once the stage or card was deleted

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"

    @property
    def exists(self) -> bool:
        return self.obj is not None

    @property
    def kind_label(self) -> str:
        return CommentTarget(self.kind).label

    @property
    def title(self) -> str:
        if self.obj is None:
            return "on a deleted stage" if self.kind == CommentTarget.STAGE else "on a deleted card"
        if isinstance(self.obj, StageKPI):
            return self.obj.get_metric_display()
        if isinstance(self.obj, Stage):
            return self.obj.name
        return CARD_KINDS[self.kind].title_of(self.obj) or "(untitled)"

    @property
    def stage(self) -> Stage | None:
        if self.obj is None:
            return None
        return self.obj if isinstance(self.obj, Stage) else self.obj.stage

    @property
    def anchor(self) -> str:
        """The element id of the target on the map page."""
        return f"stage-{self.id}-head" if self.kind == CommentTarget.STAGE else self.key

    @property
    def order(self) -> tuple:
        stage = self.stage
        if stage is None:
            return (1, 0, LANE_ORDER.get(self.kind, 0), self.id)
        position = getattr(self.obj, "position", 0) if self.kind == "touchpoint" else 0
        return (0, stage.position, stage.pk, LANE_ORDER[self.kind], position, self.id)


def targets_of(*, journey_map: JourneyMap, keys: set[tuple[str, int]]) -> dict[str, Target]:
    """The targets (kind, id) of the map, keyed "kind-id"; one query per kind at most."""
    ids: dict[str, set[int]] = defaultdict(set)
    for kind, target_id in keys:
        ids[kind].add(target_id)
    found: dict[str, models.Model] = {}
    for kind, wanted in ids.items():
        model = TARGET_MODELS.get(kind)
        if model is None:
            continue
        if model is Stage:
            objects = Stage.objects.filter(map=journey_map, pk__in=wanted)
        else:
            objects = model.objects.filter(stage__map=journey_map, pk__in=wanted).select_related(
                "stage"
            )
        found.update({f"{kind}-{obj.pk}": obj for obj in objects})
    return {
        f"{kind}-{target_id}": Target(kind, target_id, found.get(f"{kind}-{target_id}"))
        for kind, target_id in keys
    }


@dataclass
class Thread:
    """The comments pinned to one target, oldest first."""

    target: Target
    comments: list[Comment] = field(default_factory=list)

    @property
    def open_comments(self) -> list[Comment]:
        return [comment for comment in self.comments if comment.resolved_at is None]

    @property
    def resolved_comments(self) -> list[Comment]:
        return [comment for comment in self.comments if comment.resolved_at is not None]


def _comments(journey_map: JourneyMap) -> Any:
    return (
        Comment.objects.filter(map=journey_map)
        .select_related("author", "resolved_by")
        .prefetch_related(
            Prefetch("mentions", queryset=get_user_model().objects.only("pk", "username"))
        )
        .order_by("created_at", "id")
    )


def _prepare(comment: Comment, membership: Membership) -> Comment:
    """Give a comment what its template needs: its text in parts, and what the reader may do."""
    mentioned = {user.get_username().lower() for user in comment.mentions.all()}
    comment.parts = body_parts(comment.body, mentioned)
    comment.editable = may_edit_comment(comment=comment, membership=membership)
    comment.resolvable = may_resolve_comment(comment=comment, membership=membership)
    comment.edited = comment.updated_at != comment.created_at
    return comment


def comment_thread(
    *, journey_map: JourneyMap, kind: str, target_id: int, membership: Membership
) -> Thread | None:
    """The thread of one target; None if the target is neither on the map nor commented on."""
    if kind not in TARGET_MODELS:
        return None
    comments = [
        _prepare(comment, membership)
        for comment in _comments(journey_map).filter(target_kind=kind, target_id=target_id)
    ]
    obj = target_object(journey_map=journey_map, kind=kind, target_id=target_id)
    if obj is None and not comments:
        return None
    return Thread(Target(kind, target_id, obj), comments)


def map_comment_threads(
    *,
    journey_map: JourneyMap,
    membership: Membership,
    include_resolved: bool,
    focus: tuple[str, int] | None = None,
) -> list[Thread]:
    """The map's threads in map order (deleted targets last): those with open comments, or with
    any comment when `include_resolved`; the `focus` target is always there, to comment on it."""
    comments = [_prepare(comment, membership) for comment in _comments(journey_map)]
    keys = {(comment.target_kind, comment.target_id) for comment in comments}
    if focus is not None and focus[0] in TARGET_MODELS:
        keys.add(focus)
    targets = targets_of(journey_map=journey_map, keys=keys)
    threads = {key: Thread(target) for key, target in targets.items()}
    for comment in comments:
        threads[f"{comment.target_kind}-{comment.target_id}"].comments.append(comment)
    shown = [
        thread
        for thread in threads.values()
        if (include_resolved and thread.comments)
        or thread.open_comments
        or (focus is not None and thread.target.key == f"{focus[0]}-{focus[1]}")
    ]
    # A focused target that is neither on the map nor commented on is not shown.
    shown = [thread for thread in shown if thread.comments or thread.target.exists]
    return sorted(shown, key=lambda thread: thread.target.order)


# --- the activity feed -----------------------------------------------------------------------


@dataclass
class Event:
    """One line of the activity feed: a change of the map, or a comment."""

    at: Any
    user: AbstractBaseUser | None
    change: MapChange | None = None
    comment: Comment | None = None
    target: Target | None = None


CHANGE, COMMENT = 0, 1


def activity_page(*, journey_map: JourneyMap, page_number: Any) -> tuple[Page, list[Event]]:
    """One page of the map's change log and comments, newest first."""
    # One ordered, paginated stream over both tables (a UNION), then the page's rows in bulk.
    changes = (
        MapChange.objects.filter(map=journey_map)
        .annotate(source=Value(CHANGE, output_field=IntegerField()))
        .values_list("at", "id", "source")
        .order_by()
    )
    comments = (
        Comment.objects.filter(map=journey_map)
        .annotate(source=Value(COMMENT, output_field=IntegerField()))
        .values_list("created_at", "id", "source")
        .order_by()
    )
    stream = changes.union(comments, all=True).order_by("-at", "-source", "-id")
    page = Paginator(stream, FEED_PAGE_SIZE).get_page(page_number)
    rows = list(page.object_list)
    change_ids = [pk for _, pk, source in rows if source == CHANGE]
    comment_ids = [pk for _, pk, source in rows if source == COMMENT]
    change_of = MapChange.objects.select_related("user").in_bulk(change_ids) if change_ids else {}
    comment_of = (
        Comment.objects.select_related("author").in_bulk(comment_ids) if comment_ids else {}
    )
    targets = targets_of(
        journey_map=journey_map,
        keys={(comment.target_kind, comment.target_id) for comment in comment_of.values()},
    )
    events = []
    for at, pk, source in rows:
        if source == CHANGE and pk in change_of:
            change = change_of[pk]
            events.append(Event(at, change.user, change=change))
        elif source == COMMENT and pk in comment_of:
            comment = comment_of[pk]
            target = targets[f"{comment.target_kind}-{comment.target_id}"]
            events.append(Event(at, comment.author, comment=comment, target=target))
    return page, events


# --- share links -----------------------------------------------------------------------------


def share_link_create(*, journey_map: JourneyMap, membership: Membership) -> ShareLink:
    """A new read-only link to the map for people without an account (admins only)."""
    _check_member_of(membership, journey_map)
    if not membership.is_admin:
        raise PermissionDenied("Only admins create share links.")
    with transaction.atomic():
        link = ShareLink(
            map=journey_map, token=secrets.token_urlsafe(32), created_by=membership.user
        )
        link.full_clean()
        link.save()
        _log_share(journey_map, membership, "share_link_created", "Created a read-only share link")
    return link


def share_link_revoke(*, share_link: ShareLink, membership: Membership) -> None:
    """Revoke a share link: from now on its address answers 404 (admins only)."""
    _check_member_of(membership, share_link.map)
    if not membership.is_admin:
        raise PermissionDenied("Only admins revoke share links.")
    if share_link.revoked_at is not None:
        return
    with transaction.atomic():
        share_link.revoked_at = timezone.now()
        share_link.save(update_fields=["revoked_at"])
        _log_share(
            share_link.map,
            membership,
            "share_link_revoked",
            f"Revoked the read-only share link created {share_link.created_at:%Y-%m-%d %H:%M}",
        )


def _log_share(journey_map: JourneyMap, membership: Membership, action: str, summary: str) -> None:
    # Into the change log, but not through map_record_change: sharing is not an edit of the map,
    # so its "last edited" stays. The token never goes into the log, which every member reads.
    MapChange.objects.create(map=journey_map, user=membership.user, action=action, summary=summary)


def shared_map(*, token: str) -> JourneyMap | None:
    """The map behind an active share link, with everything the public page shows; else None."""
    # The only lookup of a map without a workspace membership: the token is the permission.
    return (
        JourneyMap.objects.filter(share_links__in=ShareLink.objects.active().filter(token=token))
        .prefetch_related(
            Prefetch("personas", queryset=Persona.objects.order_by("name").only("pk", "name")),
            Prefetch(
                "stages",
                queryset=Stage.objects.order_by("position", "id").prefetch_related(
                    Prefetch("touchpoints", queryset=Touchpoint.objects.order_by("position", "id")),
                    Prefetch(
                        "pain_points",
                        queryset=PainPoint.objects.select_related("touchpoint").order_by("id"),
                    ),
                    Prefetch(
                        "opportunities",
                        queryset=Opportunity.objects.select_related("pain_point").order_by("id"),
                    ),
                    Prefetch("kpis", queryset=StageKPI.objects.order_by("id")),
                ),
            ),
        )
        .first()
    )
