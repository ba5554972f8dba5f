"""Checkout and order pages through the test client, as a shopper's browser uses them."""

import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Address
from accounts.tests.factories import DEFAULT_PASSWORD, AddressFactory, UserFactory
from cart.models import CartLine
from cart.services import cart_add_item
from catalog.models import Variant
from catalog.tests.factories import VariantFactory
from orders.models import Order, OrderEvent
from orders.tests.factories import place_order
from shipping.tests.factories import ShippingMethodFactory
from storefront.views.orders import SESSION_ADDRESS

pytestmark = pytest.mark.django_db

CHECKOUT = reverse("orders:checkout")
SHIPPING = reverse("orders:checkout_shipping")
HISTORY = reverse("orders:history")
NEW_ADDRESS = {
    "address": "new",
    "full_name": "Ada Lovelace",
    "line1": "1 Analytical Way",
    "line2": "",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "GB",
    "phone": "",
}


@pytest.fixture
def shopper(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def variant():
    return VariantFactory(price_amount=Decimal("10.00"), stock=5)


@pytest.fixture
def method():
    return ShippingMethodFactory(name="Royal Post", price_amount=Decimal("4.90"), countries=["GB"])


def _key(response) -> str:
    match = re.search(rb'name="idempotency_key" value="([0-9a-f-]+)"', response.content)
    assert match, "the place-order form carries a one-time key"
    return match.group(1).decode()


def _to_step_two(client, address=NEW_ADDRESS):
    response = client.post(CHECKOUT, address)
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == SHIPPING
    return client.get(SHIPPING)


# --- the whole flow ----------------------------------------------------------------------


def test_checkout_end_to_end_from_an_anonymous_cart(client, variant, method):
    user = UserFactory()
    # Anonymous: add to cart, go to checkout, get sent to log in, come back with the cart.
    client.post("/cart/add/", {"variant": variant.pk, "quantity": 2})
    response = client.get(CHECKOUT)
    assert response.status_code == 302
    login_url = response["Location"]
    assert login_url == f"{reverse('accounts:login')}?next={CHECKOUT}"
    response = client.post(
        login_url, {"email": user.email, "password": DEFAULT_PASSWORD, "next": CHECKOUT}
    )
    assert response["Location"] == CHECKOUT

    page = client.get(CHECKOUT)
    assert page.status_code == 200
    assert variant.product.name in page.content.decode()
    assert "USD 20.00" in page.content.decode()  # the subtotal
    assert 'for="id_full_name"' in page.content.decode()  # fields have labels

    step_two = _to_step_two(client, {**NEW_ADDRESS, "save_address": "on"})
    assert "Royal Post" in step_two.content.decode()
    assert "Place order" in step_two.content.decode()

    response = client.post(
        SHIPPING, {"shipping_method": method.pk, "idempotency_key": _key(step_two)}
    )
    order = Order.objects.get(user=user)
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[order.number])
    assert order.total_amount == Decimal("24.90")
    assert Address.objects.filter(user=user, city="London").count() == 1

    detail = client.get(response["Location"])
    content = detail.content.decode()
    assert detail.status_code == 200
    assert "Thank you" in content
    assert order.number in content and "USD 24.90" in content and "Ada Lovelace" in content
    assert "Cancel order" in content
    assert "no-cache" in detail["Cache-Control"]
    # The banner shows once.
    assert "Thank you" not in client.get(response["Location"]).content.decode()


def test_a_saved_address_can_be_chosen(shopper, user, variant, method):
    address = AddressFactory(user=user, country="GB", city="Leeds")
    cart_add_item(user=user, variant_id=variant.pk, quantity=1)

    page = shopper.get(CHECKOUT)
    assert page.context["form"].initial["address"] == str(address.pk)
    step_two = _to_step_two(shopper, {"address": str(address.pk)})
    assert "Leeds" in step_two.content.decode()
    shopper.post(SHIPPING, {"shipping_method": method.pk, "idempotency_key": _key(step_two)})
    assert Order.objects.get(user=user).ship_city == "Leeds"


def test_double_submitted_place_order_form_creates_one_order(shopper, user, variant, method):
    cart_add_item(user=user, variant_id=variant.pk, quantity=2)
    step_two = _to_step_two(shopper)
    data = {"shipping_method": method.pk, "idempotency_key": _key(step_two)}

    first = shopper.post(SHIPPING, data)
    second = shopper.post(SHIPPING, data)

    order = Order.objects.get(user=user)
    assert first["Location"] == second["Location"] == order.get_absolute_url()
    variant.refresh_from_db()
    assert variant.reserved == 2


def test_only_methods_shipping_to_the_country_are_offered(shopper, user, variant, method):
    us_only = ShippingMethodFactory(name="US Ground", countries=["US"])
    cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    step_two = _to_step_two(shopper)
    assert "Royal Post" in step_two.content.decode()
    assert "US Ground" not in step_two.content.decode()

    # A forged choice is a form error, not an order and not a 500.
    response = shopper.post(
        SHIPPING, {"shipping_method": us_only.pk, "idempotency_key": str(uuid.uuid4())}
    )
    assert response.status_code == 200
    assert "does not ship to" in str(response.context["form"].errors["shipping_method"])
    assert not Order.objects.exists()


def test_no_method_for_the_country_says_so(shopper, user, variant):
    ShippingMethodFactory(countries=["US"])
    cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    step_two = _to_step_two(shopper)
    assert "ship to GB yet" in step_two.content.decode()
    assert "Place order" not in step_two.content.decode()


def test_insufficient_stock_is_a_form_error_naming_the_line(shopper, user, variant, method):
    cart_add_item(user=user, variant_id=variant.pk, quantity=3)
    step_two = _to_step_two(shopper)
    Variant.objects.filter(pk=variant.pk).update(stock=1)

    response = shopper.post(
        SHIPPING, {"shipping_method": method.pk, "idempotency_key": _key(step_two)}
    )

    assert response.status_code == 200
    errors = " ".join(response.context["form"].non_field_errors())
    assert variant.product.name in errors and "only 1 available" in errors
    assert not Order.objects.exists()
    assert CartLine.objects.filter(cart__user=user).count() == 1

    # Nothing was stored under the key: after a restock the same page places the order.
    Variant.objects.filter(pk=variant.pk).update(stock=5)
    retry = shopper.post(
        SHIPPING, {"shipping_method": method.pk, "idempotency_key": _key(step_two)}
    )
    assert retry.status_code == 302
    assert Order.objects.filter(user=user).count() == 1


def test_empty_cart_at_placing_is_a_form_error(shopper, user, variant, method):
    cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    step_two = _to_step_two(shopper)
    CartLine.objects.filter(cart__user=user).delete()

    response = shopper.post(
        SHIPPING, {"shipping_method": method.pk, "idempotency_key": _key(step_two)}
    )
    assert response.status_code == 200
    assert "Your cart is empty." in response.context["form"].non_field_errors()


def test_empty_cart_on_step_one(shopper):
    page = shopper.get(CHECKOUT)
    assert "Your cart is empty." in page.content.decode()
    response = shopper.post(CHECKOUT, NEW_ADDRESS)
    assert response.status_code == 200
    assert "Your cart is empty." in response.context["form"].non_field_errors()


def test_a_new_address_needs_its_fields(shopper, user, variant):
    cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    response = shopper.post(CHECKOUT, {**NEW_ADDRESS, "city": "", "country": "XX"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"city", "country"}
    assert SESSION_ADDRESS not in shopper.session


def test_someone_elses_address_cannot_be_chosen(shopper, user, variant):
    cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    other = AddressFactory(user=UserFactory())
    response = shopper.post(CHECKOUT, {"address": str(other.pk)})
    assert response.status_code == 200
    assert "address" in response.context["form"].errors


def test_step_two_without_an_address_goes_back_to_step_one(shopper):
    response = shopper.get(SHIPPING)
    assert response["Location"] == CHECKOUT


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in (CHECKOUT, SHIPPING, HISTORY):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


# --- order page, cancel, history -------------------------------------------------------------


def test_another_users_order_page_is_404(shopper):
    order = place_order(user=UserFactory(), items=[(VariantFactory(), 1)])
    assert shopper.get(order.get_absolute_url()).status_code == 404
    cancel = shopper.post(reverse("orders:cancel", args=[order.number]))
    assert cancel.status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_cancel_from_the_order_page_returns_the_stock(shopper, user, variant):
    order = place_order(user=user, items=[(variant, 2)])

    response = shopper.post(reverse("orders:cancel", args=[order.number]), follow=True)

    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert variant.reserved == 0
    assert OrderEvent.objects.filter(order=order, to_status="cancelled", actor=user).exists()
    content = response.content.decode()
    assert "Your order is cancelled." in content
    assert "Cancel order" not in content  # no longer cancellable


def test_cancelling_a_shipped_order_is_a_message_not_an_error(shopper, user, variant):
    order = place_order(user=user, items=[(variant, 1)])
    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.SHIPPED, fulfilment_status=Order.FulfilmentStatus.SHIPPED
    )
    assert "Cancel order" not in shopper.get(order.get_absolute_url()).content.decode()

    response = shopper.post(reverse("orders:cancel", args=[order.number]))
    assert response.status_code == 302
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED


def test_cancel_is_post_only(shopper, user):
    order = place_order(user=user, items=[(VariantFactory(), 1)])
    assert shopper.get(reverse("orders:cancel", args=[order.number])).status_code == 405


def test_history_lists_own_orders_newest_first_paginated(shopper, user):
    variant = VariantFactory(stock=100)
    orders = [place_order(user=user, items=[(variant, 1)]) for _ in range(21)]
    foreign = place_order(user=UserFactory(), items=[(variant, 1)])

    page_one = shopper.get(HISTORY)
    assert page_one.status_code == 200
    assert page_one.context["orders"][0] == orders[-1]
    assert len(page_one.context["orders"]) == 20
    assert foreign.number not in page_one.content.decode()
    page_two = shopper.get(HISTORY, {"page": 2})
    assert page_two.context["orders"] == [orders[0]]


def test_history_when_empty(shopper):
    assert "no orders yet" in shopper.get(HISTORY).content.decode()


def _orders(user, orders, lines):
    variants = VariantFactory.create_batch(lines, stock=100)
    return [place_order(user=user, items=[(v, 1) for v in variants]) for _ in range(orders)]


def _queries(client, url) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response


# The page itself costs a fixed few queries (session, user, count, orders, lines); the
# layout may add one or two of its own (the cart count), but nothing grows with the rows.
PAGE_QUERY_BUDGET = 7


def test_history_query_count_does_not_grow(shopper, user):
    _orders(user, orders=2, lines=1)
    few, _response = _queries(shopper, HISTORY)
    _orders(user, orders=6, lines=3)
    many, response = _queries(shopper, HISTORY)
    assert len(response.context["orders"]) == 8
    assert many == few <= PAGE_QUERY_BUDGET


def test_detail_query_count_does_not_grow(shopper, user):
    (small,) = _orders(user, orders=1, lines=1)
    (large,) = _orders(user, orders=1, lines=8)
    few, _response = _queries(shopper, small.get_absolute_url())
    many, response = _queries(shopper, large.get_absolute_url())
    assert response.content.decode().count("cart-line__name") == 8
    assert many == few <= PAGE_QUERY_BUDGET
