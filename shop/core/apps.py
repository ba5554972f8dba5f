from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "shop.core"
    label = "core"

    def ready(self) -> None:
        # Before any URLconf is imported: they name their parameters with these converters.
        from shop.core import converters  # noqa: F401
        from shop.core.admin import admin_input_guards_install

        admin_input_guards_install()
