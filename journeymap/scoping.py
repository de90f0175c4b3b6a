"""Workspace scoping written once: every model's queryset knows the path to its workspace.

A view never looks an object up without one of these queries, so an object of another workspace is
simply not found (404), and a role too low for the action is refused by the view (403).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(models.TextChoices):
    """A member's role in a workspace; each includes the rights of the ones below it."""

    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


ROLES_AT_LEAST = {
    Role.VIEWER: (Role.VIEWER, Role.EDITOR, Role.ADMIN),
    Role.EDITOR: (Role.EDITOR, Role.ADMIN),
    Role.ADMIN: (Role.ADMIN,),
}


class WorkspaceScopedQuerySet(models.QuerySet):
    """Named queries for objects that belong to a workspace through `workspace_path`."""

    workspace_path = "workspace"

    def _with_role(self, user: AbstractBaseUser | AnonymousUser, role: Role) -> Self:
        if not user.is_authenticated:
            return self.none()
        prefix = "" if self.workspace_path == "" else f"{self.workspace_path}__"
        return self.filter(
            **{
                f"{prefix}memberships__user": user,
                f"{prefix}memberships__role__in": ROLES_AT_LEAST[role],
            }
        )

    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> Self:
        """Objects of the workspaces the user is a member of (any role)."""
        return self._with_role(user, Role.VIEWER)

    def editable_by(self, user: AbstractBaseUser | AnonymousUser) -> Self:
        """Objects the user may change: editor or admin of their workspace."""
        return self._with_role(user, Role.EDITOR)

    def administered_by(self, user: AbstractBaseUser | AnonymousUser) -> Self:
        """Objects of the workspaces the user administers."""
        return self._with_role(user, Role.ADMIN)
