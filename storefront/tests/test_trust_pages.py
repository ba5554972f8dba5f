"""What a shopper sees of issue 9's money rules: changed prices flagged on the cart and
checkout pages, a suspended merchant's goods refused, why an order was cancelled and
what happened to money that came afterwards, and no Cancel once a merchant is at work."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from cart.services import SESSION_KEY, cart_add_item
from catalog.models import Merchant, Variant
from catalog.tests.factories import VariantFactory
from orders.services import order_acknowledge, order_expire_unpaid
from orders.tests.factories import ADDRESS, place_order
from payments.services.cancel import order_cancel
from payments.services.webhooks import webhook_event_apply
from payments.tests.factories import start_sandbox_payment
from payments.tests.support import deliver, provider_event
from storefront.views.orders import SESSION_ADDRESS

pytestmark = pytest.mark.django_db

CART = reverse("cart:detail")
FLAG = "Price changed since you added it: was USD 10.00, now USD 12.50."
UNAVAILABLE = "No longer available: please remove it."


@pytest.fixture
def shopper(client, user):
    client.force_login(user)
    return client


def _reprice(variant, price):
    Variant.objects.filter(pk=variant.pk).update(price_amount=Decimal(price))


def test_cart_and_checkout_pages_flag_a_changed_price(shopper, user):
    variant = VariantFactory(price_amount=Decimal("10.00"), stock=5)
    steady = VariantFactory(price_amount=Decimal("3.00"), stock=5)
    cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    cart_add_item(user=user, variant_id=steady.pk, quantity=1)
    assert "Price changed" not in shopper.get(CART).content.decode()

    _reprice(variant, "12.50")

    cart_page = shopper.get(CART).content.decode()
    assert cart_page.count(FLAG) == 1  # on the changed line only
    assert "Some prices have changed since you added the items" in cart_page
    checkout = shopper.get(reverse("orders:checkout")).content.decode()
    assert FLAG in checkout
    session = shopper.session
    session[SESSION_ADDRESS] = ADDRESS.as_dict()
    session.save()
    step_two = shopper.get(reverse("orders:checkout_shipping")).content.decode()
    assert FLAG in step_two and "placed at today's prices" in step_two


def test_an_anonymous_cart_flags_a_changed_price_and_keeps_it_through_login(client):
    user = UserFactory()
    variant = VariantFactory(price_amount=Decimal("10.00"), stock=5)
    client.post("/cart/add/", {"variant": variant.pk, "quantity": 1})
    _reprice(variant, "12.50")
    assert FLAG in client.get(CART).content.decode()

    client.post(reverse("accounts:login"), {"email": user.email, "password": DEFAULT_PASSWORD})

    assert SESSION_KEY not in client.session
    assert FLAG in client.get(CART).content.decode()


def test_a_suspended_merchants_variant_is_refused_and_marked_in_the_cart(shopper, user):
    variant = VariantFactory(stock=5)
    cart_add_item(user=user, variant_id=variant.pk, quantity=1)
    Merchant.objects.filter(pk=variant.product.merchant_id).update(is_active=False)

    assert UNAVAILABLE in shopper.get(CART).content.decode()
    response = shopper.post("/cart/add/", {"variant": variant.pk, "quantity": 1}, follow=True)
    assert "This product variant is not available." in response.content.decode()
    # The product page is gone with the merchant: the refusal lands on the cart.
    assert response.redirect_chain[-1][0] == CART


def test_a_customer_cancel_says_so_and_late_money_is_explained(shopper, user, settings):
    order = place_order(user=user, items=[(VariantFactory(stock=5), 1)])
    payment = start_sandbox_payment(order)
    shopper.post(reverse("orders:cancel", args=[order.number]))

    stored = deliver(provider_event(payment), secret=settings.SANDBOX_WEBHOOK_SECRET)
    webhook_event_apply(event_pk=stored.pk)

    page = shopper.get(order.get_absolute_url()).content.decode()
    assert "You cancelled this order." in page
    assert "Any payment that still arrives for it is refunded in full." in page
    assert "Order history" in page
    assert "arrived after the order was cancelled" in page and "refunded in full" in page


def test_an_expired_order_says_why(shopper, user):
    from datetime import timedelta

    from django.utils import timezone

    order = place_order(user=user, items=[(VariantFactory(stock=5), 1)])
    order_expire_unpaid(now=timezone.now() + timedelta(days=1))

    page = shopper.get(order.get_absolute_url()).content.decode()
    assert "This order was cancelled because it was not paid in time." in page
    assert "Payment time ran out." in page


def test_no_cancel_button_once_a_merchant_acknowledged(shopper, user, settings):
    variant = VariantFactory(stock=5)
    order = place_order(user=user, items=[(variant, 1)])
    payment = start_sandbox_payment(order)
    webhook_event_apply(
        event_pk=deliver(provider_event(payment), secret=settings.SANDBOX_WEBHOOK_SECRET).pk
    )
    assert "Cancel order" in shopper.get(order.get_absolute_url()).content.decode()
    staff = UserFactory(is_staff=True)
    variant.product.merchant.staff.add(staff)

    order_acknowledge(order_id=order.pk, by=staff)

    page = shopper.get(order.get_absolute_url()).content.decode()
    assert "Cancel order" not in page
    assert "The seller started preparing your order." in page
    response = shopper.post(reverse("orders:cancel", args=[order.number]), follow=True)
    assert "can no longer be cancelled" in response.content.decode()
    order.refresh_from_db()
    assert order.status == order.Status.PAID


def test_the_merchant_cancel_kind_reads_as_the_seller(shopper, user):
    variant = VariantFactory(stock=5)
    order = place_order(user=user, items=[(variant, 1)])
    staff = UserFactory(is_staff=True)
    variant.product.merchant.staff.add(staff)
    order_cancel(order_id=order.pk, by=staff, reason="Out of stock in the warehouse.")

    page = shopper.get(order.get_absolute_url()).content.decode()
    assert "The seller cancelled this order." in page
    assert "Out of stock in the warehouse." in page
