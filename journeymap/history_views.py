"""A map's history page (journeymap/history.html): its snapshots, taking one, restoring one, and
the side-by-side comparison of two snapshots or of a snapshot and the current map.

Viewers may list, download and compare; editors may also take and restore.
"""

from itertools import pairwise
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from journeymap import history, history_figures
from journeymap.access import WorkspaceRequest, workspace_view
from journeymap.mapjson import MapJSONError
from journeymap.models import JourneyMap, Snapshot
from journeymap.scoping import Role

PAGE = "journeymap/history.html"
CURRENT = "current"


class SnapshotForm(forms.ModelForm):
    class Meta:
        model = Snapshot
        fields = ["name", "kind", "note"]
        widgets = {
            "kind": forms.RadioSelect,
            "note": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "name": "e.g. “Before the checkout redesign”.",
            "kind": "As-is: the journey as it is today. To-be: the journey you are aiming for.",
            "note": "Optional: what this version is, or why you keep it.",
        }


def _map(request: WorkspaceRequest, slug: str) -> JourneyMap:
    return get_object_or_404(
        JourneyMap.objects.for_user(request.user).filter(workspace=request.membership.workspace),
        slug=slug,
    )


def _snapshots(request: WorkspaceRequest, journey_map: JourneyMap) -> Any:
    return Snapshot.objects.for_user(request.user).filter(map=journey_map)


def _snapshot(request: WorkspaceRequest, journey_map: JourneyMap, pk: int | str) -> Snapshot:
    return get_object_or_404(_snapshots(request, journey_map).select_related("created_by"), pk=pk)


class _Uncomparable(Exception):
    """A snapshot whose data is not a valid map; the message says which and why."""


def _side(request: WorkspaceRequest, journey_map: JourneyMap, value: str) -> history.ComparedSide:
    if value == CURRENT:
        return history.compared_side(journey_map=journey_map, snapshot=None)
    if not (value.isascii() and value.isdigit()):  # "²" is a digit to str.isdigit, not to int()
        raise Http404("No such snapshot.")
    snapshot = _snapshot(request, journey_map, value)
    try:
        return history.compared_side(journey_map=journey_map, snapshot=snapshot)
    except MapJSONError as problem:
        raise _Uncomparable(
            f"Snapshot “{snapshot.name}” cannot be compared: its data is not a valid map "
            f"({problem})."
        ) from None


def _render_page(
    request: WorkspaceRequest,
    journey_map: JourneyMap,
    form: SnapshotForm | None = None,
    status: int = 200,
) -> HttpResponse:
    snapshots = list(_snapshots(request, journey_map).select_related("created_by").defer("data"))
    for snapshot, before in pairwise(snapshots):  # newest first
        snapshot.before_pk = before.pk  # to compare it with the snapshot taken before it
    pick_a = request.GET.get("a", "")
    pick_b = request.GET.get("b", "")
    comparison = compare_error = None
    if pick_a and pick_b:
        try:
            side_a = _side(request, journey_map, pick_a)
            side_b = _side(request, journey_map, pick_b)
        except _Uncomparable as problem:
            compare_error = str(problem)
            status = 422
        else:
            diff = history.map_diff(side_a.data, side_b.data)
            comparison = {"a": side_a, "b": side_b, "diff": diff, "figures": None}
            if side_a.snapshot is not None and side_b.snapshot is not None:
                comparison["figures"] = history_figures.figures_comparison(
                    journey_map=journey_map, a=side_a.snapshot, b=side_b.snapshot
                )
    context = {
        "map": journey_map,
        "ws": request.membership.workspace.slug,
        "can_edit": request.membership.can_edit,
        "snapshots": snapshots,
        "form": form or SnapshotForm(),
        "comparison": comparison,
        "compare_error": compare_error,
        "pick_a": pick_a or (str(snapshots[0].pk) if snapshots else ""),
        "pick_b": pick_b or CURRENT,
        "changes_only": request.GET.get("changes") == "1",
    }
    template = PAGE
    if request.htmx:  # the comparison, or only its figures while they are being computed
        region = "period_figures" if request.GET.get("part") == "figures" else "compare"
        template = f"{PAGE}#{region}"
    return render(request, template, context, status=status)


@require_GET
@workspace_view()
def map_history(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The map's snapshots, newest first; with ?a=&b= (a snapshot id or "current"), their diff,
    and for two snapshots the figures of the periods they were live (?part=figures: only those).
    """
    return _render_page(request, _map(request, slug))


@require_POST
@workspace_view(Role.EDITOR)
def snapshot_take(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Store the map as it is now under a name."""
    journey_map = _map(request, slug)
    form = SnapshotForm(request.POST)
    if form.is_valid():
        try:
            snapshot = history.snapshot_take(
                journey_map=journey_map,
                user=request.user,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Took snapshot “{snapshot.name}”.")
            return redirect("map_history", workspace=request.membership.workspace.slug, slug=slug)
    return _render_page(request, journey_map, form=form, status=422)


@require_GET
@workspace_view()
def snapshot_download(request: WorkspaceRequest, slug: str, pk: int) -> HttpResponse:
    """The snapshot as a journeymap/v1 file (importable as a new map)."""
    journey_map = _map(request, slug)
    snapshot = _snapshot(request, journey_map, pk)
    response = HttpResponse(history.snapshot_json(snapshot), content_type="application/json")
    name = slugify(snapshot.name)[:60] or "snapshot"
    response["Content-Disposition"] = (
        f'attachment; filename="{journey_map.slug}-snapshot-{snapshot.pk}-{name}.json"'
    )
    return response


@require_POST
@workspace_view(Role.EDITOR)
def snapshot_restore(request: WorkspaceRequest, slug: str, pk: int) -> HttpResponse:
    """Replace the map's content with the snapshot's (the page asks for confirmation first)."""
    journey_map = _map(request, slug)
    snapshot = _snapshot(request, journey_map, pk)
    snapshot.map = journey_map
    try:
        before = history.snapshot_restore(snapshot=snapshot, user=request.user)
    except MapJSONError as problem:
        messages.error(
            request,
            f"Snapshot “{snapshot.name}” cannot be restored: its data is not a valid map "
            f"({problem}). The map was not changed.",
        )
        return _render_page(request, journey_map, status=422)
    messages.success(
        request,
        f"Restored snapshot “{snapshot.name}”. What the map held before is kept as snapshot "
        f"“{before.name}”: restore that one to undo.",
    )
    return redirect("map_history", workspace=request.membership.workspace.slug, slug=slug)
