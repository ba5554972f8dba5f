"""The Redis cache backend for which an unreachable Redis is a miss (shop/core/cache.py),
against a real Redis that is stopped and started (never the shared one)."""

from __future__ import annotations

import pytest
import redis

from shop.core import cache as shop_cache
from shop.core.cache import CacheWithLocalFallback, ResilientRedisCache
from shop.core.testing import RedisServer

RETRY_AFTER = 5.0


class CountingPool(redis.ConnectionPool):
    """How often the backend asks for a connection: each ask is an attempt on Redis."""

    asks = 0

    def get_connection(self, *args, **kwargs):
        type(self).asks += 1
        return super().get_connection(*args, **kwargs)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(shop_cache, "_now", clock)
    shop_cache.breakers_reset()
    yield clock
    shop_cache.breakers_reset()


@pytest.fixture
def server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def _backend(url: str) -> ResilientRedisCache:
    CountingPool.asks = 0
    return ResilientRedisCache(
        f"{url}/0",
        {
            "KEY_PREFIX": "resilience-test",
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "retry_after": RETRY_AFTER,
                "pool_class": CountingPool,
            },
        },
    )


def test_an_unreachable_redis_answers_as_an_empty_cache(server, clock):
    backend = _backend(server.url)
    backend.set("kept", "value")
    server.stop()

    assert backend.get("kept") is None
    assert backend.get("kept", "default") == "default"
    assert backend.get_many(["kept", "other"]) == {}
    assert backend.has_key("kept") is False
    assert backend.add("new", 1) is False
    backend.set("new", 1)  # dropped, no error
    assert backend.set_many({"a": 1, "b": 2}) == ["a", "b"]  # reported as not set
    assert backend.delete("kept") is False
    backend.delete_many(["kept"])
    assert backend.touch("kept") is False
    with pytest.raises(ValueError):  # as for a missing key: callers add() and count 1
        backend.incr("counter")
    assert backend.get_or_set("computed", 42) == 42


def test_after_a_failure_calls_do_not_try_redis_until_the_retry_is_due(server, clock):
    backend = _backend(server.url)
    assert backend.get("warm") is None
    server.stop()

    backend.get("a")  # finds Redis gone
    tried = CountingPool.asks
    assert backend.is_down()
    for _ in range(100):
        backend.get("a")
        backend.set("a", 1)
    assert CountingPool.asks == tried  # no connection attempted while the breaker is open

    clock.now += RETRY_AFTER
    assert not backend.is_down()
    backend.get("a")  # the retry: still gone, so the breaker opens again
    assert CountingPool.asks > tried
    assert backend.is_down()


def test_redis_back_closes_the_breaker_and_runs_the_recovery_hooks(server, clock, monkeypatch):
    ran = []
    monkeypatch.setattr(shop_cache, "_recovery_hooks", [lambda: ran.append(True)])
    backend = _backend(server.url)
    backend.set("kept", "value")
    server.stop()
    assert backend.get("kept") is None

    server.start()  # with what it saved on the way down
    assert backend.get("kept") is None  # the breaker is open: Redis is not asked yet
    assert ran == []
    clock.now += RETRY_AFTER
    assert backend.get("kept") == "value"
    assert ran == [True]
    assert not backend.is_down()
    backend.set("after", 1)
    assert backend.get("after") == 1
    assert ran == [True]  # once per recovery


def test_counters_with_a_local_fallback_keep_counting_while_redis_is_away(server, clock, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "shop.core.cache.ResilientRedisCache",
            "LOCATION": f"{server.url}/0",
            "KEY_PREFIX": "resilience-test",
            "OPTIONS": {"socket_connect_timeout": 0.5, "retry_after": RETRY_AFTER},
        }
    }
    counters = CacheWithLocalFallback()
    counters.add("failures", 0)
    assert counters.incr("failures") == 1
    server.stop()
    counters.get("failures")  # finds Redis gone

    counters.add("failures", 0)
    assert [counters.incr("failures") for _ in range(3)] == [1, 2, 3]  # this process counts
    assert counters.get("failures") == 3
