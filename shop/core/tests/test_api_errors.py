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
    }
