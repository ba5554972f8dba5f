"""Reads of reviews, recommendations and recently viewed products, shaped for the
product page, the cart page, the home page and the API."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Window
from django.http import Http404
from django.utils.translation import gettext as _

from catalog.models import Product
from catalog.selectors import product_list
from catalog.versions import LISTS, category_version, page_shows_cards
from orders.models import OrderLine
from reviews.models import Review
from reviews.recommendations import RECOMMENDATIONS_VERSION, recommendations_for_product
from shop.core.pagecache import page_depends_on
from shop.core.paging import page_number

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.base import SessionBase
    from django_stubs_ext import WithAnnotations

    from accounts.models import User

REVIEWS_PER_PAGE = 10
RECENTLY_VIEWED_MAX = 12


def author_display_name(name: str) -> str:
    """What a review shows of its author: "Ada L." for "Ada Lovelace", never the email.
    Authors without a name are shown as a verified buyer (only buyers can review)."""
    words = name.split()
    if not words:
        return _("Verified buyer")
    if len(words) == 1:
        return words[0]
    return f"{words[0]} {words[-1][0].upper()}."


@dataclass(frozen=True)
class RatingBar:
    stars: int
    count: int
    percent: int  # of all ratings, rounded, for the bar's width


def rating_histogram_rows(product: Product) -> list[RatingBar]:
    """The product's ratings per star, 5 down to 1, from its recomputed figures (no query)."""
    histogram = product.rating_histogram or {}
    counts = {stars: int(histogram.get(str(stars), 0) or 0) for stars in range(1, 6)}
    total = sum(counts.values())
    return [
        RatingBar(
            stars=stars,
            count=counts[stars],
            percent=round(100 * counts[stars] / total) if total else 0,
        )
        for stars in range(5, 0, -1)
    ]


class ReviewAuthorAnnotations(TypedDict):
    author_full_name: str
    # The merchant's reply, if any (both None without one).
    reply_body: str | None
    reply_created_at: datetime | None


if TYPE_CHECKING:
    ReviewWithAuthor = WithAnnotations[Review, ReviewAuthorAnnotations]


def review_list_for_product(*, product_id: int) -> QuerySet[ReviewWithAuthor]:
    """A product's published reviews, newest first, with the author's name (only the name:
    the author row, email included, is not loaded) and the merchant's reply (same query)."""
    return (
        Review.objects.filter(product_id=product_id, status=Review.Status.PUBLISHED)
        .annotate(
            author_full_name=F("author__name"),
            reply_body=F("reply__body"),
            reply_created_at=F("reply__created_at"),
        )
        .only("id", "product_id", "rating", "title", "body", "status", "created_at")
        .order_by("-created_at", "-id")
    )


@dataclass
class ReviewPage:
    """One page of a product's published reviews, for the product page's pagination."""

    reviews: Sequence[Review]
    number: int
    count: int
    per_page: int = REVIEWS_PER_PAGE

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def has_other_pages(self) -> bool:
        return self.num_pages > 1

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.count else 0

    @property
    def end_index(self) -> int:
        return min(self.number * self.per_page, self.count)


def review_page_for_product(
    *, product_id: int, page: str | int | None = None, per_page: int = REVIEWS_PER_PAGE
) -> ReviewPage:
    """A page of published reviews (a page number past the end gives the last page, junk
    gives the first, as Paginator.get_page does). One query: the total comes from a window
    count over the same rows instead of a separate COUNT."""
    reviews = review_list_for_product(product_id=product_id).annotate(total=Window(Count("id")))
    number = page_number(page)  # clamped: the offset below must fit a bigint
    offset = (number - 1) * per_page
    rows = list(reviews[offset : offset + per_page])
    if rows:
        return ReviewPage(reviews=_with_author_names(rows), number=number, count=rows[0].total)
    if number == 1:
        return ReviewPage(reviews=[], number=1, count=0)
    # Past the end (an old link): the last page, at the cost of two more queries.
    count = review_list_for_product(product_id=product_id).count()
    last = max(1, -(-count // per_page))
    return review_page_for_product(product_id=product_id, page=last, per_page=per_page)


def _with_author_names(reviews: Sequence[ReviewWithAuthor]) -> Sequence[ReviewWithAuthor]:
    for review in reviews:
        review.author_name = author_display_name(review.author_full_name or "")
    return reviews


@dataclass(frozen=True)
class ReviewPermission:
    """Whether a user may write a review of a product, and why not if not."""

    bought: bool
    reviewed: bool

    @property
    def can_review(self) -> bool:
        return self.bought and not self.reviewed


def review_permission_for(*, user: User | AnonymousUser, product_id: int) -> ReviewPermission:
    """Both of review_create's guards, read in one query for the product page's form (the
    service still checks them: this only decides what the page offers)."""
    if not user.is_authenticated:
        return ReviewPermission(bought=False, reviewed=False)
    return review_permission_from(review_permission_query(user=user, product_id=product_id).first())


def review_permission_query(*, user: User, product_id: int) -> QuerySet[Product, dict[str, Any]]:
    """The one row review_permission_for reads (`bought`, `reviewed`): a page may annotate
    more of the user's own figures onto it and read them in the same query."""
    return (
        Product.objects.filter(pk=product_id)
        .annotate(
            bought=Exists(OrderLine.objects.bought_by(user).filter(product_id=OuterRef("pk"))),
            reviewed=Exists(Review.objects.filter(product_id=OuterRef("pk"), author=user)),
        )
        .values("bought", "reviewed")
    )


def review_permission_from(row: dict[str, Any] | None) -> ReviewPermission:
    row = row or {"bought": False, "reviewed": False}
    return ReviewPermission(bought=row["bought"], reviewed=row["reviewed"])


def product_get_for_reviews(*, pk: int) -> Product:
    """An active product (for the reviews and recommendations endpoints); 404 otherwise."""
    try:
        return Product.objects.active().only("id", "category_id", "is_active").get(pk=pk)
    except Product.DoesNotExist as exc:
        raise Http404 from exc


def product_recommendations(*, product: Product) -> list[Product]:
    """ "Customers also bought" for a product page or the API: cards, two queries."""
    return recommendations_for_product(product=product)


def product_recommendations_depend(request: Any, *, product: Product, shown: list[Product]) -> None:
    """Record, for the page cache, what a page's recommendations of `product` follow: the
    cards shown, which products its category holds in stock by rating, products added or
    moved (catalog `lists`), and the bought-together table (catalog/versions.py)."""
    page_shows_cards(request, shown, lists=[LISTS])
    page_depends_on(request, category_version(product.category_id), RECOMMENDATIONS_VERSION)


def cart_recommendations(*, products: list[Product], limit: int = 8) -> list[Product]:
    """Recommendations for a cart: those of its first product, leaving out everything the
    cart already holds. One query; none for an empty cart."""
    if not products:
        return []
    return recommendations_for_product(
        product=products[0], limit=limit, exclude_ids={p.pk for p in products}
    )


# --- Recently viewed ------------------------------------------------------------------------

RECENTLY_VIEWED_SESSION_KEY = "recently_viewed"


def recently_viewed_ids(session: SessionBase) -> list[int]:
    """The product ids a shopper's session remembers, most recent first."""
    raw = session.get(RECENTLY_VIEWED_SESSION_KEY, [])
    if not isinstance(raw, list):
        return []
    return [pk for pk in raw if type(pk) is int][:RECENTLY_VIEWED_MAX]


def recently_viewed_products(*, ids: Iterable[int]) -> list[Product]:
    """Product cards in the given order, skipping products no longer shown (two queries:
    the cards and their images; none for no ids)."""
    ids = list(ids)
    if not ids:
        return []
    found = product_list().in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]
