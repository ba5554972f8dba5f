"""Writes for accounts: registration, log-in with a failure limit, profile and addresses."""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.errors import InvalidCredentials
from accounts.models import Address, User
from shop.core.cache import CacheWithLocalFallback
from shop.core.countries import normalize_country
from shop.core.errors import ThrottledError

_EMAIL_TAKEN = _("A user with this email address already exists.")
ADDRESS_FIELDS = ("full_name", "line1", "line2", "city", "postal_code", "country", "phone")


# --- Users -----------------------------------------------------------------------------


def user_register(*, email: str, password: str, name: str = "") -> User:
    """Create an active shopper; the password must pass every configured validator."""
    email = User.objects.normalize_email((email or "").strip())
    user = User(email=email, name=(name or "").strip())
    errors: dict[str, list] = {}
    try:
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "email" not in errors and User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_EMAIL_TAKEN]
    try:
        # After full_clean, so UserAttributeSimilarity compares against the cleaned email/name.
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration took the email after our check
        raise ValidationError({"email": [_EMAIL_TAKEN]}) from exc
    password_validation.password_changed(password, user=user)
    return user


def user_update(*, user: User, name: str) -> User:
    """Change the profile fields a user may edit themselves."""
    user.name = (name or "").strip()
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    user.save(update_fields=["name"])
    return user


# --- Log-in failure limit ----------------------------------------------------------------
# Failures are counted per email (case-insensitive) in a window that starts with the first
# failure and lasts LOGIN_FAILURE_WINDOW seconds. Both the API token endpoint and the login
# page go through user_authenticate, so a guesser cannot switch doors to get more tries.
# Whether the window is still open is judged by our clock, the one Retry-After is computed
# from; the keys' TTL in Redis (on Redis's clock) only clears them away afterwards.
# While Redis is away the counts are kept per process (shop.core.cache), so an outage never
# lets unlimited guesses through: at most the limit per process and window.
cache = CacheWithLocalFallback()


def _failure_keys(email: str) -> tuple[str, str]:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:{digest}:count", f"login-failures:{digest}:since"


def _window_over(since: float | None, now: float) -> bool:
    # No start time with a count still there (it expired a moment first, or was evicted):
    # the count stands until its own TTL ends, as it always has.
    return since is not None and now >= since + settings.LOGIN_FAILURE_WINDOW


def login_failure_count(*, email: str) -> int:
    count_key, since_key = _failure_keys(email)
    if _window_over(cache.get(since_key), time.time()):
        return 0
    return int(cache.get(count_key) or 0)


def login_failure_record(*, email: str) -> int:
    """Count one failed log-in for `email`; returns the count in the current window."""
    count_key, since_key = _failure_keys(email)
    window = settings.LOGIN_FAILURE_WINDOW
    now = time.time()
    since = cache.get(since_key)
    if _window_over(since, now):
        # Over by our clock but not yet expired by Redis's: this failure opens the next
        # window. Only here can a concurrent failure go uncounted (its increment deleted),
        # and only for as long as the two clocks disagree.
        cache.delete_many([count_key, since_key])
    # add() only writes when the key is absent and incr() is atomic in Redis, so concurrent
    # failures each count once and the window start is the first failure's time.
    cache.add(since_key, now, timeout=window)
    cache.add(count_key, 0, timeout=window)
    try:
        return cache.incr(count_key)
    except ValueError:  # the window ran out between add() and incr()
        cache.add(count_key, 1, timeout=window)
        return 1


def login_failure_check(*, email: str) -> None:
    """Refuse further attempts once the email reached LOGIN_FAILURE_LIMIT failures."""
    count_key, since_key = _failure_keys(email)
    window = settings.LOGIN_FAILURE_WINDOW
    now = time.time()
    since = cache.get(since_key)
    if _window_over(since, now) or int(cache.get(count_key) or 0) < settings.LOGIN_FAILURE_LIMIT:
        return
    remaining = window if since is None else since + window - now
    retry_after = max(1, min(window, math.ceil(remaining)))
    raise ThrottledError(
        _("Too many failed log-in attempts. Try again in %(minutes)d minutes.")
        % {"minutes": math.ceil(retry_after / 60)},
        retry_after=retry_after,
    )


def user_authenticate(*, email: str, password: str, request: HttpRequest | None = None) -> User:
    """The user with these credentials, or InvalidCredentials; ThrottledError past the limit."""
    email = (email or "").strip()
    login_failure_check(email=email)
    user = authenticate(request, email=email, password=password) if email and password else None
    if user is None:
        login_failure_record(email=email)
        raise InvalidCredentials()
    return user


# --- Addresses ---------------------------------------------------------------------------


def _lock_user(user: User) -> None:
    # Every address write of one user takes this lock first, so "one default address" is
    # kept by the service and the partial unique constraint is only the backstop.
    User.objects.select_for_update().filter(pk=user.pk).first()


def _assign(address: Address, data: dict[str, Any]) -> None:
    for field in ADDRESS_FIELDS:
        if field in data:
            value = data[field]
            value = "" if value is None else str(value).strip()
            if field == "country":
                value = normalize_country(value)
            setattr(address, field, value)


@transaction.atomic
def address_create(*, user: User, is_default: bool = False, **data: Any) -> Address:
    """Add an address; the first one, or one asked to be, becomes the default."""
    _lock_user(user)
    has_default = Address.objects.filter(user=user, is_default=True).exists()
    address = Address(user=user)
    _assign(address, data)
    address.is_default = is_default or not has_default
    address.full_clean(exclude=["user"], validate_constraints=False)
    if address.is_default and has_default:
        Address.objects.filter(user=user, is_default=True).update(is_default=False)
    address.save()
    return address


@transaction.atomic
def address_update(*, address: Address, is_default: bool | None = None, **data: Any) -> Address:
    """Change some fields; `is_default=True` moves the default here from another address."""
    _lock_user(address.user)
    address = Address.objects.get(pk=address.pk)  # re-read under the lock
    _assign(address, data)
    if is_default is not None:
        address.is_default = is_default
    address.full_clean(exclude=["user"], validate_constraints=False)
    if address.is_default:
        Address.objects.filter(user_id=address.user_id, is_default=True).exclude(
            pk=address.pk
        ).update(is_default=False)
    address.save()
    return address


@transaction.atomic
def address_delete(*, address: Address) -> None:
    """Delete an address; when it was the default, the newest remaining one takes over."""
    _lock_user(address.user)
    was_default = Address.objects.filter(pk=address.pk, is_default=True).exists()
    Address.objects.filter(pk=address.pk).delete()
    if was_default:
        successor = (
            Address.objects.filter(user_id=address.user_id).order_by("-created_at", "-id").first()
        )
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])
