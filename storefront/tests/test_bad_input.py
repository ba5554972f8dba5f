"""Bad input on the shop's pages is a page (the nearest sensible one, or a 404), never a
500: the probes of issue 9, item 10, one test each. tests/test_fuzz_pages.py runs the
same kinds of input against every URL pattern."""

import re

import pytest
from django.test import Client

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from catalog.tests.factories import ProductFactory, VariantFactory
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"  # past bigint


def _review_titles(html: str) -> list[str]:
    return re.findall(r'<h3 class="review__title"[^>]*>([^<]*)</h3>', html)


@pytest.mark.parametrize("page", [HUGE, "9" * 5000, "-1", "\u00b2", "\x00"])
def test_a_reviews_page_number_out_of_range_shows_a_page_of_reviews(page):
    product = ProductFactory()
    for n in range(12):
        ReviewFactory(product=product, title=f"R{n:02}")

    response = Client().get(product.get_absolute_url(), {"reviews_page": page})

    assert response.status_code == 200
    titles = _review_titles(response.content.decode())
    # Past the end: the last page (R01, R00); junk: the first (R11 first).
    assert titles in (["R01", "R00"], [f"R{n:02}" for n in range(11, 1, -1)])


@pytest.mark.parametrize("path", ["/products/", "/search/?q=kettle", "/"])
def test_list_pages_take_any_page_number(path):
    ProductFactory(name="Kettle")
    separator = "&" if "?" in path else "?"

    response = Client().get(f"{path}{separator}page={HUGE}")

    assert response.status_code == 200


def test_order_history_takes_any_page_number(client, user):
    client.force_login(user)

    assert client.get(f"/accounts/orders/?page={HUGE}").status_code == 200


@pytest.mark.parametrize(
    "cookie",
    [
        'sessionid="\\000\\000\\000\\000\\000\\000\\000\\000\\000"',  # octal escapes: NUL
        "sessionid=" + "a" * 5000,
        "sessionid=%00%00%00%00%00%00%00%00",
    ],
)
def test_a_malformed_session_cookie_is_no_session(cookie):
    VariantFactory()

    response = Client().get("/cart/", HTTP_COOKIE=cookie)

    assert response.status_code == 200


def test_a_session_cookie_of_the_right_shape_still_works(client, user):
    client.force_login(user)

    assert client.get("/accounts/orders/").status_code == 200


@pytest.mark.parametrize("name", ["x" * 300, "%00"])
def test_a_media_name_the_file_system_refuses_is_a_404(client, settings, tmp_path, name):
    settings.MEDIA_ROOT = tmp_path  # a folder that exists: the name itself is refused

    assert client.get(f"/media/{name}").status_code == 404


def test_a_media_name_outside_the_media_folder_is_a_400(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    assert client.get("/media/..%2F..%2Fsecret").status_code == 400


@pytest.mark.parametrize("target", ["NaN", "true", "cart:detail", "[]"])
def test_a_next_that_is_no_path_is_ignored_when_adding_to_the_cart(client, target):
    variant = VariantFactory(stock=5)

    response = client.post("/cart/add/", {"variant": variant.pk, "quantity": 1, "next": target})

    assert response.status_code == 302
    assert response["Location"] == variant.product.get_absolute_url()


@pytest.mark.parametrize("target", ["NaN", "accounts:login"])
def test_a_next_that_is_no_path_is_ignored_after_logging_in(client, target):
    user = UserFactory()

    response = client.post(
        f"/accounts/login/?next={target}", {"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
