"""The stripe provider at the HTTP level: the real `stripe` library against a fake Stripe
on 127.0.0.1 (payments/tests/fake_stripe.py), never the network."""

import json
import socket
from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import VariantFactory
from orders.models import Order
from orders.tests.factories import place_order
from payments.models import Payment, Refund, WebhookEvent
from payments.providers.base import sign
from payments.selectors import payment_totals
from payments.services.refunds import refund_execute, refund_request
from payments.services.start import payment_start
from payments.services.webhooks import webhook_event_apply
from payments.tests.fake_stripe import fake_stripe_fixture  # noqa: F401 - the fixture
from payments.tests.support import provider_event
from shop.core.errors import PaymentFailed

pytestmark = pytest.mark.django_db

STRIPE_WEBHOOK = "/payments/webhooks/stripe/"


@pytest.fixture
def order(db):
    variant = VariantFactory(stock=5, price_amount=Decimal("12.34"))
    return place_order(user=UserFactory(), items=[(variant, 2)])


def start(order) -> Payment:
    return payment_start(order=order, provider_name="stripe")


def post_signed(client, event: dict, secret: str):
    body = json.dumps(event).encode()
    return client.post(
        STRIPE_WEBHOOK,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload=body, secret=secret),
    )


def test_payment_start_creates_a_payment_intent(fake_stripe, order):
    payment = start(order)

    [call] = fake_stripe.requests_to("/v1/payment_intents")
    assert call.method == "POST"
    assert call.params["amount"] == str(int(order.total_amount * 100))
    assert call.params["currency"] == order.currency.lower() == "usd"
    assert call.params["metadata[order_number]"] == order.number
    assert call.params["metadata[payment_id]"] == str(payment.pk)
    assert call.params["automatic_payment_methods[enabled]"] == "true"
    assert call.idempotency_key == f"bazaar-payment-{payment.pk}"
    assert call.headers["authorization"] == "Bearer sk_test_fake_0123456789"

    intent = fake_stripe.intents[payment.provider_reference]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert payment.provider == "stripe"
    assert payment.provider_reference.startswith("pi_")
    assert payment.client_secret == intent["client_secret"]
    assert payment.redirect_url == ""
    assert payment.amount == order.total_amount


def test_a_500_is_retried_with_the_same_idempotency_key(fake_stripe, order):
    fake_stripe.fail_next(500)
    payment = start(order)
    calls = fake_stripe.requests_to("/v1/payment_intents")
    assert len(calls) == 2  # the stripe library retried once (max_network_retries=2)
    assert {c.idempotency_key for c in calls} == {f"bazaar-payment-{payment.pk}"}
    assert len(fake_stripe.intents) == 1
    assert payment.status == Payment.Status.PENDING and payment.provider_reference


def test_provider_down_fails_the_payment(fake_stripe, order):
    fake_stripe.fail_next(500, 500, 500)
    with pytest.raises(PaymentFailed):
        start(order)
    calls = fake_stripe.requests_to("/v1/payment_intents")
    assert len(calls) == 3
    payment = Payment.objects.get()
    assert {c.idempotency_key for c in calls} == {f"bazaar-payment-{payment.pk}"}
    assert payment.status == Payment.Status.FAILED
    assert payment.failure_reason
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT  # the shopper may try again

    second = start(order)  # Stripe is back
    assert second.status == Payment.Status.PENDING and second.provider_reference


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_fails_the_payment(fake_stripe, settings, order):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(PaymentFailed):
        start(order)
    assert Payment.objects.get().status == Payment.Status.FAILED


def test_provider_down_is_402_at_the_api(fake_stripe, order):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(order.user).access_token}"
    )
    fake_stripe.fail_next(500, 500, 500)
    response = client.post(
        f"/api/v1/orders/{order.number}/payments/", {"provider": "stripe"}, format="json"
    )
    assert response.status_code == 402
    assert response.json()["code"] == "payment_failed"

    response = client.post(
        f"/api/v1/orders/{order.number}/payments/", {"provider": "stripe"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending" and body["provider"] == "stripe"
    assert body["client_secret"] == fake_stripe.intents[body["provider_reference"]]["client_secret"]


def _paid(client, fake_stripe, order, settings) -> Payment:
    payment = start(order)
    intent = fake_stripe.intents[payment.provider_reference]
    event = {
        "id": "evt_1PaidXYZ",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {**intent, "status": "succeeded", "amount_received": intent["amount"]}},
    }
    assert post_signed(client, event, settings.STRIPE_WEBHOOK_SECRET).status_code == 200
    stored = WebhookEvent.objects.get(event_id="evt_1PaidXYZ")
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    payment.refresh_from_db()
    return payment


def test_signed_succeeded_for_the_intent_pays_the_order(client, fake_stripe, order, settings):
    payment = _paid(client, fake_stripe, order, settings)
    order.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert order.status == Order.Status.PAID
    assert payment_totals(payment=payment).captured == order.total_amount


def test_refunds_go_to_stripe_with_the_refund_key(client, fake_stripe, order, settings):
    payment = _paid(client, fake_stripe, order, settings)
    refund = refund_request(payment=payment, amount=Decimal("4.56"), key="refund-abc")
    refund = refund_execute(refund_id=refund.pk)
    refund_execute(refund_id=refund.pk)  # a redelivered task: no second call

    [call] = fake_stripe.requests_to("/v1/refunds")
    assert call.idempotency_key == "refund-abc"
    assert call.params["payment_intent"] == payment.provider_reference
    assert call.params["amount"] == "456"
    assert call.params["metadata[refund_id]"] == str(refund.pk)
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.provider_reference.startswith("re_")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED

    # Stripe then reports the charge refunded (a Charge object naming its PaymentIntent):
    # already booked, nothing changes.
    charge_event = {
        "id": "evt_charge_refunded_1",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_3Pxyz",
                "object": "charge",
                "payment_intent": payment.provider_reference,
                "amount": int(payment.amount * 100),
                "amount_refunded": 456,
                "currency": "usd",
                "metadata": {},
            }
        },
    }
    assert post_signed(client, charge_event, settings.STRIPE_WEBHOOK_SECRET).status_code == 200
    stored = WebhookEvent.objects.get(event_id="evt_charge_refunded_1")
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    assert payment_totals(payment=payment).refunded == Decimal("4.56")


def test_a_refund_stripe_accepts_as_pending_is_settled_by_its_callback(
    client, fake_stripe, order, settings
):
    payment = _paid(client, fake_stripe, order, settings)
    fake_stripe.refund_status = "pending"
    refund = refund_execute(
        refund_id=refund_request(payment=payment, amount=payment.amount, key="slow").pk
    )
    assert refund.status == Refund.Status.PENDING and refund.provider_reference
    assert payment_totals(payment=payment).refunded == 0

    event = provider_event(
        payment, "charge.refunded", id="ch_3Pslow", amount_refunded=int(payment.amount * 100)
    )
    event["data"]["object"]["payment_intent"] = payment.provider_reference
    assert post_signed(client, event, settings.STRIPE_WEBHOOK_SECRET).status_code == 200
    stored = WebhookEvent.objects.get(event_id=event["id"])
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED

    refund.refresh_from_db()
    payment.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert payment.status == Payment.Status.REFUNDED
    assert payment_totals(payment=payment).refunded == payment.amount
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    # A late refund_execute of the same refund books nothing more.
    refund_execute(refund_id=refund.pk)
    assert payment_totals(payment=payment).refunded == payment.amount


def test_refund_call_failing_keeps_the_refund_pending_for_a_retry(
    client, fake_stripe, order, settings
):
    from payments.errors import ProviderError

    payment = _paid(client, fake_stripe, order, settings)
    refund = refund_request(payment=payment, amount=Decimal("1.00"), key="flaky")
    fake_stripe.fail_next(500, 500, 500)
    with pytest.raises(ProviderError):  # the task retries on this
        refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING
    refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    calls = fake_stripe.requests_to("/v1/refunds")
    assert len(calls) == 4 and {c.idempotency_key for c in calls} == {"flaky"}
    assert payment_totals(payment=payment).refunded == Decimal("1.00")
