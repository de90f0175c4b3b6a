"""`backup WORKSPACE_SLUG --output FILE`: the whole workspace in one gzip JSON-lines file."""

import json
import os
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from journeymap.backup import workspace_backup
from journeymap.management.base import workspace_or_error


class Command(BaseCommand):
    help = (
        "Back up a workspace (members, personas, maps with every card, snapshots, comments, change "
        "log, share links, datasets with their files and rows) into one file; restore it with "
        "manage.py restore. Prints a JSON summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace", help="the workspace's slug")
        parser.add_argument(
            "-o", "--output", required=True, help="file to write (e.g. demo.jmbackup.gz)"
        )

    def handle(self, *args: Any, workspace: str, output: str, **options: Any) -> None:
        target = workspace_or_error(workspace)
        path = Path(output)
        # Written beside the target and renamed at the end: a failed backup never leaves a file
        # that looks complete, nor replaces a good older one.
        partial = path.with_name(f".{path.name}.partial")
        started = time.monotonic()
        try:
            with partial.open("wb") as handle:
                summary = workspace_backup(workspace=target, output=handle)
            os.replace(partial, path)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {output}: {error.strerror or error}") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        for name in summary.missing_files:
            self.stderr.write(f"Warning: the file {name} is missing from storage; not backed up.")
        result = {
            "workspace": summary.workspace,
            "file": str(path),
            "bytes": path.stat().st_size,
            "seconds": round(time.monotonic() - started, 3),
            "counts": summary.counts,
            "missing_files": summary.missing_files,
        }
        self.stdout.write(json.dumps(result))
