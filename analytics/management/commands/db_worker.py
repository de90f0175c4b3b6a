"""django-tasks-db's `db_worker`, which first fails the imports whose worker died.

A worker killed mid-import leaves its dataset "importing" and its task "running" forever; a worker
starting (typically the one restarted after the crash) marks those failed so they can be retried.
Only imports that no live process holds are touched (analytics.importing.liveness), so starting a
second worker beside a busy one is safe.
"""

import time
from typing import Any

from django_tasks_db.management.commands.db_worker import Command as WorkerCommand

from analytics.models import Dataset, DatasetStatus
from analytics.services import CLAIM_GRACE, datasets_fail_orphaned_imports


class Command(WorkerCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        failed = datasets_fail_orphaned_imports()
        if Dataset.objects.filter(status=DatasetStatus.IMPORTING).exists():
            # An import whose task was taken only just now is given CLAIM_GRACE to show it is
            # alive; a worker restarted right after a crash looks again once that has passed.
            time.sleep(CLAIM_GRACE.total_seconds())
            failed += datasets_fail_orphaned_imports()
        if failed:
            self.stderr.write(f"Marked {failed} import(s) failed: the worker running them died.")
        super().handle(*args, **options)
