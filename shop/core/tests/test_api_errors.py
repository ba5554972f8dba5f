"""The error envelope of API.md on real endpoints: every non-2xx answer is
`{"code", "message"}` (+ `fields` for `invalid`), never an HTML page or DRF's `detail`."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_404_from_an_api_view(api_client):
    response = api_client.get(reverse("api-product-detail", kwargs={"pk": 424242}))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "message": "Not found."}


@pytest.mark.parametrize("path", ["/api/v1/nonexistent/", "/api/v1/products/not-a-number/"])
def test_404_for_an_unrouted_api_path_is_json(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "message": "Not found."}


def test_404_outside_the_api_is_not_json(client):
    response = client.get("/no-such-page-anywhere/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_405_names_the_allowed_methods(api_client):
    response = api_client.post(reverse("api-product-list"), {}, format="json")

    assert response.status_code == 405
    assert response.json() == {
        "code": "method_not_allowed",
        "message": 'Method "POST" not allowed.',
    }
    assert "GET" in response["Allow"]


def test_401_for_a_bad_token_even_on_an_anonymous_endpoint(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api_client.get(reverse("api-product-list"))

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) == {"code", "message"}


def test_401_when_authentication_is_required(api_client):
    response = api_client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
    }


def test_400_carries_field_errors(api_client):
    response = api_client.get(reverse("api-product-list"), {"min_price": "abc"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "Invalid input.",
        "fields": {"min_price": ["Enter a number."]},
    }


def test_malformed_json_body_is_a_400_parse_error(api_client):
    response = api_client.post(
        "/api/v1/auth/token/", data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_served_schema_documents_the_error_envelope(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message"}
    products = schema["paths"]["/api/v1/products/"]["get"]["responses"]
    for status in ("400", "401", "404"):
        assert products[status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
    listed = schema["components"]["schemas"]["ProductList"]["properties"]
    assert listed["price"]["type"] == "string"
    assert listed["rating_avg"]["type"] == "string"
    assert set(schema["components"]["schemas"]["PaginatedProductListList"]["properties"]) == {
        "count",
        "next",
        "previous",
        "results",
        "did_you_mean",  # catalog.search: a correction for a search that found nothing
        "facets",
    }


# --- The envelope is total: errors raised around DRF are JSON too (issue 9, item 10) ------


def test_a_body_over_the_upload_limit_is_a_413_envelope(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = '{"email": "' + "a" * 2048 + '", "password": "x"}'

    response = api_client.post("/api/v1/auth/token/", data=body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "code": "request_too_large",
        "message": "The request body is too large.",
    }


def test_a_foreign_host_header_is_a_400_envelope(client):
    response = client.get("/api/v1/products/", HTTP_HOST="evil.example.com")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/v2/products/", "/api/v1/products"])
def test_unmatched_api_paths_are_a_404_envelope_even_with_debug(client, settings, path):
    settings.DEBUG = True  # Django's technical 404 page would answer otherwise

    response = client.get(path)

    assert response.status_code in (301, 404)
    if response.status_code == 404:
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"code": "not_found", "message": "Not found."}


def test_a_405_from_a_view_without_a_json_renderer_is_an_envelope(api_client):
    response = api_client.post("/api/schema/")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_an_unexpected_error_under_the_api_is_a_500_envelope(client, settings):
    settings.ROOT_URLCONF = "shop.core.tests.urls"  # has a view that fails, and no handler500
    client.raise_request_exception = False

    response = client.get("/api/boom/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "server_error", "message": "Internal server error."}


def test_pages_keep_their_html_error_pages(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    too_big = client.post("/accounts/login/", data={"email": "a" * 2048, "password": "x"})
    missing = client.get("/no-such-page/")

    assert too_big.status_code == 413
    assert too_big["Content-Type"].startswith("text/html")
    assert missing["Content-Type"].startswith("text/html")


# --- Nested field errors flatten to dotted keys ---------------------------------------------


def test_nested_serializer_errors_flatten_to_dotted_keys(auth_client):
    response = auth_client.post(
        "/api/v1/orders/",
        {"shipping_method": 1, "shipping_address": {"country": "ZZ", "line1": 5}},
        format="json",
    )

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "shipping_address.country" in fields
    assert all(isinstance(message, str) for message in fields["shipping_address.country"])
    assert not any("ErrorDetail" in m or "{" in m for ms in fields.values() for m in ms)


def test_a_nested_object_of_the_wrong_type_is_filed_under_its_own_key(auth_client):
    response = auth_client.post(
        "/api/v1/orders/", {"shipping_method": 1, "shipping_address": 5}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["shipping_address"] == [
        "Invalid data. Expected a dictionary, but got int."
    ]


def test_list_and_dict_errors_flatten_with_indexes():
    from rest_framework import serializers

    from shop.core.api import exception_handler

    class Line(serializers.Serializer):
        quantity = serializers.IntegerField(min_value=1)

    class Body(serializers.Serializer):
        lines = Line(many=True)
        tags = serializers.ListField(child=serializers.IntegerField())
        extra = serializers.DictField(child=serializers.IntegerField())

    body = Body(
        data={
            "lines": [{"quantity": 1}, {"quantity": 0}, "x"],
            "tags": [1, "a"],
            "extra": {"k": "v"},
        }
    )
    assert not body.is_valid()

    response = exception_handler(serializers.ValidationError(body.errors), {})

    assert response is not None and response.status_code == 400
    assert response.data["fields"] == {
        "lines.1.quantity": ["Ensure this value is greater than or equal to 1."],
        "lines.2": ["Invalid data. Expected a dictionary, but got str."],
        "tags.1": ["A valid integer is required."],
        "extra.k": ["A valid integer is required."],
    }
