"""The payment state machine: one table, one guard."""

from payments.errors import InvalidPaymentTransition
from payments.models import PaymentStatus as S

ALLOWED: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.AUTHORIZED, S.CAPTURED, S.FAILED}),
    S.AUTHORIZED: frozenset({S.CAPTURED, S.FAILED}),
    S.CAPTURED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.REFUNDED: frozenset(),
    # A failed attempt is not the end at the provider: Stripe lets the shopper retry the
    # same PaymentIntent with another card. Money it then reports taken is booked.
    S.FAILED: frozenset({S.CAPTURED}),
}


def transition(payment, *, to: str) -> str:
    current = payment.status
    if to not in ALLOWED.get(current, frozenset()):
        raise InvalidPaymentTransition(f"payment {payment.pk}: {current} -> {to} is not allowed")
    payment.status = to
    return current
