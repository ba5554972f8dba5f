"""SANDBOX_ENABLED: the sandbox pays without money, so when it is off no way in is left open."""

import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog.tests.factories import VariantFactory
from orders.tests.factories import place_order
from payments.models import Payment, WebhookEvent
from payments.providers.sandbox import sandbox_event_build
from payments.tests.factories import signed, start_sandbox_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(user):
    return place_order(user=user, items=[(VariantFactory(price_amount=Decimal("10.00")), 1)])


@pytest.fixture
def sandbox_off(settings):
    # As a deployment has it: a secret set (or left from a demo), the switch off.
    settings.SANDBOX_WEBHOOK_SECRET = "a-secret-someone-left-set"
    settings.SANDBOX_ENABLED = False
    return settings


def test_the_api_does_not_offer_the_sandbox(auth_client, order, sandbox_off):
    url = f"/api/v1/orders/{order.number}/payments/"

    response = auth_client.post(url, {"provider": "sandbox"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "provider_unavailable"
    assert not Payment.objects.exists()


def test_the_order_page_neither_offers_nor_takes_the_sandbox(client, user, order, sandbox_off):
    client.force_login(user)

    page = client.get(order.get_absolute_url()).content.decode()
    response = client.post(
        reverse("orders:pay", args=[order.number]),
        {"provider": "sandbox", "idempotency_key": str(uuid.uuid4())},
    )

    assert 'value="sandbox"' not in page
    assert response.status_code == 302
    assert not Payment.objects.exists()


def test_an_earlier_sandbox_payment_can_no_longer_be_paid(client, user, order, settings):
    payment = start_sandbox_payment(order)  # made while the sandbox was on
    settings.SANDBOX_ENABLED = False
    client.force_login(user)
    url = reverse("payments:sandbox", args=[payment.provider_reference])

    assert client.get(url).status_code == 404
    assert client.post(url, {"outcome": "pay"}).status_code == 404


def test_signed_sandbox_webhooks_are_refused_and_nothing_is_stored(client, order, settings):
    payment = start_sandbox_payment(order)
    settings.SANDBOX_ENABLED = False
    body, signature = signed(
        sandbox_event_build(payment=payment, succeeded=True),
        secret=settings.SANDBOX_WEBHOOK_SECRET,
    )

    response = client.post(
        "/payments/webhooks/sandbox/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )

    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_check_deploy_warns_while_the_sandbox_is_on(settings, capsys):
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_WEBHOOK_SECRET = "demo"

    call_command("check", "--deploy", "--tag", "security")

    assert "payments.W001" in capsys.readouterr().err
