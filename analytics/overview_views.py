"""The workspace overview (every member): each active map's headline figures and weekly users."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analytics.overview import load_overview
from journeymap.access import WorkspaceRequest, workspace_view
from journeymap.models import JourneyMap


@require_GET
@workspace_view()
def workspace_overview(request: WorkspaceRequest) -> HttpResponse:
    """Users, conversion, revenue, NPS, KPIs met and a sparkline of weekly users, per map."""
    workspace = request.membership.workspace
    maps = JourneyMap.objects.for_user(request.user).filter(workspace=workspace)
    context = {"ws": workspace.slug, "lines": load_overview(maps=maps)}
    return render(request, "analytics/overview.html", context)
