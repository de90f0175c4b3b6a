"""`import_analytics FILE --workspace SLUG ...`: import an analytics export now, print a summary."""

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics import services
from analytics.importing.fields import FIELDS_BY_KIND
from analytics.models import Dataset, DatasetStatus
from journeymap.management.base import describe, map_or_error, workspace_or_error

FORMATS = ("auto", "events", "ga4", "shopify-orders", "survey")


class Command(BaseCommand):
    help = (
        "Import an analytics export (CSV, .csv.gz, a .zip holding one CSV, or JSON Lines) into a "
        "workspace, synchronously, and print a summary: rows imported, rejected, span, and where "
        "the error report is. Fails with a clear message, leaving nothing, when the file cannot "
        "be imported."
    )
    # The system checks import every URL conf and view (0.7 CPU s) for a command that uses
    # none of them; `manage.py check` and the web server still run them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the export to import")
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("--name", default="", help="the dataset's name (default: file name)")
        parser.add_argument(
            "--format", default="auto", choices=FORMATS, help="the export's format (default: auto)"
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COL=FIELD",
            help="map a column onto a canonical field (or extra, or ignore); repeatable",
        )
        parser.add_argument(
            "--revenue-events",
            default=None,
            metavar="NAME,...",
            help="revenue counts only on these events ('' counts it on every event)",
        )
        parser.add_argument("--attach", default="", metavar="MAP_SLUG", help="feed this map")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_or_error(options["workspace"])
        journey_map = map_or_error(workspace, options["attach"]) if options["attach"] else None
        overrides = _parse_map(options["map"])
        path = Path(options["file"])
        try:
            handle = path.open("rb")
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}") from None
        with handle:
            try:
                result = services.dataset_upload(
                    workspace=workspace,
                    user=None,
                    file=File(handle, name=path.name),
                    name=options["name"],
                )
            except services.ImportRefused as refusal:
                raise CommandError(f"{path}: {refusal.message}") from None
        dataset = result.dataset
        if result.duplicate:
            self.stdout.write(
                f"{path} was already imported as dataset {dataset.pk} ({dataset.name!r}, "
                f"{dataset.row_count} rows): nothing to do."
            )
            self._attach(dataset, journey_map)
            return
        try:
            self._configure(dataset, options["format"], overrides, options["revenue_events"])
        except ValidationError as error:
            services.dataset_delete(dataset=dataset)
            raise CommandError(f"{path}: {describe(error)}") from None
        dataset = services.dataset_import(dataset_id=dataset.pk)
        if dataset.status != DatasetStatus.READY:
            message = f"{path}: {dataset.error_message}"
            problems = _first_problems(dataset)
            services.dataset_delete(dataset=dataset)
            raise CommandError(message + problems)
        self._attach(dataset, journey_map)
        self._summary(dataset)

    def _configure(
        self, dataset: Dataset, file_format: str, overrides: dict[str, str], revenue: str | None
    ) -> None:
        reading: dict[str, Any] = {}
        mapping = dataset.column_mapping
        if file_format != "auto":
            preview = services.dataset_preview(dataset=dataset, options={"format": file_format})
            reading, mapping = preview.options, preview.mapping
        if revenue is not None:
            reading["revenue_events"] = [name.strip() for name in revenue.split(",") if name]
        services.dataset_configure(
            dataset=dataset, options=reading, mapping={**mapping, **overrides}
        )

    def _attach(self, dataset: Dataset, journey_map: Any) -> None:
        if journey_map is not None:
            services.dataset_attach(dataset=dataset, journey_map=journey_map)
            self.stdout.write(f"Attached to map {journey_map.slug}.")

    def _summary(self, dataset: Dataset) -> None:
        self.stdout.write(
            f"Imported {dataset.row_count} rows into dataset {dataset.pk} ({dataset.name!r}, "
            f"{dataset.kind}, {dataset.source_format})."
        )
        if dataset.rejected_count:
            self.stdout.write(
                f"Rejected {dataset.rejected_count} rows; error report: {_where(dataset)}"
            )
        else:
            self.stdout.write("Rejected 0 rows.")
        if dataset.first_timestamp:
            self.stdout.write(
                f"Span: {_iso(dataset.first_timestamp)} to {_iso(dataset.last_timestamp)}"
            )
        for note in dataset.notes:
            self.stdout.write(f"Note: {note}")


def _parse_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    known = sorted({name for names in FIELDS_BY_KIND.values() for name in names})
    for pair in pairs:
        column, sep, target = pair.rpartition("=")
        if not sep or not column or not target:
            raise CommandError(
                f"--map {pair!r}: write COL=FIELD, e.g. --map event_time=timestamp "
                f"(fields: {', '.join(known)}, extra, ignore)."
            )
        mapping[column] = target.strip()
    return mapping


def _where(dataset: Dataset) -> str:
    try:
        return dataset.error_report.path
    except NotImplementedError:
        return dataset.error_report.url


def _iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{moment.microsecond:06d}Z" if moment.microsecond else "Z"
    )


def _first_problems(dataset: Dataset) -> str:
    if not dataset.error_report:
        return ""
    with dataset.error_report.open("rb") as handle:
        lines = handle.read(20000).decode("utf-8", "replace").splitlines()[1:6]
    shown = "\n".join(f"  {line}" for line in lines)
    return f"\nFirst problems (line,column,value,reason):\n{shown}" if shown else ""
