"""What every payment provider offers, and the signature scheme the built-in ones share.

Both built-in providers sign their callbacks the way Stripe does
(`Stripe-Signature: t=...,v1=HMAC-SHA256`), so the `stripe` library verifies both, and
both send Stripe-shaped events of the types below."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any, Protocol

import stripe

from payments.errors import InvalidSignature
from payments.models import Payment, Refund
from shop.core.jsonsafe import json_load

SIGNATURE_TOLERANCE = 300  # seconds, as API.md fixes

EVENT_SUCCEEDED = "payment_intent.succeeded"
EVENT_FAILED = "payment_intent.payment_failed"
EVENT_REFUNDED = "charge.refunded"
KNOWN_EVENTS = frozenset({EVENT_SUCCEEDED, EVENT_FAILED, EVENT_REFUNDED})


@dataclass(frozen=True)
class CreatedPayment:
    reference: str
    client_secret: str = ""
    redirect_path: str = ""


@dataclass(frozen=True)
class CreatedRefund:
    reference: str
    succeeded: bool


class PaymentProvider(Protocol):
    # Read-only, so a provider may name itself with a `Provider` member (a str).
    @property
    def name(self) -> str: ...

    def is_configured(self) -> bool: ...

    def create_payment(self, *, payment: Payment) -> CreatedPayment: ...

    def verify_callback(self, *, payload: bytes, signature: str) -> dict[str, Any]: ...

    def refund(self, *, payment: Payment, refund: Refund) -> CreatedRefund: ...

    def void(self, *, payment: Payment) -> bool:
        """Make sure a payment whose order was cancelled never takes money; True when it
        is void at the provider, False when the provider could no longer stop it (the money
        was taken: its capture is reported and refunded). Idempotent; ProviderError when
        the provider cannot be reached."""
        ...


def sign(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header value for `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_stripe_signature(*, payload: bytes, signature: str, secret: str) -> dict[str, Any]:
    """The event of a callback signed as Stripe signs; InvalidSignature otherwise."""
    if not secret:
        raise InvalidSignature()
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, tolerance=SIGNATURE_TOLERANCE
        )
        # Any document, however odd, parses without surprises (deep nesting, NaN, huge
        # numbers); intake makes what jsonb cannot hold storable (shop.core.jsonsafe).
        event = json_load(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidSignature() from exc
    # Stripe's check only bounds old timestamps; API.md also refuses ones from the future.
    timestamp = dict(part.split("=", 1) for part in signature.split(",") if "=" in part).get(
        "t", ""
    )
    if not timestamp.isdigit() or int(timestamp) > time.time() + SIGNATURE_TOLERANCE:
        raise InvalidSignature()
    event_id = event.get("id") if isinstance(event, dict) else None
    # Stored as the event's key (255 characters): an id that cannot be stored is no event.
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        raise InvalidSignature()
    return event
