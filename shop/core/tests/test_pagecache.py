import re
import uuid

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, RequestFactory

from shop.core import pagecache
from shop.core.pagecache import CSRF_PLACEHOLDER, catalog_changed, versions_bump
from shop.core.tests import urls as test_urls

pytestmark = pytest.mark.urls("shop.core.tests.urls")

NOW = 1_800_000_000  # a time to travel to (seconds since the epoch)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _reset_calls(settings):
    settings.CATALOG_VERSION_TTL = 0
    test_urls.CALLS["count"] = 0
    test_urls.DURING_RENDER.clear()


def _stored_pages() -> int:
    """Page entries in Redis (under the tests' key prefix)."""
    client = cache._cache.get_client(write=True)
    return sum(1 for _ in client.scan_iter(match=f"{cache.key_prefix}:*:page:*", count=1000))


def _twice(url: str) -> list[str | None]:
    """X-Page-Cache of two anonymous requests for `url` (None: not a cache candidate)."""
    return [Client().get(url).get("X-Page-Cache") for _ in range(2)]


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
    first = Client().get("/list/?page=1")
    second = Client().get("/list/?page=2")
    assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "miss")
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


# --- Only canonical URLs are stored (issue 9, item 11) ------------------------------------


def test_unknown_parameters_are_served_but_never_stored():
    before = _stored_pages()
    for _ in range(2):
        response = Client().get(f"/cached/?junk={uuid.uuid4().hex}")
        assert response.status_code == 200
        assert "X-Page-Cache" not in response
    assert test_urls.CALLS["count"] == 2
    assert _stored_pages() == before


def test_a_flood_of_distinct_query_strings_stores_nothing():
    before = _stored_pages()
    for n in range(200):
        Client().get(f"/cached/?junk={n}")
        Client().get(f"/list/?page=1&junk={n}")
        Client().get(f"/list/?page={n + 1000}")  # well formed, past the declared maximum
    assert _stored_pages() == before


def test_the_order_of_parameters_does_not_make_another_page():
    assert Client().get("/list/?page=2&sort=new")["X-Page-Cache"] == "miss"
    assert Client().get("/list/?sort=new&page=2")["X-Page-Cache"] == "hit"
    assert test_urls.CALLS["count"] == 1


@pytest.mark.parametrize(
    "query",
    [
        "page=02",
        "page=0",
        "page=-1",
        "page=%2B1",
        "page=1.0",
        "page=",
        "page=51",
        "page=99999999999999999999999",
        "page=1&page=1",
        "PAGE=1",
        "sort=bogus",
        "q=%20kettle",
        "q=blue%20%20kettle",
        "q=" + "x" * 21,
        "min=1e3",
        "min=-1",
        "min=1.999",
        "min=01",
    ],
)
def test_a_value_not_in_its_canonical_spelling_is_served_but_not_stored(query):
    assert _twice(f"/list/?{query}") == [None, None]
    assert test_urls.CALLS["count"] == 2


@pytest.mark.parametrize("query", ["", "page=3", "sort=", "sort=old&page=1", "q=blue%20kettle"])
def test_canonical_urls_are_stored(query):
    assert _twice(f"/list/?{query}") == ["miss", "hit"]


def test_a_url_the_view_answers_as_another_is_not_stored():
    assert _twice("/list/?page=4") == [None, None]  # shown as page 3
    assert test_urls.CALLS["count"] == 2


def test_pages_with_open_values_are_stored_within_a_budget(settings):
    settings.PAGE_CACHE_OPEN_ENTRIES = 2
    assert _twice("/list/?q=kettle") == ["miss", "hit"]
    assert _twice("/list/?min=10") == ["miss", "hit"]
    calls = test_urls.CALLS["count"]
    assert _twice("/list/?q=teapot") == ["miss", "miss"]  # over budget: served, not stored
    assert test_urls.CALLS["count"] == calls + 2
    assert _twice("/list/?page=2") == ["miss", "hit"]  # closed values are not budgeted


# --- Entries go stale by what they show (issue 9, item 13) --------------------------------


def test_a_change_makes_stale_only_the_pages_that_depend_on_it():
    with time_machine.travel(NOW, tick=True) as traveller:
        for name in ("kettle", "mug"):
            assert _twice(f"/things/{name}/") == ["miss", "hit"]
        traveller.shift(10)
        versions_bump(["thing:kettle"])
        assert Client().get("/things/kettle/")["X-Page-Cache"] == "miss"
        assert Client().get("/things/mug/")["X-Page-Cache"] == "hit"


def test_a_view_that_declares_nothing_goes_stale_on_any_change():
    assert _twice("/cached/") == ["miss", "hit"]
    versions_bump(["thing:elsewhere"])
    assert Client().get("/cached/")["X-Page-Cache"] == "miss"


def test_a_page_rendered_while_what_it_shows_changes_is_not_stored():
    with time_machine.travel(NOW, tick=True) as traveller:
        # The write commits, and bumps, between the view's read and the store.
        test_urls.DURING_RENDER.append(lambda: versions_bump(["thing:kettle"]))
        first = Client().get("/things/kettle/")
        assert first["X-Page-Cache"] == "miss"
        # Stored, it would be served as current although it may hold what was read before.
        assert Client().get("/things/kettle/")["X-Page-Cache"] == "miss"
        traveller.shift(1)
        Client().get("/things/kettle/")  # a moment after the change: stored
        assert Client().get("/things/kettle/")["X-Page-Cache"] == "hit"


def test_an_entry_of_an_older_format_is_a_miss():
    request = RequestFactory().get("/cached/")
    cache.set(pagecache._key(request), (200, [], b"old"), 60)  # before versions were recorded
    response = Client().get("/cached/")
    assert response["X-Page-Cache"] == "miss"
    assert response.content != b"old"


_FAMILY = {
    "page": pagecache.whole_number(),
    "attr_*": pagecache.prefixed(
        lambda key: key.isalpha() and key.islower() and len(key) <= 8,
        pagecache.text(max_length=10, blank=False),
        most=2,
    ),
}


@pytest.mark.parametrize(
    ("query", "canonical", "uses_open"),
    [
        ("page=2", True, False),
        ("attr_colour=red", True, True),
        ("attr_colour=red&attr_size=m&page=1", True, True),
        ("attr_colour=red&attr_size=m&attr_fit=slim", False, False),  # more than `most`
        ("attr_Colour=red", False, False),  # a suffix the family does not take
        ("attr_=red", False, False),
        ("attr_*=red", False, False),
        ("attr_toolongname=red", False, False),
        ("attr_colour=", False, False),  # not blank
        ("attr_colour=%20red", False, False),  # not canonical text
        ("attr_colour=" + "x" * 11, False, False),
        ("attr_colour=red&attr_colour=blue", False, False),
        ("other_colour=red", False, False),
    ],
)
def test_a_family_of_parameters_is_canonical_bounded_in_number_and_spelling(
    query, canonical, uses_open
):
    request = RequestFactory().get(f"/list/?{query}")
    assert pagecache.query_canonical(request, _FAMILY) == (canonical, uses_open)


def test_versions_ensure_creates_the_missing_keeps_the_rest_in_one_round_trip():
    from shop.core.testing import redis_calls

    pagecache.versions_bump(["kept"])
    kept = pagecache.versions_current(["kept"], fresh=True)["kept"]
    names = ["kept", *(f"new:{i}" for i in range(20))]
    with redis_calls() as calls:
        tokens = pagecache.versions_ensure(names)
    assert calls.round_trips == 1, calls
    assert tokens["kept"] == kept  # a version that exists is read, never reset
    # The missing are created as changed long ago (an entry rendered now may depend on them)
    assert {name for name in tokens if name != "kept"} == set(names) - {"kept"}
    assert all(pagecache._token_time_ms(tokens[name]) == 0 for name in names[1:])
    # ... and stored: another process reads the same tokens.
    pagecache.reset_local_version()
    assert pagecache.versions_current(names, fresh=True) == tokens
    # Once created, ensuring again changes nothing.
    assert pagecache.versions_ensure(names) == tokens


def test_versions_known_reads_and_creates_in_one_round_trip_then_trusts_its_copies(settings):
    from shop.core.testing import redis_calls

    settings.CATALOG_VERSION_TTL = 60

    pagecache.versions_bump(["kept"])
    kept = pagecache.versions_current(["kept"], fresh=True)["kept"]
    pagecache.reset_local_version()
    names = ["kept", "new:a", "new:b"]
    with redis_calls() as calls:
        tokens = pagecache.versions_known(names)
    assert calls.round_trips == 1, calls
    assert tokens["kept"] == kept
    assert pagecache.versions_current(names, fresh=True) == tokens  # created in Redis
    with redis_calls() as calls:
        assert pagecache.versions_known(names) == tokens
    assert calls.round_trips == 0, calls  # this process's copies, younger than the TTL
