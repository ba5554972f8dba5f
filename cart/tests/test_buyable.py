"""A suspended merchant's products cannot be bought (issue 9, item 3): hidden from the
catalog and, through the one definition of "buyable", refused by every cart path."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError

from cart import selectors, services
from cart.tests.factories import CartLineFactory
from catalog.models import Merchant
from catalog.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

UNAVAILABLE = "This product variant is not available."


@pytest.fixture
def suspended():
    """A variant whose product and variant are active but whose merchant is suspended."""
    variant = VariantFactory(stock=5)
    Merchant.objects.filter(pk=variant.product.merchant_id).update(is_active=False)
    return variant


def test_cart_add_refuses_it(user, suspended):
    with pytest.raises(ValidationError, match=UNAVAILABLE):
        services.cart_add_item(user=user, variant_id=suspended.pk, quantity=1)


def test_session_cart_add_and_update_refuse_it(suspended):
    session = SessionStore()
    with pytest.raises(ValidationError, match=UNAVAILABLE):
        services.session_cart_add_item(session=session, variant_id=suspended.pk, quantity=1)
    session[services.SESSION_KEY] = {str(suspended.pk): 1}  # added before the suspension
    with pytest.raises(ValidationError, match=UNAVAILABLE):
        services.session_cart_line_update(session=session, variant_id=suspended.pk, quantity=2)


def test_cart_line_update_refuses_it(user, suspended):
    line = CartLineFactory(cart__user=user, variant=suspended, quantity=1)
    with pytest.raises(ValidationError, match=UNAVAILABLE):
        services.cart_line_update(user=user, line_id=line.pk, quantity=2)


def test_merge_drops_it(user, suspended):
    kept = VariantFactory(stock=5)
    services.cart_merge_session(user=user, session_lines={str(suspended.pk): 1, str(kept.pk): 1})
    assert [line.variant.pk for line in selectors.cart_get_for_user(user=user).lines] == [kept.pk]


def test_the_cart_shows_it_as_unavailable_with_no_product_link(user, suspended):
    CartLineFactory(cart__user=user, variant=suspended)
    (line,) = selectors.cart_get_for_user(user=user).lines
    assert not line.buyable
    assert selectors.variant_product_url(variant_id=suspended.pk) is None


def test_the_cart_api_refuses_it(auth_client, suspended):
    response = auth_client.post(
        "/api/v1/cart/lines/", {"variant": suspended.pk, "quantity": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"variant": [UNAVAILABLE]}
