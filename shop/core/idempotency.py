"""`Idempotency-Key` handling for POSTs that create things (orders, payments).

The key row is inserted *before* the work, in the same transaction. A concurrent retry
with the same key blocks on the unique index until the first request finishes: if that
one committed, the retry answers with the stored response; if it failed, nothing was
stored and the retry does the work itself. A failed request (a 4xx from a DomainError)
stores nothing, so it can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.core.errors import ConflictError
from shop.core.models import IdempotencyKey

if TYPE_CHECKING:
    # AUTH_USER_MODEL, as the django-stubs plugin resolves this alias: shop.core sits below
    # accounts and may not import accounts.User, not even for types (tests/layers.py).
    from django.contrib.auth.models import _User as AuthUser

MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(ConflictError):
    code = "idempotency_key_reused"
    default_message = _("This Idempotency-Key was already used with a different request.")


def request_fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeyInProgress(ConflictError):
    code = "idempotency_key_in_progress"
    default_message = _("A request with this Idempotency-Key is still being processed.")


# An unfinished key older than this is taken to belong to a process that died mid-call.
ABANDONED_AFTER = timedelta(minutes=5)
_IN_PROGRESS = 0


def idempotent_call(
    *,
    user: AuthUser,
    scope: str,
    key: str,
    payload: Any,
    run: Callable[[], tuple[int, Any]],
    external: bool = False,
) -> tuple[int, Any, bool]:
    """Run `run()` once per (user, scope, key); returns (status, body, replayed).

    `external=True` is for work that calls a payment provider, which must not happen
    inside a database transaction (STYLE.md section 4): the key is claimed and committed
    first, `run()` runs with no transaction around it, and its answer is stored after. A
    retry that arrives meanwhile gets 409 `idempotency_key_in_progress`, as Stripe does."""
    fingerprint = request_fingerprint(payload)
    if external:
        return _idempotent_external(user, scope, key, fingerprint, run)
    with transaction.atomic():
        record_id = _claim(user=user, scope=scope, key=key, fingerprint=fingerprint)
        if record_id is None:
            record = IdempotencyKey.objects.only(
                "request_hash", "response_status", "response_body"
            ).get(user=user, scope=scope, key=key)
            if record.request_hash != fingerprint:
                raise IdempotencyKeyReused()
            return record.response_status, record.response_body, True
        status, body = run()
        IdempotencyKey.objects.filter(pk=record_id).update(
            response_status=status, response_body=body
        )
        return status, body, False


_CLAIM_SQL = """
INSERT INTO {table} (user_id, scope, key, request_hash, response_status, response_body, created_at)
VALUES (%s, %s, %s, %s, %s, '{{}}'::jsonb, %s)
ON CONFLICT (user_id, scope, key) DO NOTHING
RETURNING id
"""


def _claim(*, user: AuthUser, scope: str, key: str, fingerprint: str) -> int | None:
    """Insert the key's row unless it exists; its id, or None when it was there already.

    One statement and no savepoint on the checkout's hot path (measured in
    bench/orders_suite.py): where `create()` needed a savepoint to survive the unique
    violation, ON CONFLICT DO NOTHING waits the same way for a concurrent transaction
    holding the same key, then inserts if that one rolled back, or returns no row if it
    committed."""
    statement = _CLAIM_SQL.format(table=connection.ops.quote_name(IdempotencyKey._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(statement, [user.pk, scope, key, fingerprint, _IN_PROGRESS, timezone.now()])
        row = cursor.fetchone()
    return row[0] if row else None


def _idempotent_external(
    user: AuthUser,
    scope: str,
    key: str,
    fingerprint: str,
    run: Callable[[], tuple[int, Any]],
) -> tuple[int, Any, bool]:
    with transaction.atomic():
        record, created = IdempotencyKey.objects.select_for_update().get_or_create(
            user=user,
            scope=scope,
            key=key,
            defaults={
                "request_hash": fingerprint,
                "response_status": _IN_PROGRESS,
                "response_body": {},
            },
        )
        if not created:
            if record.request_hash != fingerprint:
                raise IdempotencyKeyReused()
            if record.response_status != _IN_PROGRESS:
                return record.response_status, record.response_body, True
            if timezone.now() - record.created_at < ABANDONED_AFTER:
                raise IdempotencyKeyInProgress()
            record.created_at = timezone.now()  # taken over from a process that died
            record.save(update_fields=["created_at"])
    try:
        status, body = run()
    except BaseException:
        # Nothing to replay: free the key so the client's retry does the work.
        IdempotencyKey.objects.filter(pk=record.pk, response_status=_IN_PROGRESS).delete()
        raise
    IdempotencyKey.objects.filter(pk=record.pk).update(response_status=status, response_body=body)
    return status, body, False
