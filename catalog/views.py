"""Storefront pages: home, product lists (all, per category, search) and the product page.

Every page here is the same for every anonymous visitor, so each is served from the
anonymous page cache when it can be; personal bits (the CSRF token) stay outside it."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from catalog import selectors
from catalog.filters import ProductFilter
from catalog.forms import form_describe_errors, product_filter_form_prepare
from catalog.models import Product
from catalog.selectors import CategoryNode, CategoryTree
from shop.core.pagecache import anonymous_cache

PAGE_SIZE = 24
NEW_ARRIVALS = 8


def _product_page_context(
    request: HttpRequest,
    *,
    queryset: QuerySet[Product],
    tree: CategoryTree,
    action: str,
    with_category: bool = True,
) -> dict:
    """Filter, order and paginate `queryset` from the query string, for the list templates."""
    searching = bool(request.GET.get("q", "").strip())
    product_filter = ProductFilter(request.GET, queryset=queryset)
    form = product_filter_form_prepare(
        product_filter.form, tree=tree, searching=searching, with_category=with_category
    )
    products = product_filter.qs  # validates the form; invalid fields are left out
    form_describe_errors(form)
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "filter_form": form,
        "filter_action": action,
        "page_obj": page,
        "products": list(page.object_list),
        "page_range": list(page.paginator.get_elided_page_range(page.number, on_each_side=2)),
        "ellipsis": Paginator.ELLIPSIS,
        "searching": searching,
    }


@require_safe
@anonymous_cache
def home_view(request: HttpRequest) -> HttpResponse:
    tree = selectors.category_tree()
    return render(
        request,
        "catalog/home.html",
        {
            "categories": tree.roots,
            "new_arrivals": selectors.product_list_new_arrivals(limit=NEW_ARRIVALS),
        },
    )


@require_safe
@anonymous_cache
def product_list_view(request: HttpRequest) -> HttpResponse:
    context = _product_page_context(
        request,
        queryset=selectors.product_list(),
        tree=selectors.category_tree(),
        action=reverse("catalog:product_list"),
    )
    return render(request, "catalog/product_list.html", context)


@require_safe
@anonymous_cache
def category_view(request: HttpRequest, slug: str) -> HttpResponse:
    tree, category = selectors.category_get_for_page(slug=slug)
    queryset = selectors.product_list().filter(category_id__in=tree.descendant_ids(category))
    context = _product_page_context(
        request,
        queryset=queryset,
        tree=tree,
        action=category.get_absolute_url(),
        with_category=False,
    )
    context.update(
        {
            "category": category,
            "breadcrumbs": tree.ancestors(category)[:-1],
            "subcategories": category.children,
        }
    )
    return render(request, "catalog/category.html", context)


@require_safe
@anonymous_cache
def search_view(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    context = _product_page_context(
        request,
        # No words, no results: the page asks for some instead of listing everything.
        queryset=selectors.product_list() if query else Product.objects.none(),
        tree=selectors.category_tree(),
        action=reverse("catalog:search"),
    )
    context["query"] = query
    return render(request, "catalog/search.html", context)


@require_safe
@anonymous_cache(timeout=settings.STOCK_CACHE_TIMEOUT)
def product_detail_view(request: HttpRequest, slug: str) -> HttpResponse:
    product = selectors.product_get_for_page(slug=slug)
    tree = selectors.category_tree()
    category: CategoryNode | None = tree.by_id.get(product.category_id)
    variants = list(product.variants.all())
    images = list(product.images.all())
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "breadcrumbs": tree.ancestors(category) if category else [],
            "variants": variants,
            # Preselect what most people would buy: the first variant that can be bought.
            "selected_variant": next((v for v in variants if v.in_stock), None),
            "images": images,
            "attributes": list(product.attributes.all()),
            "max_quantity": settings.MAX_LINE_QUANTITY,
        },
    )
