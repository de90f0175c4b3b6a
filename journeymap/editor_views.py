"""The map editor: one page (journeymap/map_editor.html) whose regions are edited in place.

Each endpoint answers an htmx request with the region it changed (a partial of the page template)
and a plain request with the whole page, so every action also works without JavaScript: a save
redirects back to the map, a form with errors is shown in the full page where the card was.
"""

import copy
import hashlib
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.db.models import Count, Prefetch, prefetch_related_objects
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analytics.figures import request_map_figures
from journeymap.access import WorkspaceRequest, workspace_view
from journeymap.collab import open_comment_counts
from journeymap.editor import CARD_KINDS, CardKind, card_create, card_delete, card_update
from journeymap.editor_forms import VersionedForm
from journeymap.forms import MapDetailsForm
from journeymap.models import JourneyMap
from journeymap.scoping import Role
from journeymap.services import map_details_update, map_persona_add, map_persona_remove
from journeymap.versioning import StaleEdit
from personas.models import Persona
from stages.forms import STAGE_PARTS, stage_form_class
from stages.models import Stage, StageKPI
from stages.services import stage_add, stage_delete, stage_move, stage_update
from touchpoints.models import Opportunity, PainPoint, Touchpoint
from touchpoints.services import touchpoint_move

PAGE = "journeymap/map_editor.html"
# Refused input answers 422, not 400: in DEBUG, django-htmx's script replaces the whole page
# with any 400 answer to an htmx request.
INVALID = 422


def _posted_id(request: WorkspaceRequest, name: str) -> int:
    """The object id a form posted as `name`; 0 (no object, so a 404) when it is not one."""
    value = request.POST.get(name, "")
    return int(value) if value.isascii() and value.isdigit() else 0


def _maps(request: WorkspaceRequest) -> Any:
    return JourneyMap.objects.for_user(request.user).filter(workspace=request.membership.workspace)


def _stages_with_cards() -> Prefetch:
    return Prefetch(
        "stages",
        queryset=Stage.objects.order_by("position", "id").prefetch_related(
            Prefetch("touchpoints", queryset=Touchpoint.objects.order_by("position", "id")),
            Prefetch("pain_points", queryset=PainPoint.objects.select_related("touchpoint")),
            Prefetch("opportunities", queryset=Opportunity.objects.select_related("pain_point")),
            Prefetch("kpis", queryset=StageKPI.objects.order_by("id")),
        ),
    )


def _load_map(request: WorkspaceRequest, slug: str) -> JourneyMap:
    # The stages and their cards are loaded only when the lanes are rendered (see render_lanes).
    return get_object_or_404(
        _maps(request)
        .select_related("workspace")
        .annotate(stage_count=Count("stages"))
        .prefetch_related(Prefetch("personas", queryset=Persona.objects.order_by("name"))),
        slug=slug,
    )


EMOTION_LEVELS = [2, 1, 0, -1, -2]


def _base_context(request: WorkspaceRequest, **extra: Any) -> dict:
    """What every region of the editor needs to render its controls."""
    return {
        "can_edit": request.membership.can_edit,
        "ws": request.membership.workspace.slug,
        "kinds": CARD_KINDS,
        "emotion_levels": EMOTION_LEVELS,
        **extra,
    }


def _page_context(request: WorkspaceRequest, journey_map: JourneyMap, **extra: Any) -> dict:
    on_map = {persona.pk for persona in journey_map.personas.all()}
    context = {
        **_base_context(request),
        "map": journey_map,
        "other_personas": [
            persona
            for persona in Persona.objects.filter(workspace=journey_map.workspace).order_by("name")
            if persona.pk not in on_map
        ],
        "changes": journey_map.changes.select_related("user")[:8],
        "comment_counts": open_comment_counts(journey_map),
    }
    context.update(extra)
    # Called by the template only where the page shows the lanes (not for the personas region).
    context["lanes"] = lambda: render_lanes(request, journey_map, context)
    return context


# Rendered lanes are cached with this in place of the CSRF token, which is per user: each
# response gets its own token put back in (the no-JavaScript forms post it; htmx sends the header).
# Where the cached lanes carry the CSRF token, filled in per response. Derived from SECRET_KEY, so
# no user can type it into a card (which would print the viewer's own token there) and every worker
# process agrees on it.
CSRF_SLOT = "csrf-" + salted_hmac("journeymap.editor.lanes", "csrf slot").hexdigest()[:32]
LANES_CACHE_SECONDS = 24 * 3600
# What the page shows outside the lanes only when a plain (no-JavaScript) request is refused.
_UNCACHED_WHEN = ("editing", "form", "stale_message", "current")


def lanes_cache_key(request: WorkspaceRequest, journey_map: JourneyMap, context: dict) -> str:
    """Everything the lanes depend on: the map's content version (`updated_at`, which every change
    on the map bumps, and its latest logged change), the role, the stored figures shown and the
    open comment counts. A new version is a new key, so every worker process sees a change at
    once; old keys just expire."""
    figures = request_map_figures(request, journey_map.pk)
    row = figures.row
    comments = context.get("comment_counts")
    parts = [
        journey_map.pk,
        journey_map.updated_at.isoformat(),
        max((change.pk for change in context["changes"]), default=None),
        request.membership.can_edit,
        figures.persona_id,
        figures.has_datasets,
        row.pk if row is not None else None,
        row.generation if row is not None else None,
        row.computed_at.isoformat() if row is not None else None,
        sorted((comments or {}).items()) if comments is not None else None,
    ]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"journeymap:lanes:{journey_map.pk}:{digest}"


def render_lanes(
    request: WorkspaceRequest, journey_map: JourneyMap, context: dict[str, Any]
) -> SafeString:
    """The board's lanes, from the cache when this version of the map was rendered before."""
    cacheable = not any(context.get(name) for name in _UNCACHED_WHEN)
    key = lanes_cache_key(request, journey_map, context)
    html = cache.get(key) if cacheable else None
    if html is None:
        # Read after the map row (and so after the version in the key): never older than the key.
        prefetch_related_objects([journey_map], _stages_with_cards())
        stages = list(journey_map.stages.all())
        lanes_context = {**context, "stages": stages, "curve": emotion_curve(stages)}
        if cacheable:
            lanes_context["csrf_token"] = CSRF_SLOT
        html = render_to_string(f"{PAGE}#lanes", lanes_context, request)
        if not cacheable:
            return mark_safe(html)  # rendered for this request: escaped by the template
        cache.set(key, html, LANES_CACHE_SECONDS)
    # The cached HTML was escaped by the template when it was rendered.
    return mark_safe(html.replace(CSRF_SLOT, get_token(request)))


def emotion_curve(stages: list[Stage]) -> list[dict]:
    """For each stage, the emotion line through its cell: left edge, middle, right edge (0..100)."""

    def level(score: float) -> float:
        return 50 - 20 * score  # +2 at the top (10), −2 at the bottom (90)

    segments = []
    for index, stage in enumerate(stages):
        before = stages[index - 1].emotion if index > 0 else stage.emotion
        after = stages[index + 1].emotion if index + 1 < len(stages) else stage.emotion
        segments.append(
            {
                "stage": stage,
                "left": level((before + stage.emotion) / 2),
                "middle": level(stage.emotion),
                "right": level((after + stage.emotion) / 2),
                "first": index == 0,
                "last": index + 1 == len(stages),
            }
        )
    return segments


def _render_page(request: WorkspaceRequest, slug: str, status: int = 200, **extra: Any) -> Any:
    journey_map = _load_map(request, slug)
    return render(request, PAGE, _page_context(request, journey_map, **extra), status=status)


@require_GET
@workspace_view()
def map_editor(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The map: stages as columns, lanes as rows; editable in place for editors."""
    return _render_page(request, slug)


# --- the map's own fields and its personas --------------------------------------------------


@require_http_methods(["GET", "POST"])
@workspace_view(Role.EDITOR)
def map_details_edit(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Edit the map's name, description, status and conversion window in place."""
    journey_map = get_object_or_404(_maps(request), slug=slug)
    form = MapDetailsForm(request.POST or None, instance=journey_map)
    context = _base_context(request, map=journey_map, form=form)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                map_details_update(
                    journey_map=form.instance,
                    user=request.user,
                    expected_version=form.cleaned_data["expected_version"],
                    fields=list(form.Meta.fields),
                )
            except StaleEdit as stale:
                return _stale(request, slug, "map", stale, form, "map_details_form", context)
            if not request.htmx:
                return redirect(journey_map)
            return render(request, f"{PAGE}#map_details", context)
        status = 422
    if not request.htmx:
        return _render_page(request, slug, status, editing="map", form=form)
    return render(request, f"{PAGE}#map_details_form", context, status=status)


@require_GET
@workspace_view()
def map_details(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The map's header (what Cancel goes back to)."""
    journey_map = get_object_or_404(_maps(request), slug=slug)
    if not request.htmx:
        return redirect(journey_map)
    return render(request, f"{PAGE}#map_details", _base_context(request, map=journey_map))


@require_POST
@workspace_view(Role.EDITOR)
def map_personas(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Put a persona of the workspace on the map, or take one off."""
    journey_map = get_object_or_404(_maps(request), slug=slug)
    persona = get_object_or_404(
        Persona.objects.for_user(request.user).filter(workspace=journey_map.workspace),
        pk=_posted_id(request, "persona"),
    )
    if request.POST.get("action") == "remove":
        map_persona_remove(journey_map=journey_map, persona=persona, user=request.user)
    else:
        map_persona_add(journey_map=journey_map, persona=persona, user=request.user)
    if not request.htmx:
        return redirect(journey_map)
    return render(request, f"{PAGE}#personas", _page_context(request, _load_map(request, slug)))


# --- stages -----------------------------------------------------------------------------------


def _stage(request: WorkspaceRequest, pk: int, editable: bool) -> Stage:
    stages = (
        Stage.objects.editable_by(request.user)
        if editable
        else Stage.objects.for_user(request.user)
    )
    return get_object_or_404(
        stages.filter(map__workspace=request.membership.workspace).select_related(
            "map", "map__workspace"
        ),
        pk=pk,
    )


def _board(request: WorkspaceRequest, journey_map: JourneyMap, status: int = 200) -> HttpResponse:
    """After a structural change: the whole board (htmx) or back to the map."""
    if not request.htmx:
        return redirect(journey_map)
    context = _page_context(request, _load_map(request, journey_map.slug))
    return render(request, f"{PAGE}#board", context, status=status)


@require_POST
@workspace_view(Role.EDITOR)
def stage_create(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Append a new stage to the map."""
    journey_map = get_object_or_404(_maps(request), slug=slug)
    stage_add(journey_map=journey_map, user=request.user)
    return _board(request, journey_map)


@require_GET
@workspace_view()
def stage_part(request: WorkspaceRequest, pk: int, part: str) -> HttpResponse:
    """One lane's cell of a stage, read-only (what Cancel goes back to)."""
    if part not in STAGE_PARTS:
        raise Http404("No such lane.")
    stage = _stage(request, pk, editable=False)
    if not request.htmx:
        return redirect(stage.map)
    if part == "emotion":
        return _emotion_lane(request, stage.map)
    context = _base_context(request, stage=stage, comment_counts=open_comment_counts(stage.map))
    return render(request, f"{PAGE}#stage_{part}", context)


@require_http_methods(["GET", "POST"])
@workspace_view(Role.EDITOR)
def stage_part_edit(request: WorkspaceRequest, pk: int, part: str) -> HttpResponse:
    """Edit one lane of a stage in place (its name and kind, goal, actions, thoughts, ...)."""
    if part not in STAGE_PARTS:
        raise Http404("No such lane.")
    stage = _stage(request, pk, editable=True)
    form = stage_form_class(part)(request.POST or None, instance=stage)
    context = _base_context(
        request, stage=stage, part=part, form=form, comment_counts=open_comment_counts(stage.map)
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                stage_update(
                    stage=form.instance,
                    user=request.user,
                    expected_version=form.cleaned_data["expected_version"],
                    fields=STAGE_PARTS[part],
                )
            except StaleEdit as stale:
                if part == "emotion":
                    if not request.htmx:
                        messages.error(request, STALE_EMOTION)
                        return _render_page(request, stage.map.slug, 409)
                    return _emotion_lane(
                        request, stage.map, status=409, stale_message=STALE_EMOTION
                    )
                editing = f"stage-{part}-{stage.pk}"
                return _stale(request, stage.map.slug, editing, stale, form, "stage_form", context)
            if not request.htmx:
                return redirect(stage.map)
            if part == "emotion":
                return _emotion_lane(request, stage.map)
            return render(request, f"{PAGE}#stage_{part}", context)
        status = 422
        if part == "emotion":
            if request.htmx:
                return _emotion_lane(request, stage.map, status=422, stale_message=BAD_EMOTION)
            messages.error(request, BAD_EMOTION)  # the full page has no emotion form to show it
    if not request.htmx:
        return _render_page(
            request, stage.map.slug, status, editing=f"stage-{part}-{stage.pk}", form=form
        )
    return render(request, f"{PAGE}#stage_form", context, status=status)


STALE_EMOTION = (
    "Someone else changed that stage while you were looking at it, so the emotion was not "
    "changed. The curve below is the current one: choose again if you still want to."
)
BAD_EMOTION = "The emotion score must be a whole number from −2 to +2."


def _emotion_lane(
    request: WorkspaceRequest, journey_map: JourneyMap, status: int = 200, **extra: Any
) -> HttpResponse:
    stages = list(journey_map.stages.order_by("position", "id"))
    context = _base_context(request, curve=emotion_curve(stages), **extra)
    return render(request, f"{PAGE}#emotion_lane", context, status=status)


@require_POST
@workspace_view(Role.EDITOR)
def stage_reorder(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Move a stage to another position (drag and drop, or the ← → buttons)."""
    stage = _stage(request, pk, editable=True)
    try:
        position = int(request.POST.get("position", ""))
    except ValueError:
        return HttpResponse("Give the new position as a whole number.", status=INVALID)
    stage_move(stage=stage, user=request.user, position=position)
    return _board(request, stage.map)


@require_POST
@workspace_view(Role.EDITOR)
def stage_remove(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Delete a stage with its cards (the page asks for confirmation first)."""
    stage = _stage(request, pk, editable=True)
    try:
        stage_delete(stage=stage, user=request.user, expected_version=_version(request))
    except StaleEdit:
        messages.error(
            request,
            f"Stage {stage.name} was changed by someone else since you loaded the page, so it was "
            "not deleted. Here is the current map.",
        )
        return _board(request, stage.map, status=409)
    messages.success(request, f"Deleted stage {stage.name}.")
    return _board(request, stage.map)


def _version(request: WorkspaceRequest) -> int:
    try:
        return int(request.POST.get("expected_version", ""))
    except ValueError:
        return -1  # no version given: treated as stale, never as "anything goes"


# --- cards: touchpoints, pain points, opportunities, KPIs --------------------------------------


def _kind(kind: str) -> CardKind:
    if kind not in CARD_KINDS:
        raise Http404("No such kind of card.")
    return CARD_KINDS[kind]


def _card(request: WorkspaceRequest, kind: CardKind, pk: int, editable: bool) -> Any:
    cards = (
        kind.model.objects.editable_by(request.user)
        if editable
        else kind.model.objects.for_user(request.user)
    )
    return get_object_or_404(
        cards.filter(stage__map__workspace=request.membership.workspace).select_related(
            "stage", "stage__map", "stage__map__workspace"
        ),
        pk=pk,
    )


def _card_context(request: WorkspaceRequest, kind: CardKind, card: Any, form: Any = None) -> dict:
    return _base_context(
        request,
        kind=kind,
        card=card,
        form=form,
        stage=card.stage,
        stages=list(card.stage.map.stages.order_by("position", "id")),
        comment_counts=open_comment_counts(card.stage.map),
        **{kind.slug: card},
    )


def _cell(
    request: WorkspaceRequest, kind: CardKind, stage: Stage, status: int = 200
) -> HttpResponse:
    stages = list(stage.map.stages.order_by("position", "id"))
    context = _base_context(
        request, stage=stage, stages=stages, comment_counts=open_comment_counts(stage.map)
    )
    return render(request, f"{PAGE}#{kind.slug}_cell", context, status=status)


@require_GET
@workspace_view()
def stage_cell(request: WorkspaceRequest, pk: int, kind: str) -> HttpResponse:
    """A stage's cell of one kind of card (what Cancel on a new card goes back to)."""
    card_kind = _kind(kind)
    stage = _stage(request, pk, editable=False)
    if not request.htmx:
        return redirect(stage.map)
    return _cell(request, card_kind, stage)


@require_GET
@workspace_view()
def card_detail(request: WorkspaceRequest, kind: str, pk: int) -> HttpResponse:
    """A card, read-only (what Cancel goes back to)."""
    card_kind = _kind(kind)
    card = _card(request, card_kind, pk, editable=False)
    if not request.htmx:
        return redirect(card.stage.map)
    return render(request, f"{PAGE}#{card_kind.slug}_card", _card_context(request, card_kind, card))


@require_http_methods(["GET", "POST"])
@workspace_view(Role.EDITOR)
def card_edit(request: WorkspaceRequest, kind: str, pk: int) -> HttpResponse:
    """Edit a card in place; a save against a newer version is refused with the fresh card."""
    card_kind = _kind(kind)
    card = _card(request, card_kind, pk, editable=True)
    form = card_kind.form(request.POST or None, instance=card, stage=card.stage)
    context = _card_context(request, card_kind, card, form)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                card_update(
                    kind=card_kind,
                    card=form.instance,
                    user=request.user,
                    expected_version=form.cleaned_data["expected_version"],
                    fields=list(card_kind.form.Meta.fields),
                )
            except StaleEdit as stale:
                return _stale(
                    request, card.stage.map.slug, f"{kind}-{pk}", stale, form, "card_form", context
                )
            if not request.htmx:
                return redirect(card.stage.map)
            return render(request, f"{PAGE}#{card_kind.slug}_card", context)
        status = 422
    if not request.htmx:
        return _render_page(request, card.stage.map.slug, status, editing=f"{kind}-{pk}", form=form)
    return render(request, f"{PAGE}#card_form", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_view(Role.EDITOR)
def card_add(request: WorkspaceRequest, pk: int, kind: str) -> HttpResponse:
    """Add a card of `kind` to a stage: the empty form in place (GET), then create it (POST)."""
    card_kind = _kind(kind)
    stage = _stage(request, pk, editable=True)
    form = card_kind.form(request.POST or None, stage=stage)
    context = _base_context(request, kind=card_kind, stage=stage, form=form)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            card_create(kind=card_kind, card=form.instance, stage=stage, user=request.user)
            if not request.htmx:
                return redirect(stage.map)
            return _cell(request, card_kind, stage)
        status = 422
    if not request.htmx:
        return _render_page(
            request, stage.map.slug, status, editing=f"{kind}-{stage.pk}-add", form=form
        )
    return render(request, f"{PAGE}#card_add_form", context, status=status)


@require_POST
@workspace_view(Role.EDITOR)
def card_remove(request: WorkspaceRequest, kind: str, pk: int) -> HttpResponse:
    """Delete a card (the page asks for confirmation first); refused if it changed meanwhile."""
    card_kind = _kind(kind)
    card = _card(request, card_kind, pk, editable=True)
    stage = card.stage
    try:
        card_delete(
            kind=card_kind, card=card, user=request.user, expected_version=_version(request)
        )
    except StaleEdit as stale:
        if stale.current is None:
            raise Http404("Already deleted.") from None
        context = _card_context(request, card_kind, stale.current)
        context["stale_message"] = (
            f"This {card_kind.label} was changed by someone else since you loaded it, so it was "
            "not deleted. Here is its current content."
        )
        if not request.htmx:
            messages.error(request, context["stale_message"])
            return redirect(stage.map)
        return render(request, f"{PAGE}#{card_kind.slug}_card", context, status=409)
    if not request.htmx:
        messages.success(request, f"Deleted {card_kind.label} {card_kind.title_of(card)}.")
        return redirect(stage.map)
    return _cell(request, card_kind, stage)


@require_POST
@workspace_view(Role.EDITOR)
def card_move(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Move a touchpoint within its stage or to another stage of the map."""
    touchpoint = _card(request, CARD_KINDS["touchpoint"], pk, editable=True)
    target = get_object_or_404(
        Stage.objects.editable_by(request.user).filter(map=touchpoint.stage.map),
        pk=_posted_id(request, "stage"),
    )
    try:
        position = int(request.POST.get("position", ""))
    except ValueError:
        return HttpResponse("Give the new position as a whole number.", status=INVALID)
    touchpoint_move(touchpoint=touchpoint, user=request.user, stage=target, position=position)
    return _board(request, target.map)


# --- stale saves -----------------------------------------------------------------------------


def _stale(
    request: WorkspaceRequest,
    slug: str,
    editing: str,
    stale: StaleEdit,
    form: VersionedForm,
    partial: str,
    context: dict | None = None,
) -> HttpResponse:
    """Refuse a save made against an old version: show what is stored now, keep what was typed."""
    context = dict(context or {})
    if stale.current is None:
        message = (
            "This was deleted by someone else while you were editing it; your text was not saved."
        )
        if not request.htmx:
            messages.error(request, message)
            return redirect("map_detail", workspace=request.membership.workspace.slug, slug=slug)
        return render(request, f"{PAGE}#gone", {"message": message}, status=409)
    # The form keeps the typed values but now carries the current version, so that saving again
    # is a deliberate choice made after seeing the other person's change.
    data = form.data.copy()
    data["expected_version"] = str(stale.current.version)
    # Validating binds the typed values onto the instance: give the form a copy, so that
    # `current` still shows what is stored.
    fresh_form = type(form)(
        data, instance=copy.copy(stale.current), stage=getattr(stale.current, "stage", None)
    )
    fresh_form.is_valid()
    context.update(
        form=fresh_form,
        current=stale.current,
        stale_message=(
            "Someone else saved a change to this while you were editing. Their version is shown "
            "below; your text is still in the form: save again to replace theirs, or cancel to "
            "keep it."
        ),
    )
    if not request.htmx:
        # In the full page every card's partial shows `stale_message`: say it once, at the top.
        messages.error(request, context.pop("stale_message"))
        return _render_page(request, slug, 409, editing=editing, **context)
    return render(request, f"{PAGE}#{partial}", context, status=409)
