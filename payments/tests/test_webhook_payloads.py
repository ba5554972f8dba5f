"""Verified webhooks whose JSON PostgreSQL cannot hold as sent (issue 9, item 10).

jsonb refuses `\\u0000`, a lone surrogate cannot be sent to it as UTF-8, and NaN is no JSON:
such an event used to be a 500, so the provider retried it for ever. It is now stored with
those characters written out as escapes, its body as it came kept beside them, answered
200 and then applied, or flagged when what it names no longer matches anything."""

import base64
import json

import pytest

from payments.models import PaymentStatus, WebhookEvent
from payments.providers.base import sign
from payments.services.webhooks import ORIGINAL_BODY_KEY, webhook_event_apply
from payments.tests.support import order_with_payment, provider_event

pytestmark = pytest.mark.django_db

URL = "/payments/webhooks/sandbox/"


def _post(client, body: bytes, secret: str, url: str = URL):
    return client.post(
        url,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload=body, secret=secret),
    )


@pytest.fixture
def payment(db):
    return order_with_payment()[2]


def _body(event: dict, **raw_fields: str) -> bytes:
    """The event as JSON, with fields whose JSON text is given as written (escapes kept)."""
    text = json.dumps(event)
    for name, raw in raw_fields.items():
        text = text.replace(f'"{name}": "PLACEHOLDER"', f'"{name}": {raw}')
    return text.encode()


@pytest.mark.parametrize(
    "raw",
    [r'"nul \u0000 inside"', r'"lone \ud800 surrogate"', "NaN", "1e400", "9" * 5000],
    ids=["nul", "lone-surrogate", "nan", "infinite-float", "huge-int"],
)
def test_an_event_jsonb_refuses_is_stored_answered_200_and_applied(client, settings, payment, raw):
    event = provider_event(payment, description="PLACEHOLDER")
    body = _body(event, description=raw)

    response = _post(client, body, settings.SANDBOX_WEBHOOK_SECRET)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.event_id == event["id"]
    assert stored.payload["data"]["object"]["id"] == payment.provider_reference
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED


def test_escaped_text_is_visible_and_the_original_body_is_kept(client, settings, payment):
    event = provider_event(payment, description="PLACEHOLDER")
    body = _body(event, description=r'"a\u0000b\udfffc"')

    _post(client, body, settings.SANDBOX_WEBHOOK_SECRET)

    stored = WebhookEvent.objects.get()
    assert stored.payload["data"]["object"]["description"] == "a\\u0000b\\udfffc"
    assert base64.b64decode(stored.payload[ORIGINAL_BODY_KEY]) == body


def test_an_ordinary_event_is_stored_as_sent(client, settings, payment):
    event = provider_event(payment)

    _post(client, json.dumps(event).encode(), settings.SANDBOX_WEBHOOK_SECRET)

    assert WebhookEvent.objects.get().payload == event


def test_an_event_id_holding_nul_is_stored_once(client, settings, payment):
    event = provider_event(payment, event_id="PLACEHOLDER")
    body = _body(event, id='"evt_' + "\\u0000" * 100 + '"')  # 6x longer once escaped

    first = _post(client, body, settings.SANDBOX_WEBHOOK_SECRET)
    again = _post(client, body, settings.SANDBOX_WEBHOOK_SECRET)

    assert first.status_code == again.status_code == 200
    stored = WebhookEvent.objects.get()
    assert len(stored.event_id) <= 255
    assert first.json()["id"] == stored.event_id


def test_an_event_whose_ids_hold_nul_is_flagged_for_staff(client, settings, payment):
    event = provider_event(payment, id="PLACEHOLDER", metadata={})
    body = _body(event, id=json.dumps(payment.provider_reference)[:-1] + '\\u0000"')

    _post(client, body, settings.SANDBOX_WEBHOOK_SECRET)

    stored = WebhookEvent.objects.get()
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.FLAGGED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_a_payment_id_of_non_ascii_digits_falls_back_to_the_reference(settings, payment):
    from payments.tests.support import deliver

    stored = deliver(
        provider_event(
            payment, metadata={"order_number": payment.order.number, "payment_id": "\u00b2"}
        ),
        secret=settings.SANDBOX_WEBHOOK_SECRET,
    )

    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED


def test_a_signed_event_nested_past_any_real_one_is_kept_and_flagged(client, settings):
    body = b'{"id": "evt_deep", "type": "x", "data": ' + b"[" * 100 + b"]" * 100 + b"}"

    response = _post(client, body, settings.SANDBOX_WEBHOOK_SECRET)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.payload == {
        "id": "evt_deep",
        "type": "x",
        ORIGINAL_BODY_KEY: base64.b64encode(body).decode(),
    }
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.FLAGGED


def test_a_signed_body_too_deep_to_read_is_a_400_not_a_500(client, settings):
    body = b'{"id": "evt_deep", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = _post(client, body, settings.SANDBOX_WEBHOOK_SECRET)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


# --- The webhook answers with the API's envelope, whatever goes wrong --------------------


def test_get_is_a_405_envelope(client):
    response = client.get(URL)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]


def test_a_body_over_the_upload_limit_is_a_413_envelope(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"id": "evt_big", "padding": "x" * 2048}).encode()

    response = _post(client, body, settings.SANDBOX_WEBHOOK_SECRET)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("provider", ["%00", "paypal", "x" * 300])
def test_an_unknown_provider_is_a_404_envelope(client, settings, provider):
    response = _post(
        client, b"{}", settings.SANDBOX_WEBHOOK_SECRET, url=f"/payments/webhooks/{provider}/"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_any_accept_header_gets_the_json_answer(client, settings, payment):
    body = json.dumps(provider_event(payment)).encode()

    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_ACCEPT="application/xml",
        HTTP_STRIPE_SIGNATURE=sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET),
    )

    assert response.status_code == 200
    assert response.json()["received"] is True
