import factory

from accounts.tests.factories import UserFactory
from cart.models import Cart, CartLine
from catalog.tests.factories import VariantFactory


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    user = factory.SubFactory(UserFactory)


class CartLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartLine

    cart = factory.SubFactory(CartFactory)
    variant = factory.SubFactory(VariantFactory)
    quantity = 1
    added_unit_price_amount = factory.LazyAttribute(lambda line: line.variant.price_amount)
