import pytest
from django.core.cache import cache
from django.test import Client

from journeymap.scoping import Role
from tests import factories


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _empty_cache():
    # The memory cache lives as long as the test process: each test starts without rendered lanes.
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~0.3 s per user created; tests check access rules, not key stretching.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def workspace(db):
    return factories.make_workspace("acme", name="Acme Shop")


@pytest.fixture
def other_workspace(db):
    return factories.make_workspace("rival", name="Rival Shop")


@pytest.fixture
def ws_admin(workspace):
    return factories.make_member(workspace, Role.ADMIN, factories.make_user("alice"))


@pytest.fixture
def ws_editor(workspace):
    return factories.make_member(workspace, Role.EDITOR, factories.make_user("eddie"))


@pytest.fixture
def ws_viewer(workspace):
    return factories.make_member(workspace, Role.VIEWER, factories.make_user("vera"))


@pytest.fixture
def outsider(other_workspace):
    """An admin, but of another workspace."""
    return factories.make_member(other_workspace, Role.ADMIN, factories.make_user("mallory"))


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ws_admin_client(ws_admin) -> Client:
    return logged_in(ws_admin)


@pytest.fixture
def ws_editor_client(ws_editor) -> Client:
    return logged_in(ws_editor)


@pytest.fixture
def ws_viewer_client(ws_viewer) -> Client:
    return logged_in(ws_viewer)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return logged_in(outsider)
