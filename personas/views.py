"""Persona pages: the list, the detail page edited in place section by section, the picture."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from journeymap.access import WorkspaceRequest, workspace_view
from journeymap.scoping import Role
from journeymap.versioning import StaleEdit
from personas import services
from personas.avatars import content_type_for
from personas.forms import SECTIONS, PersonaCreateForm, Section, SectionState
from personas.models import Persona, PersonaQuerySet

DETAIL_TEMPLATE = "personas/persona_detail.html"
# Refused input in place is 422, not 400: in DEBUG, django-htmx's script replaces the whole page
# with any 400 answer to an htmx request, where this one must replace only the section.
INVALID = 422


def _personas(request: WorkspaceRequest) -> PersonaQuerySet:
    return Persona.objects.for_user(request.user).filter(workspace=request.membership.workspace)


def _editable_personas(request: WorkspaceRequest) -> PersonaQuerySet:
    return Persona.objects.editable_by(request.user).filter(workspace=request.membership.workspace)


def _section(key: str) -> Section:
    if key not in SECTIONS:
        raise Http404("No such section.")
    return SECTIONS[key]


def _detail_url(request: WorkspaceRequest, persona_id: int, section: str = "") -> str:
    url = reverse(
        "persona_detail", kwargs={"workspace": request.membership.workspace.slug, "pk": persona_id}
    )
    return f"{url}#section-{section}" if section else url


def _render_detail(
    request: WorkspaceRequest,
    persona: Persona,
    current: SectionState | None = None,
    status: int = 200,
) -> HttpResponse:
    """The detail page; with htmx and a `current` section, only that section's region."""
    if request.htmx and current is not None:
        context = {"persona": persona, "section": current}
        return render(request, f"{DETAIL_TEMPLATE}#section", context, status=status)
    sections = {key: SectionState(section, persona) for key, section in SECTIONS.items()}
    if current is not None:
        sections[current.key] = current
    context = {
        "persona": persona,
        "sections": sections,
        "body_sections": [s for key, s in sections.items() if key not in ("profile", "avatar")],
        "maps": persona.maps.order_by("name", "pk"),
    }
    return render(request, DETAIL_TEMPLATE, context, status=status)


@require_GET
@workspace_view()
def persona_list(request: WorkspaceRequest) -> HttpResponse:
    """The workspace's personas as cards, with the maps that use each."""
    personas = _personas(request).with_maps()
    return render(request, "personas/persona_list.html", {"personas": personas})


@require_http_methods(["GET", "POST"])
@workspace_view(Role.EDITOR)
def persona_create(request: WorkspaceRequest) -> HttpResponse:
    """A new persona: name and summary here, everything else in place on its page."""
    form = PersonaCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            persona = services.persona_create(
                workspace=request.membership.workspace, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Created “{persona.name}”. Fill in the rest below.")
            return redirect(_detail_url(request, persona.pk))
    status = INVALID if request.method == "POST" else 200
    return render(request, "personas/persona_new.html", {"form": form}, status=status)


@require_GET
@workspace_view()
def persona_detail(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Every field of the persona, each section with its own Edit for editors."""
    persona = get_object_or_404(_personas(request), pk=pk)
    return _render_detail(request, persona)


@require_GET
@workspace_view()
def persona_section(request: WorkspaceRequest, pk: int, section: str) -> HttpResponse:
    """One section, read view (what Cancel brings back); without htmx, the page at it."""
    spec = _section(section)
    persona = get_object_or_404(_personas(request), pk=pk)
    if not request.htmx:
        return redirect(_detail_url(request, persona.pk, spec.key))
    return _render_detail(request, persona, SectionState(spec, persona))


@require_http_methods(["GET", "POST"])
@workspace_view(Role.EDITOR)
def persona_section_edit(request: WorkspaceRequest, pk: int, section: str) -> HttpResponse:
    """GET: the section's form in place. POST: save it unless someone saved in between."""
    spec = _section(section)
    persona = get_object_or_404(_editable_personas(request), pk=pk)
    if request.method == "GET":
        form = spec.form_class(initial=spec.initial(persona), section_key=spec.key)
        return _render_detail(request, persona, SectionState(spec, persona, form=form))

    form = spec.form_class(request.POST, request.FILES, section_key=spec.key)
    if not form.is_valid():
        return _render_detail(request, persona, SectionState(spec, persona, form=form), INVALID)
    expected_version = form.cleaned_data["version"]
    try:
        if spec.key == "avatar":
            services.persona_set_avatar(
                persona=persona,
                expected_version=expected_version,
                upload=form.cleaned_data["avatar"],
            )
        else:
            services.persona_update(
                persona=persona, expected_version=expected_version, changes=form.changes()
            )
    except StaleEdit as stale:
        return _render_stale(request, spec, stale.current)
    except ValidationError as error:
        form.add_service_error(error)
        return _render_detail(request, persona, SectionState(spec, persona, form=form), INVALID)
    if not request.htmx:
        return redirect(_detail_url(request, persona.pk, spec.key))
    return _render_detail(request, persona, SectionState(spec, persona))


def _render_stale(request: WorkspaceRequest, spec: Section, fresh: Persona | None) -> HttpResponse:
    """Refuse a save made on an old version: the fresh content, and the user's text to re-apply."""
    if fresh is None:
        messages.error(request, "Someone else deleted this persona while you were editing it.")
        list_url = reverse("persona_list", kwargs={"workspace": request.membership.workspace.slug})
        return HttpResponseClientRedirect(list_url) if request.htmx else redirect(list_url)
    if spec.form_class.base_fields.keys() - {"version", "avatar"}:
        data = request.POST.copy()
        data["version"] = str(fresh.version)  # saving again now applies the user's text on top
        form = spec.form_class(data, section_key=spec.key)
    else:  # a file cannot be handed back: the user picks it again
        form = spec.form_class(initial=spec.initial(fresh), section_key=spec.key)
    return _render_detail(request, fresh, SectionState(spec, fresh, form=form, stale=True), 409)


@require_GET
@workspace_view()
def persona_avatar(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """The persona's picture, to members of its workspace only, never sniffed as anything else."""
    persona = get_object_or_404(_personas(request).exclude(avatar=""), pk=pk)
    content_type = content_type_for(persona.avatar.name)
    if content_type is None:
        raise Http404("No picture.")
    try:
        image = persona.avatar.open("rb")
    except FileNotFoundError:
        raise Http404("No picture.") from None
    extension = persona.avatar.name.rpartition(".")[2]
    response = FileResponse(image, content_type=content_type, filename=f"persona-{pk}.{extension}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_http_methods(["GET", "POST"])
@workspace_view(Role.EDITOR)
def persona_delete(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Ask for confirmation (GET), then delete the persona and take it off its maps (POST)."""
    persona = get_object_or_404(_editable_personas(request), pk=pk)
    if request.method == "POST":
        services.persona_delete(persona=persona, user=request.user)
        messages.success(request, f"Deleted “{persona.name}”.")
        return redirect("persona_list", workspace=request.membership.workspace.slug)
    maps = persona.maps.order_by("name", "pk")
    return render(request, "personas/persona_delete.html", {"persona": persona, "maps": maps})
