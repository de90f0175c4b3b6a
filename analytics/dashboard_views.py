"""The per-map dashboard (DESIGN §9 "Dashboard"): every member reads it; it shows stored figures."""

import hashlib

from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from analytics.dashboard import Dashboard, complete_dashboard, dashboard_csv, load_dashboard
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
        journey_map=journey_map,
        persona_id=page_persona_id(request),
        range_query=request.GET,
        complete=False,  # render_dash_body completes it when its region is not cached
    )
    context = {"map": journey_map, "ws": request.membership.workspace.slug, "dash": dashboard}
    context["dash_body"] = render_dash_body(journey_map, dashboard, context)
    # a range that cannot be shown is a refused form (the page says why, over the default range)
    status = 422 if dashboard.range_error else 200
    if request.htmx:
        return HttpResponse(context["dash_body"], status=status)
    return render(request, "analytics/dashboard.html", context, status=status)


BODY_CACHE_SECONDS = 24 * 3600


def render_dash_body(journey_map: JourneyMap, dashboard: Dashboard, context: dict) -> SafeString:
    """The figures' region (KPI cards, insights, charts, tables), from the cache when the same
    figures of the same version of the map were shown before: rendering it is most of the page's
    work. The key holds the map's content version (`updated_at`, which every change on the map
    bumps), the workspace's slug (in its links) and everything `Dashboard.cache_parts` lists; a
    new version is a new key, so every worker process sees a change at once."""
    parts = [journey_map.pk, journey_map.updated_at, context["ws"], *dashboard.cache_parts()]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    key = f"journeymap:dashboard:{journey_map.pk}:{digest}"
    html = cache.get(key)
    if html is None:
        complete_dashboard(dashboard, journey_map)
        html = render_to_string("analytics/dashboard.html#dash_body", context)
        cache.set(key, html, BODY_CACHE_SECONDS)
    # escaped by the template when it was rendered; it holds nothing of the request
    return mark_safe(html)


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
