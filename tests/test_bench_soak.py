"""The pure parts of the soak benchmark (bench/soak_scenario.py): the payment callback its
shoppers send must be one the shop accepts and applies, and its report must count what it
says. The soak itself runs only under `make bench` (ten minutes is no test)."""

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.tests.factories import VariantFactory
from orders.models import Order
from orders.tests.factories import place_order
from payments.models import PaymentStatus, WebhookEvent
from payments.services.webhooks import webhook_event_apply

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import soak_scenario
from harness import stripe_signature


@pytest.mark.django_db
def test_the_soak_payment_callback_is_accepted_and_pays_the_order(user, auth_client, settings):
    variant = VariantFactory(stock=5, price_amount=Decimal("12.34"))
    order = place_order(user=user, items=[(variant, 2)])
    started = auth_client.post(
        f"/api/v1/orders/{order.number}/payments/", {"provider": "sandbox"}, format="json"
    )
    assert started.status_code == 201

    event = soak_scenario.payment_succeeded_event(started.json(), order_number=order.number)
    body = json.dumps(event).encode()
    answer = auth_client.generic(
        "POST",
        "/payments/webhooks/sandbox/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(settings.SANDBOX_WEBHOOK_SECRET, body),
    )
    assert answer.status_code == 200
    stored = WebhookEvent.objects.get(event_id=event["id"])
    webhook_event_apply(event_pk=stored.pk)

    stored.refresh_from_db()
    order.refresh_from_db()
    assert stored.status == WebhookEvent.Status.PROCESSED
    assert order.status == Order.Status.PAID
    assert order.payments.get().status == PaymentStatus.CAPTURED
    assert event["data"]["object"]["amount"] == 2 * 1234 + int(order.shipping_amount * 100)


def test_error_kind_names_the_status_and_the_envelope_code():
    conflict = json.dumps({"code": "insufficient_stock", "message": "…"})
    assert (
        soak_scenario.error_kind(409, conflict, expected=(201,))
        == "HTTP 409 insufficient_stock (wanted 201)"
    )
    assert soak_scenario.error_kind(502, b"<html>Bad gateway", expected=(200,)) == (
        "HTTP 502 (wanted 200)"
    )
    assert soak_scenario.error_kind(None, None, expected=(200,)) == "no answer"


def test_errors_are_counted_by_kind_with_the_first_examples():
    errors: dict = {}
    for n in range(5):
        soak_scenario.errors_record(errors, "HTTP 500", request="GET /p/", example=f"page {n}")
    soak_scenario.errors_record(errors, "HTTP 500", request="GET /c/", example="category")

    assert errors["HTTP 500"]["count"] == 6
    assert errors["HTTP 500"]["requests"] == {"GET /p/": 5, "GET /c/": 1}
    assert errors["HTTP 500"]["examples"] == [
        "GET /p/: page 0",
        "GET /p/: page 1",
        "GET /p/: page 2",
    ]


def test_request_rows_give_percentiles_per_type_and_a_total():
    timings = {"GET /": [float(ms) for ms in range(1, 101)], "POST /orders/": [500.0, 700.0]}
    rows = soak_scenario.request_rows(timings, {"POST /orders/": 1}, seconds=10)

    assert rows[0] == ["GET /", "100", "0", "10.00", "50", "99", "100"]
    assert rows[1] == ["POST /orders/", "2", "1", "0.20", "500", "700", "700"]
    assert rows[2][:3] == ["all", "102", "1"]


def test_memory_rows_compare_the_first_and_last_sample_of_each_process():
    mb = 2**20
    samples = [
        {"t": 0, "rss": {"gunicorn worker (pid 1)": 100 * mb, "beat (pid 3)": 50 * mb}},
        {"t": 30, "rss": {"gunicorn worker (pid 1)": 130 * mb, "gunicorn worker (pid 2)": mb}},
        {"t": 60, "rss": {"gunicorn worker (pid 1)": 110 * mb, "gunicorn worker (pid 2)": mb}},
    ]
    rows = soak_scenario.memory_rows(samples)

    assert rows[0] == [
        "gunicorn worker (pid 1)", "100.0", "110.0", "+10.0", "-20.0", "130.0", "0-60"
    ]  # fmt: skip
    assert rows[1] == ["beat (pid 3)", "50.0", "50.0", "+0.0", "+0.0", "50.0", "0-0"]
    assert rows[2][0] == "gunicorn worker (pid 2)" and rows[2][-1] == "30-60"


def test_hit_rate_counts_every_answer():
    assert soak_scenario.hit_rate({"hit": 3, "miss": 1}) == 0.75
    assert soak_scenario.hit_rate({"hit": 1, "miss": 1, "other": 2}) == 0.25
    assert soak_scenario.hit_rate({}) == 0.0
