"""Which cached pages a catalog change makes stale: the catalog's page-cache versions.

The anonymous page cache (shop.core.pagecache) serves an entry only while every version it
was rendered from is unchanged. The catalog's versions:

- `product:<id>`, one per product: anything its own page (and its API answers) shows:
  variants and their stock states, images, attributes, reviews, rating figures, price.
- `card:<id>`, one per product: what its card shows in lists and recommendations (name,
  link, merchant, first image, price, in stock, rating figures). A list page records the
  cards it shows, so a change to what a card says makes stale the lists that show that
  card; a review's text or a variant's stock state, which no card shows, does not.
- `lists` and its kinds: which products a list holds and in which order. `lists` changes
  when products are added, removed, renamed, moved or (de)activated (any product save) or
  their attributes change (lists filter by attribute); `lists:rating` when rating figures
  change (lists sorted or filtered by rating), `lists:stock` when a product goes in or
  out of stock (lists of products in stock), `lists:price` when a listed price changes
  (lists sorted or filtered by price). A list depends on `lists` and
  on the kinds its filters and sort use, so a sale that empties a product's stock leaves
  the plain product list cached unless that product's card is on it.
- `category:<id>`, one per category: which of its products are in stock and how they rank
  by rating (a product page recommends the best-rated of its category). A product coming
  back in stock, new rating figures, or a product saved into the category bump it.
- `catalog` (shop.core.pagecache.CATALOG): categories and merchants, which every page
  shows or filters by; it makes every entry stale.

A product page recommends products bought with it and the best-rated of its category: it
depends on the cards it shows, on its category, on `lists` (products added, moved,
(de)activated) and on the reviews app's bought-together table. One gap is left: a product
bought with it, out of stock and so not shown, that comes back in stock joins the
recommendations of products in other categories when their entries expire
(PAGE_CACHE_TIMEOUT), not at once.
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


def card_version(product_id: int) -> str:
    return f"card:{product_id}"


def category_version(category_id: int) -> str:
    return f"category:{category_id}"


def products_changed(
    *,
    product_ids: Iterable[int],
    cards: bool = False,
    lists: Iterable[str] = (),
    categories: Iterable[int] = (),
) -> None:
    """Once the current transaction commits (at once outside one): the pages of these
    products are stale, and with `cards` every page showing their cards, and lists of
    these kinds, and what these categories hold in stock by rating."""
    ids = list(product_ids)
    names = {product_version(pk) for pk in ids} | set(lists)
    names |= {category_version(pk) for pk in categories}
    if cards:
        names |= {card_version(pk) for pk in ids}
    if names:
        transaction.on_commit(lambda: versions_bump(names))


def product_list_versions(query: Mapping[str, str]) -> list[str]:
    """The list versions a product list depends on, given its (canonical) query parameters:
    `lists`, and the kind of each filter and sort it uses."""
    names = [LISTS]
    if query.get("ordering") == "-rating" or query.get("min_rating"):
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


def page_shows_product(request: Any, product: Any) -> None:
    """Record on the request that its answer shows this product (its page, its API
    answers): it goes stale when anything about the product changes."""
    page_depends_on(request, product_version(product.pk))


def page_shows_cards(request: Any, products: Iterable[Any], *, lists: Iterable[str] = ()) -> None:
    """Record on the request that its page shows the cards of these products, as a list of
    these kinds (or as recommendations): it goes stale when what one of the cards says
    changes, or which products such a list holds."""
    page_depends_on(request, *(card_version(p.pk) for p in products), *lists)
