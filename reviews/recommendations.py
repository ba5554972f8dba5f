"""'Bought together' recommendations: computed from paid orders, read with a fallback."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery

from catalog.models import Product
from catalog.selectors import product_list
from reviews.models import BoughtTogether
from reviews.services import PAID_STATUSES

KEEP_PER_PRODUCT = 24
LIMIT = 12

# Every pair of different products in one paid order counts that order once; the top
# KEEP_PER_PRODUCT partners of each product are kept.
_COMPUTE_SQL = """
INSERT INTO reviews_boughttogether (product_id, other_id, orders, computed_at)
SELECT product_id, other_id, orders, now()
FROM (
    SELECT a.product_id, b.product_id AS other_id, COUNT(DISTINCT a.order_id) AS orders,
           ROW_NUMBER() OVER (
               PARTITION BY a.product_id
               ORDER BY COUNT(DISTINCT a.order_id) DESC, b.product_id
           ) AS rank
    FROM (
        SELECT l.order_id, v.product_id
        FROM orders_orderline l
        JOIN orders_order o ON o.id = l.order_id
        JOIN catalog_variant v ON v.id = l.variant_id
        WHERE o.status = ANY(%s)
    ) a
    JOIN (
        SELECT l.order_id, v.product_id
        FROM orders_orderline l
        JOIN catalog_variant v ON v.id = l.variant_id
    ) b ON b.order_id = a.order_id AND b.product_id <> a.product_id
    GROUP BY a.product_id, b.product_id
) ranked
WHERE rank <= %s
"""


def recommendations_compute() -> int:
    """Rebuild the whole table in one transaction; readers see the old one until commit."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM reviews_boughttogether")
        cursor.execute(_COMPUTE_SQL, [list(PAID_STATUSES), KEEP_PER_PRODUCT])
        return cursor.rowcount


def recommendations_for_product(
    *, product: Product, limit: int = LIMIT, exclude_ids: Iterable[int] = ()
) -> list[Product]:
    """Up to `limit` products bought with this one, then the best-rated of its category;
    never the product itself (nor `exclude_ids`, e.g. what is already in a cart), never
    inactive or out-of-stock products. Two queries (the cards, their images), whatever the
    limit, so the product and cart pages stay within their query budgets."""
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
    candidates = list(
        product_list().filter(pk__in=bought.union(best_rated, all=True)).annotate(together=together)
    )
    candidates.sort(
        key=lambda p: (
            (0, -p.together, p.pk)
            if p.together is not None
            else (1, -p.rating_score, -p.rating_count, -p.pk)
        )
    )
    return candidates[:limit]
