"""Bad input to Django's admin is a page or a 4xx, never a 500 (shop.core.admin)."""

import pytest

from accounts.tests.factories import UserFactory
from catalog.models import Variant
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("view", ["change", "delete"])
def test_an_empty_to_field_means_the_primary_key(admin_client, view):
    product = ProductFactory()

    response = admin_client.get(f"/admin/catalog/product/{product.pk}/{view}/?_to_field=")

    assert response.status_code == 200
    assert product.name in response.content.decode()


def test_a_to_field_that_is_not_allowed_is_still_a_400(admin_client):
    product = ProductFactory()

    response = admin_client.get(f"/admin/catalog/product/{product.pk}/change/?_to_field=name")

    assert response.status_code == 400


@pytest.mark.parametrize("value", [" ", "abc", "99999999999999999999999", "\x00"])
def test_an_autocomplete_field_with_a_value_no_key_can_be_is_a_form_error(admin_client, value):
    response = admin_client.post(
        "/admin/catalog/variant/add/", {"product": value, "sku": "X-1", "name": "X"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["product"]
    assert not Variant.objects.filter(sku="X-1").exists()


def test_an_autocomplete_field_keeps_a_valid_choice_when_the_form_is_shown_again(admin_client):
    product = ProductFactory(name="Steel kettle")

    response = admin_client.post("/admin/catalog/variant/add/", {"product": product.pk})

    assert response.status_code == 200
    assert "Steel kettle" in response.content.decode()
