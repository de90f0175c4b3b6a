"""`import_map FILE --workspace SLUG`: create a map from journeymap/v1 JSON; print its slug."""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from journeymap.management.base import workspace_or_error
from journeymap.mapjson import MapJSONError, map_import, parse_map_json


class Command(BaseCommand):
    help = (
        "Create a map from a journeymap/v1 JSON file (- for stdin) and print only its slug. "
        "A bad file creates nothing and fails with the JSON path of the problem."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the JSON file, or - to read standard input")
        parser.add_argument("--workspace", required=True, help="the workspace's slug")

    def handle(self, *args: Any, file: str, workspace: str, **options: Any) -> None:
        target = workspace_or_error(workspace)
        content = _read(file)
        try:
            journey_map = map_import(data=parse_map_json(content), workspace=target)
        except MapJSONError as error:
            raise CommandError(f"{_name(file)}: {error}") from None
        # Scripts capture this: the slug alone, nothing else on stdout.
        self.stdout.write(journey_map.slug)


def _read(file: str) -> bytes:
    if file == "-":
        stdin = sys.stdin
        return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    try:
        return Path(file).read_bytes()
    except OSError as error:
        raise CommandError(f"Cannot read {file}: {error.strerror or error}") from None


def _name(file: str) -> str:
    return "standard input" if file == "-" else file
