"""Cart API through APIClient: shapes, money strings and every error answer."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from cart.models import CartLine
from cart.tests.factories import CartFactory, CartLineFactory
from catalog.models import Variant
from catalog.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

CART = "/api/v1/cart/"
LINES = "/api/v1/cart/lines/"


def line_url(pk: int) -> str:
    return f"/api/v1/cart/lines/{pk}/"


def _db_lines(user) -> dict[int, int]:
    return dict(CartLine.objects.filter(cart__user=user).values_list("variant_id", "quantity"))


# --- GET cart/ ------------------------------------------------------------------------------


def test_get_cart_shape_and_money_strings(auth_client, user):
    cart = CartFactory(user=user)
    line = CartLineFactory(
        cart=cart,
        quantity=3,
        variant__name="Large",
        variant__price_amount=Decimal("19.90"),
        variant__product=ProductFactory(name="Lamp", variants=0),
    )
    CartLineFactory(cart=cart, quantity=1, variant__price_amount=Decimal("0.10"))

    response = auth_client.get(CART)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"lines", "subtotal", "currency"}
    assert body["lines"][0] == {
        "id": line.pk,
        "variant": line.variant_id,
        "product_name": "Lamp",
        "variant_name": "Large",
        "quantity": 3,
        "unit_price": "19.90",
        "line_total": "59.70",
        "currency": "USD",
        "added_unit_price": "19.90",
        "price_changed": False,
    }
    assert body["subtotal"] == "59.80"
    assert body["currency"] == "USD"


def test_get_empty_cart(auth_client):
    assert auth_client.get(CART).json() == {"lines": [], "subtotal": "0.00", "currency": "USD"}


def test_cart_shows_only_your_own_lines(auth_client):
    CartLineFactory()  # someone else's
    assert auth_client.get(CART).json()["lines"] == []


@pytest.mark.parametrize("n_lines", [2, 10])
def test_get_cart_query_count_does_not_grow_with_lines(
    auth_client, user, n_lines, django_assert_num_queries
):
    CartLineFactory.create_batch(n_lines, cart=CartFactory(user=user))
    # The JWT's user, then the lines with their variants and products.
    with django_assert_num_queries(2):
        response = auth_client.get(CART)
    assert len(response.json()["lines"]) == n_lines


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", CART), ("post", LINES), ("patch", line_url(1)), ("delete", line_url(1))],
)
def test_anonymous_callers_get_401(method, url):
    response = getattr(APIClient(), method)(url, {"variant": 1, "quantity": 1}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- POST cart/lines/ -----------------------------------------------------------------------


def test_add_line_answers_201_with_the_line(auth_client, user):
    variant = VariantFactory(price_amount=Decimal("5.00"), stock=10)
    response = auth_client.post(LINES, {"variant": variant.pk, "quantity": 2}, format="json")
    assert response.status_code == 201
    body = response.json()
    line = CartLine.objects.get(cart__user=user)
    assert body["id"] == line.pk
    assert body["variant"] == variant.pk
    assert body["quantity"] == 2
    assert body["unit_price"] == "5.00" and body["line_total"] == "10.00"


def test_adding_a_variant_again_adds_to_its_line(auth_client, user):
    variant = VariantFactory(stock=10)
    first = auth_client.post(LINES, {"variant": variant.pk, "quantity": 2}, format="json")
    second = auth_client.post(LINES, {"variant": variant.pk, "quantity": 3}, format="json")
    assert second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["quantity"] == 5
    assert _db_lines(user) == {variant.pk: 5}


def test_a_price_sent_by_the_client_is_ignored(auth_client):
    variant = VariantFactory(price_amount=Decimal("19.90"))
    response = auth_client.post(
        LINES,
        {"variant": variant.pk, "quantity": 1, "price": "0.01", "unit_price": "0.01"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["unit_price"] == "19.90"
    assert auth_client.get(CART).json()["subtotal"] == "19.90"


@pytest.mark.parametrize("quantity", [0, -1, 100, 1.5, "2", True, None])
def test_add_line_bad_quantity_is_400_with_fields(auth_client, user, quantity):
    variant = VariantFactory(stock=500)
    response = auth_client.post(LINES, {"variant": variant.pk, "quantity": quantity}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "quantity" in body["fields"]
    assert _db_lines(user) == {}


def test_add_line_without_quantity_is_400(auth_client):
    response = auth_client.post(LINES, {"variant": VariantFactory().pk}, format="json")
    assert response.status_code == 400
    assert "quantity" in response.json()["fields"]


def test_max_line_quantity_follows_the_setting(auth_client, settings):
    settings.MAX_LINE_QUANTITY = 3
    variant = VariantFactory(stock=10)
    response = auth_client.post(LINES, {"variant": variant.pk, "quantity": 4}, format="json")
    assert response.status_code == 400
    assert (
        auth_client.post(LINES, {"variant": variant.pk, "quantity": 3}, format="json").status_code
        == 201
    )


def test_a_sum_above_max_line_quantity_is_400(auth_client, user, settings):
    settings.MAX_LINE_QUANTITY = 5
    variant = VariantFactory(stock=10)
    auth_client.post(LINES, {"variant": variant.pk, "quantity": 3}, format="json")
    response = auth_client.post(LINES, {"variant": variant.pk, "quantity": 3}, format="json")
    assert response.status_code == 400
    assert "quantity" in response.json()["fields"]
    assert _db_lines(user) == {variant.pk: 3}


def test_more_than_available_is_409_insufficient_stock(auth_client, user):
    variant = VariantFactory(stock=5)
    Variant.objects.filter(pk=variant.pk).update(reserved=2)
    response = auth_client.post(LINES, {"variant": variant.pk, "quantity": 4}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["message"]
    assert body["lines"] == [{"variant": variant.pk, "requested": 4, "available": 3}]
    assert _db_lines(user) == {}


@pytest.mark.parametrize(
    "make_id",
    [
        lambda: 987654321,
        lambda: VariantFactory(is_active=False).pk,
        lambda: VariantFactory(product=ProductFactory(variants=0, is_active=False)).pk,
        lambda: "1",
        lambda: None,
    ],
    ids=["unknown", "inactive variant", "inactive product", "string", "null"],
)
def test_unusable_variant_is_400_on_the_variant_field(auth_client, user, make_id):
    response = auth_client.post(LINES, {"variant": make_id(), "quantity": 1}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "variant" in body["fields"]
    assert _db_lines(user) == {}


@pytest.mark.parametrize("body", ["not json", "[1, 2]"])
def test_malformed_bodies_are_400(auth_client, body):
    response = auth_client.post(LINES, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] in ("parse_error", "invalid")


# --- PATCH / DELETE cart/lines/{id}/ ------------------------------------------------------------


def test_patch_sets_the_quantity(auth_client, user):
    line = CartLineFactory(cart__user=user, quantity=1, variant__price_amount=Decimal("2.50"))
    response = auth_client.patch(line_url(line.pk), {"quantity": 4}, format="json")
    assert response.status_code == 200
    assert response.json()["quantity"] == 4
    assert response.json()["line_total"] == "10.00"
    assert _db_lines(user) == {line.variant_id: 4}


def test_patch_errors(auth_client, user):
    line = CartLineFactory(cart__user=user, quantity=1, variant__stock=3)
    bad = auth_client.patch(line_url(line.pk), {"quantity": 0}, format="json")
    assert bad.status_code == 400 and "quantity" in bad.json()["fields"]
    short = auth_client.patch(line_url(line.pk), {"quantity": 4}, format="json")
    assert short.status_code == 409 and short.json()["code"] == "insufficient_stock"
    assert _db_lines(user) == {line.variant_id: 1}


def test_delete_removes_the_line(auth_client, user):
    line = CartLineFactory(cart__user=user)
    response = auth_client.delete(line_url(line.pk))
    assert response.status_code == 204
    assert _db_lines(user) == {}
    assert auth_client.delete(line_url(line.pk)).status_code == 404


def test_another_users_line_is_404(auth_client):
    other = CartLineFactory(quantity=2)
    for response in (
        auth_client.patch(line_url(other.pk), {"quantity": 1}, format="json"),
        auth_client.delete(line_url(other.pk)),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    other.refresh_from_db()
    assert other.quantity == 2


def test_patch_without_quantity_changes_nothing(auth_client, user):
    line = CartLineFactory(cart__user=user, quantity=2)
    response = auth_client.patch(line_url(line.pk), {}, format="json")
    assert response.status_code == 200
    assert response.json()["quantity"] == 2
    other = CartLineFactory()
    assert auth_client.patch(line_url(other.pk), {}, format="json").status_code == 404
