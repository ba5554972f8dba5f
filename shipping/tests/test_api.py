from decimal import Decimal

import pytest
from django.urls import reverse

from shipping.tests.factories import ShippingMethodFactory

pytestmark = pytest.mark.django_db
URL = reverse("api-shipping-method-list")


def test_lists_methods_for_a_country_as_a_plain_array(auth_client):
    us = ShippingMethodFactory(
        name="US Post", countries=["US"], price_amount=Decimal("3.5"), estimated_days=4
    )
    anywhere = ShippingMethodFactory(name="World", price_amount=Decimal("12.00"))
    ShippingMethodFactory(countries=["DE"])
    ShippingMethodFactory(is_active=False)

    response = auth_client.get(URL, {"country": "us"})

    assert response.status_code == 200
    assert response.json() == [
        {"id": us.pk, "name": "US Post", "price": "3.50", "currency": "USD", "estimated_days": 4},
        {
            "id": anywhere.pk,
            "name": "World",
            "price": "12.00",
            "currency": "USD",
            "estimated_days": 3,
        },
    ]


def test_without_country_lists_every_active_method(auth_client):
    methods = [ShippingMethodFactory(countries=["DE"]), ShippingMethodFactory(countries=["US"])]
    ShippingMethodFactory(is_active=False)
    ids = [row["id"] for row in auth_client.get(URL).json()]
    assert sorted(ids) == sorted(m.pk for m in methods)


@pytest.mark.parametrize("country", ["XX", "usa", "1", ""])
def test_a_bad_country_is_a_400(auth_client, country):
    response = auth_client.get(URL, {"country": country})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "country" in response.json()["fields"]


def test_needs_authentication(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_query_count_does_not_grow_with_methods(auth_client, django_assert_num_queries):
    # One query loads the token's user, one lists the methods.
    ShippingMethodFactory.create_batch(2)
    with django_assert_num_queries(2):
        assert len(auth_client.get(URL).json()) == 2
    ShippingMethodFactory.create_batch(6)
    with django_assert_num_queries(2):
        assert len(auth_client.get(URL).json()) == 8
