"""Cache invalidation only: any catalog write makes cached anonymous pages stale."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from shop.core.pagecache import catalog_changed


def _on_change(sender, **kwargs):
    transaction.on_commit(catalog_changed)


def connect():
    from catalog.models import Category, Merchant, Product, ProductAttribute, ProductImage, Variant

    for model in (Category, Merchant, Product, ProductAttribute, ProductImage, Variant):
        uid = f"catalog_changed_{model.__name__}"
        post_save.connect(_on_change, sender=model, dispatch_uid=f"{uid}_save")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"{uid}_delete")
    m2m_changed.connect(_on_change, sender=Merchant.staff.through, dispatch_uid="catalog_staff")
