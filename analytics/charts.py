"""Every plotly figure of the app, built here and nowhere else (STYLE §8).

A chart leaves this module as HTML that holds no script to run: an empty element and its figure as
a JSON data block, which static/js/charts.js draws with the locally served plotly.min.js (so the
pages keep working under a strict Content-Security-Policy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from analytics.figures import DURATION, format_value

# JSON inside a <script type="application/json"> block: nothing that could close the block.
_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}
_LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 10, "b": 40},
    "font": {"family": "system-ui, sans-serif", "size": 13},
    "paper_bgcolor": "#fff",
    "plot_bgcolor": "#fff",
}


def funnel_chart(figures: Mapping[str, Any], element_id: str = "funnel-chart") -> SafeString:
    """The funnel of the measured stages: users per step, conversion and drop-off per step."""
    stages = [entry for entry in figures.get("stages") or [] if entry.get("measured")]
    names = [entry["name"] for entry in stages]
    users = [entry["funnel_users"] or 0 for entry in stages]
    details = [
        [
            "—" if entry["conversion_rate"] is None else f"{entry['conversion_rate'] * 100:.1f}%",
            entry["drop_off"] or 0,
            "—"
            if entry["overall_conversion"] is None
            else f"{entry['overall_conversion'] * 100:.1f}%",
        ]
        for entry in stages
    ]
    funnel = {
        "type": "funnel",
        "y": names,
        "x": users,
        "customdata": details,
        "text": [
            f"{users[0]:,} users"
            if index == 0
            else f"{users[index]:,} users · {details[index][0]} of the step before"
            for index in range(len(stages))
        ],
        "texttemplate": "%{text}",
        "hovertemplate": (
            "<b>%{y}</b><br>%{x:,} users<br>conversion from the step before: "
            "%{customdata[0]}<br>drop-off: %{customdata[1]:,}<br>"
            "of the first step: %{customdata[2]}<extra></extra>"
        ),
        "marker": {"color": "#3b6fd8"},
    }
    layout = {**_LAYOUT, "height": max(220, 70 * len(stages)), "yaxis": {"automargin": True}}
    return embed_json(
        {"data": [funnel], "layout": layout},
        element_id,
        "Funnel of the measured stages (the table below holds it)",
    )


def trends_chart(
    weekly: Sequence[Mapping[str, Any]], element_id: str = "trends-chart"
) -> SafeString:
    """Users per measured stage per ISO week, one line per stage."""
    weeks = [week["week"] for week in weekly]
    first = weekly[0]["stages"] if weekly else []
    lines = [
        {
            "type": "scatter",
            "x": weeks,
            "y": [week["stages"][index]["users"] for week in weekly],
            "name": entry["name"],
            "mode": "lines+markers",
            "hovertemplate": (
                f"<b>{_plain(entry['name'])}</b><br>%{{x}}: %{{y:,}} users<extra></extra>"
            ),
        }
        for index, entry in enumerate(first)
        if entry.get("measured")
    ]
    layout = _layout(y_title="users", height=320, legend=True)
    return embed_json(
        {"data": lines, "layout": layout},
        element_id,
        "Users per stage per week (the table below holds them)",
    )


def _layout(*, y_title: str, height: int, legend: bool) -> dict[str, Any]:
    """The layout of a chart with a value axis from zero: its title, the grid, and (for several
    traces) the colours and a legend under the chart."""
    layout: dict[str, Any] = {
        **_LAYOUT,
        "height": height,
        "xaxis": {"automargin": True},
        "yaxis": {
            "title": {"text": y_title},
            "rangemode": "tozero",
            "gridcolor": "#e5e7eb",
            "automargin": True,
        },
    }
    if legend:
        layout |= {"colorway": _COLORWAY, "legend": {"orientation": "h", "y": -0.2}}
    return layout


def _plain(text: str) -> str:
    """A stage name inside a plotly hover template, where %{...} is template syntax."""
    return text.replace("{", "(").replace("}", ")").replace("<", "‹")


# The colours of plotly's default template (the figures here are plain JSON, without it).
_COLORWAY = [
    "#636efa",
    "#EF553B",
    "#00cc96",
    "#ab63fa",
    "#FFA15A",
    "#19d3f3",
    "#FF6692",
    "#B6E880",
    "#FF97FF",
    "#FECB52",
]


def breakdown_chart(
    breakdown: Mapping[str, Any], element_id: str, label: str = "Users by group"
) -> SafeString:
    """Grouped bars: the users of each stage (x) for each value of a dimension (one bar each).

    Written as the plotly JSON itself rather than through graph_objects, whose validation and
    default template cost about 0.1 s a chart (three of these on every dashboard).
    """
    stages = breakdown.get("stages") or []
    names = [stage["name"] for stage in stages]
    traces = [
        {
            "type": "bar",
            "x": names,
            "y": [stage["users"][index] for stage in stages],
            "name": value,
            "hovertemplate": f"<b>{_plain(value)}</b><br>%{{x}}: %{{y:,}} users<extra></extra>",
        }
        for index, value in enumerate(breakdown.get("values") or [])
    ]
    layout = {**_layout(y_title="users", height=300, legend=True), "barmode": "group"}
    return embed_json(
        {"data": traces, "layout": layout}, element_id, f"{label} (the table below holds it)"
    )


def embed_json(figure: Mapping[str, Any], element_id: str, label: str) -> SafeString:
    """The chart's HTML: a container for charts.js and the figure (plotly's JSON, written as a dict
    rather than through graph_objects, whose validation and default template cost 25-100 ms a
    chart) in a JSON block beside it."""
    data = json.dumps(figure, allow_nan=False).translate(_JSON_ESCAPES)
    return format_html(
        '<div class="chart" id="{}" data-plotly="{}-data" role="img" aria-label="{}"></div>'
        '<script type="application/json" id="{}-data">{}</script>',
        element_id,
        element_id,
        label,
        element_id,
        mark_safe(data),  # escaped above: a JSON text that cannot end the script element
    )


def median_time_chart(
    figures: Mapping[str, Any], element_id: str = "median-time-chart"
) -> SafeString:
    """The median time to convert of each step (DESIGN §7), one bar per step, in the unit that
    suits the longest (minutes, hours or days), each bar labelled with its duration (so a short
    step beside a long one still reads). Plain plotly JSON, like `breakdown_chart`."""
    steps = median_times(figures)
    unit, seconds_per_unit = duration_unit(max((s or 0 for _, s in steps), default=0))
    labels = [_duration_text(seconds) for _, seconds in steps]
    bars = {
        "type": "bar",
        "x": [label for label, _ in steps],
        "y": [None if seconds is None else seconds / seconds_per_unit for _, seconds in steps],
        "text": labels,
        "textposition": "outside",
        "cliponaxis": False,
        "customdata": labels,
        "hovertemplate": "<b>%{x}</b><br>median %{customdata}<extra></extra>",
        "marker": {"color": "#3b6fd8"},
    }
    layout = _layout(y_title=unit, height=300, legend=False)
    return embed_json(
        {"data": [bars], "layout": layout},
        element_id,
        "Median time to convert per step (the table holds it)",
    )


def duration_unit(longest_seconds: float) -> tuple[str, int]:
    """The unit an axis of durations up to `longest_seconds` reads in, and its seconds."""
    if longest_seconds < 2 * 3600:
        return "minutes", 60
    if longest_seconds < 3 * 86400:
        return "hours", 3600
    return "days", 86400


def median_times(figures: Mapping[str, Any]) -> list[tuple[str, float | None]]:
    """("From → To", median seconds) of each step: each measured stage after the first."""
    stages = [entry for entry in figures.get("stages") or [] if entry.get("measured")]
    return [
        (f"{before['name']} → {entry['name']}", entry.get("median_time_to_convert_seconds"))
        for before, entry in pairwise(stages)
    ]


def weekly_conversion_chart(
    weekly: Sequence[Mapping[str, Any]], element_id: str = "weekly-conversion-chart"
) -> SafeString:
    """Each step's conversion per ISO week (from the stored weekly figures), one line a step.
    Plain plotly JSON, like `breakdown_chart`."""
    weeks = [week["week"] for week in weekly]
    lines = [
        {
            "type": "scatter",
            "x": weeks,
            "y": [None if rate is None else rate * 100 for rate in rates],
            "name": label,
            "mode": "lines+markers",
            "connectgaps": False,
            "hovertemplate": f"<b>{_plain(label)}</b><br>%{{x}}: %{{y:.1f}}%<extra></extra>",
        }
        for label, rates in weekly_conversion(weekly)
    ]
    layout = _layout(y_title="conversion (%)", height=320, legend=True)
    return embed_json(
        {"data": lines, "layout": layout},
        element_id,
        "Conversion per step per week (the table holds it)",
    )


def weekly_conversion(
    weekly: Sequence[Mapping[str, Any]],
) -> list[tuple[str, list[float | None]]]:
    """("From → To", the step's conversion rate in each week) for each step of the funnel; a week
    whose figures have another shape than the first week's (a stage added since) gives None."""
    if not weekly:
        return []
    first = weekly[0]["stages"]
    indexes = [index for index, entry in enumerate(first) if entry.get("measured")]
    steps = []
    for before, index in pairwise(indexes):
        label = f"{first[before]['name']} → {first[index]['name']}"
        rates = [
            week["stages"][index].get("conversion_rate")
            if len(week["stages"]) == len(first)
            else None
            for week in weekly
        ]
        steps.append((label, rates))
    return steps


def _duration_text(seconds: float | None) -> str:
    return format_value(seconds, DURATION)


def sparkline_points(
    values: Sequence[float | None], width: int = 120, height: int = 28
) -> list[tuple[float, float]]:
    """The (x, y) of each value in a width × height box, the largest at the top (y grows down);
    a missing value counts as 0."""
    numbers = [value or 0 for value in values]
    if not numbers:
        return []
    top = max(numbers) or 1
    step = width / (len(numbers) - 1) if len(numbers) > 1 else 0
    return [
        (round(index * step, 2), round(height - value / top * height, 2))
        for index, value in enumerate(numbers)
    ]


def sparkline_svg(values: Sequence[float | None], label: str) -> SafeString:
    """A tiny inline SVG line of `values` (numbers only; styled by the .sparkline rules in CSS)."""
    points = sparkline_points(values)
    if not points:
        return SafeString("")
    return format_html(
        '<svg class="sparkline" viewBox="-2 -2 124 32" width="124" height="32" role="img"'
        ' aria-label="{}"><polyline points="{}"/></svg>',
        label,
        " ".join(f"{x:g},{y:g}" for x, y in points),
    )
