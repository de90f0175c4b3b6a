"""The access decorator every workspace view wears: membership (else 404) and role (else 403)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

from journeymap.models import Membership, Workspace
from journeymap.scoping import ROLES_AT_LEAST, Role


class WorkspaceRequest(HttpRequest):
    """A request inside a workspace; `workspace_view` sets `membership` (with its workspace) and
    `user_workspaces` (every workspace of the user, by name, for the page's switcher)."""

    htmx: HtmxDetails
    membership: Membership
    user_workspaces: list[Workspace]


def workspace_view(role: Role = Role.VIEWER) -> Callable:
    """Require login and membership of the URL's workspace with at least `role`.

    A workspace the user is not a member of is a 404 (ids leak nothing); a member whose role is too
    low gets a 403. The view receives the request with `request.membership` set.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, workspace: str, **kwargs: Any) -> HttpResponse:
            # All the user's memberships in one query: the URL's (else 404) and, for the
            # workspace switcher every page shows, the others.
            memberships = list(
                Membership.objects.for_user(request.user)
                .filter(user=request.user)
                .select_related("workspace")
                .order_by("workspace__name", "workspace__pk")
            )
            membership = next((m for m in memberships if m.workspace.slug == workspace), None)
            if membership is None:
                raise Http404("No such workspace.")
            request.user_workspaces = [m.workspace for m in memberships]
            if membership.role not in ROLES_AT_LEAST[role]:
                raise PermissionDenied(f"This needs the {role.label.lower()} role.")
            request.membership = membership
            if request.session.get("workspace") != workspace:
                request.session["workspace"] = workspace  # where "/" takes them next time
            return view(request, **kwargs)

        return wrapper

    return decorator
