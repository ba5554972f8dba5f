from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "shop.core"
    label = "core"

    def ready(self) -> None:
        from shop.core.shop import shop_row_ensure

        post_migrate.connect(shop_row_ensure, sender=self, dispatch_uid="core.shop_row_ensure")
