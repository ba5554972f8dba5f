"""The review form of the product page. It only parses input; who may review, and the
limits of each field, are checked once, in reviews.services.review_create."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from reviews.models import Review, ReviewReply

RATING_CHOICES = [
    (stars, ngettext_lazy("%(stars)d star", "%(stars)d stars", stars) % {"stars": stars})
    for stars in range(5, 0, -1)
]


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=RATING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a rating from 1 to 5."),
            "invalid_choice": _("Choose a rating from 1 to 5."),
        },
    )
    title = forms.CharField(label=_("Title"), max_length=Review._meta.get_field("title").max_length)
    body = forms.CharField(
        label=_("Your review"),
        required=False,
        max_length=Review._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


class ReviewReplyForm(forms.Form):
    """A merchant's reply in the admin; reviews.services.review_reply_create checks who may
    write it and its limits."""

    body = forms.CharField(
        label=_("Reply"),
        max_length=ReviewReply._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text=_("Public, shown under the review with your merchant's name; one per review."),
    )
