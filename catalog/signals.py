"""Cache invalidation and search reindex only: a catalog write makes stale the cached pages
that show it (catalog/versions.py says which), and a product's words become searchable."""

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from catalog.versions import LISTS, products_changed
from shop.core.pagecache import catalog_changed


def _on_catalog_change(sender: Any, **kwargs: Any) -> None:
    # Categories and merchants are on (or filter) every page.
    transaction.on_commit(catalog_changed)


def _on_product_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    # A product saved may have been added, renamed, moved or (de)activated: its card and
    # which products lists hold may have changed too.
    products_changed(
        product_ids=[instance.pk], cards=True, lists=[LISTS], categories=[instance.category_id]
    )


def _on_product_saved_words(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Search reindex: the words of a new or renamed product are known to search at once.
    from catalog.search import search_words_add

    search_words_add(names=[instance.name])


def _on_image_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    # A card shows the first image.
    products_changed(product_ids=[instance.product_id], cards=True)


def _on_attribute_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Lists filter and count (facets) by attribute: which products they hold may change.
    products_changed(product_ids=[instance.product_id], lists=[LISTS])


def _on_product_part_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    # A variant shows on its product's page only; what cards and lists show
    # of variants (price, stock) follows from the product's summary, which bumps them.
    products_changed(product_ids=[instance.product_id])


def connect() -> None:
    from catalog.models import Category, Merchant, Product, ProductAttribute, ProductImage, Variant

    handlers: list[tuple[type[Any], Callable[..., None]]] = [
        (Category, _on_catalog_change),
        (Merchant, _on_catalog_change),
        (Product, _on_product_change),
        (ProductAttribute, _on_attribute_change),
        (ProductImage, _on_image_change),
        (Variant, _on_product_part_change),
    ]
    for model, handler in handlers:
        uid = f"catalog_changed_{model.__name__}"
        post_save.connect(handler, sender=model, dispatch_uid=f"{uid}_save")
        post_delete.connect(handler, sender=model, dispatch_uid=f"{uid}_delete")
    post_save.connect(_on_product_saved_words, sender=Product, dispatch_uid="catalog_search_words")
    m2m_changed.connect(
        _on_catalog_change, sender=Merchant.staff.through, dispatch_uid="catalog_staff"
    )
