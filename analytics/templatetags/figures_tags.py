"""Stored figures in map templates: `{% map_figures map as figures %}` and friends.

The figures are loaded once per request (two queries, see analytics.figures), so any number of
stages and KPIs on a page costs nothing more, and a region re-rendered alone after an edit in place
finds its figures too.
"""

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from analytics.figures import (
    COUNT,
    KpiFigure,
    MapFigures,
    StageFigures,
    format_value,
    request_map_figures,
)

register = template.Library()


@register.simple_tag(takes_context=True)
def map_figures(context: template.Context, journey_map: Any) -> MapFigures:
    """The stored figures of the map for the page's persona."""
    return request_map_figures(context["request"], journey_map.pk)


@register.simple_tag(takes_context=True)
def stage_figures(context: template.Context, stage: Any) -> StageFigures | None:
    """A stage's stored figures (None: no dataset, or not computed since the stage was added)."""
    figures = request_map_figures(context["request"], stage.map_id)
    return figures.stage(stage.pk) if figures.has_datasets else None


@register.simple_tag(takes_context=True)
def kpi_figure(context: template.Context, kpi: Any, stage: Any) -> KpiFigure:
    """A KPI's actual value, target, met or not and change, from the stored figures."""
    figures = request_map_figures(context["request"], stage.map_id)
    return figures.kpi(
        stage_id=stage.pk, metric=kpi.metric, target=kpi.target, direction=kpi.direction
    )


@register.simple_tag
def datasets_url(workspace_slug: str) -> str:
    """The workspace's datasets page (admins), or "" while that page does not exist."""
    try:
        return reverse("dataset_list", kwargs={"workspace": workspace_slug})
    except NoReverseMatch:
        return ""


@register.filter
def thousands(value: int | float | None) -> str:
    """A count with thousands separators: 12,345."""
    return format_value(value, COUNT)
