"""The log-in failure limit: per account and client address, with ceilings per account and
per address; look-alike spellings of an email count on the one account they log in to."""

from datetime import UTC, datetime
from functools import partial

import pytest
from django.test import RequestFactory

from accounts import services
from accounts.errors import InvalidCredentials
from accounts.forms import PasswordChangeForm
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from shop.core.errors import ThrottledError
from shop.core.testing import run_together

pytestmark = pytest.mark.django_db

ATTACKER = "198.51.100.66"
VICTIM = "203.0.113.10"


def _from(address: str):
    return RequestFactory().post("/accounts/login/", REMOTE_ADDR=address)


def _login(email: str, password: str, address: str = ATTACKER):
    return services.user_authenticate(email=email, password=password, request=_from(address))


def _fail(email: str, times: int, address: str = ATTACKER) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            _login(email, "guess", address)


# --- the basic limit ---------------------------------------------------------------------------


def test_user_authenticate_accepts_the_email_in_any_case():
    user = UserFactory(email="case@example.com")
    assert _login("CASE@example.com", DEFAULT_PASSWORD) == user


def test_user_authenticate_refuses_a_wrong_password_and_an_inactive_user():
    UserFactory(email="a@example.com")
    UserFactory(email="gone@example.com", is_active=False)

    with pytest.raises(InvalidCredentials):
        _login("a@example.com", "wrong")
    with pytest.raises(InvalidCredentials):
        _login("gone@example.com", DEFAULT_PASSWORD)


def test_failures_past_the_limit_are_refused_even_with_the_right_password(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    UserFactory(email="victim@example.com")
    _fail("Victim@example.com", 3)

    with pytest.raises(ThrottledError) as exc:
        _login("victim@example.com", DEFAULT_PASSWORD)

    assert 0 < exc.value.retry_after <= settings.LOGIN_FAILURE_WINDOW
    # Refused attempts are not failures: the count stays where the limit stopped it.
    assert services.login_failure_count(email="victim@example.com", address=ATTACKER) == 3


def test_failures_are_counted_per_account(settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    other = UserFactory(email="other@example.com")
    _fail("victim@example.com", 2)

    assert _login("other@example.com", DEFAULT_PASSWORD) == other


def test_successes_do_not_count_towards_the_limit(settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    user = UserFactory(email="me@example.com")
    for _ in range(5):
        _login("me@example.com", DEFAULT_PASSWORD)
    assert services.login_failure_count(email="me@example.com", address=ATTACKER) == 0
    _fail("me@example.com", 1)
    assert _login("me@example.com", DEFAULT_PASSWORD) == user


def test_attempts_are_allowed_again_when_the_window_passes(settings, time_machine):
    settings.LOGIN_FAILURE_LIMIT = 1
    window = settings.LOGIN_FAILURE_WINDOW
    # Our clock moves; Redis's does not, so its TTLs cannot end the window here: the
    # window must be judged by the clock Retry-After is computed from.
    time_machine.move_to(datetime(2025, 3, 1, 12, 0, tzinfo=UTC), tick=False)
    user = UserFactory(email="me@example.com")
    _fail("me@example.com", 1)
    with pytest.raises(ThrottledError) as exc:
        _login("me@example.com", DEFAULT_PASSWORD)
    assert exc.value.retry_after == window

    time_machine.shift(window - 1)
    with pytest.raises(ThrottledError) as exc:
        _login("me@example.com", DEFAULT_PASSWORD)
    assert exc.value.retry_after == 1

    time_machine.shift(1)

    assert _login("me@example.com", DEFAULT_PASSWORD) == user
    # The next failure opens a new window of its own, counted from one.
    assert services.login_failure_count(email="me@example.com", address=ATTACKER) == 0
    _fail("me@example.com", 1)
    assert services.login_failure_count(email="me@example.com", address=ATTACKER) == 1
    with pytest.raises(ThrottledError) as exc:
        _login("me@example.com", DEFAULT_PASSWORD)
    assert exc.value.retry_after == window


def test_concurrent_failures_are_all_counted():
    # Each thread has its own Redis connection; add()+incr() must not lose an increment.
    # (run_together also closes each thread's database connection: the account look-up.)
    record = partial(services.login_failure_record, email="x@example.com", address=ATTACKER)
    assert sorted(run_together([record] * 20)) == list(range(1, 21))
    assert services.login_failure_count(email="X@EXAMPLE.COM", address=ATTACKER) == 20


# --- look-alike spellings count on the one account ----------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "SHOPPER@example.com",
        "\u017fhopper@example.com",  # long s: PostgreSQL's UPPER makes it S
        "\uff53hopper@example.com",  # fullwidth s
        "shopper@\uff45xample.com",  # fullwidth e in the domain
        "shopper@EXAMPLE.COM",
        " shopper@example.com ",
    ],
    ids=["upper", "long-s", "fullwidth-local", "fullwidth-domain", "domain-case", "spaces"],
)
def test_look_alike_spellings_count_on_the_account_they_log_in_to(settings, spelling):
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory(email="shopper@example.com")
    # Each spelling logs in as the one account (so it must count on it, too)...
    assert _login(spelling, DEFAULT_PASSWORD) == user
    # ...so failures spread over it and the plain spelling share one count.
    _fail(spelling, 2)
    _fail("shopper@example.com", 1)

    for email in (spelling, "shopper@example.com"):
        with pytest.raises(ThrottledError):
            _login(email, DEFAULT_PASSWORD)


def test_spellings_of_an_email_with_no_account_share_one_count(settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    _fail("\uff4eobody@example.com", 1)  # fullwidth n
    _fail("NOBODY@example.com", 1)
    with pytest.raises(ThrottledError):
        _login("nobody@example.com", "x")


def test_an_account_key_is_the_user_not_the_spelling():
    user = UserFactory(email="shopper@example.com")
    keys = {
        services.login_account_key(e)
        for e in ("shopper@example.com", "\u017fhopper@Example.com", "\uff53hopper@example.com")
    }
    assert keys == {f"user:{user.pk}"}


# --- nobody can lock a victim out by email alone -------------------------------------------------


def test_an_attackers_failures_do_not_lock_the_owner_out_from_another_address(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory(email="victim@example.com")
    _fail("victim@example.com", 3, ATTACKER)
    with pytest.raises(ThrottledError):
        _login("victim@example.com", DEFAULT_PASSWORD, ATTACKER)

    assert _login("victim@example.com", DEFAULT_PASSWORD, VICTIM) == user


def test_past_the_account_ceiling_only_addresses_that_failed_are_refused(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_ACCOUNT_LIMIT = 6
    user = UserFactory(email="victim@example.com")
    # Six addresses, one failure each: under the per-address limit, at the account ceiling.
    botnet = [f"198.51.100.{n}" for n in range(1, 7)]
    for address in botnet:
        _fail("victim@example.com", 1, address)

    # Each of them is now refused, after only one guess...
    for address in botnet:
        with pytest.raises(ThrottledError):
            _login("victim@example.com", DEFAULT_PASSWORD, address)
    # ...a fresh address gets one guess, then is refused too...
    _fail("victim@example.com", 1, "198.51.100.99")
    with pytest.raises(ThrottledError):
        _login("victim@example.com", "guess", "198.51.100.99")
    # ...and the owner, from an address that has not failed, logs in.
    assert _login("victim@example.com", DEFAULT_PASSWORD, VICTIM) == user


def test_past_the_address_ceiling_that_address_is_refused_for_every_account(settings):
    settings.LOGIN_FAILURE_LIMIT = 10
    settings.LOGIN_FAILURE_ADDRESS_LIMIT = 4
    user = UserFactory(email="someone@example.com")
    for n in range(4):  # one failure on each of four accounts: a spray
        _fail(f"target{n}@example.com", 1, ATTACKER)

    with pytest.raises(ThrottledError):
        _login("someone@example.com", DEFAULT_PASSWORD, ATTACKER)
    assert _login("someone@example.com", DEFAULT_PASSWORD, VICTIM) == user


def test_the_ceilings_default_to_a_hundred():
    from django.conf import settings

    assert settings.LOGIN_FAILURE_LIMIT == 10
    assert settings.LOGIN_FAILURE_ACCOUNT_LIMIT == 100
    assert settings.LOGIN_FAILURE_ADDRESS_LIMIT == 100


# --- the old password on the change form is a guess like any other -----------------------------


def test_password_change_form_counts_and_limits_old_password_guesses(settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    user = UserFactory(email="me@example.com")
    data = {"new_password1": "plum-orbit-velvet-42", "new_password2": "plum-orbit-velvet-42"}
    for _ in range(2):
        form = PasswordChangeForm(user, {**data, "old_password": "guess"}, request=_from(ATTACKER))
        assert not form.is_valid()

    form = PasswordChangeForm(
        user, {**data, "old_password": DEFAULT_PASSWORD}, request=_from(ATTACKER)
    )
    assert not form.is_valid()
    assert "Too many failed log-in attempts" in str(form.errors["old_password"])
    # The same count as a log-in: the API and the log-in page refuse that address too.
    with pytest.raises(ThrottledError):
        _login("me@example.com", DEFAULT_PASSWORD, ATTACKER)
