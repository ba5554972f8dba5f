"""Reviews API serializers (API.md "Catalog": `products/{id}/reviews/`)."""

from typing import Any

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reviews.models import Review
from reviews.selectors import author_display_name
from reviews.services import REPLY_MAX_LENGTH
from shop.core.serializers import NO_NUL, StrictCharField, StrictIntegerField

_TITLE_MAX = Review._meta.get_field("title").max_length
_BODY_MAX = Review._meta.get_field("body").max_length

# One pattern for the schema (a field shows only one): no NUL, and something besides
# whitespace, which is trimmed away, so a title of spaces is the documented 400.
_HAS_TEXT = RegexValidator(
    r"^[^\x00]*[^\x00\s][^\x00]*$", _("Enter a title (not only spaces, no null characters).")
)


class _TitleField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if v is not NO_NUL] + [_HAS_TEXT]


class ReviewCreateInputSerializer(serializers.Serializer):
    rating = StrictIntegerField(min_value=1, max_value=5, help_text=_("Whole stars, 1 to 5."))
    title = _TitleField(max_length=_TITLE_MAX)
    body = StrictCharField(
        max_length=_BODY_MAX, required=False, allow_blank=True, default="", trim_whitespace=True
    )


class ReviewReplyOutputSerializer(serializers.Serializer):
    """The merchant's public answer to a review (plain text)."""

    body = serializers.CharField(read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)


class ReviewReplyCreateInputSerializer(serializers.Serializer):
    body = StrictCharField(
        max_length=REPLY_MAX_LENGTH,
        trim_whitespace=True,
        help_text=_("Plain text, shown under the review with the merchant's name."),
    )


class ReviewOutputSerializer(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField(
        help_text=_('The author\'s first name and initial ("Ada L."); never the email.')
    )
    created = serializers.DateTimeField(source="created_at", read_only=True)
    reply = serializers.SerializerMethodField(
        help_text=_("The merchant's one public answer, or null.")
    )

    class Meta:
        model = Review
        fields = ["id", "rating", "title", "body", "author_name", "created", "reply"]

    def get_author_name(self, review: Review) -> str:
        name = getattr(review, "author_full_name", None)
        if name is None:  # a review fresh from the service: its author is at hand
            name = review.author.name
        return author_display_name(name)

    @extend_schema_field(ReviewReplyOutputSerializer(allow_null=True))
    def get_reply(self, review: Review) -> dict[str, Any] | None:
        # Lists carry the reply as annotations (review_list_for_product: no extra query);
        # a review fresh from review_create has none yet.
        body = getattr(review, "reply_body", None)
        if body is None:
            return None
        reply = {"body": body, "created_at": getattr(review, "reply_created_at", None)}
        return dict(ReviewReplyOutputSerializer(reply).data)
