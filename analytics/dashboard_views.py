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
    """KPI cards, the funnel, the weekly trends, the breakdowns and the insights of a map, for
    ?range=<preset>[&from=&to=]&persona=<id>; an htmx request (the page polling for the figures
    of a range being computed) gets the figures' region only."""
    journey_map = _map(request, slug)
    dashboard = load_dashboard(
        journey_map=journey_map, persona_id=page_persona_id(request), range_query=request.GET
    )
    context = {"map": journey_map, "ws": request.membership.workspace.slug, "dash": dashboard}
    template_name = "analytics/dashboard.html"
    if request.htmx:
        template_name += "#dash_body"
    # a range that cannot be shown is a refused form (the page says why, over the default range)
    status = 422 if dashboard.range_error else 200
    return render(request, template_name, context, status=status)


@require_GET
@workspace_view()
def map_dashboard_csv(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The figures behind the dashboard as CSV (formula-safe cells), for the page's parameters."""
    journey_map = _map(request, slug)
    dashboard = load_dashboard(
        journey_map=journey_map, persona_id=page_persona_id(request), range_query=request.GET
    )
    if dashboard.range_error:
        return HttpResponse(dashboard.range_error, status=422, content_type="text/plain")
    if dashboard.range_pending:
        response = HttpResponse(
            "The figures of this range are being computed; try again in a moment.",
            status=503,
            content_type="text/plain",
        )
        response["Retry-After"] = "5"
        return response
    response = HttpResponse(dashboard_csv(dashboard), content_type="text/csv; charset=utf-8")
    persona = dashboard.map_figures.persona_id
    days = dashboard.date_range
    dates = f"-{days.first_day:%Y%m%d}-{days.last_day:%Y%m%d}" if days is not None else ""
    name = f"{journey_map.slug}-figures{dates}{f'-persona-{persona}' if persona else ''}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
