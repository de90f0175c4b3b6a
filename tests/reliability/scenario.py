"""Steps of the fault tests that need the app's services, run in a child process.

The fault tests drive real processes (a task worker, gunicorn) against a database those processes
share with the test: a SQLite file, or the PostgreSQL test database. These steps run there too, with
DATABASE_URL naming it, and print their result as one JSON line:

    python -m tests.reliability.scenario start-import FILE  # upload, then queue the import
    python -m tests.reliability.scenario retry DATASET_ID  # what the page's "retry" does
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def start_import(path: str) -> dict[str, object]:
    from django.core.files import File
    from django.db import transaction

    from analytics.services import dataset_start_import, dataset_upload
    from journeymap.services import workspace_create

    workspace, _created = workspace_create(slug="faults", name="Faults")
    with Path(path).open("rb") as handle, transaction.atomic():
        upload = dataset_upload(
            workspace=workspace, user=None, file=File(handle, name="events.csv")
        )
        dataset = dataset_start_import(dataset=upload.dataset)
    return {"dataset": dataset.pk, "status": dataset.status}


def retry(dataset_id: str) -> dict[str, object]:
    from django.db import transaction

    from analytics.models import Dataset
    from analytics.services import dataset_start_import

    with transaction.atomic():
        dataset = dataset_start_import(dataset=Dataset.objects.get(pk=int(dataset_id)))
    return {"dataset": dataset.pk, "status": dataset.status}


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "journeymap.settings")
    import django

    django.setup()
    step, argument = argv
    result = {"start-import": start_import, "retry": retry}[step](argument)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
