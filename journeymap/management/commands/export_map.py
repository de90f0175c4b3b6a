"""`export_map MAP_SLUG --workspace SLUG [-o FILE]`: a map as journeymap/v1 JSON."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from journeymap.management.base import map_or_error, workspace_or_error
from journeymap.mapjson import map_export_text


class Command(BaseCommand):
    help = "Print a map as journeymap/v1 JSON (DESIGN §8), or write it to a file with -o."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("map_slug", help="the map's slug")
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")

    def handle(
        self, *args: Any, map_slug: str, workspace: str, output: str, **options: Any
    ) -> None:
        journey_map = map_or_error(workspace_or_error(workspace), map_slug)
        text = map_export_text(journey_map)
        if output == "-":
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror or error}") from None
        self.stdout.write(f"Wrote {journey_map.slug} to {output}.")
