"""Writes on workspaces, memberships and maps. Views, commands and tests all go through these."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from journeymap.mapjson import SCHEMA, map_export, map_import
from journeymap.models import JourneyMap, MapChange, Membership, Workspace
from journeymap.scoping import Role

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
    workspace = Workspace(slug=slug, name=name or slug.replace("-", " ").title())
    workspace.full_clean()
    workspace.save()
    return workspace, True


def map_record_change(
    *, journey_map: JourneyMap, user: AbstractBaseUser | None, action: str, summary: str
) -> None:
    """Bump the map's version and write the change to its log."""
    JourneyMap.objects.filter(pk=journey_map.pk).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    journey_map.refresh_from_db(fields=["version", "updated_at"])
    MapChange.objects.create(
        map=journey_map,
        user=user,
        action=action,
        summary=summary[:300],
        version=journey_map.version,
    )


def map_create(
    *, workspace: Workspace, user: AbstractBaseUser | None, name: str, template: str = "blank"
) -> JourneyMap:
    """A new map, blank or with the stages of a built-in template."""
    if template not in MAP_TEMPLATES:
        raise ValidationError({"template": f"Unknown template {template!r}."})
    name = name.strip() or MAP_TEMPLATES[template][0]
    stages = [{"name": stage, "kind": kind} for stage, kind in MAP_TEMPLATES[template][1]]
    data = {"schema": SCHEMA, "name": name, "slug": slugify(name)[:70], "stages": stages}
    return map_import(data=data, workspace=workspace, user=user)


def map_duplicate(*, journey_map: JourneyMap, user: AbstractBaseUser | None) -> JourneyMap:
    """A copy of the map (stages, cards, personas) in the same workspace, as a draft."""
    data = map_export(journey_map)
    data["name"] = f"{journey_map.name} (copy)"[:200]
    data["slug"] = slugify(data["name"])[:70]
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


def member_ensure(
    *, workspace: Workspace, username: str, role: str, password: str | None = None
) -> tuple[Membership, bool]:
    """Create the user if missing (with that password) and give them `role` in the workspace."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    user_model = get_user_model()
    with transaction.atomic():
        user, user_created = user_model.objects.get_or_create(username=username)
        if user_created:
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.save()
        membership, _ = Membership.objects.update_or_create(
            workspace=workspace, user=user, defaults={"role": role}
        )
    return membership, user_created
