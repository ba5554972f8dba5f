"""Views of other apps' rows that only the back office needs."""

from django.utils.translation import gettext_lazy as _

from orders.models import Order


class OrderToShip(Order):
    """Paid orders with lines still to ship: a merchant's work list, oldest first."""

    class Meta:
        proxy = True
        verbose_name = _("order to ship")
        verbose_name_plural = _("orders to ship")
