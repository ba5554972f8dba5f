"""Catalog admin: superusers manage everything; a merchant's staff manage their own products.

Scoping for merchant staff (members of the Merchants group listed in `Merchant.staff`) is
applied in every entry point the admin has: changelist and object lookup (`get_queryset`,
`get_object`, which answers 404 for anything out of scope), foreign-key choices, form
validation and inlines; saves go through catalog services, which check it again.

Stock is read-only here: a new variant may be given its initial stock, and after that
"Adjust stock" (a signed change with a reason) is the only way to change it, through
`catalog.stock.variant_stock_adjust`, so an admin never writes a number over a sale.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import FieldListFilter, ListFilter
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import smart_split, unescape_string_literal
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from catalog import services
from catalog.errors import MerchantNotAllowed, StockBelowReserved, StockBelowZero
from catalog.models import (
    Category,
    Merchant,
    Product,
    ProductAttribute,
    ProductImage,
    StockMovement,
    Variant,
)
from catalog.selectors import category_tree
from catalog.stock import variant_stock_adjust

# What a person may give as the reason of an adjustment; `initial` is recorded when a
# variant is created, and sources added later (sales, imports) record their own.
ADJUST_REASONS = [
    StockMovement.Reason.ADJUSTMENT,
    StockMovement.Reason.CORRECTION,
    StockMovement.Reason.RETURN,
    StockMovement.Reason.DAMAGED,
]
RECENT_MOVEMENTS = 20


def merchants_for(user) -> QuerySet[Merchant]:
    """The merchants whose catalog the user may manage."""
    if user.is_superuser:
        return Merchant.objects.all()
    return Merchant.objects.filter(staff=user)


def _image_tag(image: ProductImage, *, size: Literal[48, 80]) -> str:
    # Sized by a class of catalog/admin.css (ProductAdmin.Media): the CSP allows no style="".
    picture = image.thumbnail or image.image
    if not picture:
        return "-"
    return format_html(
        '<img src="{}" alt="" class="catalog-preview catalog-preview--{}">', picture.url, size
    )


@contextmanager
def _merchant_denied_as_403():
    """The services' scope check, as the admin answers it: 403. Forms and scoped lookups
    stop out-of-scope users first; this is for whatever gets past them."""
    try:
        yield
    except MerchantNotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc


# The mixins below sit in front of ModelAdmin / InlineModelAdmin; type checkers see that base.
if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin
    _InlineBase = admin.options.InlineModelAdmin
else:
    _AdminBase = _InlineBase = object


class ScopedAdminMixin(_AdminBase):
    """Shared by every admin a merchant's staff can reach.

    `merchant_path` is the lookup from the model to its merchant ("" for Merchant itself)."""

    merchant_path = "merchant"

    def is_scoped(self, request) -> bool:
        """Whether the user sees only their merchants' rows here (everyone but superusers;
        an admin may widen it for other platform staff, as the reviews admin does)."""
        return not request.user.is_superuser

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not self.is_scoped(request):
            return queryset
        lookup = f"{self.merchant_path}__staff" if self.merchant_path else "staff"
        return queryset.filter(**{lookup: request.user})

    def get_object(self, request, object_id, from_field=None):
        # Django redirects to the index for a missing object; an object of another
        # merchant must look exactly like one that doesn't exist: a 404.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such object."))
        return obj

    def lookup_allowed(self, lookup, value, request=None):
        """Merchant staff filter the changelist only by what its filters offer them.

        Django allows any lookup on a model's own columns, shown or not, with any comparison
        (`?total_amount__gt=`): each is a question answered by which rows the list shows, so
        a column the page hides (an order's total, which counts other merchants' lines)
        could be bisected. A lookup that is not a parameter of a filter offered to the user
        or of the date drill-down is refused (Django answers 400)."""
        if request is None or not self.is_scoped(request):
            return super().lookup_allowed(lookup, value, request)
        return lookup in self.merchant_staff_lookups(request)

    def merchant_staff_lookups(self, request) -> set[str]:
        """The query-string parameters of the filters and date drill-down offered to the
        request's user (computed once per request and admin)."""
        cache = request.__dict__.setdefault("_scoped_admin_lookups", {})
        key = type(self)
        if key not in cache:
            allowed: set[str] = set()
            if self.date_hierarchy:
                allowed |= {f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day")}
            for item in self.get_list_filter(request):
                if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
                    allowed.add(str(item.parameter_name))
                    continue
                path: object = item
                filter_class: Callable[..., ListFilter] = FieldListFilter.create
                if isinstance(item, list | tuple):
                    path, custom = item[0], item[1]
                    if isinstance(custom, type) and issubclass(custom, FieldListFilter):
                        filter_class = custom
                if not isinstance(path, str):
                    continue  # only field paths here; a filter of another kind offers nothing
                field = get_fields_from_path(self.model, path)[-1]
                spec = filter_class(field, request, {}, self.model, self, field_path=path)
                allowed.update(str(name) for name in spec.expected_parameters() if name)
            cache[key] = allowed
        return cache[key]

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        # The object's history page pages its LogEntry rows through here. Merchant staff
        # see only what they and their co-workers did: an object can have been another
        # merchant's before (or be shared, as an order is), and that merchant's changes
        # are not theirs to read.
        if queryset.model is LogEntry and self.is_scoped(request):
            co_workers = get_user_model().objects.filter(merchants__staff=request.user)
            queryset = queryset.filter(user__in=co_workers)
        return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)


class ScopedInlineMixin(_InlineBase):
    """Inline rows belong to a product; only rows of products the user manages."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(product__merchant__staff=request.user)


# --- Product -----------------------------------------------------------------------------


class ProductAdminForm(forms.ModelForm):
    # Set by ProductAdmin.get_form for the request's user.
    allowed_merchants: QuerySet[Merchant] | None = None

    class Meta:
        model = Product
        fields = ["merchant", "category", "name", "slug", "description", "is_active"]

    def clean_merchant(self):
        merchant = self.cleaned_data["merchant"]
        allowed = self.allowed_merchants
        if allowed is not None and not allowed.filter(pk=merchant.pk).exists():
            raise ValidationError(
                _("You can only manage products of merchants you work for."),
                code="merchant_not_allowed",
            )
        return merchant


class VariantForm(forms.ModelForm):
    """A variant's own fields. `stock` is the initial stock of a new variant; on an existing
    one it is shown disabled (its posted value is ignored): "Adjust stock" changes it."""

    class Meta:
        model = Variant
        fields = ["sku", "name", "price_amount", "stock", "is_active", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stock = self.fields.get("stock")
        if stock is None:
            return
        if self.instance.pk:
            stock.disabled = True
            stock.help_text = _("Change it with “Adjust stock”.")
        else:
            stock.help_text = _("Initial stock, recorded as its first stock movement.")

    def initial_stock(self) -> int:
        """What a new variant starts with (0 for an existing one: its stock is not edited)."""
        if self.instance.pk:
            return 0
        return self.cleaned_data.get("stock") or 0


class StockAdjustForm(forms.Form):
    delta = forms.IntegerField(
        label=_("Change"),
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text=_("Units to add to the stock on hand; negative to take away (e.g. -3)."),
    )
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[(reason.value, reason.label) for reason in ADJUST_REASONS],
        initial=StockMovement.Reason.ADJUSTMENT,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class VariantInlineFormSet(BaseInlineFormSet):
    default_error_messages = {
        **BaseInlineFormSet.default_error_messages,
        "too_few_forms": ngettext_lazy(
            "A product needs at least %(num)d variant: add one, or keep one undeleted.",
            "A product needs at least %(num)d variants: add them, or keep them undeleted.",
            "num",
        ),
    }


class VariantInline(ScopedInlineMixin, admin.TabularInline):
    model = Variant
    form = VariantForm
    formset = VariantInlineFormSet
    # Every product has at least one variant: the price and stock shown on lists come from it.
    min_num = 1
    extra = 0
    fields = [
        "sku",
        "name",
        "price_amount",
        "currency",
        "stock",
        "reserved",
        "stock_available",
        "adjust_stock",
        "is_active",
        "position",
    ]
    readonly_fields = ["currency", "reserved", "stock_available", "adjust_stock"]

    def get_queryset(self, request):
        # Each row's form reads its variant's product: joined, not one query per variant.
        return super().get_queryset(request).select_related("product")

    def get_formset(self, request, obj=None, **kwargs):
        # InlineModelAdmin passes min_num to the formset but not validate_min.
        kwargs.setdefault("validate_min", True)
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description=_("adjust"))
    def adjust_stock(self, obj: Variant) -> str:
        if not obj.pk:
            return "-"
        url = reverse("admin:catalog_variant_adjust_stock", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Adjust stock"))


class ProductImageInline(ScopedInlineMixin, admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["preview", "image", "alt_text", "position"]
    readonly_fields = ["preview"]

    @admin.display(description=_("preview"))
    def preview(self, obj: ProductImage) -> str:
        return _image_tag(obj, size=80)


class ProductAttributeInline(ScopedInlineMixin, admin.TabularInline):
    model = ProductAttribute
    extra = 0
    fields = ["name", "value", "position"]


class InStockFilter(admin.SimpleListFilter):
    title = _("in stock")
    parameter_name = "in_stock"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(in_stock=True)
        if self.value() == "no":
            return queryset.filter(in_stock=False)
        return queryset


@admin.register(Product)
class ProductAdmin(ScopedAdminMixin, admin.ModelAdmin):
    form = ProductAdminForm
    inlines = [VariantInline, ProductImageInline, ProductAttributeInline]
    list_display = [
        "thumbnail",
        "name",
        "merchant",
        "category",
        "price",
        "in_stock",
        "is_active",
        "created_at",
    ]
    list_display_links = ["thumbnail", "name"]
    list_select_related = ["merchant", "category"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = [
        "price",
        "currency",
        "in_stock",
        "rating_avg",
        "rating_count",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["merchant", "category", "name", "slug", "description", "is_active"]}),
        (
            _("Summary (from variants and reviews)"),
            {"fields": ["price", "currency", "in_stock", "rating_avg", "rating_count"]},
        ),
        (_("History"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    date_hierarchy = "created_at"
    list_per_page = 50
    # The full count of a 100k-row table costs more than the page itself.
    show_full_result_count = False

    class Media:
        css = {"all": ["catalog/admin.css"]}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is None or match.url_name == "catalog_product_changelist":
            # The thumbnail column reads the prefetched images: one query for the page.
            return queryset.prefetch_related("images")
        # The change page: its image inline reads the images itself; the merchant is shown.
        return queryset.select_related("merchant")

    def get_search_results(self, request, queryset, search_term):
        # As search_fields says, but the SKU through a subquery: Django's join on variants
        # needs a DISTINCT over the whole result (seconds at 100k products); SKUs match
        # exactly, which their unique index answers at once.
        matches = queryset
        for word in smart_split(search_term):
            if word.startswith(('"', "'")) and word[0] == word[-1] and len(word) > 1:
                word = unescape_string_literal(word)
            skus = Variant.objects.filter(sku__in={word, word.upper()}).values("product_id")
            matches = matches.filter(
                Q(name__icontains=word) | Q(slug__icontains=word) | Q(pk__in=skus)
            )
        return matches, False

    def get_list_filter(self, request):
        filters = ["category", "is_active", InStockFilter]
        if request.user.is_superuser:
            filters.insert(0, "merchant")
        return filters

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        allowed = None if request.user.is_superuser else merchants_for(request.user)
        return type(form.__name__, (form,), {"allowed_merchants": allowed})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "merchant":
            merchants = merchants_for(request.user)
            kwargs["queryset"] = merchants
            if not request.user.is_superuser:
                only = list(merchants[:2])
                if len(only) == 1:
                    kwargs["initial"] = only[0].pk
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        with _merchant_denied_as_403():
            services.product_save(product=obj, fields=form.fields, by=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Variant:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for variant in formset.deleted_objects:
            variant.delete()
        form_of = {id(variant_form.instance): variant_form for variant_form in formset.forms}
        saved = [*formset.new_objects, *(variant for variant, _fields in formset.changed_objects)]
        for variant in saved:
            variant_form = form_of[id(variant)]
            with _merchant_denied_as_403():
                services.variant_save(
                    variant=variant,
                    fields=variant_form.fields,
                    by=request.user,
                    initial_stock=variant_form.initial_stock(),
                )
        return None

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        product = form.instance
        for formset in formsets:
            if formset.model is ProductImage:
                changed = [obj for obj, fields in formset.changed_objects if "image" in fields]
                services.product_images_process(images=[*formset.new_objects, *changed])
        # Still inside the admin's transaction (deleted variants too), so lists never see
        # the old summary.
        services.product_summary_refresh(product_ids=[product.pk])
        product.refresh_from_db(fields=["price_amount", "in_stock"])

    def view_on_site(self, obj: Product) -> str | None:
        # The product page exists only while the shop shows the product (else a 404).
        if not (obj.is_active and obj.merchant.is_active):
            return None
        return obj.get_absolute_url()

    @admin.display(description=_("image"))
    def thumbnail(self, obj: Product) -> str:
        images = obj.images.all()
        return _image_tag(images[0], size=48) if images else "-"

    @admin.display(description=_("from price"), ordering="price_amount")
    def price(self, obj: Product) -> str:
        return f"{obj.price_amount} {obj.currency}"


# --- Variant (stock management) --------------------------------------------------------


class StockFilter(admin.SimpleListFilter):
    title = _("stock")
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [("out", _("Out of stock")), ("low", _("Low (1-5)")), ("in", _("In stock"))]

    def queryset(self, request, queryset):
        match self.value():
            case "out":
                return queryset.filter(stock_available__lte=0)
            case "low":
                return queryset.filter(stock_available__gte=1, stock_available__lte=5)
            case "in":
                return queryset.filter(stock_available__gt=0)
        return queryset


@admin.register(Variant)
class VariantAdmin(ScopedAdminMixin, admin.ModelAdmin):
    merchant_path = "product__merchant"
    form = VariantForm
    list_display = [
        "sku",
        "product",
        "name",
        "price_amount",
        "stock",
        "reserved",
        "stock_available",
        "is_active",
    ]
    list_editable = ["price_amount", "is_active"]
    list_select_related = ["product"]
    search_fields = ["sku", "name", "product__name"]
    autocomplete_fields = ["product"]
    list_per_page = 100
    show_full_result_count = False
    actions = ["adjust_stock_action"]

    def get_fieldsets(self, request, obj=None):
        main = ["product", "sku", "name", "price_amount", "currency", "stock"]
        if obj is None:
            return [(None, {"fields": [*main, "is_active", "position"]})]
        return [
            (None, {"fields": [*main, "reserved", "stock_available", "is_active", "position"]}),
            (_("Recent stock movements"), {"fields": ["recent_stock_movements"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["currency"]
        return ["currency", "stock", "reserved", "stock_available", "recent_stock_movements"]

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", VariantForm)
        return super().get_changelist_form(request, **kwargs)

    def get_urls(self):
        return [
            path(
                "<id:variant_id>/adjust-stock/",
                self.admin_site.admin_view(self.adjust_stock_view),
                name="catalog_variant_adjust_stock",
            ),
            *super().get_urls(),
        ]

    def get_list_filter(self, request):
        filters = [StockFilter, "is_active"]
        if request.user.is_superuser:
            filters.append("product__merchant")
        return filters

    def has_delete_permission(self, request, obj=None):
        # Deleting happens on the product page, where the one-variant minimum is checked.
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "product":
            kwargs["queryset"] = Product.objects.for_staff(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        with _merchant_denied_as_403():
            services.variant_save(
                variant=obj, fields=form.fields, by=request.user, initial_stock=form.initial_stock()
            )

    @admin.display(description=_("stock movements"))
    def recent_stock_movements(self, obj: Variant) -> str:
        movements = obj.stock_movements.select_related("actor").order_by("-id")[:RECENT_MOVEMENTS]
        if not movements:
            return "-"
        head = format_html_join(
            "",
            "<th>{}</th>",
            [(_("at"),), (_("change"),), (_("stock after"),), (_("reason"),), (_("by"),),
             (_("note"),)],
        )  # fmt: skip
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(localtime(m.created_at), "SHORT_DATETIME_FORMAT"),
                    f"{m.delta:+d}",
                    m.stock_after,
                    m.get_reason_display(),
                    m.actor or "-",
                    m.note,
                )
                for m in movements
            ),
        )
        return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)

    @admin.action(description=_("Adjust stock…"), permissions=["change"])
    def adjust_stock_action(self, request, queryset):
        variants = list(queryset[:2])
        if len(variants) != 1:
            self.message_user(request, _("Choose exactly one variant to adjust."), messages.ERROR)
            return None
        url = reverse("admin:catalog_variant_adjust_stock", args=[variants[0].pk])
        return HttpResponseRedirect(url)

    def adjust_stock_view(self, request, variant_id: int):
        """A signed change of the stock on hand with a reason, through variant_stock_adjust."""
        variant = self.get_queryset(request).filter(pk=variant_id).first()
        if variant is None:
            raise Http404(_("No such object."))
        if not self.has_change_permission(request, variant):
            raise PermissionDenied
        if request.method == "POST":
            form = StockAdjustForm(request.POST)
            if form.is_valid() and self._adjust_stock(request, variant, form):
                return redirect("admin:catalog_variant_change", variant.pk)
        else:
            form = StockAdjustForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Adjust stock of %(variant)s") % {"variant": variant},
            "variant": variant,
            "form": form,
        }
        return TemplateResponse(request, "admin/catalog/variant/adjust_stock.html", context)

    def _adjust_stock(self, request, variant: Variant, form: StockAdjustForm) -> bool:
        try:
            with _merchant_denied_as_403():
                movement = variant_stock_adjust(
                    variant_id=variant.pk,
                    delta=form.cleaned_data["delta"],
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    by=request.user,
                )
        except (StockBelowZero, StockBelowReserved) as exc:
            form.add_error("delta", str(exc.message))
            return False
        except ValidationError as exc:
            form.add_error(None, exc)
            return False
        self.message_user(
            request,
            _("Stock of %(sku)s changed by %(delta)+d: %(stock)s on hand now.")
            % {"sku": variant.sku, "delta": movement.delta, "stock": movement.stock_after},
            messages.SUCCESS,
        )
        return True


# --- Category and merchant ---------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["path", "slug", "position"]
    list_editable = ["position"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    ordering = ["parent__name", "position", "name"]

    @admin.display(description=_("category"), ordering="name")
    def path(self, obj: Category) -> str:
        # The cached tree: one query (or none) for the whole page, at any depth.
        tree = category_tree()
        node = tree.by_id.get(obj.pk)
        if node is None:
            return obj.name
        return " / ".join(n.name for n in tree.ancestors(node))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            obj_id = request.resolver_match.kwargs.get("object_id")
            if obj_id:
                # A category can't be its own parent (the constraint backs this up).
                kwargs["queryset"] = Category.objects.exclude(pk=obj_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MerchantAdminForm(forms.ModelForm):
    class Meta:
        model = Merchant
        fields = ["name", "slug", "is_active", "staff"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "staff" in self.fields:
            # Merchant staff work in the admin, so only staff accounts are offered.
            field = cast(forms.ModelMultipleChoiceField, self.fields["staff"])
            users = cast(QuerySet, field.queryset)
            current = self.instance.staff.all() if self.instance.pk else users.none()
            field.queryset = users.filter(Q(is_staff=True) | Q(pk__in=current))


@admin.register(Merchant)
class MerchantAdmin(ScopedAdminMixin, admin.ModelAdmin):
    merchant_path = ""
    form = MerchantAdminForm
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["staff"]

    def get_readonly_fields(self, request, obj=None):
        # Only superusers decide who works for a merchant.
        return [] if request.user.is_superuser else ["staff"]

    def save_related(self, request, form, formsets, change):
        if "staff" in form.cleaned_data:
            services.merchant_staff_set(merchant=form.instance, users=form.cleaned_data["staff"])
            form.cleaned_data = {k: v for k, v in form.cleaned_data.items() if k != "staff"}
        super().save_related(request, form, formsets, change)
