import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from accounts.models import Address, User
from accounts.tests.factories import DEFAULT_PASSWORD, AddressFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root@example.com", "x"))
    return client


def test_admin_adds_a_user_by_email(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "staff@example.com",
            "name": "Staff",
            "usable_password": "true",
            "password1": "plum-orbit-velvet-42",
            "password2": "plum-orbit-velvet-42",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="staff@example.com")
    assert user.check_password("plum-orbit-velvet-42")


def test_admin_add_refuses_an_email_taken_in_another_case(admin_client):
    UserFactory(email="taken@example.com")
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "TAKEN@example.com",
            "usable_password": "true",
            "password1": "plum-orbit-velvet-42",
            "password2": "plum-orbit-velvet-42",
        },
    )
    assert response.status_code == 200
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_admin_user_pages_render(admin_client):
    user = UserFactory()
    AddressFactory(user=user)
    assert admin_client.get("/admin/accounts/user/").status_code == 200
    assert admin_client.get("/admin/accounts/user/?q=example").status_code == 200
    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert page.status_code == 200
    assert user.email in page.content.decode()


def test_admin_address_can_take_the_default_from_another(admin_client):
    user = UserFactory()
    first = AddressFactory(user=user, is_default=True)
    second = AddressFactory(user=user, country="FR")

    response = admin_client.post(
        f"/admin/accounts/address/{second.pk}/change/",
        {
            "user": user.pk,
            "full_name": second.full_name,
            "line1": second.line1,
            "line2": "",
            "city": second.city,
            "postal_code": second.postal_code,
            "country": "FR",
            "phone": "",
            "is_default": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    first.refresh_from_db()
    assert not first.is_default
    assert Address.objects.get(user=user, is_default=True) == second


def test_admin_address_refuses_a_bad_country(admin_client):
    address = AddressFactory(country="US")
    response = admin_client.post(
        f"/admin/accounts/address/{address.pk}/change/",
        {
            "user": address.user_id,
            "full_name": "X",
            "line1": "Y",
            "city": "Z",
            "postal_code": "1",
            "country": "XX",
        },
    )
    assert response.status_code == 200
    assert "country" in response.context["adminform"].form.errors
    address.refresh_from_db()
    assert address.country == "US"


# --- the admin log-in goes through the one failure limit ------------------------------------

ADMIN_LOGIN = "/admin/login/?next=/admin/"


def _admin_login(client, email, password, address="198.51.100.66"):
    return client.post(ADMIN_LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def staff():
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


def test_admin_log_in_works(client, staff):
    response = _admin_login(client, "staff@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(staff.pk)


def test_after_the_api_locks_an_email_the_admin_refuses_it_too(client, api_client, settings, staff):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        api_client.post(
            "/api/v1/auth/token/",
            {"email": "staff@example.com", "password": "guess"},
            format="json",
            REMOTE_ADDR="198.51.100.66",
        )

    response = _admin_login(client, "staff@example.com", DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert "Too many failed log-in attempts" in response.content.decode()


def test_admin_guesses_count_for_every_other_door(client, api_client, settings, staff):
    settings.LOGIN_FAILURE_LIMIT = 3
    statuses = [
        _admin_login(client, "Staff@example.com", f"guess{n}").status_code for n in range(5)
    ]
    assert statuses == [200] * 5
    assert SESSION_KEY not in client.session

    api = api_client.post(
        "/api/v1/auth/token/",
        {"email": "staff@example.com", "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="198.51.100.66",
    )
    assert api.status_code == 429
    page = Client().post(
        "/accounts/login/",
        {"email": "staff@example.com", "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="198.51.100.66",
    )
    assert "Too many failed log-in attempts" in page.content.decode()


def test_the_admin_still_lets_staff_in_from_an_address_that_has_not_failed(client, settings, staff):
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        _admin_login(Client(), "staff@example.com", "guess", address="198.51.100.66")

    response = _admin_login(client, "staff@example.com", DEFAULT_PASSWORD, address="203.0.113.5")
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(staff.pk)


def test_a_shopper_with_the_right_password_is_not_let_into_the_admin(client):
    UserFactory(email="shopper@example.com")
    response = _admin_login(client, "shopper@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_any_authenticate_call_is_limited_too(settings, staff):
    # The only authentication backend calls the limiter: a door added later (here the test
    # client's login(), which calls authenticate()) cannot skip it.
    from django.conf import settings as live

    assert live.AUTHENTICATION_BACKENDS == ["accounts.backends.LimitedModelBackend"]
    settings.LOGIN_FAILURE_LIMIT = 2
    browser = Client()
    assert not browser.login(username="staff@example.com", password="guess")
    assert not browser.login(email="staff@example.com", password="guess")
    assert not browser.login(username="staff@example.com", password=DEFAULT_PASSWORD)
    assert SESSION_KEY not in browser.session
