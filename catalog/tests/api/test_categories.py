import pytest
from django.urls import reverse

from catalog.tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db

URL = reverse("api-category-list")


def test_categories_are_a_plain_array_with_parent_ids(api_client):
    root = CategoryFactory(name="Kitchen", slug="kitchen", position=0)
    child = CategoryFactory(name="Kettles", slug="kettles", parent=root, position=1)

    response = api_client.get(URL)

    assert response.status_code == 200
    assert response.json() == [
        {"id": root.pk, "name": "Kitchen", "slug": "kitchen", "parent": None},
        {"id": child.pk, "name": "Kettles", "slug": "kettles", "parent": root.pk},
    ]


def test_categories_take_one_query_however_many(api_client, django_assert_num_queries):
    roots = CategoryFactory.create_batch(5)
    for root in roots:
        CategoryFactory.create_batch(3, parent=root)

    with django_assert_num_queries(1):
        response = api_client.get(URL)

    assert len(response.json()) == 20


def test_categories_are_cached_for_anonymous_callers(api_client):
    CategoryFactory()

    first = api_client.get(URL)
    second = api_client.get(URL)

    assert first["X-Page-Cache"] == "miss"
    assert second["X-Page-Cache"] == "hit"
    assert second.json() == first.json()


def test_categories_are_not_cached_for_authenticated_callers(auth_client):
    CategoryFactory()

    first = auth_client.get(URL)
    second = auth_client.get(URL)

    assert first.status_code == second.status_code == 200
    assert "X-Page-Cache" not in first
    assert "X-Page-Cache" not in second
