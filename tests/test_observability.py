"""Probes, metrics and request ids as a load balancer, Prometheus and a log reader meet them
(shop/core/health.py, shop/core/metrics.py, shop/core/logs.py).

Counters live in this process's registry (no PROMETHEUS_MULTIPROC_DIR under pytest), so each
test reads them before and after and compares; tests/test_metrics_gunicorn.py covers several
gunicorn workers, tests/test_e2e_request_id.py the worker side."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import resolve
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory, VariantFactory
from orders.tests.factories import place_order
from payments.models import WebhookEvent
from payments.services.webhooks import webhook_event_apply
from payments.tests.factories import deliver_sandbox_event, start_sandbox_payment
from payments.tests.support import _pools_reset, broker_down, queue_clear
from shop.core import health
from shop.core.logs import JsonFormatter, RequestIdFilter
from shop.core.tasks import enqueue, outbox_emails_requeue_task

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def metrics_client(client, settings):
    settings.METRICS_TOKEN = TOKEN
    return client


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- /healthz ---------------------------------------------------------------------------


def test_healthz_answers_without_io_cookies_or_caching(client):
    # No `db` fixture: pytest-django refuses any database access, so a query would fail this.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies  # no session, no CSRF cookie
    assert client.get("/healthz/").status_code == 200


def test_probes_answer_a_load_balancer_on_plain_http_with_any_host(client, settings, db):
    # As in production: HTTPS-only, and the balancer probes the backend's own address.
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["shop.example.com"]

    for path in ("/healthz", "/readyz"):
        response = client.get(path, HTTP_HOST="10.0.3.17:8000")
        assert response.status_code == 200, (path, response.status_code)
    # Everything else is still redirected and still refuses an unknown host.
    assert client.get("/products/", HTTP_HOST="shop.example.com").status_code == 301
    assert client.get("/products/", HTTP_HOST="10.0.3.17:8000", secure=True).status_code == 400


def test_probes_take_get_only(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


# --- /readyz ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_readyz_is_ok_when_database_cache_and_broker_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    }
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db(transaction=True)
def test_readyz_names_the_broker_when_it_is_down(client):
    with broker_down():
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"] == body["checks"]["cache"] == "ok"
    assert body["checks"]["broker"].startswith("failed")


@pytest.mark.django_db(transaction=True)
def test_readyz_names_the_cache_when_its_redis_is_down(client, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]


@pytest.mark.django_db(transaction=True)
def test_readyz_checks_only_what_readyz_checks_requires(client, settings):
    settings.READYZ_CHECKS = ["database"]
    with broker_down():
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["broker"].startswith("failed")


@pytest.mark.django_db(transaction=True)
def test_readyz_gives_up_on_a_check_that_hangs(client, settings, monkeypatch):
    settings.READYZ_TIMEOUT = 0.3
    monkeypatch.setitem(health.CHECKS, "database", lambda: time.sleep(2))
    monkeypatch.setitem(health.CHECKS, "cache", lambda: time.sleep(2))

    started = time.monotonic()
    response = client.get("/readyz")

    # Both hang at once: the probe waits READYZ_TIMEOUT once, not once per check.
    assert time.monotonic() - started < 1.0
    assert response.status_code == 503
    assert response.json()["failing"] == ["cache", "database"]
    assert "TimeoutError" in response.json()["checks"]["database"]


# --- /metrics: the door ---------------------------------------------------------------


def test_metrics_do_not_exist_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_need_the_bearer_token(metrics_client):
    assert metrics_client.get("/metrics").status_code == 401
    wrong = metrics_client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    basic = metrics_client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}")
    assert basic.status_code == 401


# --- /metrics: what they say ----------------------------------------------------------


@pytest.mark.django_db
def test_latency_is_recorded_by_route_name_never_by_path(metrics_client):
    product = ProductFactory()
    path = product.get_absolute_url()
    route = resolve(path).view_name
    before = scrape(metrics_client)

    for _ in range(3):
        assert metrics_client.get(path).status_code == 200
    metrics_client.get("/no-such-page/x1")
    metrics_client.get("/no-such-page/x2")
    after = scrape(metrics_client)

    count = "bazaar_http_request_duration_seconds_count"
    labels = {"route": route, "method": "GET", "status": "2xx"}
    # Page cache hits (the 2nd and 3rd) are counted under their route too.
    assert value(after, count, **labels) - value(before, count, **labels) == 3
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "4xx"}
    assert value(after, count, **unmatched) - value(before, count, **unmatched) == 2
    routes = {dict(labels)["route"] for (name, labels) in after if name == count}
    assert not any(r.startswith("/") for r in routes), routes


@pytest.mark.django_db
def test_unknown_methods_are_one_label(metrics_client):
    before = scrape(metrics_client)
    metrics_client.generic("BREW", "/products/")
    metrics_client.generic("XYZZY", "/products/")
    after = scrape(metrics_client)

    methods = {dict(labels).get("method") for (name, labels) in after}
    assert "BREW" not in methods and "XYZZY" not in methods
    name = "bazaar_http_request_duration_seconds_count"
    route = resolve("/products/").view_name
    assert (
        sum(
            v - value(before, name, **dict(labels))
            for (n, labels), v in after.items()
            if n == name and dict(labels)["method"] == "other" and dict(labels)["route"] == route
        )
        == 2
    )


@pytest.mark.django_db
def test_page_cache_hits_and_misses_are_counted(metrics_client):
    ProductFactory()
    before = scrape(metrics_client)

    assert metrics_client.get("/products/")["X-Page-Cache"] == "miss"
    assert metrics_client.get("/products/")["X-Page-Cache"] == "hit"
    assert metrics_client.get("/products/")["X-Page-Cache"] == "hit"
    after = scrape(metrics_client)

    assert (
        value(after, "bazaar_page_cache_misses_total")
        - value(before, "bazaar_page_cache_misses_total")
        == 1
    )
    assert (
        value(after, "bazaar_page_cache_hits_total") - value(before, "bazaar_page_cache_hits_total")
        == 2
    )


@pytest.mark.django_db
def test_orders_placed_are_counted_when_the_transaction_commits(
    metrics_client, django_capture_on_commit_callbacks
):
    variant = VariantFactory(stock=10)
    before = value(scrape(metrics_client), "bazaar_orders_placed_total")

    with django_capture_on_commit_callbacks(execute=True):
        place_order(user=UserFactory(), items=[(variant, 1)])
    assert value(scrape(metrics_client), "bazaar_orders_placed_total") == before + 1

    # Rolled back: never counted.
    with pytest.raises(RuntimeError), transaction.atomic():
        place_order(user=UserFactory(), items=[(variant, 1)])
        raise RuntimeError
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pass
    assert not callbacks
    assert value(scrape(metrics_client), "bazaar_orders_placed_total") == before + 1


@pytest.mark.django_db
def test_payments_captured_are_counted_when_the_capture_commits(
    metrics_client, settings, django_capture_on_commit_callbacks
):
    variant = VariantFactory(stock=5, price_amount=Decimal("12.50"))
    order = place_order(user=UserFactory(), items=[(variant, 1)])
    payment = start_sandbox_payment(order)
    event = deliver_sandbox_event(payment, succeeded=True, settings=settings)
    before = value(scrape(metrics_client), "bazaar_payments_captured_total", provider="sandbox")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        webhook_event_apply(event_pk=event.pk)
    # Decided, not yet committed: nothing counted.
    assert (
        value(scrape(metrics_client), "bazaar_payments_captured_total", provider="sandbox")
        == before
    )
    for callback in callbacks:
        callback()
    after = scrape(metrics_client)
    assert value(after, "bazaar_payments_captured_total", provider="sandbox") == before + 1

    # The same event applied again captures nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        webhook_event_apply(event_pk=event.pk)
    assert (
        value(scrape(metrics_client), "bazaar_payments_captured_total", provider="sandbox")
        == before + 1
    )


@pytest.mark.django_db(transaction=True)
def test_webhook_inbox_backlog_and_age_are_read_from_the_database(metrics_client):
    now = timezone.now()

    def stored(provider: str, event_id: str, age: timedelta, status=WebhookEvent.Status.RECEIVED):
        WebhookEvent.objects.create(
            provider=provider,
            event_id=event_id,
            type="x",
            payload={},
            status=status,
            received_at=now - age,
        )

    stored("sandbox", "e1", timedelta(minutes=10))
    stored("stripe", "e2", timedelta(minutes=2))
    stored("sandbox", "e3", timedelta(hours=5), status=WebhookEvent.Status.PROCESSED)
    stored("carrier:sandbox", "c1", timedelta(seconds=30))
    samples = scrape(metrics_client)

    assert value(samples, "bazaar_webhook_inbox_backlog", inbox="payments") == 2
    assert value(samples, "bazaar_webhook_inbox_backlog", inbox="carriers") == 1
    payments_age = value(samples, "bazaar_webhook_inbox_oldest_age_seconds", inbox="payments")
    carriers_age = value(samples, "bazaar_webhook_inbox_oldest_age_seconds", inbox="carriers")
    assert 600 <= payments_age < 660
    assert 30 <= carriers_age < 90
    assert value(samples, "bazaar_scrape_collector_up", collector="webhook_inbox") == 1


@pytest.mark.django_db(transaction=True)
def test_celery_queue_depth_is_read_from_the_broker(metrics_client):
    queue_clear()
    try:
        assert value(scrape(metrics_client), "bazaar_celery_queue_depth", queue="celery") == 0
        for _ in range(3):
            assert enqueue(outbox_emails_requeue_task)
        samples = scrape(metrics_client)
        assert value(samples, "bazaar_celery_queue_depth", queue="celery") == 3
        assert value(samples, "bazaar_scrape_collector_up", collector="celery_queues") == 1
    finally:
        queue_clear()


@pytest.mark.django_db(transaction=True)
def test_a_collector_that_fails_drops_only_its_own_samples(metrics_client):
    with broker_down():
        samples = scrape(metrics_client)

    assert value(samples, "bazaar_scrape_collector_up", collector="celery_queues") == 0
    assert value(samples, "bazaar_scrape_collector_up", collector="webhook_inbox") == 1
    assert ("bazaar_webhook_inbox_backlog", (("inbox", "payments"),)) in samples


# --- Request ids ------------------------------------------------------------------------


@pytest.fixture
def json_log():
    """What the root logger and `django` write, as the JSON handler of settings writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    loggers = [logging.getLogger(), logging.getLogger("django")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_sane_request_id_is_echoed_and_on_every_log_line(client, json_log):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="lb-7f3a9c.42")

    assert response.status_code == 404
    assert response["X-Request-ID"] == "lb-7f3a9c.42"
    lines = json_log()
    assert {line["logger"] for line in lines} >= {"django.request", "shop.access"}
    assert {line["request_id"] for line in lines} == {"lb-7f3a9c.42"}
    access = next(line for line in lines if line["logger"] == "shop.access")
    assert access["status"] == 404 and access["route"] == "<unmatched>"


@pytest.mark.parametrize(
    "incoming",
    ["", "has space", "new\nline", 'quote"d', "x" * 129, "-leading-dash", "ü-unicode"],
)
@pytest.mark.django_db
def test_an_insane_or_missing_request_id_is_replaced(client, incoming):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID=incoming)

    given = response["X-Request-ID"]
    assert given != incoming
    assert len(given) == 32 and int(given, 16) >= 0


@pytest.mark.django_db
def test_each_request_gets_its_own_id(client):
    first = client.get("/no-such-page/")["X-Request-ID"]
    second = client.get("/no-such-page/")["X-Request-ID"]
    assert first != second


@pytest.mark.django_db(transaction=True)
def test_tasks_queued_by_a_request_carry_its_id_in_their_headers(client, settings):
    """The real publish path: a webhook's request queues its apply task; the message in
    Redis carries the request's id as a header."""
    from payments.providers.sandbox import sandbox_event_build
    from payments.tests.factories import signed
    from payments.tests.support import _redis

    variant = VariantFactory(stock=5, price_amount=Decimal("12.50"))
    order = place_order(user=UserFactory(), items=[(variant, 1)])
    payment = start_sandbox_payment(order)
    body, signature = signed(
        sandbox_event_build(payment=payment, succeeded=True),
        secret=settings.SANDBOX_WEBHOOK_SECRET,
    )
    queue_clear()
    _pools_reset()
    try:
        response = client.post(
            "/payments/webhooks/sandbox/",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
            HTTP_X_REQUEST_ID="req-publish-1",
        )
        assert response.status_code == 200, response.content
        messages = [json.loads(raw) for raw in _redis().lrange("celery", 0, -1)]
        queue_clear()
        # Published outside a request (beat, the shell): no id is made up.
        assert enqueue(outbox_emails_requeue_task)
        (outside,) = [json.loads(raw) for raw in _redis().lrange("celery", 0, -1)]
    finally:
        queue_clear()
    apply = [m for m in messages if m["headers"]["task"].endswith("webhook_event_apply_task")]
    assert apply, messages
    assert all(m["headers"]["bazaar_request_id"] == "req-publish-1" for m in apply)
    assert "bazaar_request_id" not in outside["headers"]
