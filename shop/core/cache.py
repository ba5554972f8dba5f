"""A Redis cache backend for which Redis being away is a cache miss, never an error.

Django's RedisCache raises when Redis cannot be reached, so a Redis outage used to turn
every page that touches the cache (all of them: the page cache, the sessions' cache, the
category tree) into a 500. `ResilientRedisCache` logs the first failure and answers as an
empty cache would: reads miss, writes are dropped, `add()` adds nothing, `incr()` finds
no key (ValueError, as for a missing key), `set_many()` reports every key as not set.

A dead Redis must not cost every call a timeout either: connections time out after
CACHE_REDIS_TIMEOUT seconds, and after a failure a per-process circuit breaker answers
without trying Redis for CACHE_REDIS_RETRY seconds; the next call then tries again, and
the first call that succeeds closes the breaker and runs the recovery hooks (the page
cache replays the invalidations that could not reach Redis while it was away).

Counters that must keep counting while Redis is away (the log-in failure limit, the
registration throttle) use `CacheWithLocalFallback`: the shared cache when it answers, a
per-process one while it does not, so a Redis outage never means unlimited guesses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import BaseCache, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis import exceptions as redis_errors

logger = logging.getLogger(__name__)

# Redis cannot be reached, or answered that it cannot serve now: a miss, and the breaker.
UNREACHABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError)
# Redis answers but refuses writes (full without eviction, a read-only replica): that write
# is dropped and logged, the breaker stays closed (reads still work).
REFUSED = (redis_errors.OutOfMemoryError, redis_errors.ReadOnlyError)

_T = TypeVar("_T")

# The breaker's clock; tests move it instead of sleeping.
_now: Callable[[], float] = time.monotonic

_recovery_hooks: list[Callable[[], object]] = []


def on_recovery(hook: Callable[[], object]) -> None:
    """Run `hook` (once) whenever a cache's Redis answers again after a failure."""
    if hook not in _recovery_hooks:
        _recovery_hooks.append(hook)


class _Breaker:
    """One per Redis location per process: whether to try Redis at all."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.lock = threading.Lock()
        self.down = False
        self.retry_at = 0.0

    def open(self) -> bool:
        """Whether calls answer without trying Redis: it failed, and its retry is not due."""
        return self.down and _now() < self.retry_at

    def failed(self, error: Exception, retry_after: float) -> None:
        with self.lock:
            first = not self.down
            self.down = True
            self.retry_at = _now() + retry_after
        if first:
            logger.warning(
                "cache Redis %s unreachable (%s: %s): serving without it, retrying every %s s",
                self.location,
                type(error).__name__,
                error,
                retry_after,
            )

    def succeeded(self) -> None:
        if not self.down:
            return
        with self.lock:
            recovered, self.down = self.down, False
        if recovered:
            logger.warning("cache Redis %s answers again", self.location)
            for hook in list(_recovery_hooks):
                try:
                    hook()
                except Exception:  # a hook must not fail the call that found Redis back
                    logger.exception("cache recovery hook %r failed", hook)


_breakers: dict[str, _Breaker] = {}
_breakers_lock = threading.Lock()


def _breaker(location: str) -> _Breaker:
    with _breakers_lock:
        return _breakers.setdefault(location, _Breaker(location))


def breakers_reset() -> None:
    """Forget every failure (tests start from a Redis that answers)."""
    with _breakers_lock:
        _breakers.clear()


class ResilientRedisCache(RedisCache):
    """Django's RedisCache, with a Redis that cannot be reached treated as an empty cache.

    OPTIONS: `retry_after` (seconds the breaker stays open, default 5), and any option of
    redis-py's connection pool; settings.py sets `socket_connect_timeout` and
    `socket_timeout` so an unreachable host fails fast."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS", {}))
        self.retry_after = float(options.pop("retry_after", 5.0))
        super().__init__(server, {**params, "OPTIONS": options})
        location = server if isinstance(server, str) else ",".join(server)
        self._breaker = _breaker(location)

    def _client(self) -> Any:
        # Django's client object is private and absent from its stubs.
        return self._cache.get_client(None, write=True)  # type: ignore[attr-defined]

    def is_down(self) -> bool:
        """True while the breaker is open: calls answer without trying Redis."""
        return self._breaker.open()

    def _guard(self, call: Callable[[], _T], fallback: _T) -> _T:
        if self._breaker.down:
            if self._breaker.open():
                return fallback
            # Retry due: a PING first, so the recovery hooks (which may invalidate what
            # Redis holds) run before this call reads anything.
            try:
                self._client().ping()
            except UNREACHABLE as error:
                self._breaker.failed(error, self.retry_after)
                return fallback
            self._breaker.succeeded()
        try:
            return call()
        except UNREACHABLE as error:
            self._breaker.failed(error, self.retry_after)
        except REFUSED as error:
            logger.warning("cache Redis %s refused a write: %s", self._breaker.location, error)
        return fallback

    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return self._guard(
            lambda: super(ResilientRedisCache, self).add(key, value, timeout, version), False
        )

    def get(self, key: Any, default: Any | None = None, version: int | None = None) -> Any:
        return self._guard(
            lambda: super(ResilientRedisCache, self).get(key, default, version), default
        )

    def set(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> None:
        self._guard(
            lambda: super(ResilientRedisCache, self).set(key, value, timeout, version), None
        )

    def touch(
        self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._guard(
            lambda: super(ResilientRedisCache, self).touch(key, timeout, version), False
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(ResilientRedisCache, self).delete(key, version), False)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        keys = list(keys)
        return self._guard(lambda: super(ResilientRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(ResilientRedisCache, self).has_key(key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        missing = object()
        result = self._guard(
            lambda: super(ResilientRedisCache, self).incr(key, delta, version), missing
        )
        if result is missing:
            # What a missing key answers: callers already handle it (add, then count 1).
            raise ValueError(f"Key {key!r} not found (the cache's Redis is unreachable).")
        return result  # type: ignore[return-value]

    def set_many(
        self,
        data: dict[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[Any]:
        return self._guard(
            lambda: super(ResilientRedisCache, self).set_many(data, timeout, version), list(data)
        )

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        keys = list(keys)
        self._guard(lambda: super(ResilientRedisCache, self).delete_many(keys, version), None)

    def ensure_many(self, data: dict[Any, Any], version: int | None = None) -> dict[Any, Any]:
        """Store each value of `data` whose key the cache does not hold (no expiry, as
        `add(key, value, None)`), then read every key, in one round trip (a pipeline of
        SET NX and one MGET): what each key holds now. {} when Redis is away."""
        if not data:
            return {}
        keys = {self.make_and_validate_key(key, version=version): key for key in data}

        def call() -> dict[Any, Any]:
            serializer = self._cache._serializer  # type: ignore[attr-defined]
            pipeline = self._client().pipeline(transaction=False)
            for stored, key in keys.items():
                pipeline.set(stored, serializer.dumps(data[key]), nx=True)
            pipeline.mget(list(keys))
            # A refused write (Redis full) must not lose the read: errors come back as values.
            *_, values = pipeline.execute(raise_on_error=False)
            if isinstance(values, Exception):
                raise values
            return {
                keys[stored]: serializer.loads(value)
                for stored, value in zip(keys, values, strict=True)
                if value is not None
            }

        return self._guard(call, {})

    def clear(self) -> None:
        self._guard(lambda: super(ResilientRedisCache, self).clear(), None)


def cache_is_down(alias: str = "default") -> bool:
    """Whether the cache `alias` is a Redis that is treated as away right now."""
    backend = caches[alias]
    return isinstance(backend, ResilientRedisCache) and backend.is_down()


class CacheWithLocalFallback(BaseCache):
    """The cache `alias` while its Redis answers, a per-process cache while it does not.

    For counters whose loss would open a door (failed log-ins, registrations): while Redis
    is away each process counts on its own, so a limit of N allows at most N per process
    instead of none at all. What was counted locally is not carried back into Redis."""

    def __init__(self, alias: str = "default") -> None:
        super().__init__({})
        self.alias = alias
        self._local = LocMemCache(
            f"bazaar-fallback-{alias}", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 10_000}}
        )

    def current(self) -> BaseCache:
        return self._local if cache_is_down(self.alias) else caches[self.alias]

    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return self.current().add(key, value, timeout, version)

    def get(self, key: Any, default: Any | None = None, version: int | None = None) -> Any:
        return self.current().get(key, default, version)

    def set(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> None:
        self.current().set(key, value, timeout, version)

    def touch(
        self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self.current().touch(key, timeout, version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self.current().delete(key, version)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        return self.current().get_many(keys, version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self.current().has_key(key, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self.current().incr(key, delta, version)

    def set_many(
        self,
        data: dict[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[Any]:
        return self.current().set_many(data, timeout, version)

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self.current().delete_many(keys, version)

    def clear(self) -> None:
        self.current().clear()


def cache_ensure_many(cache: BaseCache, data: dict[Any, Any]) -> dict[Any, Any]:
    """`ensure_many` on any cache: one round trip on Redis, `add` per key elsewhere."""
    ensure = getattr(cache, "ensure_many", None)
    if ensure is not None:
        return ensure(data)
    for key, value in data.items():
        cache.add(key, value, timeout=None)
    return cache.get_many(list(data))
