"""Optimistic locking: a save names the version it started from, and a newer one refuses it.

Every editable object on a map (the map itself, stages, cards) has a `version` column. A save runs
`UPDATE ... WHERE pk = %s AND version = <the version the editor saw>` and increments it; when no row
matches, someone else saved first, and the editor gets a StaleEdit with the fresh object instead of
overwriting it.
"""

from django.db import models
from django.db.models import F


class StaleEdit(Exception):
    """The object changed (or was deleted) since the editor loaded it."""

    def __init__(self, current: models.Model | None) -> None:
        super().__init__("This was changed by someone else since you opened it.")
        self.current = current


def save_versioned[M: models.Model](*, instance: M, expected_version: int, fields: list[str]) -> M:
    """Write `fields` of a validated instance if its stored version is still `expected_version`."""
    model = type(instance)
    values = {name: getattr(instance, name) for name in fields}
    updated = model.objects.filter(pk=instance.pk, version=expected_version).update(
        version=F("version") + 1, **values
    )
    if not updated:
        raise StaleEdit(model.objects.filter(pk=instance.pk).first())
    instance.version = expected_version + 1
    return instance
