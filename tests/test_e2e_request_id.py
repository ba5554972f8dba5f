"""A request's id follows the task it queues into a real Celery worker, and the worker serves
its own metrics: a signed sandbox webhook posted with an X-Request-ID is applied by the worker
(a separate process logging JSON), whose lines for that task carry the same id, and whose
/metrics count the payment it captured once the capture committed there."""

from __future__ import annotations

import json
import socket
import urllib.request
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from catalog.tests.factories import VariantFactory
from orders.models import Order
from orders.tests.factories import place_order
from payments.providers.sandbox import sandbox_event_build
from payments.tests.factories import signed, start_sandbox_payment
from tests.conftest import _broker_clear, _wait_ready, celery_worker_start

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REQUEST_ID = "e2e-req-5f1c0de"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def json_worker(transactional_db, settings, tmp_path):
    """A real worker (solo pool) logging JSON and serving metrics on a free port."""
    from shop.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("needs Redis as the Celery broker (REDIS_URL is not set)")
    _broker_clear(app)
    port = _free_port()
    worker = celery_worker_start(
        broker=settings.CELERY_BROKER_URL,
        log_path=tmp_path / "celery-worker.log",
        args=["--pool=solo", "--concurrency=1", "--without-mingle", "--without-gossip"],
        env={"LOG_FORMAT": "json", "METRICS_WORKER_PORT": str(port)},
    )
    try:
        _wait_ready(app, worker)
        yield worker, port
    finally:
        worker.stop()
        _broker_clear(app)


def _captured(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "bazaar_payments_captured_total":
                return sample.value
    return 0.0


def test_the_worker_logs_the_task_with_the_request_id_and_counts_the_capture(
    json_worker, client, settings, wait_for
):
    worker, port = json_worker
    variant = VariantFactory(stock=5, price_amount=Decimal("12.50"))
    order = place_order(user=UserFactory(), items=[(variant, 1)])
    payment = start_sandbox_payment(order)
    assert _captured(port) == 0

    body, signature = signed(
        sandbox_event_build(payment=payment, succeeded=True),
        secret=settings.SANDBOX_WEBHOOK_SECRET,
    )
    response = client.post(
        "/payments/webhooks/sandbox/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )
    assert response.status_code == 200, response.content
    assert response["X-Request-ID"] == REQUEST_ID

    def order_paid():
        """the worker to mark the order paid"""
        return Order.objects.filter(pk=order.pk, status=Order.Status.PAID).exists()

    wait_for(order_paid, timeout=30, worker=worker)

    def task_logged():
        """the worker's line saying the apply task succeeded"""
        return [
            line
            for line in _json_lines(worker)
            if "webhook_event_apply_task" in line["message"] and "succeeded" in line["message"]
        ]

    (succeeded,) = wait_for(task_logged, timeout=10, worker=worker)
    assert succeeded["request_id"] == REQUEST_ID
    assert succeeded["logger"].startswith("celery")
    # The worker's own lines outside the task carry no request's id.
    ready = [line for line in _json_lines(worker) if "ready" in line["message"]]
    assert ready and all(line["request_id"] == "-" for line in ready)
    # Counted where the capture committed: in the worker.
    assert _captured(port) == 1


def _json_lines(worker) -> list[dict]:
    lines = []
    for raw in worker.log(tail=100_000).splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # a line some library printed itself
    return lines
