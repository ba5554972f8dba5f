from django.utils.translation import gettext_lazy as _

from shop.core.errors import ConflictError


class InsufficientStock(ConflictError):
    """Raised with `lines`: [{"variant", "requested", "available"}] naming what is short."""

    code = "insufficient_stock"
    default_message = _("Not enough stock for some lines.")
