"""Reads of the catalog, shaped for the page or endpoint that asks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db.models import OuterRef, QuerySet
from django.http import Http404

from catalog.models import Category, Merchant, Product, ProductAttribute, ProductImage, Variant
from shop.core.folded import children_json, children_set
from shop.core.pagecache import catalog_version

if TYPE_CHECKING:
    from accounts.models import User


@dataclass
class CategoryNode:
    id: int
    name: str
    slug: str
    parent_id: int | None
    children: list[CategoryNode] = field(default_factory=list)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("catalog:category", kwargs={"slug": self.slug})


@dataclass
class CategoryTree:
    roots: list[CategoryNode]
    by_id: dict[int, CategoryNode]
    by_slug: dict[str, CategoryNode]

    def descendant_ids(self, node: CategoryNode) -> list[int]:
        ids, stack = [], [node]
        while stack:
            current = stack.pop()
            ids.append(current.id)
            stack.extend(current.children)
        return ids

    def ancestors(self, node: CategoryNode) -> list[CategoryNode]:
        """From the root down to, and including, the node (for breadcrumbs)."""
        chain = [node]
        while chain[-1].parent_id is not None:
            chain.append(self.by_id[chain[-1].parent_id])
        return chain[::-1]


def category_tree() -> CategoryTree:
    """The whole category tree: one query, then cached until the catalog changes."""
    key = f"catalog:category-tree:{catalog_version()}"
    rows = cache.get(key)
    if rows is None:
        rows = list(Category.objects.values_list("id", "name", "slug", "parent_id"))
        cache.set(key, rows, 3600)
    nodes = {row[0]: CategoryNode(*row) for row in rows}
    roots: list[CategoryNode] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id) if node.parent_id else None
        (parent.children if parent else roots).append(node)
    return CategoryTree(roots=roots, by_id=nodes, by_slug={n.slug: n for n in nodes.values()})


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("position", "name", "id")


def product_list() -> QuerySet[Product]:
    """Active products with what a product card shows (merchant, images)."""
    return Product.objects.active().with_card_data()


def product_list_for_page() -> QuerySet[Product]:
    """product_list with the cards' images folded into the page's query (JSON, see
    shop/core/folded.py) instead of a prefetch: call product_cards_unfold on the page read."""
    images = ProductImage.objects.filter(product=OuterRef("pk")).order_by("position", "id")
    return (
        Product.objects.active()
        .select_related("merchant")
        .annotate(images_json=children_json(images))
    )


def product_cards_unfold(products: Iterable[Product]) -> None:
    """Put the images read by product_list_for_page where a card reads them."""
    for product in products:
        children_set(product, "images", ProductImage, getattr(product, "images_json", None))


def product_list_new_arrivals(*, limit: int = 8) -> list[Product]:
    return list(product_list().order_by("-created_at", "-id")[:limit])


def _product_detail_queryset() -> QuerySet[Product]:
    """The product with its merchant and category, and (folded into the same query as
    JSON, see shop/core/folded.py) its buyable variants, images and attributes: one query
    whatever their number."""
    # The product is active() already: of its variants, the ones a shopper can buy.
    variants = Variant.objects.buyable().filter(product=OuterRef("pk")).order_by("position", "id")
    images = ProductImage.objects.filter(product=OuterRef("pk")).order_by("position", "id")
    attributes = ProductAttribute.objects.filter(product=OuterRef("pk")).order_by("position", "id")
    return (
        Product.objects.active()
        .select_related("merchant", "category")
        .annotate(
            variants_json=children_json(variants),
            images_json=children_json(images),
            attributes_json=children_json(attributes),
        )
    )


def _product_detail_get(**lookup: Any) -> Product:
    try:
        product = _product_detail_queryset().get(**lookup)
    except Product.DoesNotExist as exc:
        raise Http404 from exc
    children_set(product, "variants", Variant, getattr(product, "variants_json", None))
    children_set(product, "images", ProductImage, getattr(product, "images_json", None))
    children_set(product, "attributes", ProductAttribute, getattr(product, "attributes_json", None))
    return product


def product_get_for_page(*, slug: str) -> Product:
    return _product_detail_get(slug=slug)


def product_get_for_api(*, pk: int) -> Product:
    return _product_detail_get(pk=pk)


def category_get_for_page(*, slug: str) -> tuple[CategoryTree, CategoryNode]:
    """A category of the cached tree by slug, with the tree for breadcrumbs and
    sub-categories; 404 when no category has that slug."""
    tree = category_tree()
    node = tree.by_slug.get(slug)
    if node is None:
        raise Http404
    return tree, node


def category_options(tree: CategoryTree) -> list[tuple[str, str, int]]:
    """Every category as `(slug, name, depth)`, depth-first in tree order (for a select)."""
    options: list[tuple[str, str, int]] = []
    stack = [(node, 0) for node in reversed(tree.roots)]
    while stack:
        node, depth = stack.pop()
        options.append((node.slug, node.name, depth))
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return options


def merchant_staff_emails(*, merchant_ids: Iterable[int]) -> dict[int, list[str]]:
    """{merchant id: email addresses of its active staff users}, for notifications."""
    emails: dict[int, list[str]] = {pk: [] for pk in merchant_ids}
    rows = Merchant.staff.through.objects.filter(
        merchant_id__in=list(emails), user__is_active=True
    ).values_list("merchant_id", "user__email")
    for merchant_id, email in rows:
        emails[merchant_id].append(email)
    return emails


def merchants_staffed_by(*, user: User) -> list[int]:
    """Ids of the merchants a user works for (none for a superuser: they act for all)."""
    return list(Merchant.objects.filter(staff=user).values_list("pk", flat=True))
