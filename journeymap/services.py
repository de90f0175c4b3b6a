"""Writes on workspaces, memberships and maps. Views, commands and tests all go through these."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analytics.materialise import NEUTRAL_ACTIONS, request_recompute
from analytics.models import AggregateRow, Dataset, Event, SurveyResponse
from journeymap.mapjson import SCHEMA, map_export, map_import, parse_map_json, slug_from_name
from journeymap.models import (
    JourneyMap,
    MapChange,
    Membership,
    Snapshot,
    Workspace,
    slug_validator,
)
from journeymap.scoping import Role
from journeymap.versioning import save_versioned
from personas.models import Persona

# The built-in templates of DESIGN §4: (default map name, stages as (name, kind)).
MAP_TEMPLATES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "ecommerce": (
        "E-commerce journey",
        [
            ("Awareness", "awareness"),
            ("Consideration", "consideration"),
            ("Purchase", "purchase"),
            ("Retention", "retention"),
            ("Advocacy", "advocacy"),
        ],
    ),
    "discovery": (
        "Discovery to engagement journey",
        [
            ("Discovery", "awareness"),
            ("Interest", "consideration"),
            ("Intent", "decision"),
            ("Purchase", "purchase"),
            ("Engagement", "retention"),
        ],
    ),
    "buyers": (
        "Buyer's journey",
        [
            ("Awareness", "awareness"),
            ("Interest", "consideration"),
            ("Consideration", "consideration"),
            ("Decision", "decision"),
        ],
    ),
    "blank": ("Blank map", []),
}


def workspace_create(*, slug: str, name: str = "") -> tuple[Workspace, bool]:
    """Create the workspace unless it exists; return it and whether it was created."""
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace:
        return workspace, False
    try:
        slug_validator(slug)  # first, so that a bad slug gets one clear message, not two
    except ValidationError as error:
        raise ValidationError({"slug": error.messages}) from None
    workspace = Workspace(slug=slug, name=name or slug.replace("-", " ").title())
    workspace.full_clean()
    workspace.save()
    return workspace, True


def map_record_change(
    *, journey_map: JourneyMap, user: AbstractBaseUser | None, action: str, summary: str
) -> None:
    """Mark the map as just edited and write the change to its log."""
    # The map's own `version` locks its own fields (name, description, ...) and is not bumped
    # here: an edit of one card must not make every other open form on the map stale.
    journey_map.updated_at = timezone.now()
    JourneyMap.objects.filter(pk=journey_map.pk).update(updated_at=journey_map.updated_at)
    MapChange.objects.create(map=journey_map, user=user, action=action, summary=summary[:300])
    if action not in NEUTRAL_ACTIONS:  # stages, rules, window, personas: the figures move
        request_recompute(journey_map=journey_map)


def map_create(
    *, workspace: Workspace, user: AbstractBaseUser | None, name: str, template: str = "blank"
) -> JourneyMap:
    """A new map, blank or with the stages of a built-in template."""
    if template not in MAP_TEMPLATES:
        raise ValidationError({"template": f"Unknown template {template!r}."})
    name = name.strip() or MAP_TEMPLATES[template][0]
    stages = [{"name": stage, "kind": kind} for stage, kind in MAP_TEMPLATES[template][1]]
    data = {"schema": SCHEMA, "name": name, "slug": slug_from_name(name), "stages": stages}
    return map_import(data=data, workspace=workspace, user=user)


def map_duplicate(*, journey_map: JourneyMap, user: AbstractBaseUser | None) -> JourneyMap:
    """A copy of the map (stages, cards, personas) in the same workspace, as a draft."""
    data = map_export(journey_map)
    data["name"] = f"{journey_map.name} (copy)"[:200]
    data["slug"] = slug_from_name(data["name"])
    data["status"] = "draft"
    return map_import(data=data, workspace=journey_map.workspace, user=user)


def map_set_archived(
    *, journey_map: JourneyMap, user: AbstractBaseUser | None, archived: bool
) -> None:
    """Archive (hide from the main list) or restore a map."""
    journey_map.archived_at = timezone.now() if archived else None
    journey_map.save(update_fields=["archived_at"])
    verb = "Archived" if archived else "Restored"
    map_record_change(journey_map=journey_map, user=user, action=verb.lower(), summary=verb)


def map_delete(*, journey_map: JourneyMap) -> None:
    """Delete the map and everything on it (personas stay: they belong to the workspace)."""
    journey_map.delete()


@dataclass(frozen=True)
class WorkspaceContents:
    """What deleting a workspace takes with it, as the confirmation page counts it."""

    maps: int
    datasets: int
    events: int
    members: int
    personas: int


def workspace_contents(*, workspace: Workspace) -> WorkspaceContents:
    """Count the maps, datasets, events, members and personas of the workspace."""
    return WorkspaceContents(
        maps=JourneyMap.objects.filter(workspace=workspace).count(),
        datasets=Dataset.objects.filter(workspace=workspace).count(),
        events=Event.objects.filter(dataset__workspace=workspace).count(),
        members=Membership.objects.filter(workspace=workspace).count(),
        personas=Persona.objects.filter(workspace=workspace).count(),
    )


def workspace_delete(*, workspace: Workspace, confirm_name: str) -> None:
    """Delete the workspace and everything in it, once `confirm_name` is exactly its name.

    Rows go in one transaction; the uploaded files (dataset originals, error reports, persona
    pictures) are removed from storage only after it commits, so a failed delete loses no file.
    """
    if confirm_name != workspace.name:
        message = f"Type the workspace's name exactly, “{workspace.name}”, to delete it."
        raise ValidationError({"confirm_name": message})
    with transaction.atomic():
        datasets = Dataset.objects.filter(workspace=workspace)
        files = [
            (stored.storage, stored.name)
            for dataset in datasets.only("original_file", "error_report")
            for stored in (dataset.original_file, dataset.error_report)
            if stored
        ] + [
            (persona.avatar.storage, persona.avatar.name)
            for persona in Persona.objects.filter(workspace=workspace).only("avatar")
            if persona.avatar
        ]
        # Millions of analytics rows: deleted in one statement each rather than by the ORM's
        # collector, which would load every row first (as dataset_delete does).
        for model in (Event, AggregateRow, SurveyResponse):
            model._base_manager.filter(dataset__in=datasets.values("pk"))._raw_delete(
                model.objects.db
            )
        workspace.delete()

        def remove_files() -> None:
            for storage, name in files:
                storage.delete(name)

        transaction.on_commit(remove_files)


def member_add(*, workspace: Workspace, identifier: str, role: str) -> Membership:
    """Give an existing user (by username or email) a role in the workspace."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    identifier = identifier.strip()
    users = get_user_model().objects.filter(is_active=True)
    user = (
        users.filter(username__iexact=identifier).first()
        or users.filter(email__iexact=identifier).first()
        if identifier
        else None
    )
    if user is None:
        raise ValidationError({"identifier": f"No user with username or email {identifier!r}."})
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError({"identifier": f"{user.username} is already a member."})
    return Membership.objects.create(workspace=workspace, user=user, role=role)


def member_set_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the workspace always keeps at least one admin."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    with transaction.atomic():
        _lock_memberships(membership.workspace)
        if membership.role == Role.ADMIN and role != Role.ADMIN:
            _ensure_another_admin(membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def member_remove(*, membership: Membership) -> None:
    """Remove a member; the last admin cannot be removed."""
    with transaction.atomic():
        _lock_memberships(membership.workspace)
        if membership.role == Role.ADMIN:
            _ensure_another_admin(membership)
        membership.delete()


def _lock_memberships(workspace: Workspace) -> None:
    # Serialise concurrent role changes so two admins cannot demote each other at once.
    list(Membership.objects.select_for_update().filter(workspace=workspace).values_list("pk"))


def _ensure_another_admin(membership: Membership) -> None:
    others = Membership.objects.filter(workspace=membership.workspace, role=Role.ADMIN).exclude(
        pk=membership.pk
    )
    if not others.exists():
        raise ValidationError("A workspace needs at least one admin: this is the last one.")


@dataclass(frozen=True)
class MemberEnsured:
    """What `member_ensure` did: the membership, whether the user is new, the role before."""

    membership: Membership
    user_created: bool
    previous_role: str | None  # None: the user was not a member of the workspace


def member_ensure(
    *, workspace: Workspace, username: str, role: str, password: str | None = None
) -> MemberEnsured:
    """Create the user if missing (with that password) and give them `role` in the workspace.

    An existing user's password is left alone, and the workspace's last admin is never demoted.
    """
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    user_model = get_user_model()
    with transaction.atomic():
        _lock_memberships(workspace)
        user = user_model.objects.filter(username=username).first()
        user_created = user is None
        if user is None:
            user = user_model(username=username)
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.full_clean()
            user.save()
        membership = Membership.objects.filter(workspace=workspace, user=user).first()
        previous_role = membership.role if membership else None
        if membership is None:
            membership = Membership.objects.create(workspace=workspace, user=user, role=role)
        elif membership.role != role:
            if membership.role == Role.ADMIN:
                _ensure_another_admin(membership)
            membership.role = role
            membership.save(update_fields=["role"])
    return MemberEnsured(membership, user_created, previous_role)


# --- the demo --------------------------------------------------------------------------------

DEMO_WORKSPACE_SLUG = "demo"
DEMO_WORKSPACE_NAME = "Demo shop"
DEMO_USERNAME = DEMO_PASSWORD = "demo"
DEMO_MAP_FILE = Path(__file__).resolve().parent / "demo" / "ecommerce-journey.json"
# Two snapshots of the demo map taken inside the demo data (1 Aug – 13 Nov 2026), so that the
# history page compares the figures of the period each one was live: (name, taken at, note).
DEMO_SNAPSHOTS = (
    (
        "As-is",
        datetime(2026, 8, 1, tzinfo=UTC),
        "The journey as we found it: card payments fail without a clear reason.",
    ),
    (
        "Checkout fix shipped",
        datetime(2026, 10, 1, tzinfo=UTC),
        "Clear card error messages and a retry button went live today. Did Purchase move?",
    ),
)


@dataclass(frozen=True)
class DemoLoaded:
    """The demo's workspace, user and map, and what this run had to create."""

    workspace: Workspace
    user: AbstractBaseUser
    journey_map: JourneyMap
    created: list[str]


def demo_load() -> DemoLoaded:
    """Create whatever of the demo is missing; running it again changes nothing."""
    created = []
    with transaction.atomic():
        workspace, workspace_created = workspace_create(
            slug=DEMO_WORKSPACE_SLUG, name=DEMO_WORKSPACE_NAME
        )
        if workspace_created:
            created.append(f"workspace {workspace.slug}")
        ensured = member_ensure(
            workspace=workspace, username=DEMO_USERNAME, role=Role.ADMIN, password=DEMO_PASSWORD
        )
        user = ensured.membership.user
        if ensured.user_created:
            created.append(f"user {user.get_username()}")
        elif not user.check_password(DEMO_PASSWORD) or not user.is_active:
            # The login the command prints must work, whatever happened to the account since.
            user.set_password(DEMO_PASSWORD)
            user.is_active = True
            user.save(update_fields=["password", "is_active"])

        data = parse_map_json(DEMO_MAP_FILE.read_bytes())
        journey_map = JourneyMap.objects.filter(workspace=workspace, slug=data["slug"]).first()
        if journey_map is None:
            journey_map = map_import(data=data, workspace=workspace, user=user)
            created.append(f"map {journey_map.slug}")

    # The analytics import keeps its own transactions (progress is committed as it goes), so the
    # demo's datasets are imported after the map exists, just as idempotently.
    from analytics.demo_data import demo_datasets_load

    created += demo_datasets_load(journey_map=journey_map, user=user)
    created += _demo_snapshots_load(journey_map=journey_map, user=user)
    # Compute the figures now, so that the first page a newcomer sees is full rather than
    # "recomputing…" (the queued task finds them current and does nothing).
    from analytics.materialise import metrics_recompute

    metrics_recompute(map_id=journey_map.pk)
    return DemoLoaded(workspace, user, journey_map, created)


def _demo_snapshots_load(*, journey_map: JourneyMap, user: AbstractBaseUser) -> list[str]:
    """Take whichever demo snapshot the map lacks, dated as DEMO_SNAPSHOTS says."""
    from journeymap.history import snapshot_take  # history builds on this module

    created = []
    for name, taken_at, note in DEMO_SNAPSHOTS:
        if journey_map.snapshots.filter(name=name).exists():
            continue
        with transaction.atomic():
            snapshot = snapshot_take(journey_map=journey_map, user=user, name=name, note=note)
            Snapshot.objects.filter(pk=snapshot.pk).update(created_at=taken_at)
        created.append(f"snapshot {name}")
    return created


def map_details_update(
    *,
    journey_map: JourneyMap,
    user: AbstractBaseUser | None,
    expected_version: int,
    fields: list[str],
) -> JourneyMap:
    """Save the map's own fields (name, description, ...) unless someone else saved them first."""
    journey_map.full_clean(exclude=["slug"])
    with transaction.atomic():
        save_versioned(instance=journey_map, expected_version=expected_version, fields=fields)
        map_record_change(
            journey_map=journey_map,
            user=user,
            action="map_edited",
            summary="Edited the map's details",
        )
    return journey_map


def map_persona_add(
    *, journey_map: JourneyMap, persona: Persona, user: AbstractBaseUser | None
) -> None:
    """Put a persona of the map's workspace on the map."""
    if persona.workspace_id != journey_map.workspace_id:
        raise ValidationError("A persona can only be put on maps of its own workspace.")
    with transaction.atomic():
        journey_map.personas.add(persona)
        map_record_change(
            journey_map=journey_map,
            user=user,
            action="persona_added",
            summary=f"Added persona {persona.name}",
        )


def map_persona_remove(
    *, journey_map: JourneyMap, persona: Persona, user: AbstractBaseUser | None
) -> None:
    """Take a persona off the map (the persona itself stays in the workspace)."""
    with transaction.atomic():
        journey_map.personas.remove(persona)
        map_record_change(
            journey_map=journey_map,
            user=user,
            action="persona_removed",
            summary=f"Removed persona {persona.name}",
        )
