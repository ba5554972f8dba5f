from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from payments import checks  # noqa: F401 (registers the deploy checks)
        from payments.metrics import webhook_inbox_metrics
        from shop.core.metrics import scrape_collector_register

        scrape_collector_register("webhook_inbox", webhook_inbox_metrics)
