"""A Redis outage: the site keeps serving from PostgreSQL and recovers by itself.

The test starts a Redis of its own on a free port (never the shared one other tests use),
points the cache and the sessions' cache at it, warms the page cache, stops that Redis,
then asks for pages, the API (catalog, cart, token), logs in, and changes a product. No
answer may be a 5xx, sessions must hold, the log-in limit must still bite. Then Redis
starts again, holding what it held before the outage, and the test checks that caching
works again and that no page cached before the outage shows the product as it was.

The circuit breaker's clock (shop.core.cache._now) is moved instead of waiting for it.
"""

from __future__ import annotations

import time

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from catalog.tests.factories import CategoryFactory, ProductFactory
from reviews.services import rating_recompute_request
from reviews.tasks import product_rating_recompute_task
from shop.core import cache as shop_cache
from shop.core.models import UnsentVersionBump
from shop.core.pagecache import reset_local_version
from shop.core.testing import RedisServer

pytestmark = pytest.mark.django_db

RETRY_AFTER = 5.0


class Clock:
    """The breaker's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(shop_cache, "_now", clock)
    return clock


@pytest.fixture
def private_redis(tmp_path, settings, clock):
    """A redis-server of this test's own, holding the cache (db 0) and the sessions' cache
    (db 1); the Celery broker stays the tests' own."""
    server = RedisServer(tmp_path)
    server.start()
    caches = {}
    for alias, database in (("default", 0), ("sessions", 1)):
        config = dict(settings.CACHES[alias])
        config["BACKEND"] = "shop.core.cache.ResilientRedisCache"
        config["LOCATION"] = f"{server.url}/{database}"
        config["OPTIONS"] = {
            "socket_connect_timeout": 0.5,
            "socket_timeout": 0.5,
            "retry_after": RETRY_AFTER,
        }
        caches[alias] = config
    settings.CACHES = caches  # Django drops its cache connections on this change
    shop_cache.breakers_reset()
    reset_local_version()
    yield server
    server.stop()
    shop_cache.breakers_reset()
    reset_local_version()


class Tally:
    """Every answer served while Redis is stopped, by what was asked."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, int]] = []

    def __call__(self, what: str, response):
        self.answers.append((what, response.status_code))
        return response

    @property
    def errors(self) -> list[tuple[str, int]]:
        return [(what, status) for what, status in self.answers if status >= 500]


def test_the_site_serves_through_a_redis_outage_and_recovers(
    private_redis, settings, clock, django_capture_on_commit_callbacks, capsys, monkeypatch
):
    settings.LOGIN_FAILURE_LIMIT = 3
    # Every request asks Redis for the versions (a process otherwise trusts its copies, and
    # serves its own copy of a page, for up to a second).
    settings.CATALOG_VERSION_TTL = 0
    category = CategoryFactory(name="Kitchen")
    kettle = ProductFactory(name="Copper Kettle", category=category, variants__stock=5)
    ProductFactory(name="Tea Mug", category=category)
    variant = kettle.variants.get()
    shopper = UserFactory()
    guesser_target = UserFactory()
    kettle_url = kettle.get_absolute_url()

    anonymous = Client()
    assert anonymous.get(kettle_url)["X-Page-Cache"] == "miss"
    assert anonymous.get(kettle_url)["X-Page-Cache"] == "hit"
    assert anonymous.get("/products/")["X-Page-Cache"] == "miss"
    logged_in = Client()
    logged_in.force_login(shopper)  # a session in PostgreSQL and in the sessions' cache

    private_redis.stop()
    served = Tally()

    # Anonymous pages and API.
    for url in [
        "/",
        "/products/",
        "/products/?ordering=price",
        category.get_absolute_url(),
        "/search/?q=kettle",
        kettle_url,
        "/api/v1/products/",
        f"/api/v1/products/{kettle.pk}/",
        "/api/v1/categories/",
        f"/api/v1/products/{kettle.pk}/reviews/",
        f"/api/v1/products/{kettle.pk}/recommendations/",
    ]:
        response = served(url, anonymous.get(url))
        assert response.status_code == 200, url
        assert "X-Page-Cache" in response and response["X-Page-Cache"] == "miss", url

    # A visitor's cart lives in a session, which lives in PostgreSQL.
    visitor = Client()
    served("cart add", visitor.post("/cart/add/", {"variant": variant.pk, "quantity": 1}))
    cart_page = served("cart", visitor.get("/cart/"))
    assert "Copper Kettle" in cart_page.content.decode()

    # A session opened before the outage still holds.
    account = served("logged-in cart", logged_in.get("/cart/"))
    assert account.status_code == 200 and account.wsgi_request.user == shopper

    # Log in on the site, and through the API.
    login = served(
        "login",
        Client().post("/accounts/login/", {"email": shopper.email, "password": DEFAULT_PASSWORD}),
    )
    assert login.status_code == 302
    api = APIClient()
    token = served(
        "token",
        api.post(
            "/api/v1/auth/token/",
            {"email": shopper.email, "password": DEFAULT_PASSWORD},
            format="json",
        ),
    )
    assert token.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    added = served(
        "api cart add",
        api.post("/api/v1/cart/lines/", {"variant": variant.pk, "quantity": 2}, format="json"),
    )
    assert added.status_code == 201
    assert served("api cart", api.get("/api/v1/cart/")).status_code == 200

    # The log-in limit still bites: counted in this process while Redis is away.
    guesses = [
        served(
            "wrong password",
            APIClient().post(
                "/api/v1/auth/token/",
                {"email": guesser_target.email, "password": "wrong"},
                format="json",
            ),
        ).status_code
        for _ in range(settings.LOGIN_FAILURE_LIMIT + 1)
    ]
    assert guesses == [401] * settings.LOGIN_FAILURE_LIMIT + [429]
    right_after = served(
        "right password after the limit",
        APIClient().post(
            "/api/v1/auth/token/",
            {"email": guesser_target.email, "password": DEFAULT_PASSWORD},
            format="json",
        ),
    )
    assert right_after.status_code == 429

    # Rating recomputations still coalesce: their "queued" mark lives in PostgreSQL.
    queued = []
    monkeypatch.setattr(
        product_rating_recompute_task, "apply_async", lambda **kw: queued.append(kw)
    )
    assert [rating_recompute_request(product_id=kettle.pk) for _ in range(3)] == [
        True,
        False,
        False,
    ]
    assert len(queued) == 1

    # A change during the outage: its bump cannot reach Redis, so PostgreSQL keeps it.
    with django_capture_on_commit_callbacks(execute=True):
        kettle.name = "Copper Kettle Deluxe"
        kettle.save()
    assert UnsentVersionBump.objects.filter(name=f"product:{kettle.pk}").exists()
    renamed = served("renamed product", anonymous.get(kettle_url))
    assert "Copper Kettle Deluxe" in renamed.content.decode()

    assert served.errors == []
    with capsys.disabled():
        print(
            f"\nRedis stopped: {len(served.answers)} requests served, "
            f"{len(served.errors)} errors (5xx)"
        )

    # Redis comes back holding the page cached before the outage (old name and all).
    private_redis.start()
    clock.advance(RETRY_AFTER)
    with time_machine.travel(time.time(), tick=True) as traveller:
        after = anonymous.get(kettle_url)
        assert after["X-Page-Cache"] == "miss"  # the unsent bump was replayed first
        assert "Copper Kettle Deluxe" in after.content.decode()
        assert not UnsentVersionBump.objects.exists()
        # A page rendered within a moment of a change to it is not stored (it may hold
        # what was read before the change); a moment later it is.
        traveller.shift(1)
        for url in (kettle_url, "/products/"):
            anonymous.get(url)
            again = anonymous.get(url)
            assert again["X-Page-Cache"] == "hit", url
            assert "Copper Kettle Deluxe" in again.content.decode()
    # Sessions are cached in Redis again.
    sessions = private_redis.client(db=1)
    before = sessions.dbsize()
    Client().force_login(UserFactory())
    assert sessions.dbsize() == before + 1
