"""Helpers shared by the management commands: finding a workspace, wording service errors."""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from journeymap.models import JourneyMap, Workspace


def workspace_or_error(slug: str) -> Workspace:
    """The workspace with this slug, or a CommandError saying how to create it."""
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise CommandError(
            f"No workspace {slug!r}. Create it first: manage.py create_workspace {slug}"
        )
    return workspace


def map_or_error(workspace: Workspace, slug: str) -> JourneyMap:
    """The workspace's map with this slug (archived ones too), or a CommandError listing them."""
    journey_map = JourneyMap.objects.filter(workspace=workspace, slug=slug).first()
    if journey_map is None:
        slugs = sorted(workspace.maps.values_list("slug", flat=True))
        known = f"its maps: {', '.join(slugs)}" if slugs else "it has no maps"
        raise CommandError(f"No map {slug!r} in workspace {workspace.slug!r} ({known}).")
    return journey_map


def describe(error: ValidationError) -> str:
    """A ValidationError as one line: `field: message` for each problem."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return " ".join(
        f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
        for field, messages in error.message_dict.items()
    )
