import pytest
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
STRONG = "plum-orbit-velvet-42"


def test_urls_are_where_the_contract_says():
    assert reverse("api-auth-register") == REGISTER
    assert reverse("api-auth-token") == TOKEN
    assert reverse("api-auth-token-refresh") == REFRESH


# --- register ------------------------------------------------------------------------------


def test_register_answers_201_with_the_user(api_client):
    response = api_client.post(
        REGISTER, {"email": "new@example.com", "password": STRONG, "name": "New"}, format="json"
    )

    assert response.status_code == 201
    user = User.objects.get()
    assert response.json() == {"id": user.pk, "email": "new@example.com", "name": "New"}
    assert user.check_password(STRONG)


def test_register_weak_password_is_400_with_field_errors(api_client):
    response = api_client.post(
        REGISTER, {"email": "new@example.com", "password": "123", "name": ""}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert isinstance(body["message"], str)
    assert list(body["fields"]) == ["password"]
    assert all(isinstance(m, str) for m in body["fields"]["password"])
    assert not User.objects.exists()


def test_register_taken_email_is_201_and_creates_nothing(api_client):
    # API.md: a taken email is not told apart from a new one (accounts/tests/test_registration.py).
    UserFactory(email="taken@example.com")

    response = api_client.post(
        REGISTER, {"email": "Taken@Example.com", "password": STRONG}, format="json"
    )

    assert response.status_code == 201
    assert set(response.json()) == {"id", "email", "name"}
    assert User.objects.count() == 1


def test_register_missing_fields_is_400_with_each_field(api_client):
    response = api_client.post(REGISTER, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"email", "password"}


def test_register_is_throttled_per_client_ip(api_client, settings):
    settings.REGISTER_RATE = "2/hour"
    for n in range(2):
        response = api_client.post(
            REGISTER,
            {"email": f"u{n}@example.com", "password": STRONG},
            format="json",
            REMOTE_ADDR="203.0.113.7",
        )
        assert response.status_code == 201

    response = api_client.post(
        REGISTER,
        {"email": "u3@example.com", "password": STRONG},
        format="json",
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 3600
    assert not User.objects.filter(email="u3@example.com").exists()

    other_ip = api_client.post(
        REGISTER,
        {"email": "u4@example.com", "password": STRONG},
        format="json",
        REMOTE_ADDR="198.51.100.9",
    )
    assert other_ip.status_code == 201


def test_register_works_with_a_session_and_no_csrf_token(client):
    """A browser session must not turn the public endpoint into a CSRF 403."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(UserFactory())
    response = browser.post(
        REGISTER,
        {"email": "new@example.com", "password": STRONG},
        content_type="application/json",
    )
    assert response.status_code == 201


# --- token -----------------------------------------------------------------------------------


def test_token_gives_a_working_pair(api_client):
    user = UserFactory(email="me@example.com")

    response = api_client.post(
        TOKEN, {"email": "ME@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert AccessToken(body["access"])["user_id"] in (user.pk, str(user.pk))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert api_client.get("/api/v1/me/").json()["email"] == "me@example.com"


def test_token_wrong_password_is_401_not_authenticated(api_client):
    UserFactory(email="me@example.com")

    response = api_client.post(TOKEN, {"email": "me@example.com", "password": "no"}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert set(response.json()) == {"code", "message"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_unknown_email_is_401_too(api_client):
    response = api_client.post(
        TOKEN, {"email": "nobody@example.com", "password": "x"}, format="json"
    )
    assert response.status_code == 401


def test_token_missing_fields_is_400(api_client):
    response = api_client.post(TOKEN, {"email": "me@example.com"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["password"]


def test_token_is_refused_with_retry_after_after_the_failure_limit(api_client, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    UserFactory(email="me@example.com")
    for _ in range(3):
        wrong = api_client.post(
            TOKEN, {"email": "me@example.com", "password": "guess"}, format="json"
        )
        assert wrong.status_code == 401

    response = api_client.post(
        TOKEN, {"email": "Me@Example.com", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert set(response.json()) == {"code", "message"}
    assert 0 < int(response["Retry-After"]) <= 15 * 60


def test_token_failure_limit_defaults_to_ten(api_client):
    UserFactory(email="me@example.com")
    statuses = [
        api_client.post(
            TOKEN, {"email": "me@example.com", "password": "x"}, format="json"
        ).status_code
        for _ in range(11)
    ]
    assert statuses == [401] * 10 + [429]


def test_token_successes_do_not_count(api_client, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    UserFactory(email="me@example.com")
    good = {"email": "me@example.com", "password": DEFAULT_PASSWORD}
    for _ in range(4):
        assert api_client.post(TOKEN, good, format="json").status_code == 200
    bad = {"email": "me@example.com", "password": "x"}
    assert api_client.post(TOKEN, bad, format="json").status_code == 401
    assert api_client.post(TOKEN, good, format="json").status_code == 200


def test_login_page_failures_count_for_the_api_too(client, api_client, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    UserFactory(email="me@example.com")
    for _ in range(2):
        client.post("/accounts/login/", {"email": "me@example.com", "password": "x"})

    response = api_client.post(
        TOKEN, {"email": "me@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 429


# --- refresh ---------------------------------------------------------------------------------


def test_refresh_gives_a_new_access_token(api_client):
    UserFactory(email="me@example.com")
    pair = api_client.post(
        TOKEN, {"email": "me@example.com", "password": DEFAULT_PASSWORD}, format="json"
    ).json()

    response = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}  # refresh tokens rotate
    access = response.json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api_client.get("/api/v1/me/").status_code == 200


def test_refresh_with_a_bad_token_is_401(api_client):
    response = api_client.post(REFRESH, {"refresh": "not.a.token"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert isinstance(response.json()["message"], str)


def test_refresh_does_not_accept_an_access_token(api_client):
    user = UserFactory()
    from rest_framework_simplejwt.tokens import RefreshToken

    access = str(RefreshToken.for_user(user).access_token)
    response = api_client.post(REFRESH, {"refresh": access}, format="json")
    assert response.status_code == 401


def test_refresh_missing_field_is_400(api_client):
    response = api_client.post(REFRESH, {}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"refresh": ["This field is required."]}
