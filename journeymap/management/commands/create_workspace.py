"""`create_workspace SLUG [--name NAME]`: create a workspace; a no-op if it exists."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from journeymap.management.base import describe
from journeymap.services import workspace_create


class Command(BaseCommand):
    help = "Create a workspace (a team). Does nothing if a workspace with that slug exists."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="URL name of the workspace, e.g. acme-shop")
        parser.add_argument("--name", default="", help="display name (default: from the slug)")

    def handle(self, *args: Any, slug: str, name: str, **options: Any) -> None:
        try:
            workspace, created = workspace_create(slug=slug, name=name)
        except ValidationError as error:
            raise CommandError(f"Cannot create workspace {slug!r}: {describe(error)}") from None
        if not created:
            self.stdout.write(
                f"Workspace {workspace.slug} ({workspace.name}) already exists; nothing changed."
            )
            return
        self.stdout.write(f"Created workspace {workspace.slug} ({workspace.name}).")
        self.stdout.write(
            f"Next: manage.py add_member {workspace.slug} USERNAME --role admin --password P"
        )
