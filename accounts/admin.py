from django import forms
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.forms import AdminLoginForm
from accounts.models import Address, User

# The admin's log-in goes through the same service and failure limit as every other log-in
# (the backend would refuse a limited attempt too; this form also says why).
admin.site.login_form = AdminLoginForm


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class AddressInline(admin.TabularInline):
    """Shown on the user page; edits go through AddressAdmin, which calls the services."""

    model = Address
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("full_name", "line1", "city", "postal_code", "country", "is_default")
    readonly_fields = fields


class AddressAdminForm(forms.ModelForm):
    class Meta:
        model = Address
        fields = [
            "user",
            "full_name",
            "line1",
            "line2",
            "city",
            "postal_code",
            "country",
            "phone",
            "is_default",
        ]

    def _get_validation_exclusions(self) -> set[str]:
        # Making this address the default is allowed: the service moves the flag off the
        # previous default, so the one-default constraint must not be a form error here.
        # (A private ModelForm method, which django-stubs leaves out.)
        exclusions: set[str] = super()._get_validation_exclusions()  # type: ignore[misc]
        return exclusions | {"is_default"}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    inlines = [AddressInline]
    ordering = ("email",)
    list_display = ("email", "name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "name")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("name",)}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list[type[InlineModelAdmin]]:
        return self.inlines if obj is not None else []

    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    form = AddressAdminForm
    list_display = ("full_name", "user", "city", "country", "is_default", "created_at")
    list_filter = ("country", "is_default")
    search_fields = ("full_name", "user__email", "city", "postal_code")
    list_select_related = ("user",)
    raw_id_fields = ("user",)

    def save_model(
        self, request: HttpRequest, obj: Address, form: AddressAdminForm, change: bool
    ) -> None:
        # Through the services, so moving the default unsets the user's previous one.
        data = {field: getattr(obj, field) for field in services.ADDRESS_FIELDS}
        if change:
            services.address_update(address=obj, is_default=obj.is_default, **data)
        else:
            created = services.address_create(user=obj.user, is_default=obj.is_default, **data)
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Address) -> None:
        services.address_delete(address=obj)
