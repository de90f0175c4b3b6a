"""`restore FILE [--slug SLUG] [--compute] [--revoke-share-links]`: a workspace from a backup."""

import json
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.materialise import metrics_recompute, request_recompute_of_maps
from journeymap.backup import BackupError, workspace_restore
from journeymap.management.base import describe
from journeymap.models import slug_validator


class Command(BaseCommand):
    help = (
        "Restore a workspace from a file written by manage.py backup, in one transaction: a "
        "corrupt or truncated file, or a workspace slug already taken, writes nothing. Figures are "
        "recomputed in the background, or at once with --compute. Prints a JSON summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the backup file")
        parser.add_argument("--slug", help="restore under this slug instead of the backed-up one")
        parser.add_argument(
            "--compute",
            action="store_true",
            help="compute the maps' figures before returning (default: queue a background task)",
        )
        parser.add_argument(
            "--revoke-share-links",
            action="store_true",
            help="revoke every restored share link (default: links handed out keep working)",
        )

    def handle(
        self,
        *args: Any,
        file: str,
        slug: str | None,
        compute: bool,
        revoke_share_links: bool,
        **options: Any,
    ) -> None:
        if slug is not None:
            try:
                slug_validator(slug)
            except ValidationError as error:
                raise CommandError(f"--slug {slug!r}: {describe(error)}") from None
        started = time.monotonic()
        try:
            with open(file, "rb") as handle:
                summary = workspace_restore(
                    source=handle, slug=slug, revoke_share_links=revoke_share_links
                )
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from None
        except BackupError as error:
            raise CommandError(f"{file}: {error} Nothing was restored.") from None
        if compute:
            for map_id in summary.map_ids:
                metrics_recompute(map_id=map_id)
        else:
            request_recompute_of_maps(summary.map_ids)
        if summary.users_created:
            self.stderr.write(
                f"Created users {', '.join(summary.users_created)} with unusable passwords: "
                "set one with manage.py changepassword USERNAME (or a password reset)."
            )
        for name in summary.missing_files:
            self.stderr.write(f"Warning: the file {name} was missing from the backup.")
        result = {
            "workspace": summary.workspace,
            "seconds": round(time.monotonic() - started, 3),
            "counts": summary.counts,
            "users_created": summary.users_created,
            "share_links_revoked": summary.share_links_revoked,
            "missing_files": summary.missing_files,
            "figures": "computed" if compute else "recompute requested",
        }
        self.stdout.write(json.dumps(result))
