from django.utils.translation import gettext_lazy as _

from shop.core.errors import ConflictError, PermissionDeniedError


class InsufficientStock(ConflictError):
    """Raised with `lines`: [{"variant", "requested", "available"}] naming what is short."""

    code = "insufficient_stock"
    default_message = _("Not enough stock for some lines.")


class StockBelowZero(ConflictError):
    """A stock adjustment would leave less than nothing on hand."""

    code = "stock_below_zero"
    default_message = _("Stock on hand can't go below zero.")


class StockBelowReserved(ConflictError):
    """A stock adjustment would leave less on hand than open orders have reserved."""

    code = "stock_below_reserved"
    default_message = _("Stock on hand can't go below what open orders have reserved.")


class MerchantNotAllowed(PermissionDeniedError):
    """The user does not staff the merchant whose catalog they tried to change."""

    code = "merchant_not_allowed"
    default_message = _("You can only manage products of merchants you work for.")
