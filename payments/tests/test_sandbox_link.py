"""The sandbox payment page's link (API.md "Payments"): absolute and signed, bound to its
payment, short-lived, usable without a web session (a mobile app's web view), and it
refuses an order that is no longer awaiting payment."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from payments import tasks
from payments.models import Payment
from payments.providers.sandbox import sandbox_link_token
from payments.services.cancel import order_cancel
from payments.services.webhooks import webhook_event_apply
from payments.tests.support import deliver, order_with_payment, provider_event

pytestmark = pytest.mark.django_db

PAY = ">Pay</button>"


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.sandbox_webhook_send_task, "delay", lambda **kw: calls.append(kw))
    return calls


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_a_web_view_without_a_session_pays_through_the_link(sent):
    _variant, _order, payment = order_with_payment()
    web_view = Client(enforce_csrf_checks=True)  # no login, real CSRF checks

    page = web_view.get(payment.redirect_url)
    assert page.status_code == 200 and PAY in page.content.decode()
    response = web_view.post(
        payment.redirect_url,
        {"outcome": "pay", "csrfmiddlewaretoken": _csrf(page.content.decode())},
    )

    assert response.status_code == 200
    assert "Payment sent." in response.content.decode()
    assert PAY not in response.content.decode()
    assert [call["event"]["type"] for call in sent] == ["payment_intent.succeeded"]
    assert sent[0]["event"]["data"]["object"]["metadata"]["payment_id"] == str(payment.pk)


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "another payment"])
def test_a_forged_or_altered_link_is_404(client, sent, damage):
    _variant, _order, payment = order_with_payment()
    _other_variant, _other_order, other = order_with_payment()
    token = payment.redirect_url.rstrip("/").rsplit("/", 1)[1]
    forged = {
        "flip": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "truncate": token[: len(token) // 2],
        "garbage": "not-a-token",
        # Signed for one payment, naming another's reference: bound to both.
        "another payment": sandbox_link_token(
            payment_id=payment.pk, reference=other.provider_reference
        ),
    }[damage]

    url = f"/payments/sandbox/{forged}/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"outcome": "pay"}).status_code == 404
    assert sent == []


def test_the_link_expires_with_the_time_to_pay(client, settings, sent):
    settings.ORDER_PAYMENT_TIMEOUT = 600
    _variant, _order, payment = order_with_payment()
    with time_machine.travel(timezone.now() + timedelta(seconds=599), tick=False):
        assert client.get(payment.redirect_url).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=601), tick=False):
        assert client.get(payment.redirect_url).status_code == 404


def test_the_page_refuses_a_paid_order(client, settings, sent):
    _variant, _order, payment = order_with_payment()
    webhook_event_apply(
        event_pk=deliver(provider_event(payment), secret=settings.SANDBOX_WEBHOOK_SECRET).pk
    )
    page = client.get(payment.redirect_url).content.decode()
    assert PAY not in page and "there is nothing left to pay" in page

    response = client.post(payment.redirect_url, {"outcome": "pay"}, follow=True)
    assert "there is nothing left to pay" in response.content.decode()
    assert sent == []


def test_the_page_refuses_a_cancelled_order_and_a_voided_payment(client, sent):
    _variant, order, payment = order_with_payment()
    order_cancel(order_id=order.pk, by=order.user)
    page = client.get(payment.redirect_url).content.decode()
    assert PAY not in page
    assert f"Order {order.number} was cancelled, so it can no longer be paid." in page
    assert client.post(payment.redirect_url, {"outcome": "pay"}).status_code == 302
    assert sent == []


def test_the_page_refuses_a_declined_payment_of_a_pending_order(client, sent, settings):
    _variant, _order, payment = order_with_payment()
    webhook_event_apply(
        event_pk=deliver(
            provider_event(payment, "payment_intent.payment_failed"),
            secret=settings.SANDBOX_WEBHOOK_SECRET,
        ).pk
    )
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.FAILED
    page = client.get(payment.redirect_url).content.decode()
    assert PAY not in page and "Start a new payment from the order page." in page
    client.post(payment.redirect_url, {"outcome": "pay"})
    assert sent == []
