"""Webhook intake over HTTP: raw bodies, real signatures, what gets stored."""

import json
import time
from datetime import UTC, datetime

import pytest

from payments.models import MoneyEvent, WebhookEvent
from payments.providers.base import sign
from payments.services.webhooks import webhook_event_apply
from payments.tests.support import order_with_payment, provider_event, queue_clear, queued_for

pytestmark = pytest.mark.django_db

URL = "/payments/webhooks/sandbox/"
APPLY_TASK = "payments.tasks.webhook_event_apply_task"


def post(client, body: bytes, signature: str | None, url: str = URL):
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return client.post(url, data=body, content_type="application/json", **headers)


@pytest.fixture
def payment(db):
    return order_with_payment()[2]


@pytest.fixture
def now(time_machine) -> int:
    """A clock that stands still: the check's "now" is the second the test signed at, so
    301 s ahead stays 301 s ahead (on a running clock it was 300 once a second ticked by)."""
    time_machine.move_to(datetime(2025, 3, 1, 12, 0, tzinfo=UTC), tick=False)
    return int(time.time())


@pytest.fixture
def event_body(payment) -> tuple[dict, bytes]:
    event = provider_event(payment)
    return event, json.dumps(event).encode()


def test_good_signature_is_stored_once_answered_200_and_queued(
    client, settings, event_body, django_capture_on_commit_callbacks
):
    queue_clear()
    event, body = event_body
    signature = sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body, signature)

    assert response.status_code == 200
    assert response.json() == {"received": True, "id": event["id"]}
    stored = WebhookEvent.objects.get()
    assert (stored.provider, stored.event_id, stored.type) == (
        "sandbox",
        event["id"],
        event["type"],
    )
    assert stored.status == WebhookEvent.Status.RECEIVED
    assert stored.payload == event
    # Queued on the real broker for a worker.
    assert queued_for(APPLY_TASK) == [{"event_pk": stored.pk}]


def _header(secret: str, body: bytes, t: int) -> str:
    return sign(payload=body, secret=secret, timestamp=t)


BAD_SIGNATURES = {
    "tampered body": lambda s, body, now: _header(s, body + b" ", now),
    "wrong secret": lambda s, body, now: _header("not-the-secret", body, now),
    "missing header": lambda s, body, now: None,
    "empty header": lambda s, body, now: "",
    "malformed header": lambda s, body, now: "this is not a signature",
    "no timestamp": lambda s, body, now: _header(s, body, now).split(",", 1)[1],
    "no v1": lambda s, body, now: _header(s, body, now).split(",", 1)[0],
    "non-numeric t": lambda s, body, now: "t=abc," + _header(s, body, now).split(",", 1)[1],
    "v0 only": lambda s, body, now: _header(s, body, now).replace("v1=", "v0="),
    "stale (301 s old)": lambda s, body, now: _header(s, body, now - 301),
    "future (301 s ahead)": lambda s, body, now: _header(s, body, now + 301),
    "far future": lambda s, body, now: _header(s, body, now + 10**7),
}


@pytest.mark.parametrize("case", BAD_SIGNATURES, ids=list(BAD_SIGNATURES))
def test_bad_signatures_are_400_and_store_nothing(client, settings, event_body, case, now):
    _event, body = event_body
    signature = BAD_SIGNATURES[case](settings.SANDBOX_WEBHOOK_SECRET, body, now)
    response = post(client, body, signature)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("offset", [-290, 290])
def test_timestamps_within_tolerance_are_accepted(client, settings, event_body, offset, now):
    _event, body = event_body
    t = now + offset
    response = post(client, body, _header(settings.SANDBOX_WEBHOOK_SECRET, body, t))
    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


NOT_EVENTS = {
    "not json": b"amount=1990&currency=usd",
    "truncated json": b'{"id": "evt_1", "type": ',
    "json array": b'[{"id": "evt_1"}]',
    "json string": b'"evt_1"',
    "no id": b'{"type": "payment_intent.succeeded", "data": {}}',
    "numeric id": b'{"id": 12, "type": "payment_intent.succeeded"}',
    "id too long": json.dumps({"id": "evt_" + "x" * 300, "type": "x"}).encode(),
    "not utf-8": b'{"id": "evt_\xff"}',
}


@pytest.mark.parametrize("case", NOT_EVENTS, ids=list(NOT_EVENTS))
def test_correctly_signed_body_that_is_no_event_is_400_and_stores_nothing(client, settings, case):
    body = NOT_EVENTS[case]
    response = post(client, body, sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_unknown_provider_is_404(client, settings, event_body):
    _event, body = event_body
    signature = sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET)
    response = post(client, body, signature, url="/payments/webhooks/paypal/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not WebhookEvent.objects.exists()


def test_a_provider_that_is_not_configured_is_404(client, settings, event_body):
    settings.STRIPE_API_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    _event, body = event_body
    response = post(client, body, sign(payload=body, secret="whsec_x"), url=_stripe_url())
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_duplicate_event_id_is_200_one_row_and_applied_once(client, settings, payment):
    event = provider_event(payment)
    for _ in range(3):
        # Each delivery is signed afresh, as a provider retrying would.
        body = json.dumps(event).encode()
        response = post(client, body, sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET))
        assert response.status_code == 200
        assert response.json()["id"] == event["id"]
    stored = WebhookEvent.objects.get()

    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    # Delivered again after it was applied: still 200, still one row, nothing moves.
    body = json.dumps(event).encode()
    assert (
        post(client, body, sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET)).status_code
        == 200
    )
    assert WebhookEvent.objects.count() == 1
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    assert MoneyEvent.objects.filter(payment=payment).count() == 1


def test_same_event_id_from_two_providers_is_two_events(client, settings, payment):
    settings.STRIPE_API_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_stripe"
    body = json.dumps(provider_event(payment, event_id="evt_same")).encode()
    assert (
        post(client, body, sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET)).status_code
        == 200
    )
    assert (
        post(client, body, sign(payload=body, secret="whsec_stripe"), url=_stripe_url()).status_code
        == 200
    )
    assert sorted(WebhookEvent.objects.values_list("provider", flat=True)) == ["sandbox", "stripe"]


def _stripe_url() -> str:
    return "/payments/webhooks/stripe/"


def test_stripe_webhooks_are_verified_with_the_stripe_secret(client, settings, event_body):
    settings.STRIPE_API_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_stripe"
    _event, body = event_body

    # The sandbox secret does not sign stripe callbacks.
    signed_by_sandbox = sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET)
    assert post(client, body, signed_by_sandbox, url=_stripe_url()).status_code == 400
    assert not WebhookEvent.objects.exists()
    # And the stripe secret does not sign sandbox ones.
    signed_by_stripe = sign(payload=body, secret="whsec_stripe")
    assert post(client, body, signed_by_stripe).status_code == 400
    assert not WebhookEvent.objects.exists()

    assert post(client, body, signed_by_stripe, url=_stripe_url()).status_code == 200
    assert WebhookEvent.objects.get().provider == "stripe"


def test_stripe_without_a_webhook_secret_refuses_everything(client, settings, event_body):
    settings.STRIPE_API_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = ""
    _event, body = event_body
    # An empty secret must not verify an HMAC made with the empty key.
    assert post(client, body, sign(payload=body, secret=""), url=_stripe_url()).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_unknown_event_type_is_200_at_intake_and_flagged_when_applied(client, settings, payment):
    event = provider_event(payment, "customer.created")
    body = json.dumps(event).encode()
    response = post(client, body, sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET))
    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.FLAGGED
    stored.refresh_from_db()
    assert "unknown event type" in stored.last_error
