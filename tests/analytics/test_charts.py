"""The chart builders of analytics/charts.py: figures in, plotly traces (or SVG points) out."""

import json
import re

from analytics import charts


def entry(position: int, name: str, measured: bool = True, **fields: object) -> dict:
    return {"position": position, "name": name, "measured": measured, **fields}


def drawn(html: str, element_id: str) -> dict:
    """The figure a chart's JSON block holds."""
    match = re.search(
        rf'<script type="application/json" id="{element_id}-data">(.*?)</script>', str(html)
    )
    assert match, html
    return json.loads(match.group(1))


FIGURES = {
    "stages": [
        entry(1, "Visit", median_time_to_convert_seconds=None),
        entry(2, "Cart", median_time_to_convert_seconds=5400.0),
        entry(3, "Survey", measured=False, median_time_to_convert_seconds=None),
        entry(4, "Purchase", median_time_to_convert_seconds=None),  # nobody converted
    ]
}


def test_median_times_are_the_steps_between_measured_stages() -> None:
    assert charts.median_times(FIGURES) == [("Visit → Cart", 5400.0), ("Cart → Purchase", None)]
    assert charts.median_times({"stages": [entry(1, "Visit")]}) == []


def test_the_median_time_chart_draws_one_labelled_bar_a_step() -> None:
    figure = drawn(charts.median_time_chart(FIGURES), "median-time-chart")

    (bars,) = figure["data"]
    assert bars["type"] == "bar"
    assert list(bars["x"]) == ["Visit → Cart", "Cart → Purchase"]
    assert list(bars["y"]) == [90.0, None]  # 1 h 30 min: the axis reads in minutes
    assert figure["layout"]["yaxis"]["title"]["text"] == "minutes"
    assert list(bars["text"]) == ["1 h 30 min", "—"]


def test_the_median_time_axis_reads_in_the_unit_of_the_longest_step() -> None:
    days = {"stages": [entry(1, "Visit"), entry(2, "Cart", median_time_to_convert_seconds=120.0)]}
    days["stages"].append(entry(3, "Buy", median_time_to_convert_seconds=4 * 86400.0))

    (bars,) = drawn(charts.median_time_chart(days), "median-time-chart")["data"]

    assert list(bars["y"]) == [120 / 86400, 4.0]
    assert list(bars["text"]) == ["2 min", "4 d"]
    assert charts.duration_unit(7199) == ("minutes", 60)
    assert charts.duration_unit(7200) == ("hours", 3600)
    assert charts.duration_unit(3 * 86400) == ("days", 86400)


def week(name: str, *rates: float | None, measured: tuple = (True, True, False, True)) -> dict:
    """A stored week whose measured stages after the first convert at `rates`."""
    names = ["Visit", "Cart", "Survey", "Purchase"]
    rates_left = list(rates)
    stages = []
    first = True
    for position, (stage_name, is_measured) in enumerate(zip(names, measured, strict=True), 1):
        rate = None
        if is_measured and not first:
            rate = rates_left.pop(0)
        first = first and not is_measured
        stages.append(entry(position, stage_name, is_measured, conversion_rate=rate, users=10))
    return {"week": name, "stages": stages, "totals": {"users": 10}}


def test_weekly_conversion_is_each_steps_rate_per_week() -> None:
    weekly = [week("2024-W01", 0.5, 0.25), week("2024-W02", None, 1.0)]

    assert charts.weekly_conversion(weekly) == [
        ("Visit → Cart", [0.5, None]),
        ("Cart → Purchase", [0.25, 1.0]),
    ]
    figure = drawn(charts.weekly_conversion_chart(weekly), "weekly-conversion-chart")
    assert [line["name"] for line in figure["data"]] == ["Visit → Cart", "Cart → Purchase"]
    assert list(figure["data"][0]["x"]) == ["2024-W01", "2024-W02"]
    assert list(figure["data"][0]["y"]) == [50.0, None]
    assert list(figure["data"][1]["y"]) == [25.0, 100.0]


def test_a_week_of_another_shape_has_no_rate_and_no_weeks_no_steps() -> None:
    odd = week("2024-W02", 0.5, 0.5)
    odd["stages"] = odd["stages"][:2]  # stored before a stage was added

    assert charts.weekly_conversion([week("2024-W01", 0.5, 0.25), odd]) == [
        ("Visit → Cart", [0.5, None]),
        ("Cart → Purchase", [0.25, None]),
    ]
    assert charts.weekly_conversion([]) == []


def test_a_stage_name_cannot_break_out_of_the_json_block() -> None:
    figures = {"stages": [entry(1, "</script><b>"), entry(2, "Cart")]}

    html = str(charts.median_time_chart(figures))

    assert "</script><b>" not in html
    assert drawn(html, "median-time-chart")["data"][0]["x"][0] == "</script><b> → Cart"


def test_sparkline_points_scale_the_values_into_the_box() -> None:
    assert charts.sparkline_points([0, 5, 10]) == [(0, 28), (60, 14), (120, 0)]
    assert charts.sparkline_points([None, 0]) == [(0, 28), (120, 28)]  # all zero: a flat line
    assert charts.sparkline_points([7]) == [(0, 0)]
    assert charts.sparkline_points([]) == []


def test_the_sparkline_is_an_svg_of_numbers_without_style() -> None:
    svg = str(charts.sparkline_svg([2, 4], "Users per week"))

    assert svg.startswith('<svg class="sparkline"')
    assert '<polyline points="0,14 120,0"/>' in svg
    assert "style" not in svg
    assert str(charts.sparkline_svg([], "Users per week")) == ""
