"""The product page's reviews, its review form, recommendations on the product and cart
pages, and recently viewed products on the home page."""

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog.models import Product, ProductImage
from catalog.tests.factories import CategoryFactory, ProductFactory
from reviews.models import BoughtTogether, Review
from reviews.selectors import RECENTLY_VIEWED_MAX
from reviews.tests.factories import ReviewFactory, buy
from shop.core.pagecache import reset_local_version

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def _html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def _review_titles(html: str) -> list[str]:
    return re.findall(r'<h3 class="review__title"[^>]*>([^<]*)</h3>', html)


def _card_names(html: str, heading_id: str) -> list[str]:
    start = html.find(f'id="{heading_id}"')
    if start < 0:
        return []
    section = html[start : html.find("</section>", start)]
    return re.findall(r'<h3 class="card__title"><a [^>]*>([^<]*)</a>', section)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- reviews on the product page -----------------------------------------------------------


def test_summary_with_average_count_and_histogram():
    product = ProductFactory()
    Product.objects.filter(pk=product.pk).update(
        rating_avg="4.25",
        rating_count=4,
        rating_histogram={"1": 0, "2": 0, "3": 1, "4": 1, "5": 2},
    )
    html = _html(Client().get(product.get_absolute_url()))
    assert "Rated 4.2 out of 5" in html or "Rated 4.3 out of 5" in html
    assert "(4 ratings)" in html
    rows = re.findall(
        r'<th scope="row" class="histogram__label">([^<]*)</th>.*?'
        r'class="histogram__fill fill-(\d+)".*?<td class="histogram__count num">([^<]*)</td>',
        html,
        re.S,
    )
    assert rows == [
        ("5 stars", "50", "2 ratings (50%)"),
        ("4 stars", "25", "1 rating (25%)"),
        ("3 stars", "25", "1 rating (25%)"),
        ("2 stars", "0", "0 ratings (0%)"),
        ("1 star", "0", "0 ratings (0%)"),
    ]


def test_page_lists_published_reviews_newest_first_paginated():
    product = ProductFactory()
    for n in range(23):
        ReviewFactory(product=product, title=f"R{n:02}")
    ReviewFactory(product=product, title="Hidden one", status=Review.Status.HIDDEN)
    url = product.get_absolute_url()

    first = _html(Client().get(url))
    assert _review_titles(first) == [f"R{n:02}" for n in range(22, 12, -1)]
    assert "Page 1 of 3" in first and "Hidden one" not in first
    assert "?reviews_page=2#reviews" in first

    third = _html(Client().get(url, {"reviews_page": 3}))
    assert _review_titles(third) == ["R02", "R01", "R00"]
    # Past the end: the last page; junk: the first.
    assert _review_titles(_html(Client().get(url, {"reviews_page": 99}))) == ["R02", "R01", "R00"]
    assert _review_titles(_html(Client().get(url, {"reviews_page": "x"})))[0] == "R22"


def test_review_text_is_escaped_on_the_page(client, user):
    product = ProductFactory()
    ReviewFactory(product=product, title=XSS, body=XSS, author__name=XSS)
    for page_client in (Client(), client):  # anonymous (cached) and logged in
        if page_client is client:
            client.force_login(user)
        html = _html(page_client.get(product.get_absolute_url()))
        assert XSS not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_anonymous_visitors_see_the_log_in_hint_never_the_form():
    product = ProductFactory()
    html = _html(Client().get(product.get_absolute_url()))
    assert "Log in to review" in html
    assert 'name="rating"' not in html and "Write a review" not in html
    # The cached copy is the same for every anonymous visitor.
    response = Client().get(product.get_absolute_url())
    assert response["X-Page-Cache"] == "hit"
    assert 'name="rating"' not in response.content.decode()


def test_a_shopper_who_did_not_buy_sees_the_buyers_only_hint(client, user):
    product = ProductFactory()
    client.force_login(user)
    html = _html(client.get(product.get_absolute_url()))
    assert "Only buyers can review" in html and 'name="rating"' not in html


def test_a_buyer_sees_the_form_once(client, user):
    product = ProductFactory()
    buy(user=user, product=product)
    client.force_login(user)
    html = _html(client.get(product.get_absolute_url()))
    assert "Write a review" in html
    assert f'action="{reverse("reviews:create", args=[product.slug])}#reviews"' in html
    for stars in range(1, 6):  # radios with labels
        assert re.search(
            rf'<input type="radio" name="rating" value="{stars}"[^>]*id="([^"]+)"', html
        )
    assert '<label for="id_title">' in html and '<label for="id_body">' in html

    ReviewFactory(product=product, author=user)
    html = _html(client.get(product.get_absolute_url()))
    assert 'name="rating"' not in html and "You have reviewed this product" in html


def test_post_publishes_the_review(client, user, django_capture_on_commit_callbacks):
    user.name = "Ada Lovelace"
    user.save()
    product = ProductFactory()
    buy(user=user, product=product)
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reviews:create", args=[product.slug]),
            {"rating": "4", "title": "Solid", "body": "Boils fast."},
        )
    assert response.status_code == 302
    assert response["Location"] == f"{product.get_absolute_url()}#reviews"
    assert "Your review is published" in _messages(response)[0]
    review = Review.objects.get(product=product, author=user)
    assert (review.rating, review.title, review.status) == (4, "Solid", Review.Status.PUBLISHED)
    html = _html(client.get(product.get_absolute_url()))
    assert _review_titles(html) == ["Solid"] and "By Ada L." in html


def test_post_with_approval_on_says_the_review_awaits_it(client, user, settings):
    settings.REVIEWS_REQUIRE_APPROVAL = True
    product = ProductFactory()
    buy(user=user, product=product)
    client.force_login(user)
    response = client.post(
        reverse("reviews:create", args=[product.slug]), {"rating": "5", "title": "Great"}
    )
    assert "awaits approval" in _messages(response)[0]
    assert Review.objects.get().status == Review.Status.PENDING
    assert _review_titles(_html(client.get(product.get_absolute_url()))) == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"rating": "7", "title": "Hi"}, "Choose a rating from 1 to 5."),
        ({"title": "Hi"}, "Choose a rating from 1 to 5."),
        ({"rating": "5", "title": "  "}, "This field is required."),
        ({"rating": "5", "title": "x" * 151}, "at most 150 characters"),
    ],
)
def test_invalid_input_shows_form_errors_and_keeps_the_input(client, user, data, error):
    product = ProductFactory()
    buy(user=user, product=product)
    client.force_login(user)
    response = client.post(reverse("reviews:create", args=[product.slug]), {"body": XSS, **data})
    html = _html(response)
    assert error in html
    assert "&lt;script&gt;" in html and XSS not in html  # the body is kept, escaped
    assert not Review.objects.exists()


def test_post_by_a_non_buyer_or_twice_is_a_message_not_an_error_page(client, user):
    product = ProductFactory()
    client.force_login(user)
    url = reverse("reviews:create", args=[product.slug])
    response = client.post(url, {"rating": "5", "title": "Hi"})
    assert response.status_code == 302
    assert "Only shoppers with a paid order" in _messages(response)[0]

    buy(user=user, product=product)
    assert client.post(url, {"rating": "5", "title": "Hi"}).status_code == 302
    response = client.post(url, {"rating": "3", "title": "Again"})
    assert response.status_code == 302
    assert "already reviewed" in _messages(response)[-1]
    assert Review.objects.count() == 1


def test_post_needs_a_login_and_post_and_a_known_product(client, user):
    product = ProductFactory()
    url = reverse("reviews:create", args=[product.slug])
    response = client.post(url, {"rating": "5", "title": "Hi"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(user)
    assert client.get(url).status_code == 405
    assert client.post(reverse("reviews:create", args=["nope"]), {}).status_code == 404


def test_a_new_review_shows_on_the_cached_page_at_once(user, django_capture_on_commit_callbacks):
    product = ProductFactory()
    buy(user=user, product=product)
    anonymous = Client()
    assert anonymous.get(product.get_absolute_url())["X-Page-Cache"] == "miss"
    assert anonymous.get(product.get_absolute_url())["X-Page-Cache"] == "hit"
    from reviews.services import review_create

    with django_capture_on_commit_callbacks(execute=True):
        review_create(user=user, product=product, rating=5, title="Fresh")
    reset_local_version()  # another process would see the new version within a second
    response = anonymous.get(product.get_absolute_url())
    assert response["X-Page-Cache"] == "miss"
    assert _review_titles(response.content.decode()) == ["Fresh"]


# --- recommendations -----------------------------------------------------------------------


def _with_partners(product, count: int) -> list[Product]:
    partners = []
    for n in range(count):
        other = ProductFactory(category=CategoryFactory(), name=f"Partner {n}")
        ProductImage.objects.create(product=other, image="products/a.jpg")
        BoughtTogether.objects.create(product=product, other=other, orders=100 - n)
        partners.append(other)
    return partners


def test_product_page_shows_customers_also_bought():
    product = ProductFactory(name="Kettle")
    _with_partners(product, 3)
    html = _html(Client().get(product.get_absolute_url()))
    assert "Customers also bought" in html
    assert _card_names(html, "recommendations-heading") == ["Partner 0", "Partner 1", "Partner 2"]


def test_cart_page_recommends_for_its_products_minus_the_cart(client, user):
    kettle = ProductFactory(name="Kettle")
    _, tea, _ = _with_partners(kettle, 3)
    cart_add_item(user=user, variant_id=kettle.variants.first().pk, quantity=1)
    cart_add_item(user=user, variant_id=tea.variants.first().pk, quantity=1)
    client.force_login(user)
    html = _html(client.get(reverse("cart:detail")))
    assert "You may also like" in html
    assert _card_names(html, "recommendations-heading") == ["Partner 0", "Partner 2"]


def test_empty_cart_page_recommends_nothing(client):
    assert "You may also like" not in _html(client.get(reverse("cart:detail")))


@pytest.mark.parametrize("n_partners", [2, 8])
def test_cart_page_query_count_with_recommendations(
    client, user, n_partners, django_assert_num_queries
):
    kettle = ProductFactory()
    _with_partners(kettle, n_partners)
    cart_add_item(user=user, variant_id=kettle.variants.first().pk, quantity=1)
    client.force_login(user)
    client.get(reverse("cart:detail"))  # warm the session cache
    # The user, the cart, the recommended cards with their images folded in.
    with django_assert_num_queries(3):
        html = _html(client.get(reverse("cart:detail")))
    assert len(_card_names(html, "recommendations-heading")) == n_partners


# --- query counts of the product page ------------------------------------------------------


@pytest.mark.parametrize(("n_reviews", "n_partners"), [(3, 2), (15, 8)])
def test_product_page_query_count_with_reviews_and_recommendations(
    n_reviews, n_partners, django_assert_num_queries
):
    product = ProductFactory()
    ReviewFactory.create_batch(n_reviews, product=product)
    _with_partners(product, n_partners)
    # Product (variants, images, attributes folded in), category tree (cold), one page of
    # reviews with their total, recommended cards with their images folded in.
    with django_assert_num_queries(4):
        html = _html(Client().get(product.get_absolute_url()))
    assert len(_review_titles(html)) == min(n_reviews, 10)
    assert len(_card_names(html, "recommendations-heading")) == n_partners


@pytest.mark.parametrize(("n_reviews", "n_partners"), [(3, 2), (15, 8)])
def test_logged_in_product_page_query_count(
    client, n_reviews, n_partners, django_assert_num_queries
):
    user = UserFactory()
    product = ProductFactory()
    ReviewFactory.create_batch(n_reviews, product=product)
    _with_partners(product, n_partners)
    client.force_login(user)
    client.get(product.get_absolute_url())  # warm: session, page content, recently viewed
    # The content, the same for everyone, comes from the content cache (shop/core/
    # fragments.py): the user, whether they may review with the cart count (one query).
    with django_assert_num_queries(2):
        html = _html(client.get(product.get_absolute_url()))
    assert len(_review_titles(html)) == min(n_reviews, 10)
    assert len(_card_names(html, "recommendations-heading")) == n_partners


# --- recently viewed -------------------------------------------------------------------------


def test_home_shows_recently_viewed_most_recent_first(client, user):
    first, second, third = (ProductFactory(name=n) for n in ["First", "Second", "Third"])
    client.force_login(user)
    for product in (first, second, third, first):
        client.get(product.get_absolute_url())
    html = _html(client.get(reverse("catalog:home")))
    assert _card_names(html, "recent-heading") == ["First", "Third", "Second"]


def test_recently_viewed_keeps_the_latest_ones(client, user):
    products = [ProductFactory(name=f"P{n:02}") for n in range(RECENTLY_VIEWED_MAX + 3)]
    client.force_login(user)
    for product in products:
        client.get(product.get_absolute_url())
    html = _html(client.get(reverse("catalog:home")))
    expected = [p.name for p in reversed(products)][:RECENTLY_VIEWED_MAX]
    assert _card_names(html, "recent-heading") == expected


def test_recently_viewed_skips_withdrawn_products(client, user):
    kept, gone = ProductFactory(name="Kept"), ProductFactory(name="Gone")
    client.force_login(user)
    client.get(kept.get_absolute_url())
    client.get(gone.get_absolute_url())
    Product.objects.filter(pk=gone.pk).update(is_active=False)
    assert _card_names(_html(client.get(reverse("catalog:home"))), "recent-heading") == ["Kept"]


def test_anonymous_home_has_no_recently_viewed_and_stays_cached():
    product = ProductFactory(name="Lamp")
    visitor = Client()
    visitor.get(product.get_absolute_url())
    assert "sessionid" not in visitor.cookies  # nothing remembered for anonymous visitors
    first = visitor.get(reverse("catalog:home"))
    assert "Recently viewed" not in _html(first)
    assert visitor.get(reverse("catalog:home"))["X-Page-Cache"] == "hit"


def test_home_query_count_with_recently_viewed(client, user, django_assert_num_queries):
    products = [ProductFactory() for _ in range(6)]
    for product in products:
        ProductImage.objects.create(product=product, image="products/a.jpg")
    client.force_login(user)
    for product in products:
        client.get(product.get_absolute_url())
    client.get(reverse("catalog:home"))  # warm: session and category tree
    # The user, new arrivals and their images, recently viewed cards and their images,
    # the cart count (the category tree and session are warm).
    with django_assert_num_queries(6):
        html = _html(client.get(reverse("catalog:home")))
    assert len(_card_names(html, "recent-heading")) == 6


# --- the merchant's reply ------------------------------------------------------------------


def test_the_merchants_reply_shows_under_the_review_escaped(django_capture_on_commit_callbacks):
    from reviews.services import review_reply_create

    product = ProductFactory(merchant__name="Lamp & Co")
    staff = UserFactory(is_staff=True)
    product.merchant.staff.add(staff)
    answered = ReviewFactory(product=product, title="Answered")
    ReviewFactory(product=product, title="Unanswered")
    anonymous = Client()
    assert "review__reply" not in _html(anonymous.get(product.get_absolute_url()))  # cached

    with django_capture_on_commit_callbacks(execute=True):
        review_reply_create(review_id=answered.pk, by=staff, body=f"Sorry!\n{XSS}")
    reset_local_version()  # another process would see the new version within a second
    html = _html(anonymous.get(product.get_absolute_url()))

    assert _review_titles(html) == ["Unanswered", "Answered"]
    answered_html = re.search(rf'id="review-{answered.pk}">.*?</li>', html, re.S).group(0)
    assert "Reply from Lamp &amp; Co" in answered_html
    assert "<p>Sorry!<br>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in answered_html
    assert XSS not in html
    assert html.count('class="review__reply"') == 1
