import pytest

from accounts.models import Address, User
from accounts.tests.factories import AddressFactory, UserFactory

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
