from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The staff side's top layer: admin pages and actions that need several apps at once
    (an order's cancel-with-refund today; shipping, the merchant dashboard later)."""

    name = "backoffice"
    verbose_name = "Back office"
