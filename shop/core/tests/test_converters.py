"""Path parameters are checked by shape in every URLconf: a value of the wrong shape is a
404 before any view runs, never a database error (issue 9, item 10)."""

import pytest
from django.urls import reverse

from shop.core.converters import IdConverter

pytestmark = pytest.mark.django_db

THIRTY_DIGITS = "9" * 30


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/%00/",
        "/api/v1/orders/%00/payments/",
        "/api/v1/orders/BZ%00/cancel/",
        "/api/v1/orders/" + "A" * 21 + "/",
        f"/api/v1/products/{THIRTY_DIGITS}/",
        f"/api/v1/products/{THIRTY_DIGITS}/reviews/",
        f"/api/v1/me/addresses/{THIRTY_DIGITS}/",
        f"/api/v1/cart/lines/{THIRTY_DIGITS}/",
    ],
)
def test_api_path_parameters_of_the_wrong_shape_are_a_404_envelope(auth_client, path):
    response = auth_client.get(path)

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found."}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/orders/%00/"),
        ("post", "/orders/%00/cancel/"),
        ("post", "/orders/%00/pay/"),
        ("get", "/payments/sandbox/%00/"),
        ("post", f"/cart/lines/{THIRTY_DIGITS}/update/"),
        ("post", f"/cart/lines/{THIRTY_DIGITS}/remove/"),
        ("post", "/payments/webhooks/%00/"),
        ("post", "/payments/webhooks/" + "x" * 300 + "/"),
    ],
)
def test_page_path_parameters_of_the_wrong_shape_are_a_404(client, user, method, path):
    client.force_login(user)

    response = getattr(client, method)(path)

    assert response.status_code == 404


def test_ids_that_fit_a_bigint_still_route():
    assert reverse("api-product-detail", kwargs={"pk": 10**18 - 1}).endswith(f"/{10**18 - 1}/")
    assert IdConverter().to_python("007") == 7
    assert reverse("orders:detail", kwargs={"number": "BZ12345AB"}) == "/orders/BZ12345AB/"
