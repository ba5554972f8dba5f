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


class CurrencyMismatch(ConflictError):
    """Stored prices are not in SHOP_CURRENCY (a misconfigured deployment, core.E001):
    checkout sells nothing rather than relabel a price in another currency."""

    code = "currency_mismatch"
    default_message = _("Checkout is closed for maintenance: prices are being updated.")
