"""Facet counts of a product list: how many of its products each filter value would show.

Disjunctive faceting: the counts of a group apply every active filter except the group's
own, so a shopper who picked a merchant still sees how many products the other merchants
have (under the other filters), and picking one of them never leads to an empty page.

All groups come from ONE SQL query over the candidates (the list's products before any
facet filter: after search, inside a category page), each carrying one boolean per active
filter; each group is a grouped count over the rows that pass the other groups' booleans,
and the groups are glued with UNION ALL. The answer is cached (it is the same for every
visitor) under the candidates' SQL, the active filters and the versions of what the counts
read (catalog_version() for categories and merchants, the `lists` versions for products
added, moved or re-attributed, their stock, price and rating), so a logged-in shopper's
page does not recompute it either.

Price bands are fixed, on a 1-2.5-5 ladder (under 10, 10-25, ..., 500 and up): prices in a
shop spread roughly log-uniformly, so these bands hold comparable numbers of products, and
fixed boundaries keep each band's link (`min_price`/`max_price`, both inclusive, so a band
ends a cent below the next) the same URL whatever the catalog holds, which the page cache
and this cache share. Quantile bands would move with every price change and cost a query.

An attribute is filtered by `attribute_<key>=<value>`, where the key is its name in lower
case with each run of other characters than a-z and 0-9 written as one `-` ("Battery life"
is `battery-life`); the value is matched exactly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import CharField, Exists, Func, OuterRef, QuerySet, Value
from django.db.models.functions import Lower

from catalog.models import Product, ProductAttribute
from catalog.selectors import CategoryNode, CategoryTree, category_tree
from catalog.versions import LISTS, LISTS_PRICE, LISTS_RATING, LISTS_STOCK
from shop.core.pagecache import catalog_version, page_depends_on, versions_current

ATTRIBUTE_PREFIX = "attribute_"
# Bounds on what a URL may ask, so neither the filters nor the cache keys grow unbounded.
ATTRIBUTE_FILTERS_MAX = 4
ATTRIBUTE_KEY_MAX_LENGTH = 40
ATTRIBUTE_VALUE_MAX_LENGTH = 200  # ProductAttribute.value's
ATTRIBUTE_KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# What the facets show of attributes: the most common values of the most common names.
ATTRIBUTE_VALUES_SHOWN = 20
ATTRIBUTE_NAMES_SHOWN = 12

PRICE_BOUNDARIES = tuple(Decimal(b) for b in ("10", "25", "50", "100", "250", "500"))
RATING_STEPS = (4, 3, 2, 1)
_CENT = Decimal("0.01")

# The key of an attribute name, in SQL; attribute_key() is the same in Python
# (catalog/tests/test_facets.py holds them to it).
_ATTRIBUTE_KEY_SQL = "btrim(regexp_replace(lower({}), '[^a-z0-9]+', '-', 'g'), '-')"
_ATTRIBUTE_TABLE = "catalog_productattribute"
_MERCHANT_TABLE = "catalog_merchant"


def attribute_key(name: str) -> str:
    """The URL key of an attribute name ("Battery life" -> "battery-life")."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def attribute_key_valid(key: str) -> bool:
    return len(key) <= ATTRIBUTE_KEY_MAX_LENGTH and bool(ATTRIBUTE_KEY.fullmatch(key))


def attribute_filter_sql(alias: str) -> str:
    """`EXISTS` of an attribute of the product `<alias>.id` with key %s and value %s."""
    return (
        f"EXISTS (SELECT 1 FROM {_ATTRIBUTE_TABLE} a WHERE a.product_id = {alias}.id"
        f" AND {_ATTRIBUTE_KEY_SQL.format('a.name')} = %s AND a.value = %s)"
    )


def product_filter_attribute(
    queryset: QuerySet[Product], *, key: str, value: str
) -> QuerySet[Product]:
    """Products with an attribute of this key and value."""
    spelt = Func(
        Func(Lower("name"), Value("[^a-z0-9]+"), Value("-"), Value("g"), function="regexp_replace"),
        Value("-"),
        function="btrim",
        output_field=CharField(),
    )
    matching = (
        ProductAttribute.objects.annotate(key=spelt)
        .filter(product_id=OuterRef("pk"), key=key, value=value)
        .values("pk")
    )
    return queryset.filter(Exists(matching))


@dataclass(frozen=True)
class PriceBand:
    min: Decimal
    max: Decimal | None  # inclusive; None for the last band


PRICE_BANDS = tuple(
    PriceBand(
        min=low,
        max=(high - _CENT) if high is not None else None,
    )
    for low, high in zip((Decimal("0"), *PRICE_BOUNDARIES), (*PRICE_BOUNDARIES, None), strict=True)
)


@dataclass(frozen=True)
class FacetSelection:
    """The active facet filters, as the filter form cleaned them."""

    category: str | None = None
    category_ids: tuple[int, ...] = ()  # the category and its sub-categories
    merchant: int | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    min_rating: int | None = None
    attributes: tuple[tuple[str, str], ...] = ()  # (key, value), sorted by key

    def cache_token(self) -> str:
        return repr(self)


def facet_selection_from(cleaned: Mapping[str, Any]) -> FacetSelection:
    """The facet filters of a validated ProductFilter form (invalid fields left out)."""
    slug = cleaned.get("category") or None
    ids: tuple[int, ...] = ()
    if slug:
        tree = category_tree()
        node = tree.by_slug.get(slug)
        ids = tuple(sorted(tree.descendant_ids(node))) if node is not None else ()
    merchant = cleaned.get("merchant")
    min_rating = cleaned.get("min_rating")
    attributes = sorted(
        (name[len(ATTRIBUTE_PREFIX) :], value)
        for name, value in cleaned.items()
        if name.startswith(ATTRIBUTE_PREFIX) and value
    )
    return FacetSelection(
        category=slug,
        category_ids=ids,
        merchant=merchant.pk if merchant is not None else None,
        min_price=cleaned.get("min_price"),
        max_price=cleaned.get("max_price"),
        in_stock=cleaned.get("in_stock") is True,
        min_rating=int(min_rating) if min_rating else None,
        attributes=tuple(attributes),
    )


@dataclass
class CategoryCount:
    id: int
    slug: str
    name: str
    parent_id: int | None
    count: int


@dataclass
class MerchantCount:
    id: int
    name: str
    count: int


@dataclass
class PriceCount:
    min: Decimal
    max: Decimal | None
    count: int


@dataclass
class RatingCount:
    min: int
    count: int


@dataclass
class ValueCount:
    value: str
    count: int


@dataclass
class AttributeFacet:
    key: str
    name: str  # as the catalog spells it, for people
    values: list[ValueCount]


@dataclass
class Facets:
    categories: list[CategoryCount] = field(default_factory=list)
    merchants: list[MerchantCount] = field(default_factory=list)
    price: list[PriceCount] = field(default_factory=list)
    rating: list[RatingCount] = field(default_factory=list)
    in_stock: int = 0
    attributes: list[AttributeFacet] = field(default_factory=list)

    def as_api(self) -> dict[str, Any]:
        """As API.md's `facets` (money and bounds as two-place strings)."""
        return {
            "categories": [
                {"slug": c.slug, "name": c.name, "count": c.count} for c in self.categories
            ],
            "merchants": [{"id": m.id, "name": m.name, "count": m.count} for m in self.merchants],
            "price": [
                {
                    "min": f"{p.min:.2f}",
                    "max": f"{p.max:.2f}" if p.max is not None else None,
                    "count": p.count,
                }
                for p in self.price
            ],
            "rating": [{"min": r.min, "count": r.count} for r in self.rating],
            "in_stock": self.in_stock,
            "attributes": {
                a.key: [{"value": v.value, "count": v.count} for v in a.values]
                for a in self.attributes
            },
        }


# --- The one query ----------------------------------------------------------------------

_CANDIDATE_COLUMNS = ("id", "category_id", "merchant_id", "price_amount", "in_stock", "rating_avg")


def _conditions(selection: FacetSelection) -> tuple[dict[str, tuple[str, list[Any]]], list[str]]:
    """{group: (its filter over the candidate row `p`, params)} for the active filters, and
    the attribute groups' names (`attribute:<key>`)."""
    conditions: dict[str, tuple[str, list[Any]]] = {}
    if selection.category is not None:
        conditions["category"] = ("p.category_id = ANY(%s)", [list(selection.category_ids)])
    if selection.merchant is not None:
        conditions["merchant"] = ("p.merchant_id = %s", [selection.merchant])
    bounds, params = [], []
    if selection.min_price is not None:
        bounds.append("p.price_amount >= %s")
        params.append(selection.min_price)
    if selection.max_price is not None:
        bounds.append("p.price_amount <= %s")
        params.append(selection.max_price)
    if bounds:
        conditions["price"] = (" AND ".join(bounds), params)
    if selection.in_stock:
        conditions["in_stock"] = ("p.in_stock", [])
    if selection.min_rating is not None:
        conditions["rating"] = ("p.rating_avg >= %s", [selection.min_rating])
    attribute_groups = []
    for key, value in selection.attributes:
        group = f"attribute:{key}"
        conditions[group] = (attribute_filter_sql("p"), [key, value])
        attribute_groups.append(group)
    return conditions, attribute_groups


def _facets_sql(
    candidates_sql: str, candidates_params: tuple[Any, ...], selection: FacetSelection
) -> tuple[str, list[Any]]:
    conditions, attribute_groups = _conditions(selection)
    flags = {group: f"f{n}" for n, group in enumerate(conditions)}
    select_flags = "".join(f", ({sql}) AS {flags[group]}" for group, (sql, _) in conditions.items())
    params: list[Any] = [param for _, group_params in conditions.values() for param in group_params]
    params.extend(candidates_params)

    def passing(*, but: str | None) -> str:
        """Rows that pass every active filter except the group `but`'s."""
        return " AND ".join(flag for group, flag in flags.items() if group != but) or "TRUE"

    # Attribute rows pass the other attributes' filters and their own name's for other names.
    # The key is spelt in SQL only then: over every attribute row it would cost the most.
    key_sql = _ATTRIBUTE_KEY_SQL.format("a.name")
    attribute_own = " AND ".join(
        f"({key_sql} = %s OR c.{flags[group]})" for group in attribute_groups
    )
    attribute_params = [group.split(":", 1)[1] for group in attribute_groups]
    other_than_attributes = " AND ".join(
        flag for group, flag in flags.items() if group not in attribute_groups
    )
    attribute_where = " AND ".join(w for w in (other_than_attributes, attribute_own) if w) or "TRUE"
    columns = ", ".join(_CANDIDATE_COLUMNS)
    boundaries = "ARRAY[" + ", ".join(str(b) for b in PRICE_BOUNDARIES) + "]::numeric[]"
    steps = ", ".join(f"({step})" for step in RATING_STEPS)
    sql = f"""
WITH c AS MATERIALIZED (
    SELECT p.*{select_flags}
    FROM ({candidates_sql}) AS p({columns})
)
SELECT 'category', category_id::text, NULL, NULL, count(*) FROM c
    WHERE {passing(but="category")} GROUP BY category_id
UNION ALL
SELECT 'merchant', m.id::text, NULL, m.name, count(*) FROM c
    JOIN {_MERCHANT_TABLE} m ON m.id = c.merchant_id
    WHERE {passing(but="merchant")} GROUP BY m.id, m.name
UNION ALL
SELECT 'price', width_bucket(price_amount, {boundaries})::text, NULL, NULL, count(*) FROM c
    WHERE {passing(but="price")} GROUP BY 2
UNION ALL
SELECT 'rating', r.step::text, NULL, NULL, count(*) FROM c
    JOIN (VALUES {steps}) AS r(step) ON c.rating_avg >= r.step
    WHERE {passing(but="rating")} GROUP BY r.step
UNION ALL
SELECT 'in_stock', '', NULL, NULL, count(*) FROM c WHERE in_stock AND {passing(but="in_stock")}
UNION ALL
SELECT 'attribute', name, value, NULL, n FROM (
    SELECT a.name, a.value, count(*) AS n,
           row_number() OVER (PARTITION BY a.name ORDER BY count(*) DESC, a.value) AS rank
    FROM c JOIN {_ATTRIBUTE_TABLE} a ON a.product_id = c.id
    WHERE {attribute_where}
    GROUP BY a.name, a.value
) AS ranked WHERE rank <= {ATTRIBUTE_VALUES_SHOWN}
"""
    return sql, [*params, *attribute_params]


def _candidates_sql(candidates: QuerySet[Product]) -> tuple[str | None, tuple[Any, ...]]:
    if candidates.query.is_empty():
        return None, ()
    try:
        sql, params = candidates.order_by().values_list(*_CANDIDATE_COLUMNS).query.sql_with_params()
    except EmptyResultSet:
        return None, ()
    return sql, tuple(params)


def _facets_build(
    rows: list[tuple[str, str, str | None, str | None, int]],  # group, key, value, label, n
    selection: FacetSelection,
    *,
    tree: CategoryTree,
) -> Facets:
    facets = Facets()
    per_category: dict[int, int] = {}
    per_band: dict[int, int] = {}
    per_step: dict[int, int] = {}
    attributes: dict[str, AttributeFacet] = {}
    for group, key, value, label, count in rows:
        if group == "category":
            per_category[int(key)] = count
        elif group == "merchant":
            facets.merchants.append(MerchantCount(id=int(key), name=label or "", count=count))
        elif group == "price":
            per_band[int(key)] = count
        elif group == "rating":
            per_step[int(key)] = count
        elif group == "in_stock":
            facets.in_stock = count
        elif attribute_key(key):  # grouped by name: names of one key are merged below
            facet = attributes.setdefault(
                attribute_key(key), AttributeFacet(key=attribute_key(key), name=key, values=[])
            )
            facet.values.append(ValueCount(value=value or "", count=count))
    facets.categories = _category_counts(per_category, tree)
    facets.merchants.sort(key=lambda m: (-m.count, m.name, m.id))
    facets.price = [
        PriceCount(min=band.min, max=band.max, count=per_band.get(n, 0))
        for n, band in enumerate(PRICE_BANDS)
    ]
    facets.rating = [RatingCount(min=step, count=per_step.get(step, 0)) for step in RATING_STEPS]
    for facet in attributes.values():
        merged: dict[str, int] = {}
        for item in facet.values:
            merged[item.value] = merged.get(item.value, 0) + item.count
        facet.values = sorted(
            (ValueCount(value, count) for value, count in merged.items()),
            key=lambda v: (-v.count, v.value),
        )[:ATTRIBUTE_VALUES_SHOWN]
    chosen = dict(selection.attributes)
    ranked = sorted(attributes.values(), key=lambda a: (-sum(v.count for v in a.values), a.key))
    facets.attributes = [
        a for n, a in enumerate(ranked) if n < ATTRIBUTE_NAMES_SHOWN or a.key in chosen
    ]
    return facets


def _category_counts(per_category: dict[int, int], tree: CategoryTree) -> list[CategoryCount]:
    """Each category with its products and its sub-categories', depth-first in tree order;
    categories without any are left out."""
    totals: dict[int, int] = {}

    def total(node: CategoryNode) -> int:
        count = per_category.get(node.id, 0) + sum(total(child) for child in node.children)
        totals[node.id] = count
        return count

    for root in tree.roots:
        total(root)
    counts: list[CategoryCount] = []
    stack = list(reversed(tree.roots))
    while stack:
        node = stack.pop()
        if totals.get(node.id):
            counts.append(
                CategoryCount(node.id, node.slug, node.name, node.parent_id, totals[node.id])
            )
            stack.extend(reversed(node.children))
    return counts


# --- Cached -----------------------------------------------------------------------------

# What the counts read besides categories and merchants (catalog_version()): which products
# lists hold (and their attributes), their stock, price and rating.
FACET_VERSIONS = (LISTS, LISTS_STOCK, LISTS_PRICE, LISTS_RATING)


def page_shows_facets(request: Any) -> None:
    """Record that the page answering `request` shows facet counts. A cached page goes stale
    when which products lists hold, or their attributes, change (`lists`); not on every
    change of a product's stock, price or rating, which would make every cached list stale
    on every sale and review. So on a cached anonymous page the in-stock, price and rating
    counts may lag such a change by up to PAGE_CACHE_TIMEOUT; this cache never does."""
    page_depends_on(request, LISTS)


def product_facets(*, candidates: QuerySet[Product], selection: FacetSelection) -> Facets:
    """The facet counts of a product list: `candidates` are its products before the facet
    filters (search applied), `selection` the active facet filters. One query, then cached
    for everyone until the catalog or what the counts read changes."""
    sql, params = _candidates_sql(candidates)
    if sql is None:
        return _facets_build([], selection, tree=category_tree())
    tokens = versions_current(FACET_VERSIONS)
    versions = ",".join(str(tokens.get(name, 0)) for name in FACET_VERSIONS)
    raw = f"{sql}|{params!r}|{selection.cache_token()}|{catalog_version()}|{versions}"
    key = "catalog:facets:v1:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()
    facets = cache.get(key)
    if isinstance(facets, Facets):
        return facets
    query, query_params = _facets_sql(sql, params, selection)
    with connection.cursor() as cursor:
        cursor.execute(query, query_params)
        rows = cursor.fetchall()
    facets = _facets_build(rows, selection, tree=category_tree())
    cache.set(key, facets, settings.PAGE_CACHE_TIMEOUT)
    return facets
