"""'Bought together' recommendations: computed from paid orders, read with a fallback."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from django.db import transaction
from django.db.models import OuterRef, Subquery

from catalog.models import Product, ProductImage
from orders.selectors import order_line_co_purchases
from reviews.models import BoughtTogether
from shop.core.folded import children_json, children_set
from shop.core.pagecache import versions_bump

KEEP_PER_PRODUCT = 24
LIMIT = 12
# The page-cache version (shop.core.pagecache) of the bought-together table: every cached
# page showing recommendations follows it.
RECOMMENDATIONS_VERSION = "recommendations"


def recommendations_compute(*, batch_size: int = 5000) -> int:
    """Rebuild the whole table in one transaction from the co-purchases orders reports;
    readers see the old table until commit."""
    with transaction.atomic():
        BoughtTogether.objects.all().delete()
        rows = order_line_co_purchases(keep=KEEP_PER_PRODUCT)
        written = 0
        while batch := list(itertools.islice(rows, batch_size)):
            BoughtTogether.objects.bulk_create(
                BoughtTogether(product_id=product_id, other_id=other_id, orders=orders)
                for product_id, other_id, orders in batch
            )
            written += len(batch)
        transaction.on_commit(lambda: versions_bump([RECOMMENDATIONS_VERSION]))
        return written


def recommendations_for_product(
    *, product: Product, limit: int = LIMIT, exclude_ids: Iterable[int] = ()
) -> list[Product]:
    """Up to `limit` products bought with this one, then the best-rated of its category;
    never the product itself (nor `exclude_ids`, e.g. what is already in a cart), never
    inactive or out-of-stock products. One query (the cards' images folded in, see
    shop/core/folded.py), whatever the limit, so the product and cart pages stay within
    their query budgets."""
    buyable = Product.objects.active().filter(in_stock=True).exclude(pk=product.pk)
    if exclude_ids:
        buyable = buyable.exclude(pk__in=list(exclude_ids))
    partners = BoughtTogether.objects.filter(product=product)
    together = Subquery(partners.filter(other=OuterRef("pk")).values("orders")[:1])
    bought = (
        buyable.filter(pk__in=partners.values("other_id"))
        .annotate(together=together)
        .order_by("-together", "pk")
        .values("pk")[:limit]
    )
    # The category's best `limit` may repeat bought-together ones; together they still
    # hold the first `limit` of "bought together, then best-rated of the rest".
    best_rated = (
        buyable.filter(category_id=product.category_id)
        .order_by("-rating_score", "-rating_count", "-id")
        .values("pk")[:limit]
    )
    images = ProductImage.objects.filter(product=OuterRef("pk")).order_by("position", "id")
    candidates = list(
        Product.objects.active()
        .select_related("merchant")
        .filter(pk__in=bought.union(best_rated, all=True))
        .annotate(together=together, images_json=children_json(images))
    )
    for candidate in candidates:
        children_set(candidate, "images", ProductImage, candidate.images_json)
    candidates.sort(
        key=lambda p: (
            (0, -p.together, p.pk)
            if p.together is not None
            else (1, -p.rating_score, -p.rating_count, -p.pk)
        )
    )
    # Callers get products; the `together` annotation only served the ranking above.
    return list(candidates[:limit])
