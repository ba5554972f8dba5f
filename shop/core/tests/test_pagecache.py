import re

import pytest
from django.test import Client

from shop.core.pagecache import CSRF_PLACEHOLDER, catalog_changed
from shop.core.tests import urls as test_urls

pytestmark = pytest.mark.urls("shop.core.tests.urls")

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _reset_calls(settings):
    settings.CATALOG_VERSION_TTL = 0
    test_urls.CALLS["count"] = 0


def test_second_anonymous_request_is_served_from_cache():
    first = Client().get("/cached/")
    second = Client().get("/cached/")
    assert first["X-Page-Cache"] == "miss"
    assert second["X-Page-Cache"] == "hit"
    assert test_urls.CALLS["count"] == 1


def test_views_that_do_not_opt_in_are_never_cached():
    Client().get("/uncached/")
    Client().get("/uncached/")
    assert test_urls.CALLS["count"] == 2


def test_query_string_is_part_of_the_key():
    Client().get("/cached/?page=1")
    Client().get("/cached/?page=2")
    assert test_urls.CALLS["count"] == 2


def test_catalog_change_makes_cached_pages_stale():
    Client().get("/cached/")
    catalog_changed()
    response = Client().get("/cached/")
    assert response["X-Page-Cache"] == "miss"
    assert test_urls.CALLS["count"] == 2


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_AUTHORIZATION": "Bearer abc"},
        {"HTTP_COOKIE": "sessionid=abc"},
    ],
)
def test_requests_with_credentials_or_a_session_bypass_the_cache(extra):
    Client().get("/cached/")
    response = Client().get("/cached/", **extra)
    assert "X-Page-Cache" not in response
    assert test_urls.CALLS["count"] == 2


def test_cached_page_gets_a_fresh_csrf_token_per_visitor():
    first, second = Client(), Client()
    body_one = first.get("/cached/").content.decode()
    body_two = second.get("/cached/").content.decode()
    assert CSRF_PLACEHOLDER not in body_one + body_two
    token_one, token_two = TOKEN.search(body_one)[1], TOKEN.search(body_two)[1]
    assert token_one != token_two
    # Each token is valid against the cookie set for that visitor only.
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value


def test_cached_csrf_token_passes_csrf_check():
    client = Client(enforce_csrf_checks=True)
    body = client.get("/cached/").content.decode()
    client.get("/cached/")  # a hit, still a valid token for this client
    token = TOKEN.search(body)[1]
    response = client.post("/uncached/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 200


def test_entries_expire_after_the_page_cache_timeout_even_in_process(settings):
    Client().get("/cached/")
    settings.PAGE_CACHE_TIMEOUT = 0
    from shop.core.testing import cache_clear_owned

    cache_clear_owned()  # Redis would expire it too; the process's own copy must not outlive it
    response = Client().get("/cached/")
    assert response["X-Page-Cache"] == "miss"
    assert test_urls.CALLS["count"] == 2
