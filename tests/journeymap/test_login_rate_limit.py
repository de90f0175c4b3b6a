"""Login rate limiting: five wrong passwords for one username from one address lock it out."""

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from tests import factories

LOCKED = "Too many failed login attempts"


@pytest.fixture
def user(db):
    return factories.make_user("alice")


def log_in(client: Client, password: str, username: str = "alice", **extra: str):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_the_sixth_attempt_after_five_failures_is_refused_even_with_the_right_password(user):
    client = Client()
    for _ in range(4):
        response = log_in(client, "wrong")
        assertContains(response, "didn't match")
    assertContains(log_in(client, "wrong"), LOCKED, status_code=429)  # the fifth failure locks

    response = log_in(client, factories.PASSWORD)

    assertContains(response, LOCKED, status_code=429)
    assertContains(response, "locked for 15 minutes", status_code=429)
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302  # still logged out


def test_the_lockout_is_per_username_and_address(user):
    factories.make_user("bob")
    client = Client()
    for _ in range(5):
        log_in(client, "wrong")

    assert log_in(client, factories.PASSWORD, username="bob").status_code == 302
    other_address = Client(REMOTE_ADDR="10.0.0.9")
    assert log_in(other_address, factories.PASSWORD).status_code == 302


def test_a_successful_login_resets_the_count(user):
    client = Client()
    for _ in range(4):
        log_in(client, "wrong")
    assert log_in(client, factories.PASSWORD).status_code == 302
    client.post(reverse("logout"))

    for _ in range(4):
        log_in(client, "wrong")
    response = log_in(client, factories.PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_logins_without_a_request_are_not_limited(user):
    """The test client's login() and force_login() carry no HTTP request: axes leaves them be."""
    assert not Client().login(username="alice", password="wrong")
    assert Client().login(username="alice", password=factories.PASSWORD)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("home")).status_code in {200, 302}
