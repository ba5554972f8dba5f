"""Addresses: one default per user, kept by these services (the constraint is the backstop)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import Address, User
from shop.core.countries import normalize_country

ADDRESS_FIELDS = ("full_name", "line1", "line2", "city", "postal_code", "country", "phone")


def _lock_user(user: User) -> None:
    # Every address write of one user takes this lock first, so "one default address" is
    # kept by the service and the partial unique constraint is only the backstop.
    User.objects.select_for_update().filter(pk=user.pk).first()


def _assign(address: Address, data: dict[str, Any]) -> None:
    for field in ADDRESS_FIELDS:
        if field in data:
            value = data[field]
            value = "" if value is None else str(value).strip()
            if field == "country":
                value = normalize_country(value)
            setattr(address, field, value)


@transaction.atomic
def address_create(*, user: User, is_default: bool = False, **data: Any) -> Address:
    """Add an address; the first one, or one asked to be, becomes the default."""
    _lock_user(user)
    has_default = Address.objects.filter(user=user, is_default=True).exists()
    address = Address(user=user)
    _assign(address, data)
    address.is_default = is_default or not has_default
    address.full_clean(exclude=["user"], validate_constraints=False)
    if address.is_default and has_default:
        Address.objects.filter(user=user, is_default=True).update(is_default=False)
    address.save()
    return address


@transaction.atomic
def address_update(*, address: Address, is_default: bool | None = None, **data: Any) -> Address:
    """Change some fields; `is_default=True` moves the default here from another address."""
    _lock_user(address.user)
    address = Address.objects.get(pk=address.pk)  # re-read under the lock
    _assign(address, data)
    if is_default is not None:
        address.is_default = is_default
    address.full_clean(exclude=["user"], validate_constraints=False)
    if address.is_default:
        Address.objects.filter(user_id=address.user_id, is_default=True).exclude(
            pk=address.pk
        ).update(is_default=False)
    address.save()
    return address


@transaction.atomic
def address_delete(*, address: Address) -> None:
    """Delete an address; when it was the default, the newest remaining one takes over."""
    _lock_user(address.user)
    was_default = Address.objects.filter(pk=address.pk, is_default=True).exists()
    Address.objects.filter(pk=address.pk).delete()
    if was_default:
        successor = (
            Address.objects.filter(user_id=address.user_id).order_by("-created_at", "-id").first()
        )
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])
