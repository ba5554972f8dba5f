import pytest

from accounts.models import Address
from accounts.tests.factories import AddressFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/me/addresses/"
BODY = {
    "full_name": "Ada Lovelace",
    "line1": "1 Main St",
    "line2": "Flat 2",
    "city": "London",
    "postal_code": "N1 1AA",
    "country": "gb",
    "phone": "+44 20 7946 0000",
}


def detail(pk):
    return f"{LIST}{pk}/"


def test_addresses_need_authentication(api_client):
    assert api_client.get(LIST).status_code == 401
    assert api_client.post(LIST, BODY, format="json").status_code == 401


def test_create_answers_201_with_the_address(auth_client, user):
    response = auth_client.post(LIST, BODY, format="json")

    assert response.status_code == 201
    address = Address.objects.get()
    assert address.user == user
    assert response.json() == {
        "id": address.pk,
        **BODY,
        "country": "GB",
        "is_default": True,
    }


def test_create_bad_input_is_400_with_fields(auth_client):
    response = auth_client.post(LIST, {**BODY, "country": "Narnia", "city": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert {"country", "city"} <= set(body["fields"])
    assert not Address.objects.exists()


def test_create_unknown_country_code_is_400(auth_client):
    response = auth_client.post(LIST, {**BODY, "country": "QQ"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["country"]


def test_list_is_paginated_and_only_mine(auth_client, user, django_assert_num_queries):
    AddressFactory.create_batch(3, user=user)
    AddressFactory.create_batch(2)  # someone else's

    with django_assert_num_queries(3):  # the user, the count, the page
        response = auth_client.get(LIST, {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None and body["previous"] is None
    assert set(body["results"][0]) == {
        "id",
        "full_name",
        "line1",
        "line2",
        "city",
        "postal_code",
        "country",
        "phone",
        "is_default",
    }
    second = auth_client.get(LIST, {"page_size": 2, "page": 2}).json()
    ids = {a["id"] for a in body["results"]} | {a["id"] for a in second["results"]}
    assert ids == set(Address.objects.filter(user=user).values_list("id", flat=True))


def test_get_patch_delete_my_address(auth_client, user):
    address = AddressFactory(user=user, city="Berlin", country="DE")

    assert auth_client.get(detail(address.pk)).json()["city"] == "Berlin"

    response = auth_client.patch(detail(address.pk), {"city": "Hamburg"}, format="json")
    assert response.status_code == 200
    assert response.json()["city"] == "Hamburg"
    assert response.json()["country"] == "DE"
    address.refresh_from_db()
    assert address.city == "Hamburg"

    response = auth_client.delete(detail(address.pk))
    assert response.status_code == 204
    assert not Address.objects.filter(pk=address.pk).exists()


def test_patch_is_default_moves_the_default(auth_client, user):
    first = AddressFactory(user=user, is_default=True)
    second = AddressFactory(user=user)

    response = auth_client.patch(detail(second.pk), {"is_default": True}, format="json")

    assert response.status_code == 200
    first.refresh_from_db()
    assert not first.is_default
    assert Address.objects.get(user=user, is_default=True) == second


def test_patch_bad_country_is_400(auth_client, user):
    address = AddressFactory(user=user)
    response = auth_client.patch(detail(address.pk), {"country": "usa"}, format="json")
    assert response.status_code == 400
    assert "country" in response.json()["fields"]


def test_another_users_address_is_404_for_every_method(auth_client):
    other = AddressFactory(user=UserFactory(), city="Oslo")

    for response in (
        auth_client.get(detail(other.pk)),
        auth_client.patch(detail(other.pk), {"city": "Hacked"}, format="json"),
        auth_client.delete(detail(other.pk)),
    ):
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": response.json()["message"]}

    other.refresh_from_db()
    assert other.city == "Oslo"


def test_missing_address_is_404(auth_client):
    assert auth_client.get(detail(999999)).status_code == 404
