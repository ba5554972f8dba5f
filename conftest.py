"""Fixtures shared by every test: fast hashing, locmem mail, a clean cache per test."""

import os

import pytest

from shop.core.pagecache import reset_local_version
from shop.core.testing import caches_clear_owned


def pytest_configure(config):
    # Celery lets a CELERY_BROKER_URL variable win over its configuration, even over a test
    # that points the app at another broker (payments' `broker_down`). settings.py has read
    # it into settings.CELERY_BROKER_URL, where the app finds it, so the variable can go; the
    # real worker fixture (tests/conftest.py) hands the worker that setting itself.
    from django.conf import settings

    if settings.CELERY_BROKER_URL:  # settings are read, variable and all, before it goes
        os.environ.pop("CELERY_BROKER_URL", None)


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SECURE_SSL_REDIRECT = False
    # Only the keys under the tests' CACHE_KEY_PREFIX (pyproject's pytest env), never FLUSHDB:
    # the tests' Redis databases (13-15 by default) may hold other keys, and a flush must never
    # reach a Celery broker.
    caches_clear_owned()
    reset_local_version()
    yield
    reset_local_version()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def user(db):
    from accounts.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def auth_client(user):
    """An APIClient carrying a JWT for `user`, as a mobile app would."""
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client
