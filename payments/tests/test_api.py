"""Payments API (API.md "Payments"): start a payment, list an order's payments."""

import json
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.test import Client

from accounts.tests.factories import UserFactory
from catalog.tests.factories import VariantFactory
from orders.tests.factories import place_order
from payments.models import Payment
from payments.services.cancel import order_cancel
from payments.services.refunds import refund_execute, refund_request
from payments.services.webhooks import webhook_event_apply
from payments.tests.factories import deliver_sandbox_event, start_sandbox_payment

pytestmark = pytest.mark.django_db

CREATE_KEYS = {"id", "status", "amount", "currency", "provider", "provider_reference"}


def _url(order) -> str:
    return f"/api/v1/orders/{order.number}/payments/"


@pytest.fixture
def order(user):
    variant = VariantFactory(stock=5, price_amount=Decimal("10.00"))
    return place_order(user=user, items=[(variant, 2)])  # 20.00 + 4.90 shipping


def _capture(payment, settings):
    event = deliver_sandbox_event(payment, succeeded=True, settings=settings)
    webhook_event_apply(event_pk=event.pk)
    payment.refresh_from_db()
    return payment


class _FakeStripe(BaseHTTPRequestHandler):
    """Answers POST /v1/payment_intents like Stripe's API, or 500s when told to."""

    calls: list[str] = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).calls.append(self.path)
        body = json.dumps(
            {
                "id": "pi_fake_123",
                "object": "payment_intent",
                "amount": 2490,
                "currency": "usd",
                "status": "requires_payment_method",
                "client_secret": "pi_fake_123_secret_xyz",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_stripe(settings):
    """A local stand-in for api.stripe.com; settings point the stripe provider at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeStripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeStripe.calls = []
    settings.STRIPE_API_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_port}"
    yield _FakeStripe
    server.shutdown()
    server.server_close()


def test_start_sandbox_payment_answers_201_with_an_absolute_redirect_url(auth_client, order):
    response = auth_client.post(_url(order), {"provider": "sandbox"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == CREATE_KEYS | {"redirect_url"}
    payment = Payment.objects.get(order=order)
    assert body["id"] == payment.pk
    assert body["status"] == "pending"
    assert body["amount"] == "24.90"
    assert body["currency"] == order.currency
    assert body["provider"] == "sandbox"
    assert body["provider_reference"] == payment.provider_reference
    assert body["provider_reference"].startswith("sbx_pi_")
    # Absolute and signed: it opens the sandbox page without any session (a web view).
    assert body["redirect_url"] == f"http://testserver{payment.redirect_url}"
    assert body["redirect_url"].startswith("http://testserver/payments/sandbox/")
    page = Client().get(body["redirect_url"])
    assert page.status_code == 200 and ">Pay</button>" in page.content.decode()


def test_start_stripe_payment_answers_the_client_secret(auth_client, order, fake_stripe):
    response = auth_client.post(_url(order), {"provider": "stripe"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == CREATE_KEYS | {"client_secret"}
    assert body["provider_reference"] == "pi_fake_123"
    assert body["client_secret"] == "pi_fake_123_secret_xyz"
    assert fake_stripe.calls == ["/v1/payment_intents"]


def test_same_idempotency_key_answers_the_same_201_and_starts_one_payment(auth_client, order):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = auth_client.post(_url(order), {"provider": "sandbox"}, format="json", headers=headers)
    again = auth_client.post(_url(order), {"provider": "sandbox"}, format="json", headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Payment.objects.filter(order=order).count() == 1


def test_same_idempotency_key_with_another_body_is_409(auth_client, order, fake_stripe):
    headers = {"Idempotency-Key": "key-1"}
    auth_client.post(_url(order), {"provider": "sandbox"}, format="json", headers=headers)
    response = auth_client.post(_url(order), {"provider": "stripe"}, format="json", headers=headers)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Payment.objects.filter(order=order).count() == 1
    assert fake_stripe.calls == []


def test_another_users_order_is_404_and_starts_nothing(api_client, order):
    stranger = UserFactory()
    api_client.force_authenticate(stranger)

    created = api_client.post(_url(order), {"provider": "sandbox"}, format="json")
    listed = api_client.get(_url(order))

    assert created.status_code == listed.status_code == 404
    assert created.json()["code"] == "not_found"
    assert not Payment.objects.exists()


def test_anonymous_caller_is_401(api_client, order):
    assert api_client.post(_url(order), {"provider": "sandbox"}, format="json").status_code == 401
    assert api_client.get(_url(order)).status_code == 401


def test_paid_order_cannot_be_paid_again(auth_client, order, settings):
    _capture(start_sandbox_payment(order), settings)

    response = auth_client.post(_url(order), {"provider": "sandbox"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "payment_not_allowed"
    assert Payment.objects.filter(order=order).count() == 1


def test_cancelled_order_cannot_be_paid(auth_client, order, user):
    order_cancel(order_id=order.pk, by=user)

    response = auth_client.post(_url(order), {"provider": "sandbox"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "payment_not_allowed"
    assert not Payment.objects.exists()


def test_unknown_provider_is_a_400_field_error(auth_client, order):
    response = auth_client.post(_url(order), {"provider": "paypal"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "provider" in response.json()["fields"]


def test_unconfigured_stripe_is_400_provider_unavailable(auth_client, order, settings):
    settings.STRIPE_API_KEY = ""

    response = auth_client.post(_url(order), {"provider": "stripe"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "provider_unavailable"
    assert not Payment.objects.exists()


def test_stripe_down_is_402_and_the_attempt_is_recorded_failed(auth_client, order, settings):
    settings.STRIPE_API_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # discard port: connection refused

    response = auth_client.post(_url(order), {"provider": "stripe"}, format="json")

    assert response.status_code == 402
    assert response.json()["code"] == "payment_failed"
    assert Payment.objects.get(order=order).status == Payment.Status.FAILED


def test_list_derives_captured_and_refunded_amounts(auth_client, order, settings):
    declined = start_sandbox_payment(order)
    webhook_event_apply(
        event_pk=deliver_sandbox_event(declined, succeeded=False, settings=settings).pk
    )
    paid = _capture(start_sandbox_payment(order), settings)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=paid.pk)
        refund = refund_request(payment=locked, amount=Decimal("5.00"), key="test-refund-1")
    refund_execute(refund_id=refund.pk)

    response = auth_client.get(_url(order))

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": declined.pk,
            "provider": "sandbox",
            "provider_reference": declined.provider_reference,
            "status": "failed",
            "amount": "24.90",
            "captured_amount": "0.00",
            "refunded_amount": "0.00",
            "currency": order.currency,
            "created": response.json()[0]["created"],
        },
        {
            "id": paid.pk,
            "provider": "sandbox",
            "provider_reference": paid.provider_reference,
            "status": "partially_refunded",
            "amount": "24.90",
            "captured_amount": "24.90",
            "refunded_amount": "5.00",
            "currency": order.currency,
            "created": response.json()[1]["created"],
        },
    ]


@pytest.mark.parametrize("payments", [1, 3])
def test_list_query_count_does_not_grow_with_payments(
    auth_client, order, settings, payments, django_assert_num_queries
):
    for _ in range(payments):
        payment = start_sandbox_payment(order)
    _capture(payment, settings)

    # user (token), order, payments with their sums
    with django_assert_num_queries(3):
        response = auth_client.get(_url(order))

    assert len(response.json()) == payments
    assert response.json()[-1]["captured_amount"] == "24.90"
