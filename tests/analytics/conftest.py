import pytest


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    """Tasks run at once, in the test (DESIGN §2: the immediate backend only in unit tests)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
