"""The email outbox: one email per occasion, sent after commit outside any lock, a bounded
number of attempts, and swept up after a broker or mail-server outage."""

from __future__ import annotations

import pytest
from django.core import mail

from shop.core import outbox
from shop.core.models import OutboxEmail

pytestmark = pytest.mark.django_db


def _queue(key: str = "test:1") -> OutboxEmail | None:
    return outbox.email_queue(
        key=key,
        to=["someone@example.com", "", "someone@example.com"],
        subject="Hello\n   there",
        template="fulfilment/email/return_rejected",
        context={"order": _Order(), "return": _Return(), "lines": []},
    )


class _Order:
    number = "BZ1"

    def get_absolute_url(self) -> str:
        return "/orders/BZ1/"


class _Return:
    note = "Worn"
    pk = 7


def test_a_key_queues_one_email_sent_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = _queue()
        assert _queue() is None  # decided twice: one email
    assert first is not None and first.to == ["someone@example.com"]
    assert first.subject == "Hello there"  # a header is one line
    assert len(callbacks) == 1
    assert "Worn" in first.body_text and "<html>" in first.body_html
    assert outbox.email_send(email_id=first.pk) is True
    assert outbox.email_send(email_id=first.pk) is False
    assert len(mail.outbox) == 1
    first.refresh_from_db()
    assert first.status == OutboxEmail.Status.SENT and first.attempts == 1


def test_nobody_to_send_to_queues_nothing():
    assert outbox.email_queue(key="x", to=["", ""], subject="s", template="t", context={}) is None
    assert not OutboxEmail.objects.exists()


def test_a_failing_mail_server_is_retried_a_bounded_number_of_times(settings, monkeypatch):
    email = _queue()
    assert email is not None

    def refuse(self, *args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("django.core.mail.message.EmailMessage.send", refuse)
    for _attempt in range(outbox.MAX_ATTEMPTS - 1):
        with pytest.raises(OSError):
            outbox.email_send(email_id=email.pk)
        email.refresh_from_db()
        assert email.status == OutboxEmail.Status.PENDING
    assert outbox.email_send(email_id=email.pk) is False  # the last attempt gives up
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboxEmail.Status.FAILED, outbox.MAX_ATTEMPTS)
    assert "mail server down" in email.last_error
    assert outbox.emails_requeue(older_than_seconds=0) == 0  # failed for good: not swept


def test_the_sweeper_queues_what_a_broker_outage_left(monkeypatch):
    email = _queue()
    assert email is not None
    queued = []
    monkeypatch.setattr(outbox, "enqueue", lambda task, **kw: queued.append(kw) or True)
    assert outbox.emails_requeue(older_than_seconds=0) == 1
    assert queued == [{"email_id": email.pk}]
    # A claim a dead worker left (sending for longer than the claim timeout) is released.
    from django.utils import timezone

    OutboxEmail.objects.filter(pk=email.pk).update(
        status=OutboxEmail.Status.SENDING,
        claimed_at=timezone.now() - outbox.CLAIM_TIMEOUT * 2,
    )
    assert outbox.emails_requeue(older_than_seconds=0) == 1
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING
