"""Orders are made the way shoppers make them: through the cart and `order_place`."""

from cart.services import cart_add_item
from orders.services import ShippingAddress, order_place
from shipping.tests.factories import ShippingMethodFactory

ADDRESS = ShippingAddress(
    full_name="Ada Lovelace",
    line1="1 Analytical Way",
    city="London",
    postal_code="N1",
    country="GB",
)


def place_order(*, user, items, shipping_method=None, address=ADDRESS):
    """`items`: [(variant, quantity), ...] added to the user's cart, then placed."""
    for variant, quantity in items:
        cart_add_item(user=user, variant_id=variant.pk, quantity=quantity)
    method = shipping_method or ShippingMethodFactory()
    return order_place(user=user, shipping_method_id=method.pk, address=address)
