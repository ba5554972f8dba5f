from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.core.models import BaseModel


class ReviewStatus(models.TextChoices):
    PUBLISHED = "published", _("Published")
    PENDING = "pending", _("Awaiting approval")
    HIDDEN = "hidden", _("Hidden")


class Review(BaseModel):
    Status = ReviewStatus

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField(_("rating"))
    title = models.CharField(_("title"), max_length=150)
    body = models.TextField(_("review"), max_length=5000, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PUBLISHED
    )

    # Not a column: what a page of reviews shows of the author ("Ada L."), set on the
    # reviews that reviews.selectors.review_page_for_product returns.
    author_name: str

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["product", "-created_at"],
                condition=Q(status=ReviewStatus.PUBLISHED),
                name="reviews_review_published",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "author"], name="reviews_review_one_per_author"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="reviews_review_rating_range"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReviewStatus.values),
                name="reviews_review_status_valid",
            ),
        ]
        permissions = [
            # Platform staff only (superusers and the Moderators group); never merchants,
            # who must not decide which reviews of their own products are shown.
            ("moderate_review", _("Can moderate reviews (publish, hold, hide)")),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ {self.title}"


class ReviewReply(BaseModel):
    """The merchant's one public answer to a review of its product (plain text)."""

    review = models.OneToOneField(
        Review, on_delete=models.CASCADE, related_name="reply", verbose_name=_("review")
    )
    # Who wrote it, for the shop's records; the page shows the merchant's name, not theirs.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("written by"),
    )
    body = models.TextField(_("reply"), max_length=2000)

    class Meta:
        verbose_name = _("review reply")
        verbose_name_plural = _("review replies")
        # One reply per review: the one-to-one column is unique in the database.
        constraints = [
            models.CheckConstraint(
                condition=~Q(body=""), name="reviews_reviewreply_body_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"Reply to review {self.review_id}"


class BoughtTogether(models.Model):
    """How many paid orders held both products: computed from orders by a periodic task."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    orders = models.PositiveIntegerField(_("orders holding both"))
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        verbose_name = _("bought together")
        verbose_name_plural = _("bought together")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "other"], name="reviews_boughttogether_unique_pair"
            ),
            models.CheckConstraint(
                condition=~Q(product=models.F("other")), name="reviews_boughttogether_not_self"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "-orders"], name="reviews_boughttogether_top"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} + {self.other_id} ({self.orders})"
