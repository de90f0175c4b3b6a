"""Writes on personas. Views, commands and tests all go through these.

Edits are optimistic (journeymap/versioning.py): each one names the version it was made on, and is
refused with `StaleEdit` when someone else saved the persona in between, instead of overwriting.
"""

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction

from analytics.materialise import request_recompute_of_maps
from journeymap.models import Workspace
from journeymap.services import map_record_change
from journeymap.versioning import StaleEdit, save_versioned
from personas.avatars import check_avatar
from personas.models import Persona

EDITABLE_FIELDS = frozenset(
    {
        "name",
        "summary",
        "age_range",
        "occupation",
        "location",
        "goals",
        "needs",
        "pain_points",
        "motivations",
        "channels",
        "online_behaviour",
        "quote",
        "segment",
    }
)


def _name_taken(name: str) -> ValidationError:
    return ValidationError(
        {"name": f"There is already a persona named “{name}” in this workspace."}, code="unique"
    )


def _check_name_free(persona: Persona) -> None:
    # Checked before full_clean so the refusal names the persona, not the constraint's fields.
    others = Persona.objects.filter(workspace_id=persona.workspace_id, name=persona.name)
    if others.exclude(pk=persona.pk).exists():
        raise _name_taken(persona.name)


def persona_create(*, workspace: Workspace, name: str, summary: str = "") -> Persona:
    """A new persona in the workspace; the name must be free there."""
    persona = Persona(workspace=workspace, name=name.strip(), summary=summary.strip())
    _check_name_free(persona)
    persona.full_clean()
    try:
        with transaction.atomic():
            persona.save()
    except IntegrityError:  # created by someone else between the check and the insert
        raise _name_taken(persona.name) from None
    return persona


def persona_update(*, persona: Persona, expected_version: int, changes: dict[str, Any]) -> Persona:
    """Apply `changes` if the persona is still at `expected_version`; else raise StaleEdit.

    The changes are validated as a whole persona (field rules, the segment rule, the unique name)
    before anything is written; on success `persona` holds the saved values and the new version.
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not an editable persona field: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(persona, field, value.strip() if isinstance(value, str) else value)
    if "name" in changes:
        _check_name_free(persona)
    persona.full_clean()
    try:
        with transaction.atomic():
            saved = save_versioned(
                instance=persona, expected_version=expected_version, fields=sorted(changes)
            )
            if changes.keys() & {"segment", "name"}:  # the per-persona figures of its maps
                request_recompute_of_maps(persona.maps.values_list("pk", flat=True))
            return saved
    except IntegrityError:  # renamed onto a name taken between the check and the update
        raise _name_taken(persona.name) from None


def persona_set_avatar(*, persona: Persona, expected_version: int, upload: File | None) -> Persona:
    """Replace the persona's picture with a checked image, or remove it when `upload` is None."""
    field = Persona._meta.get_field("avatar")
    new_name = ""
    if upload is not None:
        kind = check_avatar(upload)
        # A generated name: the uploader's file name never reaches the disk or a page.
        new_name = field.storage.save(
            field.generate_filename(persona, f"{uuid.uuid4().hex}.{kind.extension}"), upload
        )
    old_name = persona.avatar.name
    persona.avatar.name = new_name
    try:
        save_versioned(instance=persona, expected_version=expected_version, fields=["avatar"])
    except StaleEdit:
        persona.avatar.name = old_name
        if new_name:
            field.storage.delete(new_name)
        raise
    if old_name:
        transaction.on_commit(lambda: field.storage.delete(old_name))
    return persona


def persona_delete(*, persona: Persona, user: AbstractBaseUser | None) -> None:
    """Delete the persona; the maps that used it lose it, and their change logs say so."""
    avatar = persona.avatar.name
    storage = Persona._meta.get_field("avatar").storage
    with transaction.atomic():
        for journey_map in persona.maps.order_by("pk"):
            map_record_change(
                journey_map=journey_map,
                user=user,
                action="persona_removed",
                summary=f"Removed persona “{persona.name}” (the persona was deleted)",
            )
        persona.delete()
    if avatar:
        transaction.on_commit(lambda: storage.delete(avatar))
