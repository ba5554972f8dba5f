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
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from shop.core.errors import ConflictError
from shop.core.models import IdempotencyKey

MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(ConflictError):
    code = "idempotency_key_reused"
    default_message = _("This Idempotency-Key was already used with a different request.")


def request_fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_call(
    *, user, scope: str, key: str, payload: Any, run: Callable[[], tuple[int, Any]]
) -> tuple[int, Any, bool]:
    """Run `run()` once per (user, scope, key); returns (status, body, replayed)."""
    fingerprint = request_fingerprint(payload)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user,
                    scope=scope,
                    key=key,
                    request_hash=fingerprint,
                    response_status=0,
                    response_body={},
                )
        except IntegrityError:
            record = IdempotencyKey.objects.get(user=user, scope=scope, key=key)
            if record.request_hash != fingerprint:
                raise IdempotencyKeyReused() from None
            return record.response_status, record.response_body, True
        status, body = run()
        record.response_status = status
        record.response_body = body
        record.save(update_fields=["response_status", "response_body"])
        return status, body, False
