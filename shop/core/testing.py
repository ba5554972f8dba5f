"""Helpers shared by the test suites of every app."""

import contextlib
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

_T = TypeVar("_T")


def run_together(
    functions: Sequence[Callable[[], _T]], *, timeout: float = 120
) -> list[_T | Exception | None]:
    """Start every function at the same moment, each on its own thread and database
    connection; returns what each returned or raised (concurrency tests assert on these)."""
    barrier = threading.Barrier(len(functions))
    results: list[_T | Exception | None] = [None] * len(functions)

    def worker(index: int, function: Callable[[], _T]) -> None:
        try:
            barrier.wait()
            results[index] = function()
        except Exception as exc:  # the outcome under test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    return results


def cache_clear_owned(alias: str = DEFAULT_CACHE_ALIAS) -> None:
    """Delete the keys the cache `alias` wrote, those under its KEY_PREFIX, and nothing else.
    On Redis `cache.clear()` is FLUSHDB, which would also empty whatever else lives in that
    database (another site's keys, or a Celery queue)."""
    cache = caches[alias]  # the backend itself (django.core.cache.cache is only a proxy)
    if not isinstance(cache, RedisCache):
        cache.clear()  # a per-process cache: all of it is this process's
        return
    if not cache.key_prefix:
        raise ImproperlyConfigured(
            "a Redis cache without KEY_PREFIX (CACHE_KEY_PREFIX): its keys cannot be told"
            " from anyone else's, so they are not deleted"
        )
    # The backend's client is private in Django and absent from its stubs.
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    # Keys are "<prefix>:<version>:<key>" (Django's default KEY_FUNCTION); the prefix is
    # matched literally, whatever glob characters it holds.
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", cache.key_prefix) + ":*"
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) == 500:
            client.unlink(*batch)
            batch.clear()
    if batch:
        client.unlink(*batch)


def caches_clear_owned() -> None:
    """Before every test (the root conftest): each configured cache loses the keys the tests
    wrote, under the test CACHE_KEY_PREFIX; nothing else in those databases is touched."""
    for alias in settings.CACHES:
        cache_clear_owned(alias)


def shop_currency_switch(django_settings: Any, currency: str) -> None:
    """Make a test's shop sell in `currency`: the setting and the core_shop row the price
    tables are held to. Call it before the test makes any price (catalog, shipping)."""
    from shop.core.models import Shop

    django_settings.SHOP_CURRENCY = currency
    Shop.objects.filter(pk=1).update(currency=currency)


class RedisServer:
    """A private `redis-server` for a test that must stop and start a real Redis: on a free
    port (never the shared one other tests use), with its files in `directory`, so a
    restart after `stop()` finds again what it held (as a Redis with persistence would)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 20) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.exceptions.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.05)  # a poll for the server's start, not a wait in the test

    def stop(self) -> None:
        """Save what it holds (to find it again on `start()`) and exit."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(redis.exceptions.ConnectionError):
            self.client().save()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisCalls:
    """What `redis_calls()` saw: `round_trips` (packets sent to a Redis server and answered:
    one per command, one per pipeline) and `commands` (their names, pipelined or not)."""

    def __init__(self) -> None:
        self.round_trips = 0
        self.commands: list[str] = []

    def __repr__(self) -> str:
        return f"RedisCalls(round_trips={self.round_trips}, commands={self.commands})"


@contextlib.contextmanager
def redis_calls() -> Any:
    """Count the calls this process makes to any Redis (the cache, the sessions' cache) while
    inside, on redis-py's real connections: nothing is answered for Redis, only counted."""
    from redis.client import Pipeline
    from redis.connection import AbstractConnection

    seen = RedisCalls()
    send = AbstractConnection.send_packed_command
    execute = redis.Redis.execute_command
    queue = Pipeline.pipeline_execute_command

    def counted_send(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        seen.round_trips += 1
        return send(self, command, *args, **kwargs)

    def counted_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.commands.append(str(args[0]).upper())
        return execute(self, *args, **kwargs)

    def counted_queue(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.commands.append(str(args[0]).upper())
        return queue(self, *args, **kwargs)

    AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]
    redis.Redis.execute_command = counted_execute  # type: ignore[method-assign]
    Pipeline.pipeline_execute_command = counted_queue  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
        redis.Redis.execute_command = execute  # type: ignore[method-assign]
        Pipeline.pipeline_execute_command = queue  # type: ignore[method-assign]
