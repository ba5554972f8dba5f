from decimal import Decimal

import factory

from shipping.models import ShippingMethod


class ShippingMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingMethod

    name = factory.Sequence(lambda n: f"Courier {n}")
    price_amount = Decimal("4.90")
    countries: list[str] = []
    estimated_days = 3
