from decimal import Decimal

import pytest

from cart import selectors
from cart.tests.factories import CartFactory, CartLineFactory
from catalog.tests.factories import VariantFactory
from shop.core.testing import shop_currency_switch

pytestmark = pytest.mark.django_db


def test_cart_for_user_has_todays_prices_totals_and_count(user, settings):
    shop_currency_switch(settings, "EUR")
    cart = CartFactory(user=user)
    first = CartLineFactory(cart=cart, variant__price_amount=Decimal("19.90"), quantity=3)
    second = CartLineFactory(cart=cart, variant__price_amount=Decimal("0.05"), quantity=1)
    CartLineFactory(quantity=5)  # another user's

    view = selectors.cart_get_for_user(user=user)

    assert [line.id for line in view.lines] == [first.pk, second.pk]
    assert view.lines[0].unit_price == Decimal("19.90")
    assert view.lines[0].line_total == Decimal("59.70")
    assert view.lines[0].product_name == first.variant.product.name
    assert view.lines[0].variant_name == first.variant.name
    assert view.subtotal == Decimal("59.75")
    assert view.count == 4
    assert view.currency == "EUR"
    assert selectors.cart_count_for_user(user=user) == 4


def test_empty_cart_for_a_user_without_one(user):
    view = selectors.cart_get_for_user(user=user)
    assert view.lines == [] and view.subtotal == Decimal("0.00") and view.count == 0
    assert selectors.cart_count_for_user(user=user) == 0


def test_session_cart_skips_variants_that_no_longer_exist():
    variant = VariantFactory(price_amount=Decimal("2.50"))
    view = selectors.cart_get_for_session(session_lines={str(variant.pk): 2, "987654321": 1})
    assert [(line.id, line.quantity) for line in view.lines] == [(variant.pk, 2)]
    assert view.subtotal == Decimal("5.00")


@pytest.mark.parametrize("n_lines", [2, 10])
def test_cart_for_user_is_one_query_whatever_its_size(user, n_lines, django_assert_num_queries):
    cart = CartFactory(user=user)
    CartLineFactory.create_batch(n_lines, cart=cart)
    with django_assert_num_queries(1):
        view = selectors.cart_get_for_user(user=user)
        # Everything pages and serializers read is loaded already.
        [(line.product_name, line.variant.product.merchant.name) for line in view.lines]
    assert len(view.lines) == n_lines


@pytest.mark.parametrize("n_lines", [2, 10])
def test_session_cart_is_one_query_whatever_its_size(n_lines, django_assert_num_queries):
    session_lines = {str(VariantFactory().pk): 1 for _ in range(n_lines)}
    with django_assert_num_queries(1):
        view = selectors.cart_get_for_session(session_lines=session_lines)
        [(line.product_name, line.variant.product.merchant.name) for line in view.lines]
    assert len(view.lines) == n_lines
