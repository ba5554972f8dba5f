"""The project's only authentication backend (settings.AUTHENTICATION_BACKENDS).

Django's ModelBackend behind the log-in failure limit: whatever calls `authenticate()`
(Django's own admin form, a test client's `login()`, a package added later) gets the same
limit as the log-in page and the API token endpoint."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.errors import InvalidCredentials
from accounts.models import User
from accounts.services.login import user_authenticate
from shop.core.errors import ThrottledError


class LimitedModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = username if username is not None else kwargs.get(User.USERNAME_FIELD)
        if email is None or password is None:
            return None
        try:
            return user_authenticate(email=email, password=password, request=request)
        except InvalidCredentials:
            return None
        except ThrottledError as exc:
            # PermissionDenied stops authenticate() at once: no other backend is asked.
            raise PermissionDenied(str(exc.message)) from exc
