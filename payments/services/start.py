"""Starting a payment: a pending row first, then the provider, outside any transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from orders.models import Order
from payments import transitions
from payments.errors import PaymentNotAllowed, ProviderError
from payments.models import Payment, PaymentStatus
from payments.providers import provider_get
from payments.services.cancel import payment_void_enqueue
from shop.core.errors import PaymentFailed


def payment_start(*, order: Order, provider_name: str) -> Payment:
    """Open a payment for an order awaiting payment and hand it to the provider."""
    provider = provider_get(provider_name)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != Order.Status.PENDING_PAYMENT:
            raise PaymentNotAllowed(
                _("Order %(number)s is %(status)s and cannot be paid.")
                % {"number": order.number, "status": order.get_status_display()}
            )
        payment = Payment.objects.create(
            order=order,
            provider=provider.name,
            amount=order.total_amount,
            currency=order.currency,
        )
    # Outside the transaction: the row exists whatever happens at the provider, and its id
    # is the idempotency key of every retry of this call.
    try:
        created = provider.create_payment(payment=payment)
    except ProviderError as exc:
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=payment.pk)
            transitions.transition(payment, to=PaymentStatus.FAILED)
            payment.failure_reason = str(exc)[:255]
            payment.save(update_fields=["status", "failure_reason", "updated_at"])
        raise PaymentFailed(_("The payment provider could not be reached. Try again.")) from exc
    with transaction.atomic():
        # Lock order: the order, then the payment. A cancel that ran while the provider was
        # being asked has voided this payment: the provider must hear of it too.
        order = Order.objects.select_for_update().get(pk=order.pk)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        payment.provider_reference = created.reference
        payment.client_secret = created.client_secret
        payment.redirect_url = created.redirect_path
        payment.save(
            update_fields=["provider_reference", "client_secret", "redirect_url", "updated_at"]
        )
        if payment.void_requested_at is not None:
            payment_pk = payment.pk
            transaction.on_commit(lambda: payment_void_enqueue(payment_pk=payment_pk))
    if payment.void_requested_at is not None:
        raise PaymentNotAllowed(
            _("Order %(number)s is %(status)s and cannot be paid.")
            % {"number": order.number, "status": order.get_status_display()}
        )
    return payment
