"""An order cannot take what the shop no longer sells (issue 9, item 3): a variant whose
merchant was suspended after it went into the cart is refused at placement."""

import pytest

from accounts.tests.factories import UserFactory
from cart.models import CartLine
from cart.services import cart_add_item
from catalog.errors import InsufficientStock
from catalog.models import Merchant
from catalog.tests.factories import VariantFactory
from orders.models import Order
from orders.services import order_place
from orders.tests.factories import ADDRESS
from shipping.tests.factories import ShippingMethodFactory

pytestmark = pytest.mark.django_db


def test_a_suspended_merchants_variant_in_the_cart_is_not_ordered():
    user = UserFactory()
    variant = VariantFactory(stock=5)
    cart_add_item(user=user, variant_id=variant.pk, quantity=2)
    Merchant.objects.filter(pk=variant.product.merchant_id).update(is_active=False)

    with pytest.raises(InsufficientStock) as refused:
        order_place(user=user, shipping_method_id=ShippingMethodFactory().pk, address=ADDRESS)

    assert refused.value.extra["lines"] == [{"variant": variant.pk, "requested": 2, "available": 0}]
    assert not Order.objects.exists()
    variant.refresh_from_db()
    assert variant.reserved == 0
    assert CartLine.objects.filter(cart__user=user).count() == 1
