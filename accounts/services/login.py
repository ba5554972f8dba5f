"""Log-in and its failure limit: one limiter for every way in.

The log-in page, the API token endpoint, the admin log-in (its form calls
`user_authenticate`) and anything else that calls Django's `authenticate()` (the only
authentication backend, accounts.backends, calls it too) all count failures here, so a
guesser gains nothing by switching doors; so does the password change form's old password.

What a failure counts against, and what is refused (all in one LOGIN_FAILURE_WINDOW):

- the account: the user the email logs in to, whatever spelling of it was typed (case,
  the long s, fullwidth letters: the lookup log-in itself uses), else the email's canonical form;
- the client address (shop.core.clientip: the socket's, or the one the trusted proxies
  saw; an IPv6 client's /64).

1. LOGIN_FAILURE_LIMIT failures on one account from one address: that address is refused
   for that account. This is the limit a guesser meets, and API.md's "10 per email".
2. LOGIN_FAILURE_ACCOUNT_LIMIT failures on one account from all addresses: from then on
   only addresses that have failed on it are refused, each new address gets one guess. A
   guesser with many addresses is slowed down; the owner, typing the right password from an
   address that has not failed, still gets in: nobody can lock a victim out by email alone.
3. LOGIN_FAILURE_ADDRESS_LIMIT failures from one address on all accounts: that address is
   refused for every account (one address spraying many accounts).

Successes do not count and do not clear anything: a guesser who is refused stays refused
until the window passes, whoever logs in meanwhile.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.errors import InvalidCredentials
from accounts.models import User, email_canonical
from accounts.services.limits import WindowCounter, digest, window_states
from shop.core.clientip import client_limit_key
from shop.core.errors import ThrottledError

# The path log-ins are recorded under in the session (settings.AUTHENTICATION_BACKENDS).
BACKEND = "accounts.backends.LimitedModelBackend"
# The address of a call with no request (the shell, a task): one address of its own.
NO_REQUEST = "local"


def login_account_key(email: str) -> str:
    """What a log-in attempt with `email` counts against: the account it would log in to,
    else the email's canonical form (NFKC, case-folded)."""
    user_id = User.objects.id_for_email(email or "")
    if user_id is not None:
        return f"user:{user_id}"
    return f"email:{email_canonical(email)}"


def login_address(request: HttpRequest | None) -> str:
    """The client address a log-in attempt counts against."""
    return client_limit_key(request) if request is not None else NO_REQUEST


def _counters(account: str, address: str) -> list[WindowCounter]:
    window = settings.LOGIN_FAILURE_WINDOW
    account, address = digest(account), digest(address)
    return [
        WindowCounter(f"login-failures:pair:{account}:{address}", window=window),
        WindowCounter(f"login-failures:account:{account}", window=window),
        WindowCounter(f"login-failures:address:{address}", window=window),
    ]


def _check(account: str, address: str) -> None:
    pair, on_account, from_address = window_states(_counters(account, address), time.time())
    waits = []
    if pair.count >= settings.LOGIN_FAILURE_LIMIT:
        waits.append(pair.retry_after)
    if on_account.count >= settings.LOGIN_FAILURE_ACCOUNT_LIMIT and pair.count > 0:
        waits.append(on_account.retry_after)
    if from_address.count >= settings.LOGIN_FAILURE_ADDRESS_LIMIT:
        waits.append(from_address.retry_after)
    if waits:
        retry_after = max(waits)
        raise ThrottledError(
            _("Too many failed log-in attempts. Try again in %(minutes)d minutes.")
            % {"minutes": math.ceil(retry_after / 60)},
            retry_after=retry_after,
        )


def _record(account: str, address: str) -> int:
    pair, *ceilings = _counters(account, address)
    for counter in ceilings:
        counter.hit()
    return pair.hit().count


def login_failure_count(*, email: str, address: str) -> int:
    """Failures counted for this email's account from `address` in the open window."""
    (pair,) = window_states(_counters(login_account_key(email), address)[:1], time.time())
    return pair.count


def login_failure_record(*, email: str, address: str) -> int:
    """Count one failed log-in; returns the count for (account, address) in the window."""
    return _record(login_account_key(email), address)


def login_failure_check(*, email: str, address: str) -> None:
    """ThrottledError (with Retry-After) when this attempt must be refused unheard."""
    _check(login_account_key(email), address)


def user_authenticate(*, email: str, password: str, request: HttpRequest | None) -> User:
    """The user with these credentials, or InvalidCredentials; ThrottledError past a limit.
    The returned user carries `backend`, ready for `django.contrib.auth.login`."""
    email = (email or "").strip()
    account, address = login_account_key(email), login_address(request)
    _check(account, address)
    user = None
    if email and password:
        # The backend's own check (it hashes even for an unknown email, so both take as
        # long); not authenticate(), which would call our backend, which calls us.
        user = ModelBackend().authenticate(request, username=email, password=password)
    if not isinstance(user, User):
        _record(account, address)
        raise InvalidCredentials()
    # What authenticate() would have set, so login() records the backend in the session.
    setattr(user, "backend", BACKEND)  # noqa: B010 (not a field of User)
    return user


def user_password_verify(*, user: User, password: str, request: HttpRequest | None) -> bool:
    """Whether `password` is the user's, for a form that asks for it again (changing the
    password): a guess like any log-in, limited and counted the same way."""
    account, address = f"user:{user.pk}", login_address(request)
    _check(account, address)
    if user.check_password(password):
        return True
    _record(account, address)
    return False
