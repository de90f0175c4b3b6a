"""Collaboration pages of a map: comments, the activity feed, share links; and the shared map.

One page template (journeymap/collab.html) with a tab per page; htmx requests get the region they
changed. The comment thread of a stage or card also opens in a side panel of the map editor, so
its actions answer with the thread (and, in the panel, the card's refreshed comment button).
"""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from journeymap import collab
from journeymap.access import WorkspaceRequest, workspace_view
from journeymap.editor_views import emotion_curve
from journeymap.models import Comment, JourneyMap, ShareLink
from journeymap.scoping import Role

PAGE = "journeymap/collab.html"
SHARED_PAGE = "journeymap/shared_map.html"


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=collab.BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Plain text. Mention a member of the workspace with @username.",
    )


def _map(request: WorkspaceRequest, slug: str) -> JourneyMap:
    return get_object_or_404(
        JourneyMap.objects.for_user(request.user)
        .filter(workspace=request.membership.workspace)
        .select_related("workspace"),
        slug=slug,
    )


def _comment(request: WorkspaceRequest, journey_map: JourneyMap, pk: int) -> Comment:
    comment = get_object_or_404(
        Comment.objects.for_user(request.user).filter(map=journey_map).select_related("author"),
        pk=pk,
    )
    comment.map = journey_map
    return comment


def _flag(request: HttpRequest, name: str) -> bool:
    return (request.POST.get(name) or request.GET.get(name)) == "1"


def _display(request: HttpRequest) -> dict:
    """How a thread is shown: in the editor's side panel, or on the comments page."""
    panel = _flag(request, "panel")
    return {"panel": panel, "show_resolved": panel or _flag(request, "resolved")}


def _comments_url(journey_map: JourneyMap, key: str = "", anchor: str = "", **query: Any) -> str:
    """The comments page, focused on a target (`key` "kind-id"), scrolled to `anchor`."""
    params = {"on": key} if key else {}
    params.update({name: value for name, value in query.items() if value})
    url = reverse("map_comments", args=[journey_map.workspace.slug, journey_map.slug])
    if params:
        url += "?" + urlencode(params)
    return url + (f"#{anchor}" if anchor else "")


def _page(
    request: WorkspaceRequest, journey_map: JourneyMap, tab: str, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"map": journey_map, "ws": journey_map.workspace.slug, "tab": tab, **extra}
    return render(request, PAGE, context, status=status)


def _comments_page(
    request: WorkspaceRequest,
    journey_map: JourneyMap,
    status: int = 200,
    focus: tuple[str, int] | None = None,
    region_only: bool = False,
    **extra: Any,
) -> HttpResponse:
    display = _display(request)
    if focus is None:
        focus = _target_key(request.GET.get("on", ""))
    threads = collab.map_comment_threads(
        journey_map=journey_map,
        membership=request.membership,
        include_resolved=display["show_resolved"],
        focus=focus,
    )
    context = {
        "threads": threads,
        "focus": f"{focus[0]}-{focus[1]}" if focus else "",
        "form": CommentForm(),
        **display,
        **extra,
    }
    if region_only:
        context.update(map=journey_map, ws=journey_map.workspace.slug)
        return render(request, f"{PAGE}#comments", context)
    return _page(request, journey_map, "comments", status, **context)


def _target_key(key: str) -> tuple[str, int] | None:
    kind, _, target_id = key.rpartition("-")
    if kind in collab.TARGET_MODELS and target_id.isascii() and target_id.isdigit():
        return kind, int(target_id)
    return None


def _thread(
    request: WorkspaceRequest,
    journey_map: JourneyMap,
    kind: str,
    target_id: int,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    """A target's thread (htmx): in the side panel, or in place on the comments page."""
    thread = collab.comment_thread(
        journey_map=journey_map, kind=kind, target_id=target_id, membership=request.membership
    )
    if thread is None:
        raise Http404("No such stage or card on this map.")
    display = _display(request)
    context = {
        "map": journey_map,
        "ws": journey_map.workspace.slug,
        "thread": thread,
        "focus": thread.target.key,
        "form": CommentForm(),
        # The card's comment button on the map, refreshed out of band when the panel changes it.
        "comment_counts": {thread.target.key: len(thread.open_comments)},
        **display,
        **extra,
    }
    region = "comment_panel" if request.htmx.target == "comment-panel" else "thread"
    return render(request, f"{PAGE}#{region}", context, status=status)


def _after_change(
    request: WorkspaceRequest, journey_map: JourneyMap, kind: str, target_id: int, anchor: str
) -> HttpResponse:
    if request.htmx:
        return _thread(request, journey_map, kind, target_id)
    resolved = "1" if _display(request)["show_resolved"] else ""
    return redirect(_comments_url(journey_map, f"{kind}-{target_id}", anchor, resolved=resolved))


# --- comments --------------------------------------------------------------------------------


@require_GET
@workspace_view()
def map_comments(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """All open comments of the map grouped by stage or card (resolved ones too, on request)."""
    return _comments_page(request, _map(request, slug), region_only=bool(request.htmx))


@require_GET
@workspace_view()
def comment_thread(request: WorkspaceRequest, slug: str, kind: str, target_id: int) -> HttpResponse:
    """The comments of one stage or card (htmx: the editor's side panel)."""
    journey_map = _map(request, slug)
    if not request.htmx:
        key = f"{kind}-{target_id}"
        resolved = "1" if _flag(request, "resolved") else ""
        return redirect(_comments_url(journey_map, key, f"comments-{key}", resolved=resolved))
    return _thread(request, journey_map, kind, target_id)


@require_POST
@workspace_view()  # viewers too: managers review maps and comment on them (DESIGN §1)
def comment_add(request: WorkspaceRequest, slug: str, kind: str, target_id: int) -> HttpResponse:
    """Pin a comment to a stage or card; @mentions of workspace members are highlighted."""
    journey_map = _map(request, slug)
    if collab.target_object(journey_map=journey_map, kind=kind, target_id=target_id) is None:
        raise Http404("No such stage or card on this map.")
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = collab.comment_add(
                journey_map=journey_map,
                kind=kind,
                target_id=target_id,
                membership=request.membership,
                body=form.cleaned_data["body"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _after_change(request, journey_map, kind, target_id, f"comment-{comment.pk}")
    if request.htmx:
        return _thread(request, journey_map, kind, target_id, status=422, form=form)
    return _comments_page(request, journey_map, 422, focus=(kind, target_id), form=form)


@require_http_methods(["GET", "POST"])
@workspace_view()
def comment_edit(request: WorkspaceRequest, slug: str, pk: int) -> HttpResponse:
    """Edit one's own comment in place."""
    journey_map = _map(request, slug)
    comment = _comment(request, journey_map, pk)
    if not collab.may_edit_comment(comment=comment, membership=request.membership):
        raise PermissionDenied("Only its author can edit a comment.")
    kind, target_id = comment.target_kind, comment.target_id
    form = CommentForm(request.POST or None, initial={"body": comment.body})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                collab.comment_edit(
                    comment=comment, membership=request.membership, body=form.cleaned_data["body"]
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return _after_change(request, journey_map, kind, target_id, f"comment-{pk}")
        status = 422
    if request.htmx and status == 200:
        context = {"map": journey_map, "ws": journey_map.workspace.slug, "comment": comment}
        context.update(edit_form=form, **_display(request))
        return render(request, f"{PAGE}#comment_form", context)
    if request.htmx:  # the thread, with the form and its errors in place of the comment
        return _thread(request, journey_map, kind, target_id, 422, editing=pk, edit_form=form)
    return _comments_page(
        request, journey_map, status, focus=(kind, target_id), editing=pk, edit_form=form
    )


@require_POST
@workspace_view()
def comment_delete(request: WorkspaceRequest, slug: str, pk: int) -> HttpResponse:
    """Delete one's own comment (the page asks for confirmation first)."""
    journey_map = _map(request, slug)
    comment = _comment(request, journey_map, pk)
    kind, target_id = comment.target_kind, comment.target_id
    collab.comment_delete(comment=comment, membership=request.membership)
    if not request.htmx:
        messages.success(request, "Comment deleted.")
    return _after_change(request, journey_map, kind, target_id, f"comments-{kind}-{target_id}")


@require_POST
@workspace_view()
def comment_resolve(request: WorkspaceRequest, slug: str, pk: int) -> HttpResponse:
    """Mark a comment resolved (editors, admins, or its author)."""
    return _set_resolved(request, slug, pk, resolved=True)


@require_POST
@workspace_view()
def comment_reopen(request: WorkspaceRequest, slug: str, pk: int) -> HttpResponse:
    """Reopen a resolved comment (editors, admins, or its author)."""
    return _set_resolved(request, slug, pk, resolved=False)


def _set_resolved(request: WorkspaceRequest, slug: str, pk: int, resolved: bool) -> HttpResponse:
    journey_map = _map(request, slug)
    comment = _comment(request, journey_map, pk)
    collab.comment_set_resolved(comment=comment, membership=request.membership, resolved=resolved)
    kind, target_id = comment.target_kind, comment.target_id
    return _after_change(request, journey_map, kind, target_id, f"comments-{kind}-{target_id}")


@require_GET
@workspace_view()
def comment_panel(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The editor's comment side panel, closed (what its Close button swaps in)."""
    journey_map = _map(request, slug)
    if not request.htmx:
        return redirect(journey_map)
    context = {"map": journey_map, "ws": journey_map.workspace.slug, "thread": None}
    return render(request, f"{PAGE}#comment_panel", context)


# --- the activity feed -----------------------------------------------------------------------


@require_GET
@workspace_view()
def map_activity(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Who changed what on the map and who commented, newest first, a page at a time."""
    journey_map = _map(request, slug)
    page_number = request.GET.get("page")
    page, events = collab.activity_page(journey_map=journey_map, page_number=page_number)
    context = {"page": page, "events": events}
    if request.htmx:
        context.update(map=journey_map, ws=journey_map.workspace.slug)
        return render(request, f"{PAGE}#activity", context)
    return _page(request, journey_map, "activity", **context)


# --- share links -----------------------------------------------------------------------------


def _share_links(request: WorkspaceRequest, journey_map: JourneyMap) -> HttpResponse:
    links = list(
        ShareLink.objects.administered_by(request.user)
        .active()
        .filter(map=journey_map)
        .select_related("created_by")
    )
    for link in links:
        link.url = request.build_absolute_uri(reverse("shared_map", args=[link.token]))
    context = {"links": links}
    if request.htmx:
        context.update(map=journey_map, ws=journey_map.workspace.slug)
        return render(request, f"{PAGE}#share_links", context)
    return _page(request, journey_map, "share", **context)


@require_GET
@workspace_view(Role.ADMIN)
def share_links(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The map's active read-only share links, to copy or revoke (admins)."""
    return _share_links(request, _map(request, slug))


@require_POST
@workspace_view(Role.ADMIN)
def share_link_create(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Create a read-only link to the map that works without an account."""
    journey_map = _map(request, slug)
    collab.share_link_create(journey_map=journey_map, membership=request.membership)
    messages.success(request, "Share link created: anyone with it can see this map, read-only.")
    if request.htmx:
        return _share_links(request, journey_map)
    return redirect("share_links", workspace=journey_map.workspace.slug, slug=journey_map.slug)


@require_POST
@workspace_view(Role.ADMIN)
def share_link_revoke(request: WorkspaceRequest, slug: str, pk: int) -> HttpResponse:
    """Revoke a share link (the page asks for confirmation first); its address then answers 404."""
    journey_map = _map(request, slug)
    link = get_object_or_404(
        ShareLink.objects.administered_by(request.user).active().filter(map=journey_map), pk=pk
    )
    link.map = journey_map
    collab.share_link_revoke(share_link=link, membership=request.membership)
    messages.success(request, "Share link revoked: its address no longer shows the map.")
    if request.htmx:
        return _share_links(request, journey_map)
    return redirect("share_links", workspace=journey_map.workspace.slug, slug=journey_map.slug)


# --- the public, read-only map ---------------------------------------------------------------


@require_GET
def shared_map(request: HttpRequest, token: str) -> HttpResponse:
    """A shared map for anyone with the link: read-only, no comments, no names, not indexed."""
    journey_map = collab.shared_map(token=token)
    if journey_map is None:
        raise Http404("This share link does not exist or was revoked.")
    stages = list(journey_map.stages.all())
    response = render(
        request,
        SHARED_PAGE,
        {
            "map": journey_map,
            "stages": stages,
            "curve": emotion_curve(stages),
        },
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    # A revoked link must stop working at once, not live on in a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
