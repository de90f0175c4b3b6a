"""Steps of the fault tests that need the app's services, run in a child process.

The fault tests drive real processes (a task worker, gunicorn) against a database those processes
share with the test: a SQLite file, or the PostgreSQL test database. These steps run there too, with
DATABASE_URL naming it, and print their result as one JSON line:

    python -m tests.reliability.scenario start-import FILE  # upload, then queue the import
    python -m tests.reliability.scenario retry DATASET_ID  # what the page's "retry" does
    python -m tests.reliability.scenario edit-setup CLIENTS  # a map, editors logged in
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


def edit_setup(clients: str) -> dict[str, object]:
    """A map with two stages and three touchpoints, and one logged-in editor session a client."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from journeymap.mapjson import map_import
    from journeymap.services import member_ensure, workspace_create
    from stages.models import Stage
    from touchpoints.models import Touchpoint

    workspace, _created = workspace_create(slug="faults", name="Faults")
    document = {
        "schema": "journeymap/v1",
        "name": "Edited by many",
        "stages": [
            {
                "name": "Consideration",
                "touchpoints": [
                    {"name": "Product page", "channel": "website"},
                    {"name": "Reviews", "channel": "website"},
                ],
            },
            {"name": "Purchase", "touchpoints": [{"name": "Checkout", "channel": "website"}]},
        ],
    }
    journey_map = map_import(data=document, workspace=workspace)
    sessions = []
    for client in range(int(clients)):
        ensured = member_ensure(workspace=workspace, username=f"editor{client}", role="editor")
        user = ensured.membership.user
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
    stages = Stage.objects.filter(map=journey_map).order_by("position")
    touchpoints = Touchpoint.objects.filter(stage__map=journey_map).order_by("stage", "position")
    return {
        "map": journey_map.get_absolute_url(),
        "stages": [{"pk": s.pk, "version": s.version, "actions": s.actions} for s in stages],
        "touchpoints": [
            {"pk": t.pk, "version": t.version, "name": t.name, "description": t.description}
            for t in touchpoints
        ],
        "sessions": sessions,
    }


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "journeymap.settings")
    import django

    django.setup()
    step, argument = argv
    result = {"start-import": start_import, "retry": retry, "edit-setup": edit_setup}[step](
        argument
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
