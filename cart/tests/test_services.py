"""Cart rules, for the database cart, the session cart and the merge on login."""

import pytest
from django.core.exceptions import ValidationError

from accounts.tests.factories import UserFactory
from cart import services
from cart.errors import CartLineNotFound
from cart.models import CartLine
from cart.tests.factories import CartLineFactory
from catalog.errors import InsufficientStock
from catalog.models import Variant
from catalog.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _lines(user) -> dict[int, int]:
    return dict(CartLine.objects.filter(cart__user=user).values_list("variant_id", "quantity"))


def _reserve(variant, n: int) -> None:
    Variant.objects.filter(pk=variant.pk).update(reserved=n)


# --- cart_add_item ----------------------------------------------------------------------


def test_add_creates_a_line_and_adding_again_adds_to_it(user):
    variant = VariantFactory(stock=10)
    first = services.cart_add_item(user=user, variant_id=variant.pk, quantity=2)
    again = services.cart_add_item(user=user, variant_id=variant.pk, quantity=3)
    assert again.pk == first.pk
    assert _lines(user) == {variant.pk: 5}


@pytest.mark.parametrize("quantity", [0, -1, 100, 1.5, "2", True, None])
def test_add_refuses_a_quantity_outside_whole_1_to_max(user, quantity):
    variant = VariantFactory(stock=500)
    with pytest.raises(ValidationError) as exc:
        services.cart_add_item(user=user, variant_id=variant.pk, quantity=quantity)
    assert "quantity" in exc.value.message_dict
    assert _lines(user) == {}


def test_add_accepts_exactly_max_line_quantity(user, settings):
    settings.MAX_LINE_QUANTITY = 5
    variant = VariantFactory(stock=50)
    services.cart_add_item(user=user, variant_id=variant.pk, quantity=5)
    assert _lines(user) == {variant.pk: 5}


def test_add_refuses_a_sum_above_max_line_quantity(user, settings):
    settings.MAX_LINE_QUANTITY = 5
    variant = VariantFactory(stock=50)
    services.cart_add_item(user=user, variant_id=variant.pk, quantity=3)
    with pytest.raises(ValidationError) as exc:
        services.cart_add_item(user=user, variant_id=variant.pk, quantity=3)
    assert "quantity" in exc.value.message_dict
    assert _lines(user) == {variant.pk: 3}


def test_add_refuses_more_than_available_and_says_how_much_is(user):
    variant = VariantFactory(stock=5)
    _reserve(variant, 2)  # held by someone's unpaid order
    with pytest.raises(InsufficientStock) as exc:
        services.cart_add_item(user=user, variant_id=variant.pk, quantity=4)
    assert exc.value.code == "insufficient_stock"
    assert exc.value.extra["lines"] == [{"variant": variant.pk, "requested": 4, "available": 3}]
    services.cart_add_item(user=user, variant_id=variant.pk, quantity=3)
    assert _lines(user) == {variant.pk: 3}


def test_add_checks_stock_against_the_summed_quantity(user):
    variant = VariantFactory(stock=4)
    services.cart_add_item(user=user, variant_id=variant.pk, quantity=3)
    with pytest.raises(InsufficientStock):
        services.cart_add_item(user=user, variant_id=variant.pk, quantity=2)
    assert _lines(user) == {variant.pk: 3}


@pytest.mark.parametrize(
    "make",
    [
        lambda: VariantFactory(is_active=False),
        lambda: VariantFactory(product=ProductFactory(variants=0, is_active=False)),
    ],
    ids=["inactive variant", "inactive product"],
)
def test_add_refuses_an_unavailable_variant_as_a_variant_field_error(user, make):
    variant = make()
    with pytest.raises(ValidationError) as exc:
        services.cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    assert "variant" in exc.value.message_dict
    assert _lines(user) == {}


@pytest.mark.parametrize("variant_id", [987654321, 2**63, "1", None])
def test_add_refuses_an_unknown_variant(user, variant_id):
    with pytest.raises(ValidationError) as exc:
        services.cart_add_item(user=user, variant_id=variant_id, quantity=1)
    assert "variant" in exc.value.message_dict


# --- cart_line_update / cart_line_remove ------------------------------------------------------


def test_update_sets_the_quantity(user):
    line = CartLineFactory(cart__user=user, quantity=1, variant__stock=10)
    updated = services.cart_line_update(user=user, line_id=line.pk, quantity=7)
    assert updated.quantity == 7
    assert _lines(user) == {line.variant_id: 7}


@pytest.mark.parametrize("quantity", [0, 100, "3"])
def test_update_refuses_a_bad_quantity(user, quantity):
    line = CartLineFactory(cart__user=user, quantity=2, variant__stock=500)
    with pytest.raises(ValidationError):
        services.cart_line_update(user=user, line_id=line.pk, quantity=quantity)
    assert _lines(user) == {line.variant_id: 2}


def test_update_refuses_more_than_available(user):
    line = CartLineFactory(cart__user=user, quantity=2, variant__stock=4)
    with pytest.raises(InsufficientStock):
        services.cart_line_update(user=user, line_id=line.pk, quantity=5)
    assert _lines(user) == {line.variant_id: 2}


def test_update_refuses_a_variant_withdrawn_since_it_was_added(user):
    line = CartLineFactory(cart__user=user, quantity=2)
    Variant.objects.filter(pk=line.variant_id).update(is_active=False)
    with pytest.raises(ValidationError) as exc:
        services.cart_line_update(user=user, line_id=line.pk, quantity=1)
    assert "variant" in exc.value.message_dict


def test_another_users_line_can_be_neither_updated_nor_removed(user):
    line = CartLineFactory(quantity=2)  # someone else's cart
    with pytest.raises(CartLineNotFound):
        services.cart_line_update(user=user, line_id=line.pk, quantity=1)
    with pytest.raises(CartLineNotFound):
        services.cart_line_remove(user=user, line_id=line.pk)
    line.refresh_from_db()
    assert line.quantity == 2


def test_remove_deletes_the_line_once(user):
    line = CartLineFactory(cart__user=user)
    services.cart_line_remove(user=user, line_id=line.pk)
    assert _lines(user) == {}
    with pytest.raises(CartLineNotFound):
        services.cart_line_remove(user=user, line_id=line.pk)


# --- the session cart -----------------------------------------------------------------------


def test_session_add_sums_and_checks_like_the_database_cart(settings):
    settings.MAX_LINE_QUANTITY = 6
    session: dict = {}
    variant = VariantFactory(stock=5)
    services.session_cart_add_item(session=session, variant_id=variant.pk, quantity=2)
    services.session_cart_add_item(session=session, variant_id=variant.pk, quantity=2)
    assert session[services.SESSION_KEY] == {str(variant.pk): 4}
    with pytest.raises(InsufficientStock):
        services.session_cart_add_item(session=session, variant_id=variant.pk, quantity=2)
    with pytest.raises(ValidationError):
        services.session_cart_add_item(session=session, variant_id=variant.pk, quantity=0)
    with pytest.raises(ValidationError):
        services.session_cart_add_item(
            session=session, variant_id=VariantFactory(is_active=False).pk, quantity=1
        )
    assert session[services.SESSION_KEY] == {str(variant.pk): 4}


def test_session_update_and_remove():
    variant = VariantFactory(stock=5)
    session = {services.SESSION_KEY: {str(variant.pk): 1}}
    services.session_cart_line_update(session=session, variant_id=variant.pk, quantity=5)
    assert session[services.SESSION_KEY] == {str(variant.pk): 5}
    with pytest.raises(InsufficientStock):
        services.session_cart_line_update(session=session, variant_id=variant.pk, quantity=6)
    with pytest.raises(CartLineNotFound):
        services.session_cart_line_update(session=session, variant_id=variant.pk + 1, quantity=1)
    services.session_cart_line_remove(session=session, variant_id=variant.pk)
    assert session[services.SESSION_KEY] == {}
    with pytest.raises(CartLineNotFound):
        services.session_cart_line_remove(session=session, variant_id=variant.pk)


# --- cart_merge_session ---------------------------------------------------------------------


def test_merge_sums_session_and_database_quantities(user):
    kept = VariantFactory(stock=10)
    both = VariantFactory(stock=10)
    new = VariantFactory(stock=10)
    CartLineFactory(cart__user=user, variant=kept, quantity=1)
    CartLineFactory(cart=user.cart, variant=both, quantity=2)
    services.cart_merge_session(user=user, session_lines={str(both.pk): 3, str(new.pk): 4})
    assert _lines(user) == {kept.pk: 1, both.pk: 5, new.pk: 4}


def test_merge_caps_the_sum_at_what_is_available(user):
    variant = VariantFactory(stock=6)
    _reserve(variant, 1)
    CartLineFactory(cart__user=user, variant=variant, quantity=3)
    services.cart_merge_session(user=user, session_lines={str(variant.pk): 4})
    assert _lines(user) == {variant.pk: 5}


def test_merge_caps_the_sum_at_max_line_quantity(user, settings):
    settings.MAX_LINE_QUANTITY = 8
    variant = VariantFactory(stock=100)
    CartLineFactory(cart__user=user, variant=variant, quantity=6)
    services.cart_merge_session(user=user, session_lines={str(variant.pk): 6})
    assert _lines(user) == {variant.pk: 8}


def test_merge_drops_what_cannot_be_bought(user):
    sold_out = VariantFactory(stock=0)
    inactive = VariantFactory(is_active=False)
    closed = VariantFactory(product=ProductFactory(variants=0, is_active=False))
    fine = VariantFactory(stock=3)
    services.cart_merge_session(
        user=user,
        session_lines={
            str(sold_out.pk): 1,
            str(inactive.pk): 1,
            str(closed.pk): 1,
            "987654321": 2,  # deleted since
            str(fine.pk): 1,
        },
    )
    assert _lines(user) == {fine.pk: 1}


def test_merge_into_a_user_with_no_cart_yet():
    user = UserFactory()
    variant = VariantFactory(stock=3)
    services.cart_merge_session(user=user, session_lines={str(variant.pk): 2})
    assert _lines(user) == {variant.pk: 2}
