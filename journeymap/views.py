"""Workspace home, the maps list and its actions, the read-only map page, and members."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from journeymap import mapjson, services
from journeymap.access import WorkspaceRequest, workspace_view
from journeymap.exports import map_cards_csv
from journeymap.forms import (
    MapCreateForm,
    MapImportForm,
    MemberAddForm,
    MemberRoleForm,
    WorkspaceDeleteForm,
)
from journeymap.mapjson import MapJSONError, map_export_text, parse_map_json
from journeymap.models import JourneyMap, Membership, Workspace
from journeymap.scoping import Role
from personas.models import Persona

# Refused input answers 422, not 400: in DEBUG, django-htmx's script replaces the whole page
# with any 400 answer to an htmx request.
INVALID = 422


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Go to the last workspace used, the only one, or let the user pick."""
    workspaces = Workspace.objects.for_user(request.user)
    last = workspaces.filter(slug=request.session.get("workspace")).first()
    if last is None and len(workspaces) == 1:
        last = workspaces[0]
    if last is not None:
        return redirect(last)
    return render(request, "journeymap/home.html", {"workspaces": workspaces})


def _maps(request: WorkspaceRequest) -> "JourneyMap.objects":
    return JourneyMap.objects.for_user(request.user).filter(workspace=request.membership.workspace)


@require_GET
@workspace_view()
def map_list(request: WorkspaceRequest) -> HttpResponse:
    """The workspace's maps as cards; archived ones on request."""
    show_archived = request.GET.get("archived") == "1"
    maps = _maps(request).select_related("workspace")  # each card's links need its slug
    maps = (
        (maps.archived() if show_archived else maps.active())
        .annotate(stage_count=Count("stages", distinct=True))
        .prefetch_related(Prefetch("personas", queryset=Persona.objects.order_by("name")))
    )
    return render(
        request,
        "journeymap/map_list.html",
        {
            "maps": maps,
            "show_archived": show_archived,
            "archived_count": _maps(request).archived().count(),
            "create_form": MapCreateForm(),
            "import_form": MapImportForm(),
        },
    )


@require_POST
@workspace_view(Role.EDITOR)
def map_create(request: WorkspaceRequest) -> HttpResponse:
    """Create a blank map or one from a built-in template."""
    form = MapCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the templates to create a map.")
        return redirect("map_list", workspace=request.membership.workspace.slug)
    journey_map = services.map_create(
        workspace=request.membership.workspace,
        user=request.user,
        name=form.cleaned_data["name"],
        template=form.cleaned_data["template"],
    )
    messages.success(request, f"Created “{journey_map.name}”.")
    return redirect(journey_map)


@require_http_methods(["GET", "POST"])
@workspace_view(Role.EDITOR)
def map_import(request: WorkspaceRequest) -> HttpResponse:
    """Upload a map JSON file; a bad file is answered with the JSON path of the problem."""
    form = (
        MapImportForm(request.POST, request.FILES) if request.method == "POST" else MapImportForm()
    )
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            journey_map = mapjson.map_import(
                data=parse_map_json(form.cleaned_data["file"]),
                workspace=request.membership.workspace,
                user=request.user,
            )
        except MapJSONError as problem:
            error = str(problem)
        else:
            messages.success(request, f"Imported “{journey_map.name}”.")
            return redirect(journey_map)
    status = INVALID if request.method == "POST" else 200
    return render(
        request, "journeymap/map_import.html", {"form": form, "error": error}, status=status
    )


@require_GET
@workspace_view()
def map_export(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Download the map as journeymap/v1 JSON."""
    journey_map = get_object_or_404(_maps(request), slug=slug)
    response = HttpResponse(map_export_text(journey_map), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{journey_map.slug}.json"'
    return response


@require_GET
@workspace_view()
def map_export_csv(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Download every card of the map as CSV (cells that look like formulas are neutralised)."""
    journey_map = get_object_or_404(_maps(request), slug=slug)
    response = HttpResponse(map_cards_csv(journey_map), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{journey_map.slug}-cards.csv"'
    return response


@require_POST
@workspace_view(Role.EDITOR)
def map_duplicate(request: WorkspaceRequest, slug: str) -> HttpResponse:
    journey_map = get_object_or_404(_maps(request), slug=slug)
    copy = services.map_duplicate(journey_map=journey_map, user=request.user)
    messages.success(request, f"Duplicated as “{copy.name}”.")
    return redirect("map_list", workspace=request.membership.workspace.slug)


@require_POST
@workspace_view(Role.EDITOR)
def map_archive(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Archive a map, or restore it with archived=0."""
    journey_map = get_object_or_404(_maps(request), slug=slug)
    archived = request.POST.get("archived", "1") != "0"
    services.map_set_archived(journey_map=journey_map, user=request.user, archived=archived)
    verb = "Archived" if archived else "Restored"
    messages.success(request, f"{verb} “{journey_map.name}”.")
    return redirect("map_list", workspace=request.membership.workspace.slug)


@require_http_methods(["GET", "POST"])
@workspace_view(Role.ADMIN)
def map_delete(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Ask for confirmation (GET), then delete the map and everything on it (POST)."""
    journey_map = get_object_or_404(_maps(request).annotate(stage_count=Count("stages")), slug=slug)
    if request.method == "POST":
        services.map_delete(journey_map=journey_map)
        messages.success(request, f"Deleted “{journey_map.name}”.")
        return redirect("map_list", workspace=request.membership.workspace.slug)
    return render(request, "journeymap/map_delete.html", {"map": journey_map})


def _members(request: WorkspaceRequest) -> "Membership.objects":
    return Membership.objects.administered_by(request.user).filter(
        workspace=request.membership.workspace
    )


@require_http_methods(["GET", "POST"])
@workspace_view(Role.ADMIN)
def member_list(request: WorkspaceRequest) -> HttpResponse:
    """The members and their roles; POST adds an existing user."""
    form = MemberAddForm(request.POST) if request.method == "POST" else MemberAddForm()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                membership = services.member_add(
                    workspace=request.membership.workspace,
                    identifier=form.cleaned_data["identifier"],
                    role=form.cleaned_data["role"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, f"Added {membership.user.username} as {membership.get_role_display()}."
                )
                return redirect("member_list", workspace=request.membership.workspace.slug)
        status = INVALID
    members = (
        Membership.objects.filter(workspace=request.membership.workspace)
        .select_related("user")
        .order_by("user__username")
    )
    return render(
        request,
        "journeymap/member_list.html",
        {"members": members, "form": form, "roles": Role.choices},
        status=status,
    )


@require_POST
@workspace_view(Role.ADMIN)
def member_role(request: WorkspaceRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(_members(request), pk=pk)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose admin, editor or viewer.")
    else:
        try:
            services.member_set_role(membership=membership, role=form.cleaned_data["role"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"{membership.user.username} is now {membership.get_role_display()}."
            )
            if membership.user_id == request.user.pk and membership.role != Role.ADMIN:
                # Admins who step down can no longer see the members page.
                return redirect("map_list", workspace=request.membership.workspace.slug)
    return redirect("member_list", workspace=request.membership.workspace.slug)


@require_POST
@workspace_view(Role.ADMIN)
def member_remove(request: WorkspaceRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(_members(request), pk=pk)
    try:
        services.member_remove(membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Removed {membership.user.username}.")
    if membership.user_id == request.user.pk and membership.pk is None:
        return redirect("home")
    return redirect("member_list", workspace=request.membership.workspace.slug)


@require_http_methods(["GET", "POST"])
@workspace_view(Role.ADMIN)
def workspace_delete(request: WorkspaceRequest) -> HttpResponse:
    """Say what goes with the workspace (GET); delete it once its name is typed exactly (POST)."""
    workspace = request.membership.workspace
    form = WorkspaceDeleteForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.workspace_delete(
                    workspace=workspace, confirm_name=form.cleaned_data["confirm_name"]
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                request.session.pop("workspace", None)
                messages.success(request, f"Deleted the workspace “{workspace.name}”.")
                return redirect("home")
        status = 422
    return render(
        request,
        "journeymap/workspace_delete.html",
        {
            "workspace": workspace,
            "contents": services.workspace_contents(workspace=workspace),
            "form": form,
        },
        status=status,
    )
