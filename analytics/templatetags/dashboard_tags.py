"""Figures as the dashboard prints them (analytics.figures.format_value)."""

from django import template

from analytics.figures import COUNT, DURATION, MONEY, RATE, SCORE, format_value

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
