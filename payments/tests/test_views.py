"""The Pay flow on pages: the order page's Pay form, the pay view, the sandbox page."""

import uuid
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.tests.factories import VariantFactory
from orders.models import Order
from orders.tests.factories import place_order
from payments import tasks
from payments.models import Payment
from payments.services.cancel import order_cancel
from payments.services.webhooks import webhook_event_apply
from payments.tests.factories import deliver_sandbox_event, start_sandbox_payment
from payments.tests.test_api import fake_stripe  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

PAY_BUTTON = '<button type="submit" class="button button--primary">Pay</button>'


@pytest.fixture
def order(user):
    variant = VariantFactory(stock=5, price_amount=Decimal("10.00"))
    return place_order(user=user, items=[(variant, 2)])


@pytest.fixture
def shopper(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def sent(monkeypatch):
    """What the sandbox page hands to its webhook sender, instead of a real broker."""
    calls = []
    monkeypatch.setattr(tasks.sandbox_webhook_send_task, "delay", lambda **kw: calls.append(kw))
    return calls


def _pay(client, order, *, provider="sandbox", key=None):
    return client.post(
        reverse("orders:pay", args=[order.number]),
        {"provider": provider, "idempotency_key": key or str(uuid.uuid4())},
    )


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_order_page_shows_pay_form_and_payment_state_while_pending(shopper, order):
    response = shopper.get(order.get_absolute_url())

    content = response.content.decode()
    assert PAY_BUTTON in content
    assert f'action="{reverse("orders:pay", args=[order.number])}"' in content
    assert "Payment status: <strong" in content and "Unpaid" in content
    # Sandbox is offered (and chosen) by default; stripe only when it has keys.
    assert 'name="provider" value="sandbox" id="id_provider_0" required checked' in content
    assert 'value="stripe"' not in content


def test_order_page_offers_stripe_when_configured(shopper, order, settings):
    settings.STRIPE_API_KEY = "sk_test_fake"

    assert 'value="stripe"' in shopper.get(order.get_absolute_url()).content.decode()


def test_no_pay_form_on_a_cancelled_order(shopper, order, user):
    order_cancel(order_id=order.pk, by=user)

    assert PAY_BUTTON not in shopper.get(order.get_absolute_url()).content.decode()


def test_pay_redirects_to_the_sandbox_page_and_a_double_submit_starts_one_payment(shopper, order):
    key = str(uuid.uuid4())
    first = _pay(shopper, order, key=key)
    again = _pay(shopper, order, key=key)

    payment = Payment.objects.get(order=order)
    sandbox_url = payment.redirect_url
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == sandbox_url
    page = shopper.get(sandbox_url)
    assert page.status_code == 200
    assert ">Pay</button>" in page.content.decode()
    assert ">Decline</button>" in page.content.decode()


def test_pay_on_a_cancelled_order_is_a_message_not_an_error(shopper, order, user):
    order_cancel(order_id=order.pk, by=user)

    response = _pay(shopper, order)

    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert any("cannot be paid" in m for m in _messages(response))
    assert not Payment.objects.exists()


def test_pay_with_an_unoffered_provider_is_a_message(shopper, order, settings):
    settings.STRIPE_API_KEY = ""

    response = _pay(shopper, order, provider="stripe")

    assert response["Location"] == order.get_absolute_url()
    assert _messages(response) == ["Choose a way to pay."]
    assert not Payment.objects.exists()


def test_pay_with_stripe_explains_where_the_card_is_entered(shopper, order, fake_stripe):  # noqa: F811
    response = _pay(shopper, order, provider="stripe")

    assert response["Location"] == order.get_absolute_url()
    assert any("mobile app" in m for m in _messages(response))
    assert Payment.objects.get(order=order).provider_reference == "pi_fake_123"


def test_pay_provider_down_is_a_message(shopper, order, settings):
    settings.STRIPE_API_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    response = _pay(shopper, order, provider="stripe")

    assert response["Location"] == order.get_absolute_url()
    assert any("could not be reached" in m for m in _messages(response))


def test_another_users_order_cannot_be_paid(client, order):
    client.force_login(UserFactory())

    assert _pay(client, order).status_code == 404
    assert not Payment.objects.exists()


def test_sandbox_pay_sends_the_signed_event_and_the_order_becomes_paid(
    shopper, order, sent, settings
):
    payment = start_sandbox_payment(order)

    response = shopper.post(payment.redirect_url, {"outcome": "pay"})

    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert len(sent) == 1
    assert sent[0]["url"] == "http://testserver/payments/webhooks/sandbox/"
    assert sent[0]["event"]["type"] == "payment_intent.succeeded"
    # Deliver it as the task would, then let the worker apply it.
    event = deliver_sandbox_event(
        payment, succeeded=True, settings=settings, event=sent[0]["event"]
    )
    webhook_event_apply(event_pk=event.pk)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    page = shopper.get(order.get_absolute_url()).content.decode()
    assert PAY_BUTTON not in page
    assert "Latest payment (Sandbox): Captured" in page


def test_sandbox_decline_fails_the_payment_and_pay_stays_offered(shopper, order, sent, settings):
    payment = start_sandbox_payment(order)

    shopper.post(payment.redirect_url, {"outcome": "decline"})

    assert sent[0]["event"]["type"] == "payment_intent.payment_failed"
    event = deliver_sandbox_event(
        payment, succeeded=False, settings=settings, event=sent[0]["event"]
    )
    webhook_event_apply(event_pk=event.pk)
    page = shopper.get(order.get_absolute_url()).content.decode()
    assert "Latest payment (Sandbox): Failed" in page
    assert PAY_BUTTON in page


@pytest.mark.parametrize("payments", [1, 3])
def test_order_page_query_count_does_not_grow_with_payments(
    shopper, order, payments, django_assert_num_queries
):
    for _ in range(payments):
        start_sandbox_payment(order)

    # session, user, order, its lines, its payments with their sums, its history, its
    # parcels (none yet: no timeline or return is read)
    with django_assert_num_queries(7):
        response = shopper.get(order.get_absolute_url())

    assert response.context["latest_payment"].pk == Payment.objects.latest("created_at", "id").pk


def test_sandbox_page_with_the_broker_down_is_a_message(shopper, order, monkeypatch):
    payment = start_sandbox_payment(order)

    def broker_down(**kwargs):
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr(tasks.sandbox_webhook_send_task, "delay", broker_down)
    url = payment.redirect_url

    response = shopper.post(url, {"outcome": "pay"})

    assert response.status_code == 302
    assert response["Location"] == url
    assert _messages(response) == ["The sandbox cannot send payments right now. Try again."]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
