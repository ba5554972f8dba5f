"""Reads for the accounts pages and API."""

from django.db.models import QuerySet

from accounts.models import Address, User


def address_list_for_user(*, user: User) -> QuerySet[Address]:
    """The user's own addresses, default first, then newest."""
    return Address.objects.filter(user=user).order_by("-is_default", "-created_at", "-id")


def address_get_for_user(*, user: User, address_id: int) -> Address:
    """One of the user's addresses; another user's raises `Address.DoesNotExist` (a 404)."""
    return address_list_for_user(user=user).get(pk=address_id)
