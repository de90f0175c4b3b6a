"""`add_member SLUG USERNAME --role admin|editor|viewer [--password P]`."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from journeymap.management.base import describe, workspace_or_error
from journeymap.scoping import Role
from journeymap.services import member_ensure


class Command(BaseCommand):
    help = (
        "Give a user a role in a workspace, creating the user (with --password) if missing. "
        "The password of an existing user is not changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the workspace")
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--password",
            default=None,
            help="password of the new user (without it, the user cannot log in until one is set)",
        )

    def handle(
        self,
        *args: Any,
        slug: str,
        username: str,
        role: str,
        password: str | None,
        **options: Any,
    ) -> None:
        workspace = workspace_or_error(slug)
        try:
            ensured = member_ensure(
                workspace=workspace, username=username, role=role, password=password
            )
        except ValidationError as error:
            raise CommandError(
                f"Cannot make {username} {role} of {workspace.slug}: {describe(error)}"
            ) from None

        if ensured.user_created:
            how = "with the given password" if password else "without a usable password"
            self.stdout.write(f"Created user {username} ({how}).")
        elif password:
            self.stdout.write(f"User {username} already exists; their password was not changed.")
        if ensured.previous_role is None:
            self.stdout.write(f"{username} is now {role} of {workspace.slug}.")
        elif ensured.previous_role != role:
            self.stdout.write(
                f"{username} is now {role} of {workspace.slug} (was {ensured.previous_role})."
            )
        else:
            self.stdout.write(f"{username} was already {role} of {workspace.slug}; no change.")
