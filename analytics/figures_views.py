"""The map's stored figures refreshed in place, and what a rule matches (builder and drill-down).

None of these views computes a map's figures: `map_figures` reads the stored ones, and the rule
previews read a bounded number of rows (analytics.rulepreview).
"""

import json
from typing import Any

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from analytics.figures import page_persona_id
from analytics.loading import dataset_ids
from analytics.models import Dataset, DatasetKind
from analytics.rulepreview import preview_rule
from journeymap.access import WorkspaceRequest, workspace_view
from journeymap.models import JourneyMap
from journeymap.scoping import Role
from personas.models import Persona
from stages.models import StageKPI
from touchpoints.models import Touchpoint
from touchpoints.rules import RuleError, validate_rule

MATCHES = "analytics/rule_matches.html"
INVALID = 422  # refused input answers 422 (htmx swaps it in place), not 400


def _map(request: WorkspaceRequest, slug: str, role: Role = Role.VIEWER) -> JourneyMap:
    maps = (
        JourneyMap.objects.editable_by(request.user)
        if role == Role.EDITOR
        else JourneyMap.objects.for_user(request.user)
    )
    return get_object_or_404(
        maps.filter(workspace=request.membership.workspace).select_related("workspace"), slug=slug
    )


@require_GET
@workspace_view()
def map_figures(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The figures' status; once no computation is pending, every stored figure of the map too
    (out-of-band swaps of each stage's and KPI's figures, so that open forms are left alone)."""
    journey_map = _map(request, slug)
    persona_id = page_persona_id(request)
    if not request.htmx:
        url = journey_map.get_absolute_url()
        return redirect(f"{url}?persona={persona_id}" if persona_id else url)
    stages = journey_map.stages.order_by("position", "id").prefetch_related(
        Prefetch("kpis", queryset=StageKPI.objects.order_by("id"))
    )
    context = {
        "map": journey_map,
        "stages": stages,
        "ws": request.membership.workspace.slug,
        "oob": True,
    }
    return render(request, "journeymap/map_editor.html#figures_refresh", context)


def _posted_rule(request: WorkspaceRequest) -> tuple[Any, str]:
    """The rule typed in the builder (its JSON textarea) and the JSON path of its first problem."""
    name = request.POST.get("rule_field") or "rule"
    text = (request.POST.get(name) or "").strip()
    if not text or text == "null":
        return None, ""
    try:
        rule = json.loads(text)
    except json.JSONDecodeError as error:
        return (
            None,
            f"{name}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})",
        )
    try:
        validate_rule(rule, name)
    except RuleError as error:
        return None, str(error)
    return rule, ""


def _preview(
    request: WorkspaceRequest, datasets: list[int], subject: str, **context: Any
) -> HttpResponse:
    rule, error = _posted_rule(request)
    if error:
        context.update(error=error)
        return render(request, f"{MATCHES}#preview", context, status=INVALID)
    if rule is None and subject == "persona":
        rule = {"all": []}  # a persona without a segment is every user
        context["every_user"] = True
    context.update(rule=rule, subject=subject)
    if rule is not None:
        context["preview"] = preview_rule(dataset_ids=datasets, rule=rule)
    return render(request, f"{MATCHES}#preview", context)


@require_POST
@workspace_view(Role.EDITOR)
def rule_preview(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Builder of a touchpoint rule: how many rows and users of the map's events it matches."""
    journey_map = _map(request, slug, Role.EDITOR)
    datasets = dataset_ids(journey_map, kind=DatasetKind.EVENTS)
    return _preview(request, datasets, "touchpoint", has_datasets=bool(datasets))


@require_POST
@workspace_view(Role.EDITOR)
def segment_preview(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Builder of a persona's segment: how many users of the workspace's events it matches."""
    get_object_or_404(
        Persona.objects.editable_by(request.user).filter(workspace=request.membership.workspace),
        pk=pk,
    )
    datasets = list(
        Dataset.objects.ready()
        .filter(workspace=request.membership.workspace, kind=DatasetKind.EVENTS)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return _preview(request, datasets, "persona", has_datasets=bool(datasets))


@require_GET
@workspace_view()
def touchpoint_matches(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Drill-down, read-only (viewers too): the rows of the map's events a touchpoint's rule
    matches, counted and sampled as the builder does."""
    touchpoint = get_object_or_404(
        Touchpoint.objects.for_user(request.user)
        .filter(stage__map__workspace=request.membership.workspace)
        .select_related("stage", "stage__map", "stage__map__workspace"),
        pk=pk,
    )
    journey_map = touchpoint.stage.map
    datasets = dataset_ids(journey_map, kind=DatasetKind.EVENTS)
    context: dict[str, Any] = {
        "touchpoint": touchpoint,
        "map": journey_map,
        "rule": touchpoint.rule,
        "subject": "touchpoint",
        "has_datasets": bool(datasets),
        "back_url": reverse(
            "map_detail", kwargs={"workspace": journey_map.workspace.slug, "slug": journey_map.slug}
        ),
    }
    if touchpoint.rule is not None:
        context["preview"] = preview_rule(dataset_ids=datasets, rule=touchpoint.rule)
    return render(request, MATCHES, context)
