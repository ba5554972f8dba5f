from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self):
        from catalog import signals
        from catalog.validators import image_pixel_limit_apply

        signals.connect()
        image_pixel_limit_apply()
