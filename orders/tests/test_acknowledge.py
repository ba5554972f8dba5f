"""A merchant acknowledging a paid order ends the shopper's cancel (issue 9, item 4): the
seam shipping will use too (it acknowledges the lines it ships)."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from catalog.services import MERCHANTS_GROUP
from catalog.tests.factories import MerchantFactory, ProductFactory, VariantFactory
from orders.errors import InvalidTransition
from orders.models import Order, OrderEvent
from orders.services import order_acknowledge
from orders.tests.factories import place_order
from payments.services.cancel import order_cancel
from payments.services.webhooks import webhook_event_apply
from payments.tests.factories import start_sandbox_payment
from payments.tests.support import deliver, provider_event

pytestmark = pytest.mark.django_db


def _staff(merchant):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=MERCHANTS_GROUP))
    merchant.staff.add(user)
    return user


@pytest.fixture
def shop(settings):
    """A paid order with one line of merchant A and one of merchant B."""
    merchant_a, merchant_b = MerchantFactory(), MerchantFactory()
    lamp = VariantFactory(product=ProductFactory(merchant=merchant_a, variants=0), stock=5)
    kettle = VariantFactory(product=ProductFactory(merchant=merchant_b, variants=0), stock=5)
    order = place_order(user=UserFactory(), items=[(lamp, 1), (kettle, 2)])
    payment = start_sandbox_payment(order)
    webhook_event_apply(
        event_pk=deliver(provider_event(payment), secret=settings.SANDBOX_WEBHOOK_SECRET).pk
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return {"order": order, "a": _staff(merchant_a), "b": _staff(merchant_b), "lamp": lamp}


def test_a_paid_order_is_cancellable_until_a_merchant_acknowledges_it(shop):
    order = shop["order"]
    assert order.is_cancellable

    fresh = order_acknowledge(order_id=order.pk, by=shop["a"])

    order.refresh_from_db()
    assert [line.variant_id for line in fresh] == [shop["lamp"].pk]  # A's line only
    assert order.acknowledged_at is not None and not order.is_cancellable
    acknowledged = dict(order.lines.values_list("variant_id", "acknowledged_at"))
    assert acknowledged[shop["lamp"].pk] is not None
    assert sorted(v is None for v in acknowledged.values()) == [False, True]
    event = order.events.get(kind=OrderEvent.Kind.ACKNOWLEDGED)
    assert event.actor == shop["a"]
    with pytest.raises(InvalidTransition, match="can no longer be cancelled"):
        order_cancel(order_id=order.pk, by=order.user)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_acknowledging_again_changes_nothing_and_the_second_merchant_adds_theirs(shop):
    order = shop["order"]
    order_acknowledge(order_id=order.pk, by=shop["a"])
    first_at = Order.objects.get(pk=order.pk).acknowledged_at

    assert order_acknowledge(order_id=order.pk, by=shop["a"]) == []
    assert len(order_acknowledge(order_id=order.pk, by=shop["b"])) == 1
    assert Order.objects.get(pk=order.pk).acknowledged_at == first_at
    assert not order.lines.filter(acknowledged_at__isnull=True).exists()


def test_only_a_merchant_with_lines_in_the_order_may_acknowledge_it(shop):
    stranger = _staff(MerchantFactory())
    with pytest.raises(Order.DoesNotExist):
        order_acknowledge(order_id=shop["order"].pk, by=stranger)
    assert Order.objects.get(pk=shop["order"].pk).acknowledged_at is None


def test_an_unpaid_order_cannot_be_acknowledged(shop):
    order = place_order(user=UserFactory(), items=[(shop["lamp"], 1)])
    with pytest.raises(InvalidTransition):
        order_acknowledge(order_id=order.pk, by=shop["a"])
    assert Order.objects.get(pk=order.pk).is_cancellable


def test_the_model_rule():
    order = Order(status=Order.Status.PAID, fulfilment_status=Order.FulfilmentStatus.UNFULFILLED)
    assert order.is_cancellable
    order.fulfilment_status = Order.FulfilmentStatus.PARTIALLY_SHIPPED
    assert not order.is_cancellable
    order.fulfilment_status = Order.FulfilmentStatus.UNFULFILLED
    order.acknowledged_at = order.created_at
    assert not order.is_cancellable
    assert Order(status=Order.Status.PENDING_PAYMENT).is_cancellable


# --- The staff API ----------------------------------------------------------------------


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _url(order) -> str:
    return f"/api/v1/staff/orders/{order.number}/acknowledge/"


def test_staff_api_acknowledges_and_the_shoppers_cancel_is_409(shop):
    order = shop["order"]

    response = _api(shop["a"]).post(_url(order))

    assert response.status_code == 200
    body = response.json()
    assert (body["number"], body["status"]) == (order.number, "paid")
    assert body["acknowledged_at"] is not None
    [line] = body["lines"]  # A's own line, never B's
    assert line["acknowledged_at"] is not None
    assert set(body) == {"number", "status", "acknowledged_at", "lines"}  # no totals
    cancel = _api(order.user).post(f"/api/v1/orders/{order.number}/cancel/")
    assert cancel.status_code == 409 and cancel.json()["code"] == "invalid_transition"


def test_staff_api_refuses_shoppers_other_merchants_and_unpaid_orders(shop):
    order = shop["order"]
    assert _api(order.user).post(_url(order)).status_code == 403
    assert _api(_staff(MerchantFactory())).post(_url(order)).status_code == 404
    assert _api(shop["a"]).post("/api/v1/staff/orders/NOPE/acknowledge/").status_code == 404
    unpaid = place_order(user=UserFactory(), items=[(shop["lamp"], 1)])
    response = _api(shop["a"]).post(_url(unpaid))
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert APIClient().post(_url(order)).status_code == 401
