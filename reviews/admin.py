"""Reviews in the admin: moderation only. Hiding or publishing goes through
reviews.services.review_set_status, so the product's figures follow.

Merchant staff (the Merchants group: view and change) see and moderate only the reviews
of their own products; any other review answers 404, like one that does not exist
(catalog.admin.ScopedAdminMixin). Superusers see all."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.admin import ScopedAdminMixin
from reviews import services
from reviews.models import Review


@admin.register(Review)
class ReviewAdmin(ScopedAdminMixin, admin.ModelAdmin):
    merchant_path = "product__merchant"
    list_display = ["title", "product", "author", "rating", "status", "created_at"]
    list_display_links = ["title"]
    list_filter = ["status", "rating"]
    list_select_related = ["product", "author"]
    search_fields = ["title", "product__name", "author__email"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ["hide_selected", "publish_selected"]
    fields = ["product", "author", "rating", "title", "body", "status", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # A review is the shopper's words: moderation changes only whether it is shown.
        return [name for name in self.fields if name != "status"]

    def has_add_permission(self, request):
        return False  # buyers write reviews on the product page or through the API

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            services.review_set_status(review_id=obj.pk, status=obj.status)

    def delete_model(self, request, obj):
        services.review_delete(review_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for review_id in queryset.order_by("pk").values_list("pk", flat=True):
            services.review_delete(review_id=review_id)

    def _set_status(self, request, queryset, status: str) -> int:
        changed = 0
        for review in queryset.select_related(None).order_by("pk").only("pk", "status"):
            if review.status != status:
                services.review_set_status(review_id=review.pk, status=status)
                changed += 1
        return changed

    @admin.action(description=_("Hide selected reviews"), permissions=["change"])
    def hide_selected(self, request, queryset):
        changed = self._set_status(request, queryset, Review.Status.HIDDEN)
        self.message_user(
            request,
            ngettext("%(count)d review hidden.", "%(count)d reviews hidden.", changed)
            % {"count": changed},
            messages.SUCCESS,
        )

    @admin.action(description=_("Publish selected reviews"), permissions=["change"])
    def publish_selected(self, request, queryset):
        changed = self._set_status(request, queryset, Review.Status.PUBLISHED)
        self.message_user(
            request,
            ngettext("%(count)d review published.", "%(count)d reviews published.", changed)
            % {"count": changed},
            messages.SUCCESS,
        )
