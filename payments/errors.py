from django.utils.translation import gettext_lazy as _

from shop.core.errors import ConflictError, DomainError


class InvalidSignature(DomainError):
    code = "invalid_signature"
    default_message = _("The webhook signature is missing, wrong or too old.")
    status_code = 400


class ProviderUnavailable(DomainError):
    code = "provider_unavailable"
    default_message = _("This payment provider is not available.")
    status_code = 400


class ProviderError(Exception):
    """The provider could not be reached or refused a call; worth retrying later."""


class PaymentNotAllowed(ConflictError):
    code = "payment_not_allowed"
    default_message = _("This order cannot be paid in its current state.")


class RefundNotAllowed(ConflictError):
    code = "refund_not_allowed"
    default_message = _("This refund is not possible.")


class InvalidPaymentTransition(ConflictError):
    code = "invalid_transition"
    default_message = _("This payment cannot make that change in its current state.")


class EventNotReady(Exception):
    """An event arrived before the state it applies to (out of order): retry later."""
