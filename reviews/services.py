"""Reviews and the rating figures derived from them."""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from catalog.models import Merchant, Product
from catalog.services import RatingFigures, product_ratings_write
from catalog.versions import products_changed
from orders.models import OrderLine
from reviews.errors import (
    AlreadyReplied,
    AlreadyReviewed,
    ModerationNotAllowed,
    NotMerchantStaff,
    NotPurchased,
    ReviewNotFound,
)
from reviews.models import Review, ReviewReply
from shop.core.marks import mark_add, mark_delete

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

logger = logging.getLogger(__name__)

# Requests for one product's recomputation within this window become one task run.
RECOMPUTE_DELAY_SECONDS = 2
# The "run queued" mark, in PostgreSQL (shop.core.marks) so coalescing survives a Redis
# outage; it expires like the cache key it replaced, should its task be lost.
PENDING_MARK = "reviews:recompute-pending:{}"
RECOMPUTATIONS_KEY = "reviews:recomputations"  # a counter, for the bench and for ops

# Created by reviews/migrations/0003 with the moderation permission: the platform's own
# staff who decide which reviews are shown. Merchant staff never moderate.
MODERATORS_GROUP = "Moderators"
MODERATE_PERMISSION = "reviews.moderate_review"

REPLY_MAX_LENGTH = ReviewReply._meta.get_field("body").max_length or 2000
_MAX_ID = 2**63 - 1  # a bigint: a larger id names no row (and PostgreSQL refuses it)


def _on_commit_reviews_changed(*, product_id: int) -> None:
    """Once committed: cached pages and API answers of this product show the review list as
    it is now (not waiting for the figures), and its figures follow (a coalesced
    recomputation)."""
    transaction.on_commit(lambda: rating_recompute_request(product_id=product_id))
    products_changed(product_ids=[product_id])


def review_can_write(*, user: User, product_id: int) -> bool:
    """Only buyers review: the user has a paid order holding the product."""
    return OrderLine.objects.bought_by(user).filter(product_id=product_id).exists()


def _validate(*, rating: object, title: str, body: str) -> None:
    errors: dict[str, list[str]] = {}
    title_max = Review._meta.get_field("title").max_length
    body_max = Review._meta.get_field("body").max_length
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        errors["rating"] = [_("Choose a rating from 1 to 5.")]
    if not title.strip():
        errors["title"] = [_("This field is required.")]
    elif title_max is not None and len(title) > title_max:
        errors["title"] = [_("The title is too long.")]
    if body_max is not None and len(body) > body_max:
        errors["body"] = [_("The review is too long.")]
    if errors:
        raise ValidationError(errors)


def review_create(
    *, user: User, product: Product, rating: int, title: str, body: str = ""
) -> Review:
    """Publish (or, with REVIEWS_REQUIRE_APPROVAL, hold) a buyer's review of a product."""
    _validate(rating=rating, title=title, body=body)
    if not review_can_write(user=user, product_id=product.pk):
        raise NotPurchased()
    status = Review.Status.PENDING if settings.REVIEWS_REQUIRE_APPROVAL else Review.Status.PUBLISHED
    try:
        with transaction.atomic():
            review = Review.objects.create(
                product=product,
                author=user,
                rating=rating,
                title=title.strip(),
                body=body.strip(),
                status=status,
            )
            _on_commit_reviews_changed(product_id=product.pk)
    except IntegrityError as exc:  # the unique constraint: a second review, maybe a race
        raise AlreadyReviewed() from exc
    return review


def review_can_moderate(*, user: User | AnonymousUser, product_id: int | None = None) -> bool:
    """Whether the user may publish, hold or hide reviews (of this product, when given).

    Moderation is the platform's: superusers and holders of `reviews.moderate_review` (the
    Moderators group). Whoever sells a product never chooses which of its reviews are
    shown, so a moderator who also staffs the product's merchant may not moderate it."""
    if not user.is_authenticated or not user.has_perm(MODERATE_PERMISSION):
        return False
    if product_id is None or user.is_superuser:
        return True
    return not Product.objects.filter(pk=product_id, merchant__staff=user).exists()


@transaction.atomic
def review_set_status(*, review_id: int, status: str, by: User) -> Review:
    """Moderation: publish, hold or hide a review; the figures follow. Only for those
    review_can_moderate allows (ModerationNotAllowed otherwise), whichever page asks."""
    review = Review.objects.select_for_update().get(pk=review_id)
    if not review_can_moderate(user=by, product_id=review.product_id):
        raise ModerationNotAllowed()
    if status not in Review.Status.values:
        raise ValidationError({"status": [_("Unknown status.")]})
    if review.status != status:
        review.status = status
        review.save(update_fields=["status", "updated_at"])
        _on_commit_reviews_changed(product_id=review.product_id)
    return review


@transaction.atomic
def review_delete(*, review_id: int) -> None:
    review = Review.objects.select_for_update().get(pk=review_id)
    product_id = review.product_id
    review.delete()
    _on_commit_reviews_changed(product_id=product_id)


# --- Merchant replies ---------------------------------------------------------------------


def review_reply_target(*, review_id: int, by: User | AnonymousUser) -> Review:
    """The review `by` may answer: the guard of review_reply_create, also asked by pages
    that offer the reply form. Raises NotMerchantStaff (403) for a user who staffs no
    merchant, ReviewNotFound (404) for a review of another merchant's product or none,
    AlreadyReplied (409) once the review has its reply. Superusers are no exception: a
    reply speaks for the merchant, so only its own staff write one."""
    if not by.is_authenticated or not Merchant.objects.filter(staff=by).exists():
        raise NotMerchantStaff()
    if not 0 < review_id <= _MAX_ID:
        raise ReviewNotFound()
    review = (
        Review.objects.filter(pk=review_id, product__merchant__staff=by)
        .only("id", "product_id", "status")
        .first()
    )
    if review is None:
        raise ReviewNotFound()
    if ReviewReply.objects.filter(review_id=review.pk).exists():
        raise AlreadyReplied()
    return review


def _reply_body(body: object) -> str:
    if not isinstance(body, str) or not body.strip():
        raise ValidationError({"body": [_("Write a reply.")]})
    text = body.strip()
    if "\x00" in text:
        raise ValidationError({"body": [_("Null characters are not allowed.")]})
    if len(text) > REPLY_MAX_LENGTH:
        raise ValidationError({"body": [_("The reply is too long.")]})
    return text


def review_reply_create(*, review_id: int, by: User, body: str) -> ReviewReply:
    """The merchant's one public answer to a review of its product, written by its staff
    (review_reply_target is the guard). Plain text: pages escape it when they show it."""
    review = review_reply_target(review_id=review_id, by=by)
    text = _reply_body(body)
    try:
        with transaction.atomic():
            reply = ReviewReply.objects.create(review=review, author=by, body=text)
            # The product's cached page and review list show the reply once it is committed.
            products_changed(product_ids=[review.product_id])
    except IntegrityError as exc:  # the one-to-one column: two replies raced
        raise AlreadyReplied() from exc
    return reply


# --- Rating figures ---------------------------------------------------------------------


def rating_recompute_request(*, product_id: int) -> bool:
    """Ask for a product's figures to be recomputed shortly; True if this call queued the
    run. Requests while one is queued are folded into it (a burst of reviews, one run)."""
    from reviews.tasks import product_rating_recompute_task

    key = PENDING_MARK.format(product_id)
    if not mark_add(key=key, seconds=RECOMPUTE_DELAY_SECONDS + 60):
        return False
    try:
        product_rating_recompute_task.apply_async(
            kwargs={"product_id": product_id}, countdown=RECOMPUTE_DELAY_SECONDS, retry=False
        )
    except Exception:
        mark_delete(key=key)  # let the next request try again; the nightly run repairs
        logger.warning("broker unavailable; rating of product %s recomputed later", product_id)
        return False
    return True


_CENTS = Decimal("0.01")
_SCORE_PLACES = Decimal("0.0001")


def _rating_figures(*, product_ids: list[int] | None) -> dict[int, RatingFigures]:
    """Figures from published reviews, per product that has any (one grouped query)."""
    reviews = Review.objects.filter(status=Review.Status.PUBLISHED)
    if product_ids is not None:
        reviews = reviews.filter(product_id__in=product_ids)
    per_star = {f"c{stars}": Count("id", filter=Q(rating=stars)) for stars in range(1, 6)}
    rows = (
        reviews.order_by()
        .values("product_id")
        .annotate(n=Count("id"), total=Sum("rating"), **per_star)
    )
    weight = Decimal(settings.RATING_PRIOR_WEIGHT)
    mean = Decimal(settings.RATING_PRIOR_MEAN)
    return {
        row["product_id"]: RatingFigures(
            count=row["n"],
            average=(Decimal(row["total"]) / row["n"]).quantize(_CENTS, ROUND_HALF_UP),
            # The score pulls an average towards RATING_PRIOR_MEAN with the weight of
            # RATING_PRIOR_WEIGHT reviews: one 5-star review scores (w*m + 5) / (w + 1),
            # well below two hundred 4.8-star ones.
            score=((weight * mean + row["total"]) / (weight + row["n"])).quantize(
                _SCORE_PLACES, ROUND_HALF_UP
            ),
            histogram={str(stars): row[f"c{stars}"] for stars in range(1, 6)},
        )
        for row in rows
    }


def product_rating_recompute(*, product_ids: list[int] | None = None) -> int:
    """Recompute figures from published reviews: the given products, or all of them.
    Returns how many products were written (the catalog owns and writes its columns)."""
    ids = None if product_ids is None else list(product_ids)
    with transaction.atomic():
        updated = product_ratings_write(product_ids=ids, figures=_rating_figures(product_ids=ids))
    try:
        cache.incr(RECOMPUTATIONS_KEY)
    except ValueError:
        cache.add(RECOMPUTATIONS_KEY, 1, timeout=None)
    return updated
