"""JWTs can be ended: refresh tokens rotate and are used up, a log-out revokes a token and
every token rotated from it, and a changed password ends every earlier token."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import TokenFamily, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from shop.core.testing import run_together

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
REVOKE = "/api/v1/auth/token/revoke/"
ME = "/api/v1/me/"
STRONG = "plum-orbit-velvet-42"


def _pair(email="me@example.com", password=DEFAULT_PASSWORD):
    response = APIClient().post(TOKEN, {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _refresh(refresh):
    return APIClient().post(REFRESH, {"refresh": refresh}, format="json")


def _me(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME)


@pytest.fixture
def me():
    return UserFactory(email="me@example.com")


def test_revoke_url_is_where_the_contract_says():
    from django.urls import reverse

    assert reverse("api-auth-token-revoke") == REVOKE


# --- rotation -------------------------------------------------------------------------------------


def test_a_refresh_rotates_the_refresh_token_and_uses_up_the_old_one(me):
    pair = _pair()

    first = _refresh(pair["refresh"])
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != pair["refresh"]
    assert _me(body["access"]).status_code == 200

    # The used one is blacklisted (simplejwt's record) and answers 401...
    assert BlacklistedToken.objects.filter(
        token__jti=RefreshToken(pair["refresh"], verify=False)["jti"]
    ).exists()
    again = _refresh(pair["refresh"])
    assert again.status_code == 401
    assert again.json()["code"] == "not_authenticated"
    assert again["WWW-Authenticate"].startswith("Bearer")


def test_a_used_up_refresh_token_coming_back_revokes_the_newer_ones(me):
    # A thief replays the copy they took after the owner refreshed (or the other way
    # round): nobody can tell who is who, so the whole chain ends.
    pair = _pair()
    newer = _refresh(pair["refresh"]).json()["refresh"]

    assert _refresh(pair["refresh"]).status_code == 401

    assert _refresh(newer).status_code == 401
    assert TokenFamily.objects.get().revoked_at is not None


def test_two_refreshes_racing_with_one_token_get_one_new_token(me, transactional_db):
    pair = _pair()
    results = run_together([lambda: _refresh(pair["refresh"]).status_code] * 2)
    assert sorted(results) == [200, 401]


def test_each_log_in_is_its_own_chain(me):
    phone, laptop = _pair(), _pair()
    assert APIClient().post(REVOKE, {"refresh": phone["refresh"]}, format="json").status_code == 204
    assert _refresh(phone["refresh"]).status_code == 401
    assert _refresh(laptop["refresh"]).status_code == 200


def test_a_refresh_token_not_issued_by_log_in_does_not_refresh(me):
    # Without a family there is nothing that could revoke it: refused.
    assert _refresh(str(RefreshToken.for_user(me))).status_code == 401


# --- revoke (log-out) -----------------------------------------------------------------------------


def test_revoke_answers_204_and_that_token_then_answers_401(me):
    pair = _pair()
    response = APIClient().post(REVOKE, {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 204
    assert response.content == b""
    answer = _refresh(pair["refresh"])
    assert answer.status_code == 401
    assert answer.json()["code"] == "not_authenticated"


def test_revoking_an_older_token_ends_every_token_rotated_from_it(me):
    pair = _pair()
    second = _refresh(pair["refresh"]).json()["refresh"]
    third = _refresh(second).json()["refresh"]

    assert APIClient().post(REVOKE, {"refresh": pair["refresh"]}, format="json").status_code == 204

    assert _refresh(third).status_code == 401


def test_revoking_twice_is_fine(me):
    pair = _pair()
    for _ in range(2):
        response = APIClient().post(REVOKE, {"refresh": pair["refresh"]}, format="json")
        assert response.status_code == 204


def test_revoke_with_a_bad_token_is_401_and_without_one_400(me):
    bad = APIClient().post(REVOKE, {"refresh": "not.a.token"}, format="json")
    assert bad.status_code == 401
    assert bad.json()["code"] == "not_authenticated"
    access = _pair()["access"]
    assert APIClient().post(REVOKE, {"refresh": access}, format="json").status_code == 401
    missing = APIClient().post(REVOKE, {}, format="json")
    assert missing.status_code == 400
    assert missing.json()["fields"] == {"refresh": ["This field is required."]}


# --- a changed password ends every earlier token, whichever way it changed -----------------------


def _change_on_the_page(user):
    from django.test import Client

    browser = Client()
    browser.force_login(user)
    response = browser.post(
        "/accounts/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password1": STRONG, "new_password2": STRONG},
    )
    assert response.status_code == 302


def _reset_by_mail(user):
    from django.test import Client

    browser = Client()
    browser.post("/accounts/password/reset/", {"email": user.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", mail.outbox[-1].body)
    form_url = browser.get(link.group(1))["Location"]
    response = browser.post(form_url, {"new_password1": STRONG, "new_password2": STRONG})
    assert response.status_code == 302


def _change_in_the_admin(user):
    from django.test import Client

    admin = Client()
    admin.force_login(User.objects.create_superuser("root@example.com", "x"))
    response = admin.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"usable_password": "true", "password1": STRONG, "password2": STRONG},
    )
    assert response.status_code == 302, response.context["form"].errors


def _change_in_code(user):
    user.set_password(STRONG)
    user.save()


def _form_in_code(user):
    form = AdminPasswordChangeForm(user, {"password1": STRONG, "password2": STRONG})
    assert form.is_valid(), form.errors
    form.save()


@pytest.mark.parametrize(
    "change",
    [_change_on_the_page, _reset_by_mail, _change_in_the_admin, _change_in_code, _form_in_code],
    ids=["change-page", "reset-mail", "admin", "set_password", "admin-form"],
)
def test_a_changed_password_ends_every_earlier_token(me, change):
    before = [_pair(), _pair()]
    rotated = _refresh(before[1]["refresh"]).json()

    change(me)

    for pair in [*before, rotated]:
        assert _refresh(pair["refresh"]).status_code == 401
        # Access tokens too: the user row is read on every request anyway.
        answer = _me(pair["access"])
        assert answer.status_code == 401
        assert answer.json()["code"] == "not_authenticated"
    # A new log-in with the new password works.
    after = _pair(password=STRONG)
    assert _me(after["access"]).status_code == 200
    assert _refresh(after["refresh"]).status_code == 200


def test_a_deactivated_user_cannot_refresh(me):
    pair = _pair()
    me.is_active = False
    me.save()
    assert _refresh(pair["refresh"]).status_code == 401


# --- housekeeping ---------------------------------------------------------------------------------


def test_expired_token_records_are_flushed(me, time_machine, settings):
    time_machine.move_to(datetime(2025, 3, 1, 12, 0, tzinfo=UTC), tick=False)
    pair = _pair()
    _refresh(pair["refresh"])
    assert OutstandingToken.objects.count() == 2
    assert TokenFamily.objects.count() == 1

    time_machine.shift(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds() - 60)
    assert services.tokens_flush_expired() == 0
    time_machine.shift(120)

    from accounts.tasks import tokens_flush_expired_task

    assert tokens_flush_expired_task() >= 3
    assert not OutstandingToken.objects.exists()
    assert not TokenFamily.objects.exists()
    assert not BlacklistedToken.objects.exists()


def test_a_refresh_locks_its_family_row_not_the_user_row(me):
    # Every API request reads the user row; a refresh must not make them wait.
    pair = _pair()
    with CaptureQueriesContext(connection) as queries:
        assert _refresh(pair["refresh"]).status_code == 200
    locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert len(locking) == 1
    assert 'FOR UPDATE OF "accounts_tokenfamily"' in locking[0]
