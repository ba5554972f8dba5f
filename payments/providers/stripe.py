"""Stripe: PaymentIntents and refunds through the official client, with our idempotency keys."""

from __future__ import annotations

from typing import Any

import stripe
from django.conf import settings

from payments.errors import ProviderError
from payments.models import Payment, Provider, Refund
from payments.providers.base import CreatedPayment, CreatedRefund, verify_stripe_signature
from shop.core.money import Money


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

    def verify_callback(self, *, payload: bytes, signature: str) -> dict[str, Any]:
        return verify_stripe_signature(
            payload=payload, signature=signature, secret=settings.STRIPE_WEBHOOK_SECRET
        )

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

    def void(self, *, payment: Payment) -> bool:
        """Cancel the PaymentIntent. One Stripe refuses because it succeeded (or is being
        processed) already cannot be stopped: its money arrives by webhook and is refunded."""
        try:
            self._client().v1.payment_intents.cancel(
                payment.provider_reference,
                params={"cancellation_reason": "abandoned"},
                options={"idempotency_key": f"bazaar-payment-void-{payment.pk}"},
            )
        except stripe.InvalidRequestError as exc:
            if exc.code == "payment_intent_unexpected_state":
                return False
            raise ProviderError(str(exc)) from exc
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc
        return True
