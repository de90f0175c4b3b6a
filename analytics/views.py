"""Dataset pages (admins, DESIGN §9): the list, the upload, detection and mapping with a live
preview, the import's progress and result with its error report, the maps a dataset feeds, delete.

Every write goes through analytics/services.py; these views parse the request, check access and
render. Refused input answers 422 (htmx swaps it in place, see base.html); an upload over the size
limit answers 413 before its body is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from analytics import services
from analytics.forms import DatasetMapsForm, DatasetUploadForm, MappingChoices, MappingForm
from analytics.importing.detection import FORMAT_LABELS
from analytics.importing.sniffing import DELIMITER_LABELS
from analytics.importing.sources import ENCODING_LABELS
from analytics.models import Dataset, DatasetKind, DatasetQuerySet, DatasetStatus
from journeymap.access import WorkspaceRequest, workspace_view
from journeymap.models import JourneyMap
from journeymap.scoping import Role

LIST_TEMPLATE = "analytics/dataset_list.html"
UPLOAD_TEMPLATE = "analytics/dataset_upload.html"
MAPPING_TEMPLATE = "analytics/dataset_mapping.html"
DETAIL_TEMPLATE = "analytics/dataset_detail.html"
# Refused input in place is 422, not 400: in DEBUG, django-htmx's script replaces the whole page
# with any 400 answer to an htmx request.
INVALID = 422
TOO_LARGE = 413
# What a multipart body carries besides the file: the boundaries, the CSRF token, the name field.
MULTIPART_ALLOWANCE = 64 * 1024
PREVIEW_ROWS = 20
MAPPABLE = (DatasetStatus.PENDING, DatasetStatus.FAILED)


def _datasets(request: WorkspaceRequest) -> DatasetQuerySet:
    return Dataset.objects.administered_by(request.user).filter(
        workspace=request.membership.workspace
    )


def _dataset(request: WorkspaceRequest, pk: int) -> Dataset:
    return get_object_or_404(_datasets(request), pk=pk)


def _maps(request: WorkspaceRequest) -> Any:
    return (
        JourneyMap.objects.administered_by(request.user)
        .filter(workspace=request.membership.workspace)
        .order_by("name", "pk")
    )


def _detail_url(dataset: Dataset) -> str:
    return reverse("dataset_detail", kwargs={"workspace": dataset.workspace.slug, "pk": dataset.pk})


def _megabytes(size: int) -> str:
    """'1.52 MB', '500 MB': rounded up, so that a file over a limit never reads as the limit."""
    hundredths = math.ceil(size * 100 / 1024 / 1024)
    return f"{hundredths / 100:.2f}".rstrip("0").rstrip(".") + " MB"


# -- the list ------------------------------------------------------------------------------------


@require_GET
@workspace_view(Role.ADMIN)
def dataset_list(request: WorkspaceRequest) -> HttpResponse:
    """Every dataset of the workspace: status, rows, span, who uploaded it, the maps it feeds."""
    datasets = (
        _datasets(request)
        .select_related("uploaded_by", "workspace")
        # each map's link names its workspace: read with the maps, not once per map
        .prefetch_related(Prefetch("maps", queryset=JourneyMap.objects.select_related("workspace")))
        .order_by("-created_at", "-pk")
    )
    return render(request, LIST_TEMPLATE, {"datasets": datasets})


# -- upload --------------------------------------------------------------------------------------


class UploadLimit(FileUploadHandler):
    """Stops reading an uploaded file as soon as it passes the limit (before the next handlers)."""

    def __init__(self, request: WorkspaceRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _upload_limit() -> int:
    return settings.MAX_UPLOAD_MB * 1024 * 1024


def _too_large(request: WorkspaceRequest, size: int) -> HttpResponse:
    message = (
        f"The file is {_megabytes(size)}; the most an upload may be is "
        f"{settings.MAX_UPLOAD_MB} MB. Compress it (.csv.gz or .zip) or split it into smaller "
        "files."
    )
    return _render_upload(request, DatasetUploadForm(), refusal=message, status=TOO_LARGE)


def _render_upload(
    request: WorkspaceRequest,
    form: DatasetUploadForm,
    *,
    refusal: str = "",
    duplicate: Dataset | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "refusal": refusal,
        "duplicate": duplicate,
        "max_upload_mb": settings.MAX_UPLOAD_MB,
        "max_upload_bytes": _upload_limit(),
    }
    return render(request, UPLOAD_TEMPLATE, context, status=status)


# The CSRF check reads the body, so it runs inside (csrf_protect below), after the size check.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@workspace_view(Role.ADMIN)
def dataset_upload(request: WorkspaceRequest) -> HttpResponse:
    """Upload an export (file picker or drag and drop); too large is refused before it is read."""
    if request.method == "POST":
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > _upload_limit() + MULTIPART_ALLOWANCE:
            return _too_large(request, declared)
        limit = UploadLimit(request, _upload_limit())
        request.upload_handlers.insert(0, limit)
        return _dataset_upload(request, limit)
    return _render_upload(request, DatasetUploadForm())


@csrf_protect
def _dataset_upload(request: WorkspaceRequest, limit: UploadLimit) -> HttpResponse:
    form = DatasetUploadForm(request.POST, request.FILES)
    if limit.exceeded:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        return _too_large(request, max(declared, limit.limit + 1))
    if not form.is_valid():
        return _render_upload(request, form, status=INVALID)
    try:
        result = services.dataset_upload(
            workspace=request.membership.workspace,
            user=request.user,
            file=form.cleaned_data["file"],
            name=form.cleaned_data["name"],
        )
    except services.ImportRefused as refusal:
        return _render_upload(request, form, refusal=refusal.message, status=INVALID)
    except ValidationError as error:
        return _render_upload(request, form, refusal=" ".join(error.messages), status=INVALID)
    if result.duplicate:
        return _render_upload(request, DatasetUploadForm(), duplicate=result.dataset)
    return redirect(
        "dataset_mapping", workspace=request.membership.workspace.slug, pk=result.dataset.pk
    )


# -- detection, mapping and preview --------------------------------------------------------------


@dataclass
class PreviewLine:
    """One line of the file in the preview: its stored values, or why it is rejected."""

    line: int
    cells: list[str] = field(default_factory=list)
    problems: list[services.Problem] = field(default_factory=list)


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = f"{value:%Y-%m-%d %H:%M:%S}"
        return f"{text}.{value:%f} UTC" if value.microsecond else f"{text} UTC"
    if isinstance(value, dict):
        return "; ".join(f"{key}={_shown(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value)
    return str(value)


def _preview_table(preview: services.Preview) -> tuple[list[str], list[PreviewLine]]:
    """The fields worth a column (mapped, or with a value) and the lines in file order."""
    mapped = set(preview.mapping.values())
    fields = [
        name
        for name in preview.fields
        if name in mapped
        or name in ("extra", "dimensions", "metrics")
        or any(row.get(name) not in (None, "", {}, []) for row in preview.rows)
    ]
    lines: dict[int, PreviewLine] = {}
    for row in preview.rows:
        line = row.get("line") or 0
        lines[line] = PreviewLine(line=line, cells=[_shown(row.get(name)) for name in fields])
    for problem in preview.problems:
        lines.setdefault(problem.line, PreviewLine(line=problem.line)).problems.append(problem)
    return fields, [lines[line] for line in sorted(lines)]


def _preview(dataset: Dataset, choices: MappingChoices) -> services.Preview:
    """The preview of the admin's choices; a day/month order applies to every slashed date."""
    preview = services.dataset_preview(
        dataset=dataset, options=choices.options, mapping=choices.mapping, rows=PREVIEW_ROWS
    )
    formats = preview.options.get("date_formats") or {}
    if choices.date_order and not preview.errors:
        ordered = {
            column: choices.date_order if text in ("dmy", "mdy") else text
            for column, text in formats.items()
        }
        if ordered != formats:
            preview = services.dataset_preview(
                dataset=dataset,
                options={**choices.options, "date_formats": ordered},
                mapping=preview.mapping,
                rows=PREVIEW_ROWS,
            )
    return preview


def _render_mapping(
    request: WorkspaceRequest,
    dataset: Dataset,
    preview: services.Preview | None,
    *,
    refusal: str = "",
    region: str = "",
    status: int = 200,
) -> HttpResponse:
    """The mapping page, or one of its regions ("mapping", "preview") for htmx."""
    context: dict[str, Any] = {"dataset": dataset, "preview": preview, "refusal": refusal}
    if preview is not None:
        fields, lines = _preview_table(preview)
        options = preview.options
        context.update(
            form=MappingForm.for_preview(preview),
            fields=fields,
            lines=lines,
            rejected=sum(1 for line in lines if line.problems),
            format_label=FORMAT_LABELS.get(preview.source_format, preview.source_format),
            kind_label=DatasetKind(preview.kind).label,
            encoding_label=ENCODING_LABELS.get(
                options.get("encoding", ""), options.get("encoding")
            ),
            delimiter_label=DELIMITER_LABELS.get(options.get("delimiter", ""), ""),
            # The first of a preview's notes is how the file is read, shown above as facts.
            notes=list(dict.fromkeys([*dataset.notes, *preview.notes[1:]])),
        )
    template = f"{MAPPING_TEMPLATE}#{region}" if region else MAPPING_TEMPLATE
    return render(request, template, context, status=status)


def _to_detail(request: WorkspaceRequest, dataset: Dataset) -> HttpResponse:
    """Off the mapping page: the dataset is importing or imported (perhaps by someone else)."""
    if request.htmx:
        return HttpResponseClientRedirect(_detail_url(dataset))
    return redirect(_detail_url(dataset))


@require_http_methods(["GET", "POST"])
@workspace_view(Role.ADMIN)
def dataset_mapping(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """GET: what was detected, the mapping and a preview. POST: save it and start the import."""
    dataset = _dataset(request, pk)
    if dataset.status not in MAPPABLE:
        return _to_detail(request, dataset)
    if request.method == "GET":
        try:
            preview = services.dataset_preview(dataset=dataset, rows=PREVIEW_ROWS)
        except services.ImportRefused as refusal:
            return _render_mapping(request, dataset, None, refusal=refusal.message)
        return _render_mapping(request, dataset, preview)

    form = MappingForm(request.POST)
    if not form.is_valid():
        return _render_mapping(request, dataset, None, refusal=_form_errors(form), status=INVALID)
    try:
        preview = _preview(dataset, form.choices())
    except services.ImportRefused as refusal:
        return _render_mapping(request, dataset, None, refusal=refusal.message, status=INVALID)
    if preview.errors:
        return _render_mapping(request, dataset, preview, status=INVALID)
    try:
        services.dataset_configure(
            dataset=dataset, options=preview.options, mapping=preview.mapping
        )
        services.dataset_start_import(dataset=dataset)
    except ValidationError as error:
        refusal = " ".join(error.messages)
        return _render_mapping(request, dataset, preview, refusal=refusal, status=INVALID)
    messages.success(request, f"Importing “{dataset.name}”.")
    return redirect(_detail_url(dataset))


def _form_errors(form: MappingForm) -> str:
    """A tampered or incomplete mapping post, in words (the page itself never sends one)."""
    return " ".join(
        f"{form.fields[name].label}: {error}" if name in form.fields else error
        for name, errors in form.errors.items()
        for error in errors
    )


@require_POST
@workspace_view(Role.ADMIN)
def dataset_preview(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """The preview of the mapping on screen (htmx: on every change of the form)."""
    dataset = _dataset(request, pk)
    if dataset.status not in MAPPABLE:
        return _to_detail(request, dataset)
    region = "preview" if request.htmx else ""
    form = MappingForm(request.POST)
    if not form.is_valid():
        refusal = _form_errors(form)
        return _render_mapping(
            request, dataset, None, refusal=refusal, region=region, status=INVALID
        )
    choices = form.choices()
    try:
        preview = _preview(dataset, choices)
    except services.ImportRefused as refusal:
        return _render_mapping(
            request, dataset, None, refusal=refusal.message, region=region, status=INVALID
        )
    status = INVALID if preview.errors else 200
    if request.htmx and choices.mapping is None:  # another reading: new columns, new selects
        response = _render_mapping(request, dataset, preview, region="mapping", status=status)
        return reswap(retarget(response, "#mapping"), "outerHTML")
    return _render_mapping(request, dataset, preview, region=region, status=status)


# -- progress and result -------------------------------------------------------------------------


def _progress(dataset: Dataset) -> int | None:
    """The percentage of the rows read so far, or None while the total is unknown."""
    if dataset.progress_total <= 0:
        return None
    return min(100, dataset.progress_rows * 100 // dataset.progress_total)


@require_GET
@workspace_view(Role.ADMIN)
def dataset_detail(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """The dataset: its progress while importing (htmx polls the status region), then the result."""
    dataset = get_object_or_404(
        _datasets(request).select_related("uploaded_by", "workspace"), pk=pk
    )
    # Not a user's change but the page telling the truth: an import whose worker died is failed
    # (and can be retried) rather than shown as progressing forever.
    services.dataset_fail_if_orphaned(dataset=dataset)
    context: dict[str, Any] = {
        "dataset": dataset,
        "progress": _progress(dataset),
        "format_label": FORMAT_LABELS.get(dataset.source_format, dataset.source_format),
    }
    if request.htmx:
        return render(request, f"{DETAIL_TEMPLATE}#status", context)
    context["maps_form"] = DatasetMapsForm(
        maps=_maps(request), initial={"maps": list(dataset.maps.all())}
    )
    return render(request, DETAIL_TEMPLATE, context)


@require_POST
@workspace_view(Role.ADMIN)
def dataset_retry(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Start the import again (after a failure), with the mapping as saved."""
    dataset = _dataset(request, pk)
    try:
        services.dataset_start_import(dataset=dataset)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Importing “{dataset.name}” again.")
    return redirect(_detail_url(dataset))


@require_GET
@workspace_view(Role.ADMIN)
def dataset_error_report(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """The rejected rows (line, column, value, reason) as a CSV download, to admins only."""
    dataset = get_object_or_404(_datasets(request).exclude(error_report=""), pk=pk)
    try:
        report = dataset.error_report.open("rb")
    except FileNotFoundError:
        raise Http404("No error report.") from None
    response = FileResponse(
        report,
        as_attachment=True,
        filename=f"dataset-{dataset.pk}-rejected-rows.csv",
        content_type="text/csv; charset=utf-8",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# -- maps and delete -----------------------------------------------------------------------------


@require_POST
@workspace_view(Role.ADMIN)
def dataset_maps(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Set the maps the dataset feeds to the ones checked."""
    dataset = _dataset(request, pk)
    maps = _maps(request)
    form = DatasetMapsForm(request.POST, maps=maps)
    if form.is_valid():
        chosen = set(form.cleaned_data["maps"])
        attached = set(dataset.maps.all())
        for journey_map in chosen - attached:
            services.dataset_attach(dataset=dataset, journey_map=journey_map)
        for journey_map in attached - chosen:
            services.dataset_detach(dataset=dataset, journey_map=journey_map)
        names = ", ".join(f"“{m.name}”" for m in sorted(chosen, key=lambda m: m.name)) or "no map"
        saved = f"“{dataset.name}” feeds {names}."
        form = DatasetMapsForm(maps=maps, initial={"maps": list(chosen)})
        status = 200
    else:
        saved, status = "", INVALID
    if not request.htmx:
        if saved:
            messages.success(request, saved)
            return redirect(_detail_url(dataset))
        messages.error(request, "Pick maps of this workspace.")
        return redirect(_detail_url(dataset))
    context = {"dataset": dataset, "maps_form": form, "maps_saved": saved}
    return render(request, f"{DETAIL_TEMPLATE}#maps", context, status=status)


@require_POST
@workspace_view(Role.ADMIN)
def dataset_delete(request: WorkspaceRequest, pk: int) -> HttpResponse:
    """Delete the dataset with its rows and files (the confirmation is on the pages)."""
    dataset = _dataset(request, pk)
    name, rows = dataset.name, dataset.row_count
    services.dataset_delete(dataset=dataset)
    gone = f" and its {rows:,} imported row{pluralize(rows)}" if rows else ""
    messages.success(request, f"Deleted “{name}”{gone}.")
    return redirect("dataset_list", workspace=request.membership.workspace.slug)
