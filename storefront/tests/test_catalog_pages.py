"""The storefront pages, through their URLs, as an anonymous visitor or a signed-in user."""

import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalog.models import Product, ProductImage, Variant
from catalog.services import product_summary_refresh
from catalog.tests.factories import (
    CategoryFactory,
    MerchantFactory,
    ProductAttributeFactory,
    ProductFactory,
    VariantFactory,
)
from shop.core.pagecache import catalog_changed, reset_local_version

pytestmark = pytest.mark.django_db

# A 1x1 transparent GIF: the smallest valid image file.
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

# A query count the pages stay within (anonymous, every cache cold), from the brief.
QUERY_BUDGET = 8


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def add_image(product, *, position=0, alt_text=""):
    return ProductImage.objects.create(
        product=product,
        image=SimpleUploadedFile(f"p{product.pk}-{position}.gif", GIF, "image/gif"),
        thumbnail=SimpleUploadedFile(f"p{product.pk}-{position}-thumb.gif", GIF, "image/gif"),
        alt_text=alt_text,
        position=position,
    )


def names_on(response) -> list[str]:
    """Product names of the cards on a page, in the order shown."""
    return re.findall(r'class="card__title"><a href="[^"]+">([^<]+)</a>', response.content.decode())


def templates_of(response) -> list[str]:
    return [t.name for t in response.templates]


# --- Home -----------------------------------------------------------------------------


def test_home_shows_top_categories_and_new_arrivals(client):
    root = CategoryFactory(name="Kitchen")
    CategoryFactory(name="Knives", parent=root)
    old = ProductFactory(name="Old Kettle", category=root)
    new = ProductFactory(name="New Teapot", category=root)
    ProductFactory(name="Hidden Pan", is_active=False)

    response = client.get(reverse("catalog:home"))

    assert response.status_code == 200
    assert "catalog/home.html" in templates_of(response)
    html = response.content.decode()
    assert 'href="/c/kitchen/"' in html
    assert 'href="/c/knives/"' in html
    assert names_on(response) == [new.name, old.name]
    assert "Hidden Pan" not in html


def test_pages_carry_the_account_labels_for_visitors(client):
    html = client.get(reverse("catalog:home")).content.decode()
    assert ">Log in</a>" in html
    assert ">Register</a>" in html
    assert 'href="#main"' in html  # skip link


def test_signed_in_user_sees_log_out_and_no_log_in(client, user):
    client.force_login(user)
    html = client.get(reverse("catalog:home")).content.decode()
    assert "Log out" in html
    assert ">Log in</a>" not in html


# --- Product list ---------------------------------------------------------------------


def test_product_list_shows_active_products_only(client):
    shown = ProductFactory(name="Shown Lamp")
    ProductFactory(name="Inactive Lamp", is_active=False)
    ProductFactory(name="Closed Shop Lamp", merchant=MerchantFactory(is_active=False))

    response = client.get(reverse("catalog:product_list"))

    assert response.status_code == 200
    assert "catalog/product_list.html" in templates_of(response)
    assert names_on(response) == [shown.name]


def test_product_card_shows_price_merchant_stock_rating_and_image(client):
    merchant = MerchantFactory(name="Acme Goods")
    product = ProductFactory(
        name="Card Lamp", merchant=merchant, variants__price_amount=Decimal("12.50")
    )
    Product.objects.filter(pk=product.pk).update(rating_avg=Decimal("4.50"), rating_count=12)
    add_image(product)
    ProductFactory(name="Empty Lamp", variants__stock=0)

    html = client.get(reverse("catalog:product_list")).content.decode()

    assert "USD 12.50" in html
    assert "by Acme Goods" in html
    assert "Rated 4.5 out of 5" in html
    assert "(12 ratings)" in html
    assert "-thumb" in html  # the thumbnail, not the full image
    assert "img/placeholder.svg" in html  # the product without a photo
    assert "In stock" in html
    assert "Out of stock" in html


def test_product_list_filters_by_category_including_sub_categories(client):
    audio = CategoryFactory(name="Audio")
    headphones = CategoryFactory(name="Headphones", parent=audio)
    ProductFactory(name="Speaker", category=audio)
    ProductFactory(name="Earbuds", category=headphones)
    ProductFactory(name="Skillet", category=CategoryFactory(name="Cookware"))

    response = client.get(reverse("catalog:product_list"), {"category": "audio"})

    assert sorted(names_on(response)) == ["Earbuds", "Speaker"]


def test_product_list_filters_by_price_stock_and_merchant(client):
    acme = MerchantFactory()
    cheap = ProductFactory(name="Cheap", merchant=acme, variants__price_amount=Decimal("5.00"))
    ProductFactory(name="Middle", variants__price_amount=Decimal("20.00"))
    ProductFactory(name="Dear", merchant=acme, variants__price_amount=Decimal("90.00"))
    ProductFactory(name="Gone", variants__price_amount=Decimal("20.00"), variants__stock=0)
    url = reverse("catalog:product_list")

    assert sorted(names_on(client.get(url, {"min_price": "10", "max_price": "50"}))) == [
        "Gone",
        "Middle",
    ]
    assert sorted(names_on(client.get(url, {"in_stock": "on"}))) == ["Cheap", "Dear", "Middle"]
    assert sorted(names_on(client.get(url, {"merchant": acme.pk}))) == ["Cheap", "Dear"]
    assert names_on(client.get(url, {"merchant": acme.pk, "max_price": "10"})) == [cheap.name]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["Cheap", "Middle", "Dear"]),
        ("-price", ["Dear", "Middle", "Cheap"]),
        ("-created", ["Middle", "Dear", "Cheap"]),
        ("", ["Middle", "Dear", "Cheap"]),
    ],
)
def test_product_list_orders(client, ordering, expected):
    ProductFactory(name="Cheap", variants__price_amount=Decimal("5.00"))
    ProductFactory(name="Dear", variants__price_amount=Decimal("90.00"))
    ProductFactory(name="Middle", variants__price_amount=Decimal("20.00"))

    response = client.get(reverse("catalog:product_list"), {"ordering": ordering})

    assert names_on(response) == expected


def test_product_list_orders_by_rating_score(client):
    for name, score in [("Fine", "3.9"), ("Best", "4.7"), ("Unrated", "0")]:
        product = ProductFactory(name=name)
        Product.objects.filter(pk=product.pk).update(rating_score=Decimal(score))

    response = client.get(reverse("catalog:product_list"), {"ordering": "-rating"})

    assert names_on(response) == ["Best", "Fine", "Unrated"]


def test_product_list_paginates_24_per_page_and_keeps_the_filters(client):
    category = CategoryFactory(name="Lamps")
    products = [ProductFactory(name=f"Lamp {n:02d}", category=category) for n in range(30)]
    url = reverse("catalog:product_list")

    first = client.get(url, {"category": "lamps"})
    second = client.get(url, {"category": "lamps", "page": "2"})

    assert len(names_on(first)) == 24
    assert names_on(second) == [p.name for p in reversed(products[:6])]
    html = first.content.decode()
    assert 'href="?category=lamps&amp;page=2"' in html
    assert re.search(r'<a href="\?category=lamps&amp;page=1" aria-current="page">', html)
    assert "30 products" in html
    assert 'aria-current="page"' in second.content.decode()


@pytest.mark.parametrize("page", ["abc", "0", "999", "-1"])
def test_product_list_odd_page_numbers_still_render(client, page):
    ProductFactory()
    response = client.get(reverse("catalog:product_list"), {"page": page})
    assert response.status_code == 200
    assert len(names_on(response)) == 1


def test_product_list_invalid_filters_show_errors_not_a_server_error(client):
    ProductFactory(name="Still Listed")
    response = client.get(
        reverse("catalog:product_list"),
        {
            "min_price": "abc",
            "max_price": "-3",
            "merchant": "zz",
            "ordering": "bogus",
            "q": "x" * 300,
        },
    )

    assert response.status_code == 200
    form = response.context["filter_form"]
    assert set(form.errors) == {"min_price", "max_price", "merchant", "ordering", "q"}
    html = response.content.decode()
    assert 'role="alert"' in html
    assert 'id="id_min_price_errors"' in html
    assert 'aria-describedby="id_min_price_errors"' in html
    assert names_on(response) == ["Still Listed"]  # the invalid filters are left out


def test_filter_sidebar_labels_every_field(client):
    CategoryFactory(name="Garden")
    html = client.get(reverse("catalog:product_list")).content.decode()
    for field in ("q", "category", "min_price", "max_price", "in_stock", "merchant", "ordering"):
        assert f'for="id_{field}"' in html, field
        assert f'id="id_{field}"' in html, field
    assert '<option value="garden">Garden</option>' in html
    # Without a search there is nothing to rank by: "Newest" leads and "Relevance" is not offered.
    ordering = re.search(r'<select name="ordering" id="id_ordering">(.*?)</select>', html, re.S)
    assert re.findall(r'value="([^"]+)"', ordering.group(1)) == [
        "-created",
        "price",
        "-price",
        "-rating",
    ]


# --- Category -------------------------------------------------------------------------


def test_category_page_lists_its_tree_with_breadcrumbs(client):
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    knives = CategoryFactory(name="Knives", parent=kitchen)
    CategoryFactory(name="Pans", parent=kitchen)
    ProductFactory(name="Chef Knife", category=knives)
    ProductFactory(name="Kitchen Scale", category=kitchen)
    ProductFactory(name="Sofa", category=home)
    ProductFactory(name="Tent", category=CategoryFactory(name="Outdoors"))

    response = client.get(reverse("catalog:category", kwargs={"slug": "kitchen"}))

    assert response.status_code == 200
    assert "catalog/category.html" in templates_of(response)
    assert sorted(names_on(response)) == ["Chef Knife", "Kitchen Scale"]
    html = response.content.decode()
    crumbs = re.search(r'<nav class="breadcrumbs".*?</nav>', html, re.S).group(0)
    assert re.findall(r">([^<>]+)</(?:a|span)>", crumbs) == ["Home", "Home", "Kitchen"]
    assert 'href="/c/home/"' in crumbs
    assert '<span aria-current="page">Kitchen</span>' in crumbs
    assert 'href="/c/knives/"' in html and 'href="/c/pans/"' in html
    assert "<h1>Kitchen</h1>" in html


def test_category_page_filters_within_the_category_only(client):
    lamps = CategoryFactory(name="Lamps")
    ProductFactory(name="Cheap Lamp", category=lamps, variants__price_amount=Decimal("5.00"))
    ProductFactory(name="Dear Lamp", category=lamps, variants__price_amount=Decimal("80.00"))
    ProductFactory(name="Cheap Chair", variants__price_amount=Decimal("5.00"))
    other = CategoryFactory(name="Chairs")

    url = reverse("catalog:category", kwargs={"slug": "lamps"})
    response = client.get(url, {"max_price": "10", "category": other.slug})

    assert names_on(response) == ["Cheap Lamp"]
    assert 'id="id_category"' not in response.content.decode()


def test_unknown_category_is_404(client):
    response = client.get(reverse("catalog:category", kwargs={"slug": "nope"}))
    assert response.status_code == 404
    assert "404.html" in templates_of(response)


# --- Product page ---------------------------------------------------------------------


def test_product_page_shows_variants_images_attributes_and_merchant(client):
    parent = CategoryFactory(name="Audio")
    category = CategoryFactory(name="Headphones", parent=parent)
    product = ProductFactory(
        name="Studio Headphones",
        category=category,
        merchant=MerchantFactory(name="Sound Shop"),
        variants=0,
    )
    VariantFactory(product=product, name="Black", price_amount=Decimal("99.00"), stock=3)
    VariantFactory(product=product, name="White", price_amount=Decimal("109.00"), stock=0)
    VariantFactory(product=product, name="Retired", is_active=False)
    product_summary_refresh(product_ids=[product.pk])
    Product.objects.filter(pk=product.pk).update(rating_avg=Decimal("4.20"), rating_count=7)
    add_image(product, alt_text="Headphones from the side")
    add_image(product, position=1)
    ProductAttributeFactory(product=product, name="Driver", value="40 mm")

    response = client.get(product.get_absolute_url())

    assert response.status_code == 200
    assert "catalog/product_detail.html" in templates_of(response)
    html = response.content.decode()
    assert "<h1" in html and "Studio Headphones</h1>" in html
    assert re.search(
        r"Black</span>\s*<span class=\"variant__price\">USD 99.00</span>\s*"
        r"<span class=\"variant__stock\">In stock",
        html,
    )
    assert re.search(
        r"White</span>\s*<span class=\"variant__price\">USD 109.00</span>\s*"
        r"<span class=\"variant__stock\">Out of stock",
        html,
    )
    assert "Retired" not in html
    assert "From</span> USD 99.00" in html
    assert 'alt="Headphones from the side"' in html
    assert 'alt="Studio Headphones, photo 2"' in html
    assert "<dt>Driver</dt><dd>40 mm</dd>" in html
    assert "Sound Shop" in html
    assert "Rated 4.2 out of 5" in html and "(7 ratings)" in html
    assert 'href="/c/audio/"' in html and 'href="/c/headphones/"' in html


def test_product_page_has_the_add_to_cart_form(client):
    product = ProductFactory(variants=2)
    first, second = product.variants.all()

    html = client.get(product.get_absolute_url()).content.decode()

    form = re.search(r'<form class="buy" method="post" action="/cart/add/">.*?</form>', html, re.S)
    assert form, "the add-to-cart form posts to /cart/add/"
    form = form.group(0)
    assert 'name="csrfmiddlewaretoken"' in form
    assert f'value="{first.pk}" checked' in form
    assert f'value="{second.pk}"' in form
    assert ">Add to cart</button>" in form
    assert 'for="quantity"' in form


def test_sold_out_product_cannot_be_added(client):
    product = ProductFactory(variants__stock=0)
    html = client.get(product.get_absolute_url()).content.decode()
    assert re.search(r"<button[^>]*disabled>Add to cart</button>", html)
    assert "checked" not in html


@pytest.mark.parametrize(
    "make",
    [
        lambda: ProductFactory(is_active=False),
        lambda: ProductFactory(merchant=MerchantFactory(is_active=False)),
    ],
    ids=["inactive product", "inactive merchant"],
)
def test_hidden_product_page_is_404(client, make):
    product = make()
    assert client.get(product.get_absolute_url()).status_code == 404


def test_unknown_product_is_404(client):
    response = client.get(reverse("catalog:product", kwargs={"slug": "nope"}))
    assert response.status_code == 404
    assert "We couldn\u2019t find that page" in response.content.decode()


def test_pages_do_not_accept_posts(client):
    product = ProductFactory()
    assert client.post(product.get_absolute_url()).status_code == 405


# --- Search page ----------------------------------------------------------------------


def test_search_page_ranks_results_and_keeps_the_sidebar(client):
    ProductFactory(name="Travel Mug", description="Keeps headphones cables tidy? No, coffee.")
    ProductFactory(name="Wireless Headphones", description="Over-ear, foldable.")
    ProductFactory(name="Garden Hose", description="Twenty metres.")

    response = client.get(reverse("catalog:search"), {"q": "headphones"})

    assert response.status_code == 200
    assert "catalog/search.html" in templates_of(response)
    assert names_on(response) == ["Wireless Headphones", "Travel Mug"]
    html = response.content.decode()
    assert "Results for “headphones”" in html
    assert 'id="id_ordering"' in html
    # With words to rank by, "Relevance" leads the sort options, so it is what the select shows.
    ordering = re.search(
        r'<select name="ordering" id="id_ordering">\s*<option value="([^"]+)"', html
    )
    assert ordering.group(1) == "relevance"


def test_search_page_without_words_asks_for_some(client):
    ProductFactory()
    response = client.get(reverse("catalog:search"))
    assert response.status_code == 200
    assert names_on(response) == []
    assert "What are you looking for?" in response.content.decode()


def test_search_page_forgives_a_typo(client):
    ProductFactory(name="Wireless Headphones")
    response = client.get(reverse("catalog:search"), {"q": "hedphones"})
    assert names_on(response) == ["Wireless Headphones"]


# --- Query budget (anonymous visitor, page cache and category tree cold) --------------


def test_product_list_query_count_does_not_grow_with_products(client, django_assert_num_queries):
    category = CategoryFactory()
    for _ in range(5):
        add_image(ProductFactory(category=category))
    url = reverse("catalog:product_list")
    # count, page (the cards' images folded in), category tree, merchant choices, facets
    with django_assert_num_queries(5):
        assert Client().get(url).status_code == 200

    for _ in range(25):
        add_image(ProductFactory(category=category))
    catalog_changed()  # what committing the new products does: the cached page is stale
    with django_assert_num_queries(5):
        response = Client().get(url)
    assert len(names_on(response)) == 24


def test_filtered_list_stays_within_budget(client, django_assert_num_queries):
    merchant = MerchantFactory()
    category = CategoryFactory(name="Lamps")
    for _ in range(5):
        ProductFactory(merchant=merchant, category=category)
    query = {"q": "product", "category": "lamps", "merchant": merchant.pk, "min_price": "1"}
    # + the search's look-up of the typed words among the catalog's (catalog.search), the facets
    with django_assert_num_queries(7):  # the cards' images folded into the page's query
        response = client.get(reverse("catalog:product_list"), query)
    assert len(names_on(response)) == 5


def _product_with(count: int) -> Product:
    product = ProductFactory(variants=count)
    for position in range(count):
        add_image(product, position=position)
        ProductAttributeFactory(product=product)
    return product


def test_product_page_query_count_does_not_grow_with_variants(django_assert_num_queries):
    small, large = _product_with(1), _product_with(5)
    # The product (variants, images, attributes folded in), the category tree, a page of
    # reviews, recommendations (none here; test_review_pages.py pins the page with both).
    with django_assert_num_queries(4):
        assert Client().get(small.get_absolute_url()).status_code == 200
    cache.clear()  # cold again: the category tree is cached after the first page
    reset_local_version()
    with django_assert_num_queries(4):
        response = Client().get(large.get_absolute_url())
    assert response.content.decode().count('name="variant"') == 5


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("catalog:home", {}),
        ("catalog:search", {"q": "lamp", "in_stock": "on"}),
    ],
)
def test_other_pages_stay_within_budget(url, params, django_assert_max_num_queries):
    CategoryFactory(name="Parent")
    for _ in range(10):
        add_image(ProductFactory(name=f"Lamp {_}"))
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = Client().get(reverse(url), params)
    assert response.status_code == 200
    assert len(names_on(response)) == (8 if url == "catalog:home" else 10)


def test_category_page_stays_within_budget(django_assert_num_queries):
    parent = CategoryFactory(name="Parent")
    child = CategoryFactory(name="Child", parent=parent)
    for _ in range(10):
        add_image(ProductFactory(category=child))
    with django_assert_num_queries(5):  # + the facets, the cards' images folded in
        response = Client().get(reverse("catalog:category", kwargs={"slug": "parent"}))
    assert len(names_on(response)) == 10


def test_cached_page_costs_no_queries(django_assert_num_queries):
    ProductFactory()
    url = reverse("catalog:product_list")
    assert Client().get(url)["X-Page-Cache"] == "miss"
    with django_assert_num_queries(0):
        assert Client().get(url)["X-Page-Cache"] == "hit"


# --- Page cache -----------------------------------------------------------------------


def test_cached_page_shows_a_product_change(settings, django_capture_on_commit_callbacks):
    settings.CATALOG_VERSION_TTL = 0
    product = ProductFactory(name="Blue Lamp", variants__price_amount=Decimal("10.00"))
    url = reverse("catalog:product_list")
    first = Client().get(url)
    assert first["X-Page-Cache"] == "miss"
    assert Client().get(url)["X-Page-Cache"] == "hit"

    with django_capture_on_commit_callbacks(execute=True):
        product.name = "Red Lamp"
        product.save()
        Variant.objects.filter(product=product).update(price_amount=Decimal("12.00"))
        product_summary_refresh(product_ids=[product.pk])

    html = Client().get(url).content.decode()
    assert "Red Lamp" in html and "USD 12.00" in html
    assert "Blue Lamp" not in html


def test_cached_product_page_gives_each_visitor_their_own_csrf_token():
    product = ProductFactory()
    url = product.get_absolute_url()
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

    one, two = Client(), Client()
    first, second = one.get(url), two.get(url)

    assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "hit")
    first_token = token.search(first.content.decode()).group(1)
    second_token = token.search(second.content.decode()).group(1)
    assert first_token != second_token
    assert "__bazaar_csrf_token__" not in second.content.decode()
    assert "csrftoken" in one.cookies and "csrftoken" in two.cookies


def test_server_error_page_renders_without_a_request_or_database(django_assert_num_queries):
    from django.template import loader

    with django_assert_num_queries(0):
        html = loader.render_to_string("500.html")
    assert "Something went wrong on our side" in html
    assert 'href="/"' in html
