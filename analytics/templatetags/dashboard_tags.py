"""Figures as the dashboard prints them (analytics.figures.format_value)."""

from typing import Any

from django import template

from analytics.figures import COUNT, DURATION, MONEY, RATE, SCORE, format_value, metric_kind

register = template.Library()


@register.filter
def count(value: float | None) -> str:
    """12,345"""
    return format_value(value, COUNT)


@register.filter
def rate(value: float | None) -> str:
    """8.6%"""
    return format_value(value, RATE)


@register.filter
def money(value: float | None) -> str:
    """51,234.50"""
    return format_value(value, MONEY)


@register.filter
def duration(value: float | None) -> str:
    """2 h 5 min"""
    return format_value(value, DURATION)


@register.filter
def score(value: float | None) -> str:
    """41.7"""
    return format_value(value, SCORE)


@register.filter
def stage_href(dash: Any, index: int) -> str:
    """The map editor's anchor on the stage at `index` of a dashboard's stored figures."""
    return dash.stage_href(index)


@register.filter
def figure(value: float | None, metric: str) -> str:
    """A value of a KPI metric as that metric reads (count, rate, money, duration or score)."""
    return format_value(value, metric_kind(metric))
