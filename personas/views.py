"""Persona pages."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from journeymap.access import WorkspaceRequest, workspace_view
from personas.models import Persona


@require_GET
@workspace_view()
def persona_list(request: WorkspaceRequest) -> HttpResponse:
    """The workspace's personas."""
    personas = Persona.objects.for_user(request.user).filter(
        workspace=request.membership.workspace
    )
    return render(request, "personas/persona_list.html", {"personas": personas})
