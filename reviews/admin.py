"""Reviews in the admin: moderation for the shop's moderators, replies for merchant staff.

Moderation (publish, hold, hide) is a platform power: superusers and the Moderators group
(`reviews.moderate_review`), through reviews.services.review_set_status, which checks it
again whichever page asks. Merchant staff (the Merchants group: view only) see the reviews
of their own products, and any other review answers 404 like one that does not exist
(catalog.admin.ScopedAdminMixin); they answer a review with one public reply
(reviews.services.review_reply_create), and never hide it."""

from __future__ import annotations

from contextlib import contextmanager

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.defaultfilters import linebreaks_filter
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.admin import ScopedAdminMixin
from reviews import services
from reviews.errors import ModerationNotAllowed
from reviews.forms import ReviewReplyForm
from reviews.models import Review, ReviewReply
from shop.core.errors import DomainError


@contextmanager
def _moderation_denied_as_403():
    """The service's guard, as the admin answers it; the admin's own permission checks stop
    merchants first, this is for whatever gets past them."""
    try:
        yield
    except ModerationNotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc


@admin.register(Review)
class ReviewAdmin(ScopedAdminMixin, admin.ModelAdmin):
    merchant_path = "product__merchant"
    list_display = ["title", "product", "author", "rating", "status", "replied", "created_at"]
    list_display_links = ["title"]
    list_filter = ["status", "rating"]
    list_select_related = ["product", "author", "reply"]
    search_fields = ["title", "product__name", "author__email"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ["hide_selected", "publish_selected"]
    fields = ["product", "author", "rating", "title", "body", "status", "created_at", "reply_shown"]

    def is_scoped(self, request) -> bool:
        # Moderators work for the platform: every review. Anyone else: their merchants'.
        return not services.review_can_moderate(user=request.user)

    def get_readonly_fields(self, request, obj=None):
        # A review is the shopper's words: moderation changes only whether it is shown.
        return [name for name in self.fields if name != "status"]

    def has_change_permission(self, request, obj=None):
        # `change_review` means nothing here: the only change is moderation.
        product_id = obj.product_id if obj is not None else None
        return services.review_can_moderate(user=request.user, product_id=product_id)

    def has_moderate_permission(self, request) -> bool:
        return services.review_can_moderate(user=request.user)

    def has_add_permission(self, request):
        return False  # buyers write reviews on the product page or through the API

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def view_on_site(self, obj: Review) -> str | None:
        # Only where the review is shown: published, on a product page that exists.
        product = obj.product
        if obj.status != Review.Status.PUBLISHED or not product.is_active:
            return None
        if not product.merchant.is_active:
            return None
        return f"{product.get_absolute_url()}#review-{obj.pk}"

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            with _moderation_denied_as_403():
                services.review_set_status(review_id=obj.pk, status=obj.status, by=request.user)

    def delete_model(self, request, obj):
        services.review_delete(review_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for review_id in queryset.order_by("pk").values_list("pk", flat=True):
            services.review_delete(review_id=review_id)

    @admin.display(description=_("replied"), boolean=True)
    def replied(self, obj: Review) -> bool:
        return hasattr(obj, "reply")  # selected with the row: no query

    @admin.display(description=_("merchant's reply"))
    def reply_shown(self, obj: Review) -> str:
        reply = ReviewReply.objects.filter(review=obj).first()
        if reply is None:
            return "-"
        when = date_format(localtime(reply.created_at), "SHORT_DATETIME_FORMAT")
        # Plain text from a merchant: escaped, line breaks kept.
        body = linebreaks_filter(reply.body, autoescape=True)  # escaped, then marked safe
        return format_html('{}<p class="help">{}</p>', body, when)

    # --- Moderation ---------------------------------------------------------------------

    def _set_status(self, request, queryset, status: str) -> tuple[int, int]:
        changed = refused = 0
        for review in queryset.select_related(None).order_by("pk").only("pk", "status"):
            if review.status == status:
                continue
            try:
                services.review_set_status(review_id=review.pk, status=status, by=request.user)
            except ModerationNotAllowed:
                refused += 1
            else:
                changed += 1
        return changed, refused

    def _report(self, request, message: str, refused: int) -> None:
        self.message_user(request, message, messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)d review left as it was: it is of a product of a merchant you "
                    "work for.",
                    "%(count)d reviews left as they were: they are of products of a merchant "
                    "you work for.",
                    refused,
                )
                % {"count": refused},
                messages.WARNING,
            )

    @admin.action(description=_("Hide selected reviews"), permissions=["moderate"])
    def hide_selected(self, request, queryset):
        changed, refused = self._set_status(request, queryset, Review.Status.HIDDEN)
        message = ngettext("%(count)d review hidden.", "%(count)d reviews hidden.", changed)
        self._report(request, message % {"count": changed}, refused)

    @admin.action(description=_("Publish selected reviews"), permissions=["moderate"])
    def publish_selected(self, request, queryset):
        changed, refused = self._set_status(request, queryset, Review.Status.PUBLISHED)
        message = ngettext("%(count)d review published.", "%(count)d reviews published.", changed)
        self._report(request, message % {"count": changed}, refused)

    # --- Merchant replies ---------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/reply/",
                self.admin_site.admin_view(self.reply_view),
                name="reviews_review_reply",
            ),
            *super().get_urls(),
        ]

    def _may_reply(self, request, review: Review) -> bool:
        try:
            services.review_reply_target(review_id=review.pk, by=request.user)
        except DomainError:
            return False
        return True

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        review = self.get_object(request, object_id)  # scoped: 404 for another's review
        if self._may_reply(request, review):
            extra_context["reply_form"] = ReviewReplyForm()
            extra_context["reply_url"] = reverse("admin:reviews_review_reply", args=[review.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def reply_view(self, request, object_id: str):
        """The reply form of a review page (merchant staff of the product's merchant), through
        review_reply_create, which checks who may reply and that it is the first reply."""
        review = self.get_object(request, object_id)
        if not self.has_view_permission(request, review):
            raise PermissionDenied
        change_url = reverse("admin:reviews_review_change", args=[review.pk])
        try:
            services.review_reply_target(review_id=review.pk, by=request.user)
        except DomainError as exc:
            self.message_user(request, str(exc.message), messages.ERROR)
            return redirect(change_url)
        form = ReviewReplyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.review_reply_create(
                    review_id=review.pk, by=request.user, body=form.cleaned_data["body"]
                )
            except ValidationError as exc:
                for error in exc.message_dict.get("body", exc.messages):
                    form.add_error("body", error)
            except DomainError as exc:  # a reply raced this one
                self.message_user(request, str(exc.message), messages.ERROR)
                return redirect(change_url)
            else:
                self.message_user(request, _("Your reply is published."), messages.SUCCESS)
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Reply to “%(review)s”") % {"review": review},
            "review": review,
            "form": form,
        }
        return TemplateResponse(request, "admin/reviews/review/reply.html", context)
