import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from shipping.models import ShippingMethod

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _post(client, countries):
    return client.post(
        reverse("admin:shipping_shippingmethod_add"),
        {
            "name": "Europe Express",
            "price_amount": "7.50",
            "currency": "EUR",
            "countries": countries,
            "estimated_days": "2",
            "is_active": "on",
            "position": "0",
        },
    )


def test_countries_are_normalized_and_deduplicated(superuser_client):
    response = _post(superuser_client, "de, fr,DE")
    assert response.status_code == 302
    assert ShippingMethod.objects.get().countries == ["DE", "FR"]


def test_unknown_countries_are_refused(superuser_client):
    response = _post(superuser_client, "DE,XX")
    assert response.status_code == 200
    assert "XX" in str(response.context["adminform"].form.errors["countries"])
    assert not ShippingMethod.objects.exists()


def test_changelist_shows_where_methods_ship(superuser_client):
    ShippingMethod.objects.create(name="World", price_amount="9.00", countries=[])
    content = superuser_client.get(reverse("admin:shipping_shippingmethod_changelist")).content
    assert b"every country" in content


def test_staff_without_permissions_cannot_open_it(client):
    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("admin:shipping_shippingmethod_changelist"))
    assert response.status_code == 403
