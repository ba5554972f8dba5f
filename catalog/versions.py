"""Which cached pages a catalog change makes stale: the catalog's page-cache versions.

The anonymous page cache (shop.core.pagecache) serves an entry only while every version it
was rendered from is unchanged. The catalog's versions:

- `product:<id>`, one per product: anything its page shows (variants and their stock
  states, images, attributes, reviews, rating figures, price) and anything its card shows
  in a list. Pages record the products they show, so a change to a product makes stale
  its own page and the list pages and recommendations that show its card, nothing else.
- `lists` and its kinds: which products a list holds and in which order. `lists` changes
  when products are added, removed, renamed, moved or (de)activated (any product save);
  `lists:rating` when rating figures change (lists sorted by rating), `lists:stock` when a
  product goes in or out of stock (lists of products in stock), `lists:price` when a
  listed price changes (lists sorted or filtered by price). A list depends on `lists` and
  on the kinds its filters and sort use, so a sale that empties a product's stock leaves
  the plain product list cached unless that product's card is on it.
- `catalog` (shop.core.pagecache.CATALOG): categories and merchants, which every page
  shows or filters by; it makes every entry stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from shop.core.pagecache import page_depends_on, versions_bump

LISTS = "lists"
LISTS_RATING = "lists:rating"
LISTS_STOCK = "lists:stock"
LISTS_PRICE = "lists:price"


def product_version(product_id: int) -> str:
    return f"product:{product_id}"


def products_changed(*, product_ids: Iterable[int], lists: Iterable[str] = ()) -> None:
    """Once the current transaction commits (at once outside one): pages showing these
    products, and lists of these kinds, are stale."""
    names = {product_version(pk) for pk in product_ids} | set(lists)
    if names:
        transaction.on_commit(lambda: versions_bump(names))


def product_list_versions(query: Mapping[str, str]) -> list[str]:
    """The list versions a product list depends on, given its (canonical) query parameters:
    `lists`, and the kind of each filter and sort it uses."""
    names = [LISTS]
    if query.get("ordering") == "-rating":
        names.append(LISTS_RATING)
    if query.get("in_stock") in ("on", "true"):
        names.append(LISTS_STOCK)
    if (
        query.get("ordering") in ("price", "-price")
        or query.get("min_price")
        or query.get("max_price")
    ):
        names.append(LISTS_PRICE)
    return names


def page_shows_products(
    request: Any, products: Iterable[Any], *, lists: Iterable[str] = ()
) -> None:
    """Record on the request that its page shows these products (their cards or page) and
    lists of these kinds: the page goes stale when one of them changes."""
    page_depends_on(request, *(product_version(p.pk) for p in products), *lists)
