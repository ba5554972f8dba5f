from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    """The shopper's HTML site: the top layer, where pages that show several apps at once
    (home, product, cart, checkout, order) are composed from their selectors and services."""

    name = "storefront"
    verbose_name = "Storefront"
