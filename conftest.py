"""Fixtures shared by every test: fast hashing, locmem mail, a clean cache per test."""

import pytest
from django.core.cache import cache

from shop.core.pagecache import reset_local_version


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SECURE_SSL_REDIRECT = False
    # Tests use their own Redis database (REDIS_URL in pyproject's pytest env), so clearing
    # it never touches a developer's running shop.
    cache.clear()
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
