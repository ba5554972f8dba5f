from decimal import Decimal

import pytest

from shipping.models import ShippingMethod
from shipping.selectors import shipping_method_get_for_country, shipping_method_list
from shipping.tests.factories import ShippingMethodFactory

pytestmark = pytest.mark.django_db


def test_list_is_active_methods_and_filters_by_country():
    everywhere = ShippingMethodFactory(countries=[], price_amount=Decimal("9.00"))
    us_only = ShippingMethodFactory(countries=["US"], price_amount=Decimal("3.00"))
    europe = ShippingMethodFactory(countries=["DE", "FR"], price_amount=Decimal("5.00"))
    ShippingMethodFactory(is_active=False)

    assert list(shipping_method_list()) == [us_only, europe, everywhere]
    assert list(shipping_method_list(country="us")) == [us_only, everywhere]
    assert list(shipping_method_list(country="FR")) == [europe, everywhere]


def test_get_for_country_refuses_methods_that_do_not_ship_there():
    method = ShippingMethodFactory(countries=["US"])
    assert shipping_method_get_for_country(method_id=method.pk, country="US") == method
    with pytest.raises(ShippingMethod.DoesNotExist):
        shipping_method_get_for_country(method_id=method.pk, country="DE")
