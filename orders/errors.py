from django.utils.translation import gettext_lazy as _

from shop.core.errors import ConflictError, DomainError


class InvalidTransition(ConflictError):
    code = "invalid_transition"
    default_message = _("This order cannot make that change in its current state.")


class InsufficientStock(ConflictError):
    code = "insufficient_stock"
    default_message = _("Not enough stock for some lines.")


class EmptyCart(DomainError):
    code = "empty_cart"
    default_message = _("Your cart is empty.")
    status_code = 400
