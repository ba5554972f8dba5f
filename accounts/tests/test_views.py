import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "plum-orbit-velvet-42"


def test_register_page_has_labelled_fields_and_a_register_button(client):
    response = client.get("/accounts/register/")

    assert response.status_code == 200
    html = response.content.decode()
    for field in ("email", "name", "password"):
        assert f'<label for="id_{field}"' in html
    assert re.search(r"<button[^>]*>\s*Register\s*</button>", html)
    assert 'name="csrfmiddlewaretoken"' in html
    assert "X-Page-Cache" not in response  # never stored for anonymous visitors


def test_register_page_creates_the_user_and_says_to_check_the_mail(client):
    response = client.post(
        "/accounts/register/", {"email": "new@example.com", "name": "New", "password": STRONG}
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/register/done/"
    user = User.objects.get(email="new@example.com")
    assert user.name == "New" and user.check_password(STRONG)
    # Not logged in: that would tell a new email from a taken one (test_registration.py).
    assert SESSION_KEY not in client.session
    assert [m.to for m in mail.outbox] == [["new@example.com"]]


def test_register_page_shows_service_errors_on_the_fields(client):
    response = client.post(
        "/accounts/register/",
        {"email": "someone@example.com", "name": "someone", "password": "123"},
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert "password" in form.errors
    assert not User.objects.exists()
    assert SESSION_KEY not in client.session


def test_register_page_enforces_csrf():
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        "/accounts/register/", {"email": "new@example.com", "name": "", "password": STRONG}
    )
    assert response.status_code == 403
    assert not User.objects.exists()


def test_login_page_has_labelled_fields_and_a_log_in_button(client):
    html = client.get("/accounts/login/").content.decode()
    assert '<label for="id_email"' in html and '<label for="id_password"' in html
    assert re.search(r"<button[^>]*>\s*Log in\s*</button>", html)
    assert 'href="/accounts/password/reset/"' in html


def test_login_page_logs_in_and_follows_a_safe_next(client):
    user = UserFactory(email="me@example.com")

    response = client.post(
        "/accounts/login/?next=/cart/", {"email": "Me@example.com", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/cart/"
    assert client.session[SESSION_KEY] == str(user.pk)


def test_login_page_ignores_an_offsite_next(client):
    UserFactory(email="me@example.com")
    response = client.post(
        "/accounts/login/",
        {"email": "me@example.com", "password": DEFAULT_PASSWORD, "next": "https://evil.test/"},
    )
    assert response["Location"] == "/"


def test_login_page_wrong_password_is_a_form_error(client):
    UserFactory(email="me@example.com")

    response = client.post("/accounts/login/", {"email": "me@example.com", "password": "no"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert SESSION_KEY not in client.session


def test_login_page_refuses_after_the_failure_limit(client, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    UserFactory(email="me@example.com")
    for _ in range(2):
        client.post("/accounts/login/", {"email": "me@example.com", "password": "no"})

    response = client.post(
        "/accounts/login/", {"email": "me@example.com", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert "Too many failed log-in attempts" in errors[0]
    assert SESSION_KEY not in client.session
    assert "Too many failed log-in attempts" in response.content.decode()


def test_api_failures_count_for_the_login_page(client, api_client, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    UserFactory(email="me@example.com")
    for _ in range(2):
        api_client.post(
            "/api/v1/auth/token/", {"email": "me@example.com", "password": "x"}, format="json"
        )

    response = client.post(
        "/accounts/login/", {"email": "me@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_logout_is_post_only_and_ends_the_session(client):
    client.force_login(UserFactory())

    assert client.get("/accounts/logout/").status_code == 405
    assert SESSION_KEY in client.session

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_base_template_shows_log_out_when_logged_in(client):
    client.force_login(UserFactory())
    html = client.get("/accounts/password/change/").content.decode()
    assert re.search(r"<button[^>]*>\s*Log out\s*</button>", html)


def test_password_change_needs_login(client):
    response = client.get("/accounts/password/change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_password_change_changes_it_and_keeps_the_session(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": STRONG,
            "new_password2": STRONG,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/change/done/"
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert client.get("/accounts/password/change/done/").status_code == 200


def test_password_change_with_a_wrong_old_password_is_a_form_error(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": "nope", "new_password1": STRONG, "new_password2": STRONG},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    assert 'class="errorlist' in response.content.decode()


def test_password_reset_mails_a_link_that_sets_a_new_password(client):
    user = UserFactory(email="me@example.com")

    response = client.post("/accounts/password/reset/", {"email": "ME@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["me@example.com"]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", message.body).group(1)

    # Django swaps the token for a session marker and redirects to the set-password form.
    form_url = client.get(link)["Location"]
    page = client.get(form_url)
    assert page.status_code == 200
    assert '<label for="id_new_password1"' in page.content.decode()
    response = client.post(form_url, {"new_password1": STRONG, "new_password2": STRONG})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/done/"
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert client.get(link).status_code == 200  # a used link no longer works
    assert "invalid" in client.get(link).content.decode()


def test_password_reset_for_an_unknown_email_sends_nothing_but_looks_the_same(client):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_login_page_still_lets_the_owner_in_from_an_address_that_has_not_failed(client, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    UserFactory(email="me@example.com")
    for _ in range(2):
        client.post(
            "/accounts/login/", {"email": "me@example.com", "password": "x"}, REMOTE_ADDR="6.6.6.6"
        )

    refused = client.post(
        "/accounts/login/",
        {"email": "me@example.com", "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="6.6.6.6",
        HTTP_X_FORWARDED_FOR="203.0.113.10",  # ignored: no trusted proxy
    )
    assert SESSION_KEY not in client.session
    assert "Too many failed log-in attempts" in refused.content.decode()

    response = client.post(
        "/accounts/login/",
        {"email": "me@example.com", "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="203.0.113.10",
    )
    assert response.status_code == 302
    assert SESSION_KEY in client.session


# --- password reset: throttled per address, a few mails per account ------------------------


def _reset(client, email, address="203.0.113.7", **extra):
    return client.post("/accounts/password/reset/", {"email": email}, REMOTE_ADDR=address, **extra)


def test_password_reset_requests_are_throttled_per_client_address(client, settings):
    settings.REGISTER_RATE = "2/hour"
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(2):
        response = _reset(client, f"u{n}@example.com", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
        assert response.status_code == 302

    refused = _reset(client, "u9@example.com", HTTP_X_FORWARDED_FOR="10.0.0.9")
    assert refused.status_code == 200
    assert "Too many requests" in refused.content.decode()
    # The same answer whether the email has an account or not: it depends on the address.
    UserFactory(email="me@example.com")
    assert "Too many requests" in _reset(client, "me@example.com").content.decode()
    assert mail.outbox == []
    assert _reset(client, "me@example.com", address="198.51.100.9").status_code == 302
    assert len(mail.outbox) == 1


def test_password_reset_mails_to_one_account_are_capped(client, settings):
    settings.REGISTER_RATE = "100/hour"
    UserFactory(email="victim@example.com")
    for n in range(8):
        response = _reset(client, "victim@example.com", address=f"198.51.100.{n}")
        assert response.status_code == 302  # the answer never changes
    assert len(mail.outbox) == 5


def test_password_reset_finds_the_account_under_a_look_alike_spelling(client):
    UserFactory(email="shopper@example.com")
    _reset(client, "\u017fhopper@EXAMPLE.com")
    assert [m.to for m in mail.outbox] == [["shopper@example.com"]]
