"""The shop row: which currency the database's prices are in, and the check that holds
SHOP_CURRENCY to it (issue 9, item 2)."""

import pytest
from django.core import checks
from django.core.management import call_command

from shop.core.models import Shop
from shop.core.shop import shop_currency_check, shop_currency_stored, shop_row_ensure

pytestmark = pytest.mark.django_db


def test_migrations_made_the_row_from_the_setting(settings):
    assert shop_currency_stored() == settings.SHOP_CURRENCY == "USD"


def test_a_setting_that_disagrees_with_the_stored_prices_fails_the_check(settings):
    assert shop_currency_check(databases=["default"]) == []

    settings.SHOP_CURRENCY = "EUR"
    errors = shop_currency_check(databases=["default"])

    assert [error.id for error in errors] == ["core.E001"]
    assert "'USD'" in errors[0].msg and "'EUR'" in errors[0].msg
    # Registered with the database checks that `migrate` runs.
    assert shop_currency_check in checks.registry.registry.get_checks(
        include_deployment_checks=True
    )


def test_the_check_reads_no_database_unless_asked(settings, django_assert_num_queries):
    settings.SHOP_CURRENCY = "EUR"
    with django_assert_num_queries(0):
        assert shop_currency_check(databases=None) == []


def test_the_row_comes_back_after_a_flush():
    Shop.objects.all().delete()  # what a flush between transactional tests does
    shop_row_ensure(using="default")
    assert shop_currency_stored() == "USD"


def test_flush_keeps_the_row(transactional_db):
    call_command("flush", interactive=False, verbosity=0)
    assert shop_currency_stored() == "USD"


def test_migrating_back_to_before_the_table_skips_the_row(django_assert_num_queries):
    from django.db.migrations.state import ProjectState

    with django_assert_num_queries(0):
        shop_row_ensure(using="default", apps=ProjectState().apps)
