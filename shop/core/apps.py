from django.apps import AppConfig
from django.core.signals import request_finished, request_started
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "shop.core"
    label = "core"

    def ready(self) -> None:
        # Before any URLconf is imported: they name their parameters with these converters.
        from shop.core import converters  # noqa: F401
        from shop.core.admin import admin_input_guards_install

        admin_input_guards_install()

        from shop.core.shop import shop_row_ensure

        post_migrate.connect(shop_row_ensure, sender=self, dispatch_uid="core.shop_row_ensure")

        from shop.core.logs import request_finished_unbind, request_started_bind

        request_started.connect(request_started_bind, dispatch_uid="core.request_id_bind")
        request_finished.connect(request_finished_unbind, dispatch_uid="core.request_id_unbind")
