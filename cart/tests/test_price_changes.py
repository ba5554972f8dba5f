"""A cart line remembers the price it was added at, so a change is flagged (issue 9,
item 2), for the database cart, the session cart and the merge of one into the other."""

from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore

from cart import selectors, services
from cart.models import CartLine
from catalog.models import Variant
from catalog.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

CART = "/api/v1/cart/"


def _reprice(variant, price: str) -> None:
    Variant.objects.filter(pk=variant.pk).update(price_amount=Decimal(price))


def test_a_line_remembers_its_price_and_is_flagged_when_it_changes(user):
    variant = VariantFactory(price_amount=Decimal("10.00"), stock=5)
    services.cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    (line,) = selectors.cart_get_for_user(user=user).lines
    assert (line.added_unit_price, line.price_changed) == (Decimal("10.00"), False)

    _reprice(variant, "12.50")

    cart = selectors.cart_get_for_user(user=user)
    (line,) = cart.lines
    assert (line.unit_price, line.added_unit_price) == (Decimal("12.50"), Decimal("10.00"))
    assert line.price_changed and cart.has_price_changes


def test_adding_more_at_the_new_price_clears_the_flag(user):
    """The shopper saw the new price on the product page when adding again."""
    variant = VariantFactory(price_amount=Decimal("10.00"), stock=5)
    services.cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    _reprice(variant, "9.00")

    services.cart_add_item(user=user, variant_id=variant.pk, quantity=1)

    (line,) = selectors.cart_get_for_user(user=user).lines
    assert (line.quantity, line.added_unit_price, line.price_changed) == (2, Decimal("9.00"), False)


def test_changing_the_quantity_keeps_the_flag(user):
    variant = VariantFactory(price_amount=Decimal("10.00"), stock=5)
    line = services.cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    _reprice(variant, "11.00")
    services.cart_line_update(user=user, line_id=line.pk, quantity=3)
    assert selectors.cart_get_for_user(user=user).lines[0].price_changed


def test_a_line_from_before_the_column_is_never_flagged(user):
    variant = VariantFactory(price_amount=Decimal("10.00"))
    services.cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    CartLine.objects.update(added_unit_price_amount=None)
    _reprice(variant, "11.00")
    assert not selectors.cart_get_for_user(user=user).lines[0].price_changed


def test_the_session_cart_remembers_prices_and_the_merge_keeps_them(user):
    session = SessionStore()
    variant = VariantFactory(price_amount=Decimal("10.00"), stock=5)
    services.session_cart_add_item(session=session, variant_id=variant.pk, quantity=2)
    _reprice(variant, "8.00")

    view = selectors.cart_get_for_session(
        session_lines=session[services.SESSION_KEY],
        session_prices=session[services.SESSION_PRICES_KEY],
    )
    assert view.lines[0].added_unit_price == Decimal("10.00") and view.has_price_changes

    services.cart_merge_session(
        user=user,
        session_lines=session[services.SESSION_KEY],
        session_prices=session[services.SESSION_PRICES_KEY],
    )
    (line,) = selectors.cart_get_for_user(user=user).lines
    assert (line.quantity, line.added_unit_price, line.price_changed) == (2, Decimal("10.00"), True)

    services.session_cart_line_remove(session=session, variant_id=variant.pk)
    assert session[services.SESSION_PRICES_KEY] == {}


def test_a_session_without_prices_still_works():
    """Sessions from before this change hold quantities only."""
    variant = VariantFactory()
    view = selectors.cart_get_for_session(session_lines={str(variant.pk): 1})
    assert not view.has_price_changes and view.lines[0].added_unit_price is None


def test_the_cart_api_adds_the_fields_and_renames_nothing(auth_client, user):
    variant = VariantFactory(price_amount=Decimal("10.00"), stock=5)
    created = auth_client.post(
        CART + "lines/", {"variant": variant.pk, "quantity": 1}, format="json"
    ).json()
    assert (created["added_unit_price"], created["price_changed"]) == ("10.00", False)
    _reprice(variant, "12.00")

    line = auth_client.get(CART).json()["lines"][0]

    assert line["unit_price"] == "12.00" and line["line_total"] == "12.00"
    assert (line["added_unit_price"], line["price_changed"]) == ("10.00", True)
