"""The offline sandbox provider: its payment page calls our webhook like a provider."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from payments.models import Payment, Provider, Refund
from payments.providers.base import (
    EVENT_FAILED,
    EVENT_SUCCEEDED,
    CreatedPayment,
    CreatedRefund,
    verify_stripe_signature,
)
from shop.core.money import Money


class SandboxProvider:
    name = Provider.SANDBOX

    def is_configured(self) -> bool:
        # It pays without money: offered only when switched on (by default only with DEBUG)
        # and given a secret to sign with.
        return settings.SANDBOX_ENABLED and bool(settings.SANDBOX_WEBHOOK_SECRET)

    def create_payment(self, *, payment: Payment) -> CreatedPayment:
        reference = f"sbx_pi_{secrets.token_hex(12)}"
        return CreatedPayment(
            reference=reference,
            redirect_path=reverse(
                "payments:sandbox",
                kwargs={"token": sandbox_link_token(payment_id=payment.pk, reference=reference)},
            ),
        )

    def verify_callback(self, *, payload: bytes, signature: str) -> dict[str, Any]:
        return verify_stripe_signature(
            payload=payload, signature=signature, secret=settings.SANDBOX_WEBHOOK_SECRET
        )

    def refund(self, *, payment: Payment, refund: Refund) -> CreatedRefund:
        return CreatedRefund(reference=f"sbx_re_{secrets.token_hex(12)}", succeeded=True)

    def void(self, *, payment: Payment) -> bool:
        # The sandbox's only way to pay is its page, which refuses a payment that is no
        # longer pending (payments.views.sandbox_payment_view): nothing to tell it.
        return True


# The payment page's link is its own credential: a mobile app opens it in a web view with
# no session, so it carries the payment it is for, signed, and lives as long as the order
# may be paid (ORDER_PAYMENT_TIMEOUT), not longer.
_LINK_SALT = "payments.sandbox.link"


def sandbox_link_token(*, payment_id: int, reference: str) -> str:
    """The signed, timestamped part of a sandbox payment page's URL."""
    return signing.TimestampSigner(salt=_LINK_SALT).sign_object(
        {"payment": payment_id, "reference": reference}
    )


def sandbox_link_payment(*, token: str) -> tuple[int, str] | None:
    """(payment id, provider reference) a link was made for; None when it is forged,
    altered, malformed or older than ORDER_PAYMENT_TIMEOUT."""
    try:
        data = signing.TimestampSigner(salt=_LINK_SALT).unsign_object(
            token, max_age=settings.ORDER_PAYMENT_TIMEOUT
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    payment_id, reference = data.get("payment"), data.get("reference")
    if (
        not isinstance(payment_id, int)
        or isinstance(payment_id, bool)
        or not isinstance(reference, str)
    ):
        return None
    return payment_id, reference


def sandbox_event_build(*, payment: Payment, succeeded: bool) -> dict[str, Any]:
    """The Stripe-shaped event the sandbox sends when its shopper clicks Pay or Decline."""
    amount = Money(payment.amount, payment.currency).to_minor_units()
    obj: dict[str, Any] = {
        "id": payment.provider_reference,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if succeeded else 0,
        "currency": payment.currency.lower(),
        "status": "succeeded" if succeeded else "requires_payment_method",
        "metadata": {"order_number": payment.order.number, "payment_id": str(payment.pk)},
    }
    if not succeeded:
        obj["last_payment_error"] = {"message": "The sandbox shopper declined."}
    return {
        "id": f"evt_sbx_{secrets.token_hex(12)}",
        "object": "event",
        "type": EVENT_SUCCEEDED if succeeded else EVENT_FAILED,
        "created": int(timezone.now().timestamp()),
        "data": {"object": obj},
    }
