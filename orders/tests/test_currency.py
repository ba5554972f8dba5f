"""Checkout never relabels a price (issue 9, item 2): prices stored in one currency are
not sold in another, whatever SHOP_CURRENCY says."""

import uuid
from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from cart.models import CartLine
from cart.services import cart_add_item
from catalog.tests.factories import VariantFactory
from orders.errors import CurrencyMismatch
from orders.models import Order
from orders.services import order_place
from orders.tests.factories import ADDRESS
from shipping.tests.factories import ShippingMethodFactory

pytestmark = pytest.mark.django_db


def test_a_setting_that_disagrees_with_the_stored_prices_sells_nothing(settings):
    """The audit: 5000 JPY charged as 5000 USD. Prices are USD in the database here."""
    user = UserFactory()
    variant = VariantFactory(price_amount=Decimal("5000.00"), stock=3)
    method = ShippingMethodFactory()
    cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    settings.SHOP_CURRENCY = "JPY"

    with pytest.raises(CurrencyMismatch):
        order_place(user=user, shipping_method_id=method.pk, address=ADDRESS)

    assert not Order.objects.exists()
    variant.refresh_from_db()
    assert variant.reserved == 0
    assert CartLine.objects.filter(cart__user=user).count() == 1


def test_the_api_answers_409_and_the_checkout_page_a_form_error(client, settings):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    user = UserFactory()
    variant = VariantFactory(stock=3)
    method = ShippingMethodFactory()
    cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    settings.SHOP_CURRENCY = "EUR"

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    response = api.post(
        "/api/v1/orders/",
        {"shipping_method": method.pk, "shipping_address": ADDRESS.as_dict()},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "currency_mismatch"

    client.force_login(user)
    session = client.session
    session["checkout_address"] = ADDRESS.as_dict()
    session.save()
    page = client.post(
        "/checkout/shipping/", {"shipping_method": method.pk, "idempotency_key": str(uuid.uuid4())}
    )
    assert page.status_code == 200
    assert "Checkout is closed" in page.content.decode()
    assert not Order.objects.exists()
