"""Storefront pages: home, product lists (all, per category, search) and the product page.

Every page here is the same for every anonymous visitor, so each is served from the
anonymous page cache when it can be; personal bits (the CSRF token) stay outside it."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.context import make_context
from django.template.loader import get_template, render_to_string
from django.template.loader_tags import BlockNode
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from cart.selectors import cart_count_subquery
from catalog import selectors
from catalog.facets import page_shows_facets, product_facets
from catalog.filters import PRODUCT_LIST_QUERY, ProductFilter
from catalog.forms import form_describe_errors, product_filter_form_prepare
from catalog.models import Product
from catalog.search import did_you_mean
from catalog.selectors import CategoryNode, CategoryTree
from catalog.versions import (
    LISTS,
    card_version,
    page_shows_cards,
    page_shows_product,
    product_list_versions,
)
from reviews.forms import ReviewForm
from reviews.selectors import (
    RECENTLY_VIEWED_MAX,
    RECENTLY_VIEWED_SESSION_KEY,
    ReviewPermission,
    product_recommendations,
    product_recommendations_depend,
    rating_histogram_rows,
    recently_viewed_ids,
    recently_viewed_products,
    review_page_for_product,
    review_permission_for,
    review_permission_from,
    review_permission_query,
)
from shop.core import pagecache
from shop.core.fragments import (
    VersionedCountPaginator,
    content_get_or_build,
    fragments_get_or_build,
    now_ms,
    placeholders_fill,
    rendering_shared,
)
from shop.core.pagecache import anonymous_cache
from shop.core.paging import page_number
from storefront.templatetags.storefront import product_card_render
from storefront.views.facets import FacetGroup, facet_sidebar

PAGE_SIZE = 24
NEW_ARRIVALS = 8
# A category page's sidebar has no category field: `?category=` there is not its URL.
CATEGORY_QUERY = {name: p for name, p in PRODUCT_LIST_QUERY.items() if name != "category"}
PRODUCT_QUERY = {"reviews_page": pagecache.whole_number()}
# Where the product page's cached content takes each visitor's own review form or hint.
REVIEW_WRITE_PLACEHOLDER = "<!--bazaar:review-write-->"


def block_render(request: HttpRequest, template_name: str, block: str, context: dict) -> str:
    """One block of a template (its page's content, without the frame around it)."""
    template = get_template(template_name).template  # type: ignore[attr-defined]
    node = next(n for n in template.nodelist.get_nodes_by_type(BlockNode) if n.name == block)
    bound = make_context(context, request)
    with bound.render_context.push_state(template), bound.bind_template(template):
        return node.render(bound)


def _canonical_key(request: HttpRequest) -> str:
    return f"{request.path}?{urlencode(sorted(request.GET.items()))}"


def _content_render(
    request: HttpRequest,
    template_name: str,
    *,
    query: dict[str, pagecache.Param],
    context: Callable[[], dict[str, Any]],
    frame: dict[str, Any] | None = None,
) -> HttpResponse:
    """A page whose content is the same for everyone at its (canonical) URL: the content
    from the content cache (shop.core.fragments), the frame (header with the user's menu
    and cart, messages) rendered per request. Other URLs are rendered whole."""
    if not pagecache.query_canonical(request, query)[0]:
        return render(request, template_name, {**context(), **(frame or {})})

    def build() -> tuple[str, dict[str, Any]]:
        with rendering_shared(request):
            return block_render(request, template_name, "content", context()), {}

    html, _ = content_get_or_build(
        request, key=_canonical_key(request), build=build, timeout=settings.PAGE_CACHE_TIMEOUT
    )
    cached = mark_safe(placeholders_fill(request, html))
    return render(request, template_name, {**(frame or {}), "cached_content": cached})


def _product_page_context(
    request: HttpRequest,
    *,
    queryset: QuerySet[Product],
    tree: CategoryTree,
    action: str,
    with_category: bool = True,
    page_category: CategoryNode | None = None,
) -> dict[str, Any]:
    """Filter, order and paginate `queryset` from the query string, for the list templates."""
    started_ms = now_ms()
    searching = bool(request.GET.get("q", "").strip())
    product_filter = ProductFilter(request.GET, queryset=queryset)
    form = product_filter_form_prepare(
        product_filter.form, tree=tree, searching=searching, with_category=with_category
    )
    products = product_filter.qs  # validates the form; invalid fields are left out
    form_describe_errors(form)
    paginator = VersionedCountPaginator(
        products, PAGE_SIZE, versions=product_list_versions(request.GET)
    )
    page = paginator.get_page(page_number(request.GET.get("page")))
    if form.errors or request.GET.get("page", str(page.number)) != str(page.number):
        pagecache.page_cache_decline(request)  # answered as another URL: not stored as this
    shown = list(page.object_list)
    selectors.product_cards_unfold(shown)
    page_shows_cards(request, shown, lists=product_list_versions(request.GET))
    return {
        "facet_groups": _facet_groups(
            request, product_filter, action=action, tree=tree, page_category=page_category
        ),
        "filter_form": form,
        "filter_action": action,
        "page_obj": page,
        "products": shown,
        "card_html": cards_html(shown, started_ms=started_ms),
        "page_range": list(page.paginator.get_elided_page_range(page.number, on_each_side=2)),
        "ellipsis": Paginator.ELLIPSIS,
        "searching": searching,
    }


def cards_html(products: list[Product], *, started_ms: float) -> dict[int, str]:
    """The cards of `products` by id, from the fragment cache (kept per card version, so
    a new price, stock state, rating or name shows at once) or rendered; `started_ms`:
    when the products were read."""
    html = fragments_get_or_build(
        products,
        kind="card",
        version=lambda product: card_version(product.pk),
        build=product_card_render,
        started_ms=started_ms,
        timeout=settings.PAGE_CACHE_TIMEOUT,
    )
    return {product.pk: piece for product, piece in zip(products, html, strict=True)}


def _facet_groups(
    request: HttpRequest,
    product_filter: ProductFilter,
    *,
    action: str,
    tree: CategoryTree,
    page_category: CategoryNode | None,
) -> list[FacetGroup]:
    """The facet sidebar, counted over the page's products before its facet filters."""
    selection = product_filter.facet_selection()
    facets = product_facets(candidates=product_filter.facet_candidates, selection=selection)
    page_shows_facets(request)
    return facet_sidebar(
        facets,
        selection=selection,
        query=request.GET,
        invalid=product_filter.form.errors,
        action=action,
        tree=tree,
        page_category=page_category,
    )


@require_safe
@anonymous_cache
def home_view(request: HttpRequest) -> HttpResponse:
    tree = selectors.category_tree()
    new_arrivals = selectors.product_list_new_arrivals(limit=NEW_ARRIVALS)
    page_shows_cards(request, new_arrivals, lists=[LISTS])
    context: dict[str, Any] = {"categories": tree.roots, "new_arrivals": new_arrivals}
    # Logged-in shoppers only: an anonymous home page stays the same for everyone (cached).
    if request.user.is_authenticated:
        context["recently_viewed"] = recently_viewed_products(
            ids=recently_viewed_ids(request.session)
        )
    return render(request, "catalog/home.html", context)


@require_safe
@anonymous_cache(query=PRODUCT_LIST_QUERY)
def product_list_view(request: HttpRequest) -> HttpResponse:
    def context() -> dict[str, Any]:
        return _product_page_context(
            request,
            queryset=selectors.product_list_for_page(),
            tree=selectors.category_tree(),
            action=reverse("catalog:product_list"),
        )

    return _content_render(
        request, "catalog/product_list.html", query=PRODUCT_LIST_QUERY, context=context
    )


@require_safe
@anonymous_cache(query=CATEGORY_QUERY)
def category_view(request: HttpRequest, slug: str) -> HttpResponse:
    tree, category = selectors.category_get_for_page(slug=slug)

    def context() -> dict[str, Any]:
        queryset = selectors.product_list_for_page().filter(
            category_id__in=tree.descendant_ids(category)
        )
        context = _product_page_context(
            request,
            queryset=queryset,
            tree=tree,
            action=category.get_absolute_url(),
            with_category=False,
            page_category=category,
        )
        context.update(
            {
                "category": category,
                "breadcrumbs": tree.ancestors(category)[:-1],
                "subcategories": category.children,
            }
        )
        return context

    return _content_render(
        request,
        "catalog/category.html",
        query=CATEGORY_QUERY,
        context=context,
        frame={"category": category},
    )


@require_safe
@anonymous_cache(query=PRODUCT_LIST_QUERY)
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
    if query and not context["page_obj"].paginator.count:
        context["did_you_mean"] = did_you_mean(query)
    return render(request, "catalog/search.html", context)


@require_safe
@anonymous_cache(query=PRODUCT_QUERY)
def product_detail_view(request: HttpRequest, slug: str) -> HttpResponse:
    if not pagecache.query_canonical(request, PRODUCT_QUERY)[0]:
        product = selectors.product_get_for_page(slug=slug)
        if request.user.is_authenticated:
            _remember_viewed(request, product.pk)
        return product_detail_render(request, product)

    def build() -> tuple[str, dict[str, Any]]:
        product = selectors.product_get_for_page(slug=slug)
        context = _product_detail_context(request, product)
        context["review_write_placeholder"] = mark_safe(REVIEW_WRITE_PLACEHOLDER)
        with rendering_shared(request):
            html = block_render(request, "catalog/product_detail.html", "content", context)
        about = {
            "pk": product.pk,
            "name": product.name,
            "slug": product.slug,
            "description": product.description,
            "url": product.get_absolute_url(),
        }
        return html, about

    # Everything but the review form (who may review) is the same for everyone.
    html, about = content_get_or_build(
        request, key=_canonical_key(request), build=build, timeout=settings.PAGE_CACHE_TIMEOUT
    )
    if request.user.is_authenticated:
        _remember_viewed(request, about["pk"])
    product_about = SimpleNamespace(**about, get_absolute_url=about["url"])
    permission, frame = _permission_and_frame(request, product_id=about["pk"])
    write = render_to_string(
        "reviews/includes/review_write.html",
        {
            "product": product_about,
            "review_form": ReviewForm() if permission.can_review else None,
            "review_permission": permission,
        },
        request=request,
    )
    html = placeholders_fill(request, html.replace(REVIEW_WRITE_PLACEHOLDER, write, 1))
    return render(
        request,
        "catalog/product_detail.html",
        {"product": product_about, "cached_content": mark_safe(html), **frame},
    )


def _permission_and_frame(
    request: HttpRequest, *, product_id: int
) -> tuple[ReviewPermission, dict[str, Any]]:
    """Whether the user may review the product, and the header's cart count, in one query
    (the count then overrides the cart context processor's own query)."""
    user = request.user
    if not user.is_authenticated:
        return review_permission_for(user=user, product_id=product_id), {}
    row = (
        review_permission_query(user=user, product_id=product_id)
        .annotate(cart_count=cart_count_subquery(user=user))
        .values("bought", "reviewed", "cart_count")
        .first()
    )
    frame = {"cart_count": row["cart_count"]} if row is not None else {}
    return review_permission_from(row), frame


def _remember_viewed(request: HttpRequest, product_id: int) -> None:
    """Most recent first, no duplicates, at most RECENTLY_VIEWED_MAX; the session is only
    written when the list changes (not on every reload of the same page)."""
    ids = recently_viewed_ids(request.session)
    if ids[:1] != [product_id]:
        ids = [product_id, *(pk for pk in ids if pk != product_id)][:RECENTLY_VIEWED_MAX]
        request.session[RECENTLY_VIEWED_SESSION_KEY] = ids


def product_detail_render(
    request: HttpRequest, product: Product, *, review_form: ReviewForm | None = None
) -> HttpResponse:
    """The product page, whole; the reviews view renders it too, with its invalid form.

    Anonymous visitors all get the same page (it is cached for them): the review form and
    anything else personal is only rendered for a logged-in user."""
    context = _product_detail_context(request, product)
    permission = review_permission_for(user=request.user, product_id=product.pk)
    if review_form is None and permission.can_review:
        review_form = ReviewForm()
    context.update({"review_permission": permission, "review_form": review_form})
    return render(request, "catalog/product_detail.html", context)


def _product_detail_context(request: HttpRequest, product: Product) -> dict[str, Any]:
    """What the product page shows that is the same for everyone."""
    tree = selectors.category_tree()
    category: CategoryNode | None = tree.by_id.get(product.category_id)
    variants = list(product.variants.all())
    images = list(product.images.all())
    requested_reviews_page = request.GET.get("reviews_page")
    review_page = review_page_for_product(product_id=product.pk, page=requested_reviews_page)
    if requested_reviews_page not in (None, str(review_page.number)):
        pagecache.page_cache_decline(request)  # shown as another page: not stored as this
    recommendations = product_recommendations(product=product)
    page_shows_product(request, product)
    product_recommendations_depend(request, product=product, shown=recommendations)
    return {
        "product": product,
        "breadcrumbs": tree.ancestors(category) if category else [],
        "variants": variants,
        # Preselect what most people would buy: the first variant that can be bought.
        "selected_variant": next((v for v in variants if v.in_stock), None),
        "images": images,
        "attributes": list(product.attributes.all()),
        "max_quantity": settings.MAX_LINE_QUANTITY,
        "review_page": review_page,
        "rating_bars": rating_histogram_rows(product),
        "recommendations": recommendations,
    }
