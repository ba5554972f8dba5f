"""The one shop row (`core.Shop`): which currency the database's prices are in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.db import DatabaseError

from shop.core.models import Shop

SHOP_PK = 1


def shop_row_ensure(**kwargs: Any) -> None:
    """post_migrate: the row exists (a test database flush empties every table, this
    one too; migrations created it first, from SHOP_CURRENCY, for existing prices).

    Uses the migration state's model, so migrating back to before the table is a no-op."""
    using = kwargs.get("using", "default")
    state_apps = kwargs.get("apps")
    try:
        model = state_apps.get_model("core", "Shop") if state_apps is not None else Shop
    except LookupError:  # migrated back to before core.0002
        return
    model.objects.using(using).get_or_create(
        pk=SHOP_PK, defaults={"currency": settings.SHOP_CURRENCY.upper()}
    )


def shop_currency_stored(*, using: str = "default") -> str | None:
    """The currency the database's prices are in (None before the row exists)."""
    return Shop.objects.using(using).filter(pk=SHOP_PK).values_list("currency", flat=True).first()


@checks.register(checks.Tags.database)
def shop_currency_check(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """`SHOP_CURRENCY` must name the currency the stored prices are in: changing it alone
    would relabel every price (5000 JPY sold as 5000 USD). Run by `migrate` and
    `check --database default`."""
    errors: list[checks.CheckMessage] = []
    for alias in databases or []:
        try:
            stored = shop_currency_stored(using=alias)
        except DatabaseError:  # not migrated yet: migrate creates the row from the setting
            continue
        if stored is not None and stored != settings.SHOP_CURRENCY:
            errors.append(
                checks.Error(
                    f"SHOP_CURRENCY is {settings.SHOP_CURRENCY!r} but the database's prices "
                    f"are in {stored!r}.",
                    hint=(
                        f"Set SHOP_CURRENCY={stored}, or convert every price and update the "
                        "core_shop row in one transaction (README, 'One shop currency')."
                    ),
                    obj="core.Shop",
                    id="core.E001",
                )
            )
    return errors
