"""Admin building blocks shared by the apps."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteMixin
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Rows written only by services (payments, events, order lines): the admin shows them,
    never adds, edits or deletes. Actions still run, through services."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


def admin_input_guards_install() -> None:
    """Two answers of Django's admin to bad input were a 500, in every ModelAdmin:

    - `?_to_field=` (empty) on a change or delete page: the views check `_to_field` only
      when it is non-empty, then hand it to `get_object`, which looks up a field named
      "" (FieldDoesNotExist). Empty now means the primary key, as no value does.
    - an autocomplete field (`autocomplete_fields`) posted with a value its model's key
      cannot be (`product= `): the invalid form is shown again and the widget looks the
      value up to label it (`id__in=[" "]`, a ValueError). Such values are left out; the
      form still says the field is invalid.

    Installed once, from CoreConfig.ready(); found by tests/test_fuzz_pages.py."""
    if getattr(admin.ModelAdmin.get_object, "input_guard", False):
        return
    get_object = admin.ModelAdmin.get_object
    optgroups = AutocompleteMixin.optgroups

    def guarded_get_object(
        self: admin.ModelAdmin,
        request: HttpRequest,
        object_id: str,
        from_field: str | None = None,
    ) -> Model | None:
        return get_object(self, request, object_id, from_field or None)

    def guarded_optgroups(
        self: AutocompleteMixin, name: str, value: list[Any], attr: dict[str, Any] | None = None
    ) -> Any:
        remote = self.field.remote_field
        target = remote.model._meta.get_field(
            getattr(remote, "field_name", None) or remote.model._meta.pk.name
        )
        return optgroups(self, name, [v for v in value if _fits(target, v)], attr)

    guarded_get_object.input_guard = True  # type: ignore[attr-defined]
    admin.ModelAdmin.get_object = guarded_get_object  # type: ignore[method-assign,assignment]
    AutocompleteMixin.optgroups = guarded_optgroups  # type: ignore[method-assign,assignment]


def _fits(field: Any, value: Any) -> bool:
    try:
        field.get_prep_value(field.to_python(value))
    except (ValidationError, ValueError, TypeError):
        return False
    return True
