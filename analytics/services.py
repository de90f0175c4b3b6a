"""Writes on analytics datasets: upload, preview, mapping, import, delete, attach to maps.

The dataset pages and the `import_analytics` command both go through these functions; the import
pipeline itself (sniffing, detection, parsing, validation, writing) lives in analytics/importing/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.files import File

from analytics.importing.errors import ImportRefused
from analytics.models import Dataset

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from journeymap.models import JourneyMap, Workspace

__all__ = [
    "ImportRefused",
    "Preview",
    "Problem",
    "UploadResult",
    "dataset_attach",
    "dataset_configure",
    "dataset_delete",
    "dataset_detach",
    "dataset_import",
    "dataset_preview",
    "dataset_start_import",
    "dataset_upload",
]


@dataclass(frozen=True)
class UploadResult:
    """The dataset an upload made, or the READY one it duplicates (then nothing new was stored)."""

    dataset: Dataset
    duplicate: bool = False


@dataclass(frozen=True)
class Problem:
    """Why one row is rejected: its line in the file, the column, the value and the reason."""

    line: int
    column: str
    value: str
    reason: str


@dataclass
class Preview:
    """The first rows as they will be stored, and what is wrong with the rejected ones."""

    kind: str
    source_format: str
    columns: list[str]  # the file's columns, in file order
    mapping: dict[str, str]  # file column → canonical field ("extra" keeps it, "ignore" drops it)
    options: dict[str, Any]
    fields: list[str]  # the canonical fields shown in `rows`, in display order
    rows: list[dict[str, Any]]  # each row: canonical field → value as stored, plus "line"
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was skipped or assumed
    tables: list[str] = field(default_factory=list)  # the tables found, to pick one by index


def dataset_upload(
    *, workspace: Workspace, user: AbstractBaseUser | None, file: File, name: str = ""
) -> UploadResult:
    """Store an uploaded export and propose how to read and map it (PENDING), or refuse it."""
    raise NotImplementedError


def dataset_preview(
    *,
    dataset: Dataset,
    options: dict[str, Any] | None = None,
    mapping: dict[str, str] | None = None,
    rows: int = 20,
) -> Preview:
    """The first rows as they will be stored with these options and mapping, and their problems."""
    raise NotImplementedError


def dataset_configure(
    *, dataset: Dataset, options: dict[str, Any], mapping: dict[str, str]
) -> Dataset:
    """Validate and save how the file is read and mapped; ValidationError names the problem."""
    raise NotImplementedError


def dataset_start_import(*, dataset: Dataset) -> Dataset:
    """Mark the dataset IMPORTING and enqueue the import task once the transaction commits."""
    raise NotImplementedError


def dataset_import(*, dataset_id: int) -> Dataset:
    """Run the import now, in this process (the task and the command call this)."""
    raise NotImplementedError


def dataset_delete(*, dataset: Dataset) -> None:
    """Delete the dataset with its rows, its original file and its error report."""
    raise NotImplementedError


def dataset_attach(*, dataset: Dataset, journey_map: JourneyMap) -> None:
    """Let the dataset feed the map (both of the same workspace)."""
    raise NotImplementedError


def dataset_detach(*, dataset: Dataset, journey_map: JourneyMap) -> None:
    """Stop the dataset feeding the map."""
    raise NotImplementedError
