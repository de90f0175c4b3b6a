"""The per-map dashboard (DESIGN §9 "Dashboard"): every member reads it; it shows stored figures."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from analytics.dashboard import dashboard_csv, load_dashboard
from analytics.figures import page_persona_id
from journeymap.access import WorkspaceRequest, workspace_view
from journeymap.models import JourneyMap


def _map(request: WorkspaceRequest, slug: str) -> JourneyMap:
    maps = JourneyMap.objects.for_user(request.user).filter(workspace=request.membership.workspace)
    return get_object_or_404(maps.select_related("workspace"), slug=slug)


@require_GET
@workspace_view()
def map_dashboard(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """KPI cards, the funnel, the weekly trends and the insights of a map, for ?persona=<id>."""
    journey_map = _map(request, slug)
    dashboard = load_dashboard(journey_map=journey_map, persona_id=page_persona_id(request))
    context = {"map": journey_map, "ws": request.membership.workspace.slug, "dash": dashboard}
    return render(request, "analytics/dashboard.html", context)


@require_GET
@workspace_view()
def map_dashboard_csv(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The figures behind the dashboard as CSV (formula-safe cells), for ?persona=<id>."""
    journey_map = _map(request, slug)
    dashboard = load_dashboard(journey_map=journey_map, persona_id=page_persona_id(request))
    response = HttpResponse(dashboard_csv(dashboard), content_type="text/csv; charset=utf-8")
    persona = dashboard.map_figures.persona_id
    name = f"{journey_map.slug}-figures{f'-persona-{persona}' if persona else ''}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
