from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfilmentConfig(AppConfig):
    """Shipments, carrier tracking and returns: the trade after payment. Sits above orders
    and payments (returns refund through payments) and below the pages that show it."""

    name = "fulfilment"
    verbose_name = _("Fulfilment")
