"""Carts in the admin: read-only, for superusers (support looks; shoppers change carts)."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from cart.models import Cart, CartLine


class _SuperuserReadOnly:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CartLineInline(_SuperuserReadOnly, admin.TabularInline):
    model = CartLine
    extra = 0
    fields = ["variant", "quantity", "created_at", "updated_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")


@admin.register(Cart)
class CartAdmin(_SuperuserReadOnly, admin.ModelAdmin):
    list_display = ["user", "line_count", "updated_at"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "created_at", "updated_at"]
    inlines = [CartLineInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").annotate(n_lines=Count("lines"))

    @admin.display(description=_("lines"), ordering="n_lines")
    def line_count(self, obj):
        return obj.n_lines
