"""The carrier webhook over HTTP: the same checks as the payment webhooks (a bad or old
signature, a replay, a huge body, an unknown carrier), stored once, answered at once."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from fulfilment.services.shipments import shipment_create
from fulfilment.tests.factories import (
    carrier_event,
    carrier_signed,
    merchant_with_staff,
    paid_order,
    product_of,
)
from payments.models import WebhookEvent
from payments.providers.base import sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipment():
    staff = UserFactory()
    merchant = merchant_with_staff(staff)
    order = paid_order(user=UserFactory(), items=[(product_of(merchant), 1)])
    return shipment_create(order_id=order.pk, carrier="dhl", tracking_number="WH1", by=staff)


def post(client, body: bytes, signature: str, carrier: str = "dhl"):
    return client.post(
        reverse("fulfilment:carrier_webhook", args=[carrier]),
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def test_a_signed_callback_is_stored_once_and_answered(
    client, shipment, django_capture_on_commit_callbacks
):
    body, signature = carrier_signed(carrier_event(shipment, status="in_transit", event_id="c-1"))
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, body, signature)
    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "id": "c-1"}
    assert len(callbacks) == 1  # the apply task, queued after commit
    stored = WebhookEvent.objects.get(provider__startswith="carrier:")
    assert stored.provider == "carrier:dhl"
    assert stored.handler == "fulfilment.tasks.carrier_event_apply_task"
    assert post(client, body, signature).status_code == 200  # a replay: stored once
    assert WebhookEvent.objects.filter(provider__startswith="carrier:").count() == 1


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "t=1,v1=deadbeef",
        "garbage",
    ],
)
def test_a_bad_signature_is_a_400_and_stores_nothing(client, shipment, signature):
    body, _ok = carrier_signed(carrier_event(shipment, status="in_transit"))
    response = post(client, body, signature)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.filter(provider__startswith="carrier:").exists()


def test_another_secret_an_old_or_a_future_timestamp_is_refused(client, shipment, settings):
    event = carrier_event(shipment, status="in_transit")
    body = json.dumps(event).encode()
    for signature in (
        sign(payload=body, secret="someone-else"),
        sign(
            payload=body, secret=settings.CARRIER_WEBHOOK_SECRET, timestamp=int(time.time()) - 301
        ),
        sign(
            payload=body, secret=settings.CARRIER_WEBHOOK_SECRET, timestamp=int(time.time()) + 3600
        ),
    ):
        assert post(client, body, signature).status_code == 400
    assert not WebhookEvent.objects.filter(provider__startswith="carrier:").exists()


def test_the_payment_secret_does_not_sign_carrier_callbacks(client, shipment, settings):
    event = carrier_event(shipment, status="in_transit")
    body, signature = carrier_signed(event, secret=settings.SANDBOX_WEBHOOK_SECRET)
    assert post(client, body, signature).status_code == 400


def test_an_unknown_carrier_is_a_404_and_a_get_a_405(client, shipment):
    body, signature = carrier_signed(carrier_event(shipment, status="in_transit"))
    response = post(client, body, signature, carrier="no-such-carrier")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.get(reverse("fulfilment:carrier_webhook", args=["dhl"])).status_code == 405


def test_a_huge_body_is_refused_without_storing(client, shipment, settings):
    event = carrier_event(shipment, status="in_transit")
    event["description"] = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    body, signature = carrier_signed(event)
    response = post(client, body, signature)
    assert 400 <= response.status_code < 500
    assert not WebhookEvent.objects.filter(provider__startswith="carrier:").exists()
