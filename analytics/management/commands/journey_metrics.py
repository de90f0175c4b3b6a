"""`journey_metrics MAP_SLUG --workspace SLUG [--start DATE] [--end DATE] [--persona NAME]
[--format json|table]`: the figures of DESIGN §7, as the JSON object of §8 or a readable table."""

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.engine import compute_approximate_metrics, compute_metrics
from journeymap.management.base import map_or_error, workspace_or_error
from personas.models import Persona
from touchpoints.rules import RuleError, parse_instant

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Command(BaseCommand):
    help = (
        "Print a map's figures (DESIGN §7): per stage reach, funnel, time to convert and revenue, "
        "and the totals, over [--start, --end) and optionally for one persona."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("map_slug", help="the map's slug")
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument(
            "--start",
            help="first instant counted: YYYY-MM-DD (midnight UTC) or an ISO 8601 instant "
            "(default: the earliest event)",
        )
        parser.add_argument(
            "--end",
            help="first instant not counted: YYYY-MM-DD (midnight UTC) or an ISO 8601 instant "
            "(default: just after the latest event)",
        )
        parser.add_argument("--persona", help="only the users of this persona (its name)")
        parser.add_argument(
            "--format",
            choices=("json", "table"),
            default="json",
            help="json: the DESIGN §8 object (default); table: for reading",
        )

    def handle(
        self,
        *args: Any,
        map_slug: str,
        workspace: str,
        start: str | None,
        end: str | None,
        persona: str | None,
        format: str,
        **options: Any,
    ) -> None:
        start_at = parse_bound(start, "--start")
        end_at = parse_bound(end, "--end")
        if start_at is not None and end_at is not None and end_at < start_at:
            raise CommandError(f"--end ({end}) is before --start ({start}).")
        scope = workspace_or_error(workspace)
        journey_map = map_or_error(scope, map_slug)
        chosen = persona_or_error(scope, persona) if persona is not None else None
        try:
            metrics = compute_metrics(
                journey_map=journey_map, start=start_at, end=end_at, persona=chosen
            )
        except RuleError as error:
            raise CommandError(f"A stored rule is invalid, fix it first: {error}") from None
        if format == "json":
            self.stdout.write(json.dumps(metrics, allow_nan=False))
            return
        approximate = compute_approximate_metrics(
            journey_map=journey_map, start=start_at, end=end_at
        )
        self.stdout.write(metrics_table(metrics, approximate))


def parse_bound(text: str | None, option: str) -> datetime | None:
    """A date (midnight UTC) or an ISO 8601 instant (naive = UTC) given on the command line."""
    if text is None:
        return None
    if DATE_RE.match(text.strip()):
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise CommandError(f"{option} {text!r} is not a valid date.") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    moment = parse_instant(text)
    if moment is None:
        raise CommandError(
            f"{option} {text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 instant "
            "(e.g. 2019-10-01T08:00:00Z)."
        )
    return moment


def persona_or_error(workspace: Any, name: str) -> Persona:
    """The workspace's persona with this name, or a CommandError listing them."""
    persona = Persona.objects.filter(workspace=workspace, name=name).first()
    if persona is None:
        names = sorted(workspace.personas.values_list("name", flat=True))
        known = f"its personas: {', '.join(names)}" if names else "it has no personas"
        raise CommandError(f"No persona {name!r} in workspace {workspace.slug!r} ({known}).")
    return persona


# --- the table ----------------------------------------------------------------------------------

TOTAL_ROWS = (
    ("Users", "users", "count"),
    ("Sessions", "sessions", "count"),
    ("Events", "events", "count"),
    ("Revenue", "revenue", "money"),
    ("Orders", "orders", "count"),
    ("Purchasers", "purchasers", "count"),
    ("Conversion rate", "conversion_rate", "percent"),
    ("Average order value", "aov", "money"),
    ("Revenue per user", "revenue_per_user", "money"),
    ("Repeat purchase rate", "repeat_purchase_rate", "percent"),
    ("Bounce rate", "bounce_rate", "percent"),
    ("NPS", "nps", "score"),
    ("NPS responses", "nps_responses", "count"),
)
STAGE_COLUMNS = (
    ("Users", "users", "count"),
    ("Sessions", "sessions", "count"),
    ("Events", "events", "count"),
    ("Revenue", "revenue", "money"),
    ("Orders", "orders", "count"),
    ("Funnel", "funnel_users", "count"),
    ("From prev.", "conversion_rate", "percent"),
    ("From first", "overall_conversion", "percent"),
    ("Drop-off", "drop_off", "count"),
    ("Median time", "median_time_to_convert_seconds", "duration"),
)


def metrics_table(metrics: dict[str, Any], approximate: dict[str, Any] | None) -> str:
    """The figures as plain-text tables: a header line, the totals, the stages."""
    persona = metrics["persona"] or "all users"
    lines = [
        f"Map {metrics['map']}  ·  {metrics['start'] or '(no events)'} → "
        f"{metrics['end'] or '(no events)'}  ·  persona: {persona}  ·  "
        f"conversion window: {metrics['conversion_window_days']} days",
        "",
        "Totals",
    ]
    totals = metrics["totals"]
    width = max(len(label) for label, _, _ in TOTAL_ROWS)
    lines += [
        f"  {label:<{width}}  {shown(totals[key], style):>14}" for label, key, style in TOTAL_ROWS
    ]
    rows = []
    for stage in metrics["stages"]:
        cells = [str(stage["position"]), stage["name"]]
        if stage["measured"]:
            cells += [shown(stage[key], style) for _, key, style in STAGE_COLUMNS]
        else:
            cells += ["not measured (no touchpoint has a rule)"]
        rows.append(cells)
    lines += ["", "Stages", *_grid(["#", "Stage", *(label for label, _, _ in STAGE_COLUMNS)], rows)]
    if approximate is not None:
        lines += ["", *_approximate_lines(approximate)]
    return "\n".join(lines)


def _approximate_lines(approximate: dict[str, Any]) -> list[str]:
    names = sorted({name for stage in approximate["stages"] for name in (stage["metrics"] or {})})
    scope = "rows of the range's days" if approximate["range_applied"] else "all rows (no date)"
    header = (
        f"Approximate, from report datasets ({', '.join(approximate['datasets'])}; {scope}): "
        "sums of the metric columns over the rows matching each stage's rules"
    )
    rows = []
    for stage in approximate["stages"]:
        cells = [str(stage["position"]), stage["name"]]
        if stage["measured"]:
            sums = stage["metrics"]
            cells += [shown(stage["rows"], "count")]
            cells += [shown(sums.get(name), "number") for name in names]
        else:
            cells += ["not measured"]
        rows.append(cells)
    return [header, *_grid(["#", "Stage", "Rows", *names], rows)]


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell; a row shorter than the header spans the rest."""
    widths = [len(cell) for cell in header]
    for row in rows:
        if len(row) == len(header):
            widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(width) if index < 2 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=False))
        ]
        if len(cells) < len(widths):
            padded[-1] = cells[-1]
        return "  " + "  ".join(padded).rstrip()

    return [line(header), *(line(row) for row in rows)]


def shown(value: Any, style: str) -> str:
    """One figure for reading: thousands separators, percentages, durations; "—" for null."""
    if value is None:
        return "—"
    if style == "count":
        return f"{value:,}"
    if style == "money":
        return f"{value:,.2f}"
    if style == "percent":
        return f"{value * 100:.2f}%"
    if style == "score":
        return f"{value:.1f}"
    if style == "duration":
        return duration(value)
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


def duration(seconds: float) -> str:
    """Seconds as 2d 3h, 1h 30m, 45m 10s or 12.5s."""
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"
