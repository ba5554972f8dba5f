from decimal import Decimal

import factory
from django.utils.text import slugify

from catalog.models import Category, Merchant, Product, ProductAttribute, Variant
from catalog.services import product_summary_refresh


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Merchant {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))

    @factory.post_generation
    def staff(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.staff.add(*extracted)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    parent = None


class ProductFactory(factory.django.DjangoModelFactory):
    """A product with one variant (every product has at least one), summary refreshed.

    `ProductFactory(variants__price_amount=Decimal("5.00"), variants__stock=0)` sets the
    variants' figures; `variants=3` makes three, `variants=0` none."""

    class Meta:
        model = Product
        skip_postgeneration_save = True

    merchant = factory.SubFactory(MerchantFactory)
    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    description = factory.Faker("paragraph")

    @factory.post_generation
    def variants(obj, create, extracted, **kwargs):
        if not create:
            return
        for position in range(1 if extracted is None else extracted):
            VariantFactory(product=obj, position=position, **kwargs)
        product_summary_refresh(product_ids=[obj.pk])
        obj.refresh_from_db()


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory, variants=0)
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    name = factory.Sequence(lambda n: f"Variant {n}")
    price_amount = Decimal("19.90")
    stock = 10


class ProductAttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductAttribute

    product = factory.SubFactory(ProductFactory)
    name = factory.Sequence(lambda n: f"Attribute {n}")
    value = "Value"
