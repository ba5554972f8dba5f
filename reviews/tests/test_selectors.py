import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from reviews.models import BoughtTogether, Review
from reviews.selectors import (
    author_display_name,
    cart_recommendations,
    rating_histogram_rows,
    recently_viewed_ids,
    review_page_for_product,
    review_permission_for,
)
from reviews.tests.factories import ReviewFactory, buy


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Ada Lovelace", "Ada L."),
        ("  grace brewster hopper ", "grace H."),
        ("Plato", "Plato"),
        ("", "Verified buyer"),
        ("   ", "Verified buyer"),
    ],
)
def test_author_display_name(name, shown):
    assert author_display_name(name) == shown


@pytest.mark.django_db
def test_review_page_counts_with_one_query(django_assert_num_queries):
    product = ProductFactory()
    ReviewFactory.create_batch(12, product=product, author__name="Ada Lovelace")
    ReviewFactory(product=product, status=Review.Status.PENDING)
    with django_assert_num_queries(1):
        page = review_page_for_product(product_id=product.pk, page="2")
        assert [r.author_name for r in page.reviews] == ["Ada L."] * 2
    assert (page.count, page.number, page.num_pages) == (12, 2, 2)
    assert page.has_previous and not page.has_next
    assert (page.start_index, page.end_index) == (11, 12)


@pytest.mark.django_db
def test_review_page_of_no_reviews():
    page = review_page_for_product(product_id=ProductFactory().pk, page="5")
    assert (page.reviews, page.count, page.number, page.has_other_pages) == ([], 0, 1, False)


@pytest.mark.django_db
def test_review_permission_reads_both_guards_in_one_query(django_assert_num_queries):
    user, product = UserFactory(), ProductFactory()
    with django_assert_num_queries(1):
        assert not review_permission_for(user=user, product_id=product.pk).can_review
    buy(user=user, product=product)
    assert review_permission_for(user=user, product_id=product.pk).can_review
    ReviewFactory(product=product, author=user, status=Review.Status.HIDDEN)
    permission = review_permission_for(user=user, product_id=product.pk)
    assert permission.bought and permission.reviewed and not permission.can_review


def test_histogram_rows_from_the_product_figures():
    product = ProductFactory.build(rating_histogram={"5": 3, "1": 1})
    rows = [(r.stars, r.count, r.percent) for r in rating_histogram_rows(product)]
    assert rows == [(5, 3, 75), (4, 0, 0), (3, 0, 0), (2, 0, 0), (1, 1, 25)]
    empty = ProductFactory.build(rating_histogram={})
    assert all(r.percent == 0 for r in rating_histogram_rows(empty))


def test_recently_viewed_ids_ignore_junk():
    assert recently_viewed_ids({}) == []
    assert recently_viewed_ids({"recently_viewed": "x"}) == []
    assert recently_viewed_ids({"recently_viewed": [3, "4", True, 5]}) == [3, 5]
    assert len(recently_viewed_ids({"recently_viewed": list(range(40))})) == 12


@pytest.mark.django_db
def test_cart_recommendations_leave_out_the_cart():
    kettle, mug, tea = ProductFactory(), ProductFactory(), ProductFactory()
    BoughtTogether.objects.create(product=kettle, other=mug, orders=2)
    BoughtTogether.objects.create(product=kettle, other=tea, orders=1)
    assert cart_recommendations(products=[kettle, mug]) == [tea]
    assert cart_recommendations(products=[]) == []
