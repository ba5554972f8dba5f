"""The order confirmation mail: sent with no row locked, a bounded number of times."""

from __future__ import annotations

import logging
import smtplib
import socket
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import OperationalError, transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import VariantFactory
from orders.models import Order
from orders.services import (
    CONFIRMATION_CLAIM_SECONDS,
    order_confirmation_send,
    order_confirmations_requeue,
)
from orders.tasks import order_confirmation_send_task
from orders.tests.factories import place_order
from shop.core.testing import run_together

BACKENDS = "orders.tests.test_confirmation"


class LockProbeBackend(BaseEmailBackend):
    """Delivers nothing; while "sending", checks from another connection whether the order
    row is locked, as the mail server's slowness would make every other writer wait."""

    order_ids: list[int] = []
    row_was_free: list[bool] = []

    def send_messages(self, email_messages):
        def lock_row() -> bool:
            try:
                with transaction.atomic():
                    Order.objects.select_for_update(nowait=True).get(pk=self.order_ids[-1])
            except OperationalError:
                return False
            return True

        [free] = run_together([lock_row])
        self.row_was_free.append(free)
        return len(email_messages)


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    calls = 0

    def send_messages(self, email_messages):
        type(self).calls += 1
        raise smtplib.SMTPServerDisconnected("the mail server went away")


@pytest.fixture
def refusing(settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.RefusingBackend"
    RefusingBackend.calls = 0
    return RefusingBackend


def _order() -> Order:
    return place_order(user=UserFactory(), items=[(VariantFactory(), 1)])


@pytest.mark.django_db(transaction=True)
def test_the_mail_is_sent_with_the_order_row_unlocked(settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.LockProbeBackend"
    order = _order()
    LockProbeBackend.order_ids = [order.pk]
    LockProbeBackend.row_was_free = []

    assert order_confirmation_send(order_id=order.pk) is True

    assert LockProbeBackend.row_was_free == [True]
    order.refresh_from_db()
    assert order.confirmation_sent_at is not None
    assert (order.confirmation_attempts, order.confirmation_claimed_at) == (1, None)


@pytest.mark.django_db
def test_a_refused_mail_frees_its_claim_and_raises_so_the_task_retries(refusing, settings):
    order = _order()

    with pytest.raises(smtplib.SMTPException):
        order_confirmation_send(order_id=order.pk)

    order.refresh_from_db()
    assert (order.confirmation_sent_at, order.confirmation_claimed_at) == (None, None)
    assert order.confirmation_attempts == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert order_confirmation_send(order_id=order.pk) is True
    assert len(mail.outbox) == 1
    order.refresh_from_db()
    assert order.confirmation_attempts == 2


@pytest.mark.django_db
def test_tries_stop_after_the_limit_and_the_last_one_is_logged(refusing, settings, caplog):
    settings.ORDER_CONFIRMATION_MAX_ATTEMPTS = 3
    order = _order()
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=1))

    for _ in range(2):
        with pytest.raises(smtplib.SMTPException):
            order_confirmation_send_task(order_id=order.pk)
    with caplog.at_level(logging.ERROR, logger="orders.services"):
        assert order_confirmation_send(order_id=order.pk) is False  # the last: no raise
    assert "giving up" in caplog.text and order.number in caplog.text

    # Neither a redelivered task nor the sweeper tries again.
    assert order_confirmation_send(order_id=order.pk) is False
    assert order_confirmations_requeue(older_than_seconds=0) == 0
    assert refusing.calls == 3
    order.refresh_from_db()
    assert (order.confirmation_attempts, order.confirmation_sent_at) == (3, None)


@pytest.mark.django_db
def test_a_try_under_way_keeps_others_from_sending_until_its_claim_expires(monkeypatch):
    sent = []
    monkeypatch.setattr(
        order_confirmation_send_task, "apply_async", lambda kwargs, **o: sent.append(kwargs)
    )
    order = _order()
    claimed = timezone.now()
    Order.objects.filter(pk=order.pk).update(
        confirmation_attempts=1, confirmation_claimed_at=claimed, created_at=claimed
    )

    # A second worker (a redelivered task) while the first is talking to the mail server.
    assert order_confirmation_send(order_id=order.pk) is False
    assert order_confirmations_requeue(older_than_seconds=0) == 0
    assert mail.outbox == []

    # The first worker died mid-send: once its claim has expired the sweeper queues it again.
    with time_machine.travel(claimed + timedelta(seconds=CONFIRMATION_CLAIM_SECONDS + 1)):
        assert order_confirmations_requeue(older_than_seconds=0) == 1
        assert order_confirmation_send_task(**sent[0]) is True
    assert len(mail.outbox) == 1
    order.refresh_from_db()
    assert order.confirmation_attempts == 2


@pytest.mark.django_db
def test_the_sweeper_gives_up_a_last_try_lost_with_its_worker_and_logs_it_once(
    settings, caplog, monkeypatch
):
    monkeypatch.setattr(order_confirmation_send_task, "apply_async", lambda **kwargs: None)
    settings.ORDER_CONFIRMATION_MAX_ATTEMPTS = 2
    order = _order()
    long_ago = timezone.now() - timedelta(hours=1)
    Order.objects.filter(pk=order.pk).update(
        confirmation_attempts=2, confirmation_claimed_at=long_ago, created_at=long_ago
    )

    with caplog.at_level(logging.ERROR, logger="orders.services"):
        assert order_confirmations_requeue(older_than_seconds=0) == 0
        assert order_confirmations_requeue(older_than_seconds=0) == 0
    assert caplog.text.count(order.number) == 1
    order.refresh_from_db()
    assert order.confirmation_claimed_at is None


# --- EMAIL_TIMEOUT ---------------------------------------------------------------------


@pytest.fixture
def silent_mail_server():
    """An SMTP port that accepts connections and never says a word (a hung mail server).
    It hangs up after 30 s, so code without a timeout fails there instead of hanging."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
        for connection in accepted:
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    hang_up = threading.Timer(30, stop.set)
    hang_up.start()
    yield server.getsockname()[1]
    hang_up.cancel()
    stop.set()
    thread.join()
    server.close()


def test_email_timeout_has_a_default_and_reaches_the_smtp_connection(settings):
    assert settings.EMAIL_TIMEOUT == 10
    connection = get_connection("django.core.mail.backends.smtp.EmailBackend")
    assert connection.timeout == settings.EMAIL_TIMEOUT


@pytest.mark.django_db
def test_a_silent_mail_server_times_out_and_the_try_is_given_back(settings, silent_mail_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", silent_mail_server
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 0.5
    order = _order()

    # smtplib reports the socket's timeout as a disconnection "timed out" (without a
    # timeout it would wait until the server hangs up).
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        order_confirmation_send(order_id=order.pk)

    order.refresh_from_db()
    assert (order.confirmation_attempts, order.confirmation_claimed_at) == (1, None)
