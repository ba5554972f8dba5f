"""Cart pages through the URL: anonymous (session cart) and logged-in (database cart)."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from cart.models import CartLine
from cart.services import SESSION_KEY
from cart.tests.factories import CartFactory, CartLineFactory
from catalog.models import Variant
from catalog.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

ADD = "/cart/add/"


def _db_lines(user) -> dict[int, int]:
    return dict(CartLine.objects.filter(cart__user=user).values_list("variant_id", "quantity"))


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _header_count(html: str) -> int:
    match = re.search(r'class="cart-link"[^>]*>Cart \((\d+)\)</a>', html)
    assert match, "the header has no cart link"
    return int(match.group(1))


# --- adding ---------------------------------------------------------------------------------


def test_anonymous_add_fills_the_session_cart_and_returns_to_the_product(client):
    variant = VariantFactory(stock=5)
    response = client.post(ADD, {"variant": variant.pk, "quantity": 2})
    assert response.status_code == 302
    assert response["Location"] == variant.product.get_absolute_url()
    assert client.session[SESSION_KEY] == {str(variant.pk): 2}

    page = client.get(response["Location"])
    assert "Added to your cart." in page.content.decode()
    assert _header_count(page.content.decode()) == 2


def test_add_without_quantity_adds_one(client):
    variant = VariantFactory()
    client.post(ADD, {"variant": variant.pk})
    assert client.session[SESSION_KEY] == {str(variant.pk): 1}


def test_add_goes_to_a_safe_next_and_ignores_another_site(client):
    variant = VariantFactory()
    response = client.post(ADD, {"variant": variant.pk, "next": "/cart/"})
    assert response["Location"] == "/cart/"
    response = client.post(ADD, {"variant": variant.pk, "next": "https://evil.example/"})
    assert response["Location"] == variant.product.get_absolute_url()


def test_logged_in_add_goes_to_the_database_cart(client, user):
    client.force_login(user)
    variant = VariantFactory(stock=5)
    client.post(ADD, {"variant": variant.pk, "quantity": 2})
    client.post(ADD, {"variant": variant.pk, "quantity": 1})
    assert _db_lines(user) == {variant.pk: 3}
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged in"])
@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("6", "Only 5 of"),
        ("0", "Enter a quantity from 1 to 99."),
        ("100", "Enter a quantity from 1 to 99."),
        ("abc", "Enter a whole number."),
        ("1.5", "Enter a whole number."),
    ],
)
def test_add_errors_are_messages_on_the_product_page(client, user, logged_in, quantity, expected):
    if logged_in:
        client.force_login(user)
    variant = VariantFactory(stock=5)
    response = client.post(ADD, {"variant": variant.pk, "quantity": quantity}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0][0] == variant.product.get_absolute_url()
    assert any(expected in m for m in _messages(response)), _messages(response)
    assert _db_lines(user) == {}
    assert not client.session.get(SESSION_KEY)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"variant": "x"},
        {"variant": "987654321"},
        {"variant": str(2**70)},
    ],
    ids=["missing", "not a number", "unknown", "huge"],
)
def test_add_of_no_usable_variant_is_a_message_not_an_error_page(client, data):
    response = client.post(ADD, data, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0][0] == reverse("cart:detail")
    assert _messages(response)
    assert not client.session.get(SESSION_KEY)


def test_add_of_a_withdrawn_variant_is_refused(client):
    variant = VariantFactory(is_active=False)
    response = client.post(ADD, {"variant": variant.pk}, follow=True)
    assert "This product variant is not available." in _messages(response)
    assert not client.session.get(SESSION_KEY)


def test_add_is_post_only(client):
    assert client.get(ADD).status_code == 405


def test_add_with_the_csrf_token_from_a_page(user):
    client = Client(enforce_csrf_checks=True)
    variant = VariantFactory()
    html = client.get(variant.product.get_absolute_url()).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert client.post(ADD, {"variant": variant.pk}).status_code == 403
    response = client.post(ADD, {"variant": variant.pk, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == {str(variant.pk): 1}


# --- the cart page ----------------------------------------------------------------------------


def test_empty_cart_page(client):
    response = client.get(reverse("cart:detail"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your cart is empty." in html
    assert ">Checkout</a>" not in html
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged in"])
def test_cart_page_lists_lines_prices_totals_and_checkout(client, user, logged_in):
    if logged_in:
        client.force_login(user)
    lamp = VariantFactory(name="Large", price_amount=Decimal("19.90"), product__name="Lamp")
    mug = VariantFactory(name="Blue", price_amount=Decimal("4.05"), product__name="Mug")
    client.post(ADD, {"variant": lamp.pk, "quantity": 2})
    client.post(ADD, {"variant": mug.pk, "quantity": 1})

    html = client.get(reverse("cart:detail")).content.decode()

    assert "Lamp" in html and "Large" in html and "Mug" in html and "Blue" in html
    assert "USD 19.90" in html and "USD 39.80" in html  # unit price, line total
    assert "USD 43.85" in html  # subtotal
    assert 'value="2"' in html  # the quantity field of the first line
    assert html.count('name="csrfmiddlewaretoken"') >= 4  # update + remove per line
    assert ">Remove</button>" in html
    assert 'href="/checkout/">Checkout</a>' in html
    assert _header_count(html) == 3


def test_cart_page_flags_a_line_that_can_no_longer_be_bought(client, user):
    client.force_login(user)
    line = CartLineFactory(cart__user=user, quantity=4, variant__stock=10)
    Variant.objects.filter(pk=line.variant_id).update(stock=2)
    html = client.get(reverse("cart:detail")).content.decode()
    assert "Only 2 left." in html
    Variant.objects.filter(pk=line.variant_id).update(is_active=False)
    html = client.get(reverse("cart:detail")).content.decode()
    assert "No longer available" in html


@pytest.mark.parametrize("n_lines", [2, 10])
def test_cart_page_query_count_does_not_grow_with_lines(
    client, user, n_lines, django_assert_num_queries
):
    client.force_login(user)
    CartLineFactory.create_batch(n_lines, cart=CartFactory(user=user))
    client.get(reverse("cart:detail"))  # warm the session cache
    # The user, then the cart with its variants, products and merchants, then the
    # recommendations (none to show here: no images query; reviews/tests pins that case).
    with django_assert_num_queries(3):
        response = client.get(reverse("cart:detail"))
    assert response.content.decode().count('class="cart-line"') == n_lines


# --- update and remove ----------------------------------------------------------------------


def test_logged_in_update_and_remove(client, user):
    client.force_login(user)
    line = CartLineFactory(cart__user=user, quantity=1, variant__stock=10)
    response = client.post(reverse("cart:update", args=[line.pk]), {"quantity": "4"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("cart:detail")
    assert "Your cart was updated." in _messages(response)
    assert _db_lines(user) == {line.variant_id: 4}

    response = client.post(reverse("cart:remove", args=[line.pk]), follow=True)
    assert "The item was removed from your cart." in _messages(response)
    assert _db_lines(user) == {}


def test_anonymous_update_and_remove_use_the_variant_as_line(client):
    variant = VariantFactory(stock=10)
    client.post(ADD, {"variant": variant.pk})
    client.post(reverse("cart:update", args=[variant.pk]), {"quantity": "7"})
    assert client.session[SESSION_KEY] == {str(variant.pk): 7}
    client.post(reverse("cart:remove", args=[variant.pk]))
    assert client.session[SESSION_KEY] == {}


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("11", "Only 10 of"),
        ("0", "Enter a quantity from 1 to 99."),
        ("x", "Enter a whole number."),
        ("", "Enter a quantity."),
    ],
)
def test_update_errors_are_messages_and_change_nothing(client, user, quantity, expected):
    client.force_login(user)
    line = CartLineFactory(cart__user=user, quantity=2, variant__stock=10)
    response = client.post(
        reverse("cart:update", args=[line.pk]), {"quantity": quantity}, follow=True
    )
    assert response.status_code == 200
    assert any(expected in m for m in _messages(response)), _messages(response)
    assert _db_lines(user) == {line.variant_id: 2}


def test_another_users_line_is_left_alone(client, user):
    client.force_login(user)
    other = CartLineFactory(quantity=2)
    response = client.post(reverse("cart:update", args=[other.pk]), {"quantity": "1"}, follow=True)
    assert "This cart line does not exist." in _messages(response)
    response = client.post(reverse("cart:remove", args=[other.pk]), follow=True)
    assert "This cart line does not exist." in _messages(response)
    other.refresh_from_db()
    assert other.quantity == 2


def test_update_and_remove_are_post_only(client):
    assert client.get(reverse("cart:update", args=[1])).status_code == 405
    assert client.get(reverse("cart:remove", args=[1])).status_code == 405


# --- the header count -------------------------------------------------------------------------


def test_header_shows_zero_for_a_visitor_without_a_session(client):
    ProductFactory()
    html = client.get(reverse("catalog:product_list")).content.decode()
    assert _header_count(html) == 0
    assert 'href="/cart/"' in html


def test_header_shows_the_database_count_for_a_logged_in_user(client, user):
    client.force_login(user)
    CartLineFactory(cart__user=user, quantity=2)
    CartLineFactory(cart=user.cart, quantity=5)
    html = client.get(reverse("catalog:home")).content.decode()
    assert _header_count(html) == 7


# --- merge on login ---------------------------------------------------------------------------


def test_login_page_merges_the_session_cart_into_the_database_cart(client):
    user = UserFactory()
    both = VariantFactory(stock=10)
    new = VariantFactory(stock=10)
    CartLineFactory(cart__user=user, variant=both, quantity=1)
    client.post(ADD, {"variant": both.pk, "quantity": 2})
    client.post(ADD, {"variant": new.pk, "quantity": 4})

    response = client.post(
        reverse("accounts:login"), {"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert _db_lines(user) == {both.pk: 3, new.pk: 4}
    assert SESSION_KEY not in client.session
    assert _header_count(client.get(reverse("cart:detail")).content.decode()) == 7


def test_login_merge_caps_by_stock_and_max_and_drops_what_is_gone(client, settings):
    settings.MAX_LINE_QUANTITY = 6
    user = UserFactory()
    scarce = VariantFactory(stock=4)
    plenty = VariantFactory(stock=50)
    withdrawn = VariantFactory(stock=5)
    CartLineFactory(cart__user=user, variant=scarce, quantity=2)
    CartLineFactory(cart=user.cart, variant=plenty, quantity=5)
    client.post(ADD, {"variant": scarce.pk, "quantity": 3})
    client.post(ADD, {"variant": plenty.pk, "quantity": 4})
    client.post(ADD, {"variant": withdrawn.pk, "quantity": 1})
    Variant.objects.filter(pk=withdrawn.pk).update(is_active=False)

    client.post(reverse("accounts:login"), {"email": user.email, "password": DEFAULT_PASSWORD})

    assert _db_lines(user) == {scarce.pk: 4, plenty.pk: 6}


@pytest.mark.parametrize("how", ["login", "force_login"])
def test_test_client_logins_merge_too(client, how):
    user = UserFactory()
    variant = VariantFactory(stock=10)
    CartLineFactory(cart__user=user, variant=variant, quantity=1)
    client.post(ADD, {"variant": variant.pk, "quantity": 2})
    if how == "login":
        assert client.login(email=user.email, password=DEFAULT_PASSWORD)
    else:
        client.force_login(user)
    assert _db_lines(user) == {variant.pk: 3}
    assert SESSION_KEY not in client.session


def test_a_failed_login_keeps_the_session_cart(client):
    user = UserFactory()
    variant = VariantFactory()
    client.post(ADD, {"variant": variant.pk, "quantity": 2})
    client.post(reverse("accounts:login"), {"email": user.email, "password": "wrong"})
    assert client.session[SESSION_KEY] == {str(variant.pk): 2}
    assert _db_lines(user) == {}
