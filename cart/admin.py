"""Carts in the admin: read-only, for superusers (support looks; shoppers change carts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cart.models import Cart, CartLine

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _CartCounts(TypedDict):
    n_lines: int


class _SuperuserReadOnly:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class CartLineInline(_SuperuserReadOnly, admin.TabularInline):
    model = CartLine
    extra = 0
    fields = ("variant", "quantity", "created_at", "updated_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CartLine]:
        return super().get_queryset(request).select_related("variant__product")


@admin.register(Cart)
class CartAdmin(_SuperuserReadOnly, admin.ModelAdmin):
    list_display = ["user", "line_count", "updated_at"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "created_at", "updated_at"]
    inlines = [CartLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cart]:
        return super().get_queryset(request).select_related("user").annotate(n_lines=Count("lines"))

    @admin.display(description=_("lines"), ordering="n_lines")
    def line_count(self, obj: WithAnnotations[Cart, _CartCounts]) -> int:
        return obj.n_lines
