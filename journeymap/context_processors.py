"""Template context shared by every page: the user's workspaces, for the switcher."""

from django.http import HttpRequest

from journeymap.models import Workspace


def workspaces(request: HttpRequest) -> dict:
    """The workspaces the signed-in user may switch to: those `workspace_view` read with the
    membership, else a query (lazy: none unless the page uses it)."""
    known = getattr(request, "user_workspaces", None)
    if known is not None:
        return {"user_workspaces": known}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"user_workspaces": Workspace.objects.for_user(user).order_by("name")}
