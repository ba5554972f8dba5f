"""Orders API (API.md "Checkout and orders"): shapes, status codes, idempotency, scoping."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import AddressFactory, UserFactory
from cart.models import CartLine
from cart.services import cart_add_item
from catalog.models import Variant
from catalog.tests.factories import VariantFactory
from orders.models import Order, OrderEvent
from orders.tests.factories import place_order
from shipping.tests.factories import ShippingMethodFactory
from shop.core.models import IdempotencyKey

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api-order-list")
ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "1 Analytical Way",
    "line2": "",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "gb",
    "phone": "+44 20 0000",
}


def _detail(number):
    return reverse("api-order-detail", args=[number])


def _cancel(number):
    return reverse("api-order-cancel", args=[number])


@pytest.fixture
def method():
    return ShippingMethodFactory(price_amount=Decimal("4.90"), countries=["GB", "US"])


@pytest.fixture
def variants():
    return (
        VariantFactory(price_amount=Decimal("10.00"), stock=5),
        VariantFactory(price_amount=Decimal("2.50"), stock=5),
    )


@pytest.fixture
def cart(user, variants):
    a, b = variants
    cart_add_item(user=user, variant_id=a.pk, quantity=2)
    cart_add_item(user=user, variant_id=b.pk, quantity=3)
    return variants


# --- POST orders/ ------------------------------------------------------------------------


def test_place_order_answers_201_with_the_documented_shape(auth_client, user, cart, method):
    a, b = cart
    response = auth_client.post(
        LIST_URL, {"shipping_method": method.pk, "shipping_address": ADDRESS}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get(user=user)
    assert body["number"] == order.number
    assert body["status"] == "pending_payment"
    assert (body["subtotal"], body["shipping_total"], body["total"], body["currency"]) == (
        "27.50",
        "4.90",
        "32.40",
        "USD",
    )
    assert body["created"]
    lines = {line["variant"]: line for line in body["lines"]}
    assert lines[a.pk] == {
        "id": lines[a.pk]["id"],
        "variant": a.pk,
        "product_name": a.product.name,
        "variant_name": a.name,
        "sku": a.sku,
        "merchant": {"id": a.product.merchant_id, "name": a.product.merchant.name},
        "quantity": 2,
        "unit_price": "10.00",
        "line_total": "20.00",
    }
    assert lines[b.pk]["line_total"] == "7.50"
    assert body["shipping_address"]["country"] == "GB"
    assert body["shipping_method"] == {"id": method.pk, "name": method.name}
    assert not CartLine.objects.filter(cart__user=user).exists()
    a.refresh_from_db()
    assert a.reserved == 2


def test_place_order_with_a_saved_address(auth_client, user, cart, method):
    address = AddressFactory(user=user, country="US", city="Boston")
    response = auth_client.post(
        LIST_URL, {"shipping_method": method.pk, "address_id": address.pk}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["shipping_address"]["city"] == "Boston"
    assert Order.objects.get(user=user).ship_country == "US"


def test_another_users_address_is_a_field_error(auth_client, user, cart, method):
    other = AddressFactory(user=UserFactory())
    response = auth_client.post(
        LIST_URL, {"shipping_method": method.pk, "address_id": other.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "address_id" in response.json()["fields"]
    assert not Order.objects.exists()
    assert CartLine.objects.filter(cart__user=user).count() == 2


@pytest.mark.parametrize(
    "payload",
    [
        {"shipping_address": ADDRESS},
        {"shipping_method": "1", "shipping_address": ADDRESS},
        {"shipping_method": 1},
        {"shipping_method": 1, "shipping_address": ADDRESS, "address_id": 1},
        {"shipping_method": 1, "shipping_address": {**ADDRESS, "country": "XX"}},
        {"shipping_method": 1, "shipping_address": {**ADDRESS, "full_name": ""}},
    ],
)
def test_bad_input_is_a_400_with_fields(auth_client, cart, payload):
    response = auth_client.post(LIST_URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"]


def test_a_method_that_does_not_ship_there_is_a_field_error(auth_client, cart):
    us_only = ShippingMethodFactory(countries=["US"])
    response = auth_client.post(
        LIST_URL, {"shipping_method": us_only.pk, "shipping_address": ADDRESS}, format="json"
    )
    assert response.status_code == 400
    assert "shipping_method" in response.json()["fields"]


def test_empty_cart_is_a_400_empty_cart(auth_client, method):
    response = auth_client.post(
        LIST_URL, {"shipping_method": method.pk, "shipping_address": ADDRESS}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "empty_cart"


def test_insufficient_stock_is_a_409_naming_the_short_lines(auth_client, user, cart, method):
    a, b = cart
    Variant.objects.filter(pk=b.pk).update(stock=1)

    response = auth_client.post(
        LIST_URL, {"shipping_method": method.pk, "shipping_address": ADDRESS}, format="json"
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["lines"] == [{"variant": b.pk, "requested": 3, "available": 1}]
    assert not Order.objects.exists()
    a.refresh_from_db()
    assert a.reserved == 0
    assert CartLine.objects.filter(cart__user=user).count() == 2


def test_needs_authentication(api_client):
    assert api_client.post(LIST_URL, {}, format="json").status_code == 401
    assert api_client.get(LIST_URL).status_code == 401


# --- Idempotency-Key ----------------------------------------------------------------------


def _post(client, body, key):
    return client.post(LIST_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_replays_the_first_answer_and_places_nothing_new(
    auth_client, user, cart, method
):
    body = {"shipping_method": method.pk, "shipping_address": ADDRESS}
    first = _post(auth_client, body, "key-1")
    # The cart is empty now: without the key this would be a 400 empty_cart.
    second = _post(auth_client, body, "key-1")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert Order.objects.filter(user=user).count() == 1
    a, _b = cart
    a.refresh_from_db()
    assert a.reserved == 2


def test_the_answer_to_a_placement_is_the_order_as_stored(auth_client, user, method):
    # The view answers from the order order_place returns, not from a read back: it must
    # say exactly what a GET of the stored order says, lines in id order included.
    for price, quantity in (("3.33", 3), ("10.00", 1), ("0.10", 7)):
        variant = VariantFactory(price_amount=Decimal(price), stock=10)
        cart_add_item(user=user, variant_id=variant.pk, quantity=quantity)
    placed = _post(auth_client, {"shipping_method": method.pk, "shipping_address": ADDRESS}, "k")

    assert placed.status_code == 201
    body = placed.json()
    assert body == auth_client.get(_detail(body["number"])).json()
    assert [line["id"] for line in body["lines"]] == sorted(line["id"] for line in body["lines"])
    assert body["subtotal"] == "20.69"


def test_placing_through_the_api_runs_a_fixed_number_of_queries(
    auth_client, user, method, django_assert_num_queries
):
    variants = VariantFactory.create_batch(5, stock=10)
    body = {"shipping_method": method.pk, "shipping_address": ADDRESS}
    # user (token); the key claimed in one INSERT (no savepoint); shipping method; the
    # placement's savepoint, cart lines, variants, reserve, order, lines, cart emptied,
    # event, release; the answer stored: 13 however many lines, plus the transaction
    # (a savepoint pair inside the test's). No read back of the order.
    for count, key in ((1, "one"), (5, "five")):
        for variant in variants[:count]:
            cart_add_item(user=user, variant_id=variant.pk, quantity=1)
        with django_assert_num_queries(15):
            assert _post(auth_client, body, key).status_code == 201
    # A replay: user, the claim that finds the key, the stored answer.
    with django_assert_num_queries(5):
        assert _post(auth_client, body, "five").status_code == 201


def test_same_key_with_a_different_body_is_a_409(auth_client, user, cart, method):
    _post(auth_client, {"shipping_method": method.pk, "shipping_address": ADDRESS}, "key-2")
    response = _post(
        auth_client,
        {"shipping_method": method.pk, "shipping_address": {**ADDRESS, "city": "Paris"}},
        "key-2",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Order.objects.filter(user=user).count() == 1


def test_a_failed_attempt_stores_nothing_and_can_be_retried(auth_client, user, cart, method):
    _a, b = cart
    Variant.objects.filter(pk=b.pk).update(stock=1)
    body = {"shipping_method": method.pk, "shipping_address": ADDRESS}

    assert _post(auth_client, body, "key-3").status_code == 409
    assert not IdempotencyKey.objects.exists()

    Variant.objects.filter(pk=b.pk).update(stock=10)  # restocked meanwhile
    retry = _post(auth_client, body, "key-3")
    assert retry.status_code == 201
    assert Order.objects.filter(user=user).count() == 1


def test_keys_are_per_user(auth_client, user, cart, method):
    other = UserFactory()
    cart_add_item(user=other, variant_id=cart[0].pk, quantity=1)
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    other_client = APIClient()
    other_client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(other).access_token}"
    )
    body = {"shipping_method": method.pk, "shipping_address": ADDRESS}
    mine = _post(auth_client, body, "shared")
    theirs = _post(other_client, body, "shared")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["number"] != theirs.json()["number"]


@pytest.mark.parametrize("key", ["", "x" * 256, "with space"])
def test_a_malformed_key_is_a_400(auth_client, cart, method, key):
    response = _post(auth_client, {"shipping_method": method.pk, "shipping_address": ADDRESS}, key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert not Order.objects.exists()


def test_the_schema_documents_the_header(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/orders/"]["post"]["parameters"]
    assert {"name": "Idempotency-Key", "in": "header"}.items() <= parameters[0].items()
    assert "409" in schema["paths"]["/api/v1/orders/"]["post"]["responses"]


# --- GET orders/, orders/{number}/ --------------------------------------------------------


def test_list_is_own_orders_newest_first_and_paginated(auth_client, user):
    variant = VariantFactory(stock=50)
    older = place_order(user=user, items=[(variant, 1)])
    newer = place_order(user=user, items=[(variant, 2)])
    place_order(user=UserFactory(), items=[(variant, 1)])

    body = auth_client.get(LIST_URL).json()

    assert body["count"] == 2
    assert [o["number"] for o in body["results"]] == [newer.number, older.number]
    assert body["results"][0]["lines"][0]["quantity"] == 2
    page = auth_client.get(LIST_URL, {"page_size": 1, "page": 2}).json()
    assert [o["number"] for o in page["results"]] == [older.number]


def test_detail_of_own_order_and_404_for_others(auth_client, user):
    variant = VariantFactory()
    mine = place_order(user=user, items=[(variant, 1)])
    theirs = place_order(user=UserFactory(), items=[(variant, 1)])

    response = auth_client.get(_detail(mine.number))
    assert response.status_code == 200
    assert response.json()["number"] == mine.number
    assert response.json()["total"] == str(mine.total_amount)

    for number in (theirs.number, "BZNOPE"):
        response = auth_client.get(_detail(number))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def _orders_with_lines(user, orders, lines):
    variants = VariantFactory.create_batch(lines, stock=100)
    for _ in range(orders):
        place_order(user=user, items=[(v, 1) for v in variants])


def test_list_query_count_does_not_grow(auth_client, user, django_assert_num_queries):
    _orders_with_lines(user, orders=2, lines=1)
    # user (token), count, page, lines
    with django_assert_num_queries(4):
        assert auth_client.get(LIST_URL).json()["count"] == 2
    _orders_with_lines(user, orders=6, lines=3)
    with django_assert_num_queries(4):
        assert auth_client.get(LIST_URL).json()["count"] == 8


def test_detail_query_count_does_not_grow(auth_client, user, django_assert_num_queries):
    few = place_order(user=user, items=[(VariantFactory(), 1)])
    many = place_order(user=user, items=[(VariantFactory(), 1) for _ in range(8)])
    # user (token), order, lines
    with django_assert_num_queries(3):
        assert len(auth_client.get(_detail(few.number)).json()["lines"]) == 1
    with django_assert_num_queries(3):
        assert len(auth_client.get(_detail(many.number)).json()["lines"]) == 8


# --- POST orders/{number}/cancel/ ----------------------------------------------------------


def test_cancel_returns_the_order_and_the_stock(auth_client, user):
    variant = VariantFactory(stock=3)
    order = place_order(user=user, items=[(variant, 2)])

    response = auth_client.post(_cancel(order.number))

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["number"] == order.number
    variant.refresh_from_db()
    assert variant.reserved == 0
    event = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.STATUS_CHANGED)
    assert (event.from_status, event.to_status, event.actor) == (
        "pending_payment",
        "cancelled",
        user,
    )


def test_cancel_twice_is_a_409_invalid_transition(auth_client, user):
    order = place_order(user=user, items=[(VariantFactory(), 1)])
    auth_client.post(_cancel(order.number))
    response = auth_client.post(_cancel(order.number))
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_a_shipped_order_cannot_be_cancelled(auth_client, user):
    order = place_order(user=user, items=[(VariantFactory(), 1)])
    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.SHIPPED, fulfilment_status=Order.FulfilmentStatus.SHIPPED
    )
    response = auth_client.post(_cancel(order.number))
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED


def test_cancel_of_another_users_order_is_a_404(auth_client):
    order = place_order(user=UserFactory(), items=[(VariantFactory(), 1)])
    response = auth_client.post(_cancel(order.number))
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
