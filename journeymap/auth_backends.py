"""Authentication backends: login rate limiting by django-axes in front of the model backend."""

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


class LoginRateLimitBackend(AxesStandaloneBackend):
    """Refuses a username+IP locked out after too many failures (AXES_* settings).

    A login over HTTP always carries its request. authenticate() without one (the test client's
    login(), a management command) is not an attempt from the network: axes would raise, so it is
    passed over here and ModelBackend checks the password as usual.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
