"""Catalog reads shaped for the storefront pages."""

import pytest
from django.http import Http404

from catalog import selectors
from catalog.models import Variant
from catalog.tests.factories import CategoryFactory, MerchantFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_category_tree_is_one_query_then_cached(django_assert_num_queries):
    root = CategoryFactory(name="Home")
    CategoryFactory(name="Kitchen", parent=root)
    with django_assert_num_queries(1):
        tree = selectors.category_tree()
    with django_assert_num_queries(0):
        selectors.category_tree()
    assert [node.name for node in tree.roots] == ["Home"]
    assert [node.name for node in tree.roots[0].children] == ["Kitchen"]


def test_category_get_for_page_returns_the_node_and_its_ancestors():
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    knives = CategoryFactory(name="Knives", parent=kitchen)

    tree, node = selectors.category_get_for_page(slug="knives")

    assert node.id == knives.pk
    assert [n.slug for n in tree.ancestors(node)] == ["home", "kitchen", "knives"]
    assert sorted(tree.descendant_ids(tree.by_slug["home"])) == sorted(
        [home.pk, kitchen.pk, knives.pk]
    )


def test_category_get_for_page_unknown_slug_is_404():
    CategoryFactory(name="Home")
    with pytest.raises(Http404):
        selectors.category_get_for_page(slug="nowhere")


def test_category_options_are_depth_first_in_position_order():
    garden = CategoryFactory(name="Garden", position=2)
    home = CategoryFactory(name="Home", position=1)
    CategoryFactory(name="Tools", parent=garden)
    CategoryFactory(name="Lamps", parent=home, position=2)
    kitchen = CategoryFactory(name="Kitchen", parent=home, position=1)
    CategoryFactory(name="Knives", parent=kitchen)

    options = selectors.category_options(selectors.category_tree())

    assert options == [
        ("home", "Home", 0),
        ("kitchen", "Kitchen", 1),
        ("knives", "Knives", 2),
        ("lamps", "Lamps", 1),
        ("garden", "Garden", 0),
        ("tools", "Tools", 1),
    ]


def test_product_list_has_card_data_in_two_queries(django_assert_num_queries):
    for _ in range(4):
        ProductFactory()
    ProductFactory(is_active=False)
    ProductFactory(merchant=MerchantFactory(is_active=False))

    with django_assert_num_queries(2):
        products = list(selectors.product_list())
        for product in products:
            product.merchant.name  # noqa: B018
            list(product.images.all())
    assert len(products) == 4


def test_new_arrivals_are_newest_first_and_limited():
    made = [ProductFactory() for _ in range(5)]
    arrivals = selectors.product_list_new_arrivals(limit=3)
    assert arrivals == list(reversed(made))[:3]


def test_product_get_for_page_prefetches_what_the_page_shows(django_assert_num_queries):
    product = ProductFactory(variants=3)
    Variant.objects.filter(pk=product.variants.first().pk).update(is_active=False)

    with django_assert_num_queries(1):  # variants, images, attributes folded in as JSON
        page_product = selectors.product_get_for_page(slug=product.slug)
        variants = list(page_product.variants.all())
        list(page_product.images.all())
        list(page_product.attributes.all())
        page_product.merchant.name  # noqa: B018
        page_product.category.name  # noqa: B018
    assert len(variants) == 2  # inactive variants are not offered


@pytest.mark.parametrize(
    "make",
    [
        lambda: ProductFactory(is_active=False),
        lambda: ProductFactory(merchant=MerchantFactory(is_active=False)),
    ],
    ids=["inactive product", "inactive merchant"],
)
def test_product_get_for_page_hides_inactive_products(make):
    product = make()
    with pytest.raises(Http404):
        selectors.product_get_for_page(slug=product.slug)
