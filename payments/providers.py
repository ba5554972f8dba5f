"""Payment providers behind one small interface, chosen by name.

Both sign their callbacks the way Stripe does (`Stripe-Signature: t=...,v1=HMAC-SHA256`),
so the `stripe` library verifies both."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

import stripe
from django.conf import settings
from django.urls import reverse

from payments.errors import InvalidSignature, ProviderError, ProviderUnavailable
from payments.models import Payment, Provider, Refund
from shop.core.money import Money

SIGNATURE_TOLERANCE = 300  # seconds, as API.md fixes


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
    name: str

    def is_configured(self) -> bool: ...

    def create_payment(self, *, payment: Payment) -> CreatedPayment: ...

    def verify_callback(self, *, payload: bytes, signature: str) -> dict: ...

    def refund(self, *, payment: Payment, refund: Refund) -> CreatedRefund: ...


def sign(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header value for `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _verify(*, payload: bytes, signature: str, secret: str) -> dict:
    if not secret:
        raise InvalidSignature()
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, tolerance=SIGNATURE_TOLERANCE
        )
        event = json.loads(payload)
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


class SandboxProvider:
    """Runs the whole flow offline: its payment page calls our webhook like a provider."""

    name = Provider.SANDBOX

    def is_configured(self) -> bool:
        return bool(settings.SANDBOX_WEBHOOK_SECRET)

    def create_payment(self, *, payment: Payment) -> CreatedPayment:
        reference = f"sbx_pi_{secrets.token_hex(12)}"
        return CreatedPayment(
            reference=reference,
            redirect_path=reverse("payments:sandbox", kwargs={"reference": reference}),
        )

    def verify_callback(self, *, payload: bytes, signature: str) -> dict:
        return _verify(payload=payload, signature=signature, secret=settings.SANDBOX_WEBHOOK_SECRET)

    def refund(self, *, payment: Payment, refund: Refund) -> CreatedRefund:
        return CreatedRefund(reference=f"sbx_re_{secrets.token_hex(12)}", succeeded=True)


class StripeProvider:
    name = Provider.STRIPE

    def is_configured(self) -> bool:
        return bool(settings.STRIPE_API_KEY)

    def _client(self) -> stripe.StripeClient:
        return stripe.StripeClient(
            settings.STRIPE_API_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=2,
        )

    def create_payment(self, *, payment: Payment) -> CreatedPayment:
        money = Money(payment.amount, payment.currency)
        try:
            intent = self._client().v1.payment_intents.create(
                params={
                    "amount": money.to_minor_units(),
                    "currency": payment.currency.lower(),
                    "metadata": {
                        "order_number": payment.order.number,
                        "payment_id": str(payment.pk),
                    },
                    "automatic_payment_methods": {"enabled": True},
                },
                # Our row's id: a retry after a timeout never creates a second intent.
                options={"idempotency_key": f"bazaar-payment-{payment.pk}"},
            )
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc
        return CreatedPayment(reference=intent.id, client_secret=intent.client_secret or "")

    def verify_callback(self, *, payload: bytes, signature: str) -> dict:
        return _verify(payload=payload, signature=signature, secret=settings.STRIPE_WEBHOOK_SECRET)

    def refund(self, *, payment: Payment, refund: Refund) -> CreatedRefund:
        try:
            created = self._client().v1.refunds.create(
                params={
                    "payment_intent": payment.provider_reference,
                    "amount": Money(refund.amount, refund.currency).to_minor_units(),
                    "metadata": {"refund_id": str(refund.pk), "payment_id": str(payment.pk)},
                },
                options={"idempotency_key": refund.idempotency_key},
            )
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc
        return CreatedRefund(reference=created.id, succeeded=created.status == "succeeded")


PROVIDERS: dict[str, PaymentProvider] = {
    Provider.SANDBOX: SandboxProvider(),
    Provider.STRIPE: StripeProvider(),
}


def provider_get(name: str) -> PaymentProvider:
    provider = PROVIDERS.get(name)
    if provider is None or not provider.is_configured():
        raise ProviderUnavailable()
    return provider
