import pytest

from accounts.tests.factories import UserFactory
from catalog.models import Product, Variant
from catalog.services import product_summary_refresh
from catalog.tests.factories import CategoryFactory, ProductFactory
from orders.tests.factories import place_order
from reviews.models import BoughtTogether
from reviews.recommendations import recommendations_compute, recommendations_for_product
from reviews.tests.factories import ReviewFactory, buy

pytestmark = pytest.mark.django_db


def _paid_order_of(*products):
    """One paid order holding all `products`."""
    user = UserFactory()
    first, *rest = products
    from cart.services import cart_add_item

    for product in rest:
        cart_add_item(user=user, variant_id=product.variants.first().pk, quantity=1)
    return buy(user=user, product=first)


def test_bought_together_ranks_by_paid_orders_and_skips_unpaid_ones():
    kettle, mug, tea, toaster = (
        ProductFactory(name=n) for n in ["Kettle", "Mug", "Tea", "Toaster"]
    )
    _paid_order_of(kettle, mug, tea)
    _paid_order_of(kettle, mug)
    place_order(
        user=UserFactory(), items=[(kettle.variants.first(), 1), (toaster.variants.first(), 1)]
    )

    recommendations_compute()

    assert BoughtTogether.objects.get(product=kettle, other=mug).orders == 2
    assert not BoughtTogether.objects.filter(product=kettle, other=toaster).exists()
    names = [p.name for p in recommendations_for_product(product=kettle)]
    assert names[:2] == ["Mug", "Tea"]
    assert "Kettle" not in names


def test_never_inactive_or_out_of_stock_products():
    kettle, mug, tea = (ProductFactory(name=n) for n in ["Kettle", "Mug", "Tea"])
    _paid_order_of(kettle, mug, tea)
    recommendations_compute()
    Product.objects.filter(pk=mug.pk).update(is_active=False)
    Variant.objects.filter(product=tea).update(stock=0)
    product_summary_refresh(product_ids=[tea.pk])

    assert recommendations_for_product(product=kettle) == []


def test_falls_back_to_the_best_rated_of_the_same_category():
    kitchen, garden = CategoryFactory(), CategoryFactory()
    kettle = ProductFactory(category=kitchen, name="Kettle")
    good = ProductFactory(category=kitchen, name="Good pan")
    best = ProductFactory(category=kitchen, name="Best pan")
    ProductFactory(category=garden, name="Hose")
    Product.objects.filter(pk=good.pk).update(rating_score=4, rating_count=3)
    Product.objects.filter(pk=best.pk).update(rating_score=4.5, rating_count=9)

    names = [p.name for p in recommendations_for_product(product=kettle)]
    assert names == ["Best pan", "Good pan"]


def test_query_count_is_fixed(django_assert_max_num_queries):
    kitchen = CategoryFactory()
    kettle = ProductFactory(category=kitchen)
    partners = [ProductFactory(category=kitchen) for _ in range(5)]
    _paid_order_of(kettle, *partners)
    recommendations_compute()
    with django_assert_max_num_queries(4):
        assert len(recommendations_for_product(product=kettle, limit=12)) == 5
    ReviewFactory(product=kettle)  # unrelated rows change nothing
