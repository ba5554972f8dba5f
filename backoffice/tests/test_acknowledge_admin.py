"""Merchant staff acknowledge their lines from the order admin (issue 9, item 4)."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.services import MERCHANTS_GROUP
from catalog.tests.factories import MerchantFactory, ProductFactory, VariantFactory
from orders.models import Order
from orders.tests.factories import place_order
from payments.services.webhooks import webhook_event_apply
from payments.tests.factories import start_sandbox_payment
from payments.tests.support import deliver, provider_event

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:orders_order_changelist")


@pytest.fixture
def merchant():
    return MerchantFactory()


@pytest.fixture
def paid_order(merchant, settings):
    variant = VariantFactory(product=ProductFactory(merchant=merchant, variants=0), stock=5)
    order = place_order(user=UserFactory(), items=[(variant, 1)])
    payment = start_sandbox_payment(order)
    webhook_event_apply(
        event_pk=deliver(provider_event(payment), secret=settings.SANDBOX_WEBHOOK_SECRET).pk
    )
    return order


def _act(client, order, action="acknowledge_selected"):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [order.pk]}, follow=True)


def test_merchant_staff_with_view_only_access_acknowledge_their_order(client, merchant, paid_order):
    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name=MERCHANTS_GROUP))
    merchant.staff.add(staff)
    client.force_login(staff)
    assert "acknowledge_selected" in client.get(CHANGELIST).content.decode()
    assert "cancel_selected" not in client.get(CHANGELIST).content.decode()

    response = _act(client, paid_order)

    assert "1 order acknowledged." in response.content.decode()
    paid_order.refresh_from_db()
    assert paid_order.acknowledged_at is not None and not paid_order.is_cancellable


def test_an_unpaid_order_is_reported_not_acknowledged(client, merchant):
    order = place_order(
        user=UserFactory(),
        items=[(VariantFactory(product=ProductFactory(merchant=merchant, variants=0)), 1)],
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = _act(client, order)
    assert f"Only paid orders can be acknowledged: {order.number}" in response.content.decode()
    assert Order.objects.get(pk=order.pk).acknowledged_at is None


def test_staff_of_no_merchant_get_no_acknowledge_action(client, paid_order):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=MERCHANTS_GROUP))
    client.force_login(user)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert "acknowledge_selected" not in page.content.decode()
