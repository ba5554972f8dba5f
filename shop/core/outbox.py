"""The email outbox: services decide to send inside their transaction; a task sends after
commit, outside any lock, a bounded number of times; a sweeper catches up after a broker
outage. One email per occasion (`key`), whatever retries or redeliveries happen."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from shop.core.models import OutboxEmail
from shop.core.tasks import enqueue

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A claimed email not marked sent after this long (a worker died mid-send) may be retried.
CLAIM_TIMEOUT = timedelta(minutes=5)


def email_queue(
    *,
    key: str,
    to: Iterable[str],
    subject: str,
    template: str,
    context: Mapping[str, Any],
) -> OutboxEmail | None:
    """Queue `template` (`<template>.txt`, and `<template>.html` beside it) for `to`, once
    per `key`; sent after the caller's transaction commits. None when there is nobody to
    send to or the key was queued before."""
    recipients = sorted({address for address in to if address})
    if not recipients:
        return None
    if OutboxEmail.objects.filter(key=key).exists():
        return None
    # Every email may link back to the shop and say how long returns are taken back.
    context = {
        "site_url": settings.SITE_URL.rstrip("/"),
        "return_window_days": settings.RETURN_WINDOW_DAYS,
        **context,
    }
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    try:
        with transaction.atomic():
            email = OutboxEmail.objects.create(
                key=key,
                to=recipients,
                subject=" ".join(str(subject).split())[:255],
                body_text=text,
                body_html=html,
            )
    except IntegrityError:  # queued by a concurrent transaction a moment ago
        return None
    transaction.on_commit(lambda: email_enqueue(email_id=email.pk))
    return email


def email_enqueue(*, email_id: int) -> bool:
    from shop.core.tasks import outbox_email_send_task

    return enqueue(outbox_email_send_task, email_id=email_id)


def email_send(*, email_id: int) -> bool:
    """Send a queued email if it is still unsent; True when this call sent it.

    The claim (status `sending`, an attempt counted) commits before the mail server is
    called, so no row lock is held while it answers and a second task skips the email;
    after MAX_ATTEMPTS it is marked failed."""
    with transaction.atomic():
        email = OutboxEmail.objects.select_for_update(skip_locked=True).filter(pk=email_id).first()
        if email is None or email.status != OutboxEmail.Status.PENDING:
            return False
        email.status = OutboxEmail.Status.SENDING
        email.attempts += 1
        email.claimed_at = timezone.now()
        email.save(update_fields=["status", "attempts", "claimed_at"])
    message = EmailMultiAlternatives(
        email.subject, email.body_text, settings.DEFAULT_FROM_EMAIL, list(email.to)
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    try:
        message.send()
    except Exception as exc:
        exhausted = email.attempts >= MAX_ATTEMPTS
        OutboxEmail.objects.filter(pk=email.pk).update(
            status=OutboxEmail.Status.FAILED if exhausted else OutboxEmail.Status.PENDING,
            last_error=repr(exc)[:2000],
        )
        logger.warning("email %s not sent (attempt %s): %s", email.key, email.attempts, exc)
        if exhausted:
            return False
        raise
    OutboxEmail.objects.filter(pk=email.pk).update(
        status=OutboxEmail.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


def emails_requeue(*, older_than_seconds: int = 120, limit: int = 500) -> int:
    """Queue again pending emails whose task never ran or failed (a broker outage, the mail
    server down), and release claims a dead worker left; each keeps its attempt count, so
    none is tried more than MAX_ATTEMPTS times."""
    now = timezone.now()
    OutboxEmail.objects.filter(
        status=OutboxEmail.Status.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    ).update(status=OutboxEmail.Status.PENDING)
    pks = list(
        OutboxEmail.objects.filter(
            status=OutboxEmail.Status.PENDING,
            created_at__lt=now - timedelta(seconds=older_than_seconds),
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(email_enqueue(email_id=pk) for pk in pks)
