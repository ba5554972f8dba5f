"""Redis by role: cache, sessions and the Celery broker each in a database of their own, so
clearing the cache (as the tests do before each test) never drops a queued task, and a
session outlives its cache. Against the real Redis of the test run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import cache, caches
from django.core.exceptions import ImproperlyConfigured

from shop.core.testing import cache_clear_owned, caches_clear_owned
from shop.redis_roles import RedisRoles, redis_roles, redis_roles_from

ROOT = Path(__file__).resolve().parents[3]
ROLE_VARIABLES = ("REDIS_URL", "REDIS_CACHE_URL", "REDIS_SESSIONS_URL", "CELERY_BROKER_URL")


def _needs_redis_broker(settings):
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis as the Celery broker (REDIS_URL is not set)")


# --- Which database each role gets -------------------------------------------------------


def test_redis_url_alone_gives_each_role_its_own_database():
    assert redis_roles("redis://:secret@redis.internal:6380/4") == RedisRoles(
        cache="redis://:secret@redis.internal:6380/4",
        sessions="redis://:secret@redis.internal:6380/5",
        broker="redis://:secret@redis.internal:6380/6",
    )


def test_a_redis_url_without_a_database_starts_at_zero():
    roles = redis_roles("rediss://redis.internal:6379")
    assert (roles.cache, roles.sessions, roles.broker) == (
        "rediss://redis.internal:6379/0",
        "rediss://redis.internal:6379/1",
        "rediss://redis.internal:6379/2",
    )


def test_each_override_wins_over_what_redis_url_gives():
    roles = redis_roles_from(
        {
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "REDIS_SESSIONS_URL": "redis://cache.internal:6379/1",
            "CELERY_BROKER_URL": "redis://broker.internal:6379/0",
        }
    )
    assert roles == RedisRoles(
        cache="redis://127.0.0.1:6379/0",
        sessions="redis://cache.internal:6379/1",
        broker="redis://broker.internal:6379/0",
    )


def test_overrides_alone_need_no_redis_url():
    roles = redis_roles(cache="redis://a/0", sessions="redis://a/1", broker="redis://b/0")
    assert roles == RedisRoles(cache="redis://a/0", sessions="redis://a/1", broker="redis://b/0")


def test_no_redis_leaves_every_role_without_one():
    assert redis_roles_from({}) == RedisRoles(cache="", sessions="", broker="")


def test_the_last_database_that_fits_is_13():
    assert redis_roles("redis://127.0.0.1:6379/13").broker == "redis://127.0.0.1:6379/15"


def test_a_database_past_15_is_refused_and_explained():
    with pytest.raises(ImproperlyConfigured) as error:
        redis_roles("redis://127.0.0.1:6379/14")
    message = str(error.value)
    assert "Celery broker 16" in message
    assert "13 or lower" in message
    assert "CELERY_BROKER_URL" in message
    assert "REDIS_SESSIONS_URL" not in message  # 15 fits: only the broker needs its own URL


def test_a_role_set_by_hand_is_not_derived_so_cannot_overflow():
    roles = redis_roles("redis://127.0.0.1:6379/14", broker="redis://127.0.0.1:6379/3")
    assert (roles.cache, roles.sessions, roles.broker) == (
        "redis://127.0.0.1:6379/14",
        "redis://127.0.0.1:6379/15",
        "redis://127.0.0.1:6379/3",
    )


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379?db=3", "unix:///run/redis.sock?db=0", "redis://127.0.0.1/x"],
)
def test_a_redis_url_the_roles_cannot_be_derived_from_is_refused(url):
    # ?db= wins over the path in redis-py: every role would silently share one database.
    with pytest.raises(ImproperlyConfigured):
        redis_roles(url)


def _settings_in_a_fresh_process(**variables: str) -> dict:
    """What shop/settings.py and the Celery app make of these variables, in a new process
    (every role variable set, empty unless given, so no `.env` of the developer's leaks in)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "DEBUG": "true"}
    env.update({name: variables.get(name, "") for name in ROLE_VARIABLES})
    env["CACHE_KEY_PREFIX"] = "roles-check"
    probe = (
        "import json; from django.conf import settings; from shop.celery import app;"
        " print(json.dumps({'caches': settings.CACHES,"
        " 'session_alias': settings.SESSION_CACHE_ALIAS, 'session_engine': settings.SESSION_ENGINE,"
        " 'broker': settings.CELERY_BROKER_URL, 'celery_broker': app.conf.broker_url,"
        " 'eager': settings.CELERY_TASK_ALWAYS_EAGER}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_settings_put_the_three_roles_on_three_databases_from_redis_url_alone():
    seen = _settings_in_a_fresh_process(REDIS_URL="redis://127.0.0.1:6379/3")
    assert seen["caches"]["default"]["LOCATION"] == "redis://127.0.0.1:6379/3"
    assert seen["caches"]["sessions"]["LOCATION"] == "redis://127.0.0.1:6379/4"
    assert seen["caches"]["sessions"]["KEY_PREFIX"] == "roles-check"
    assert seen["session_engine"] == "django.contrib.sessions.backends.cached_db"
    assert seen["session_alias"] == "sessions"
    assert seen["broker"] == seen["celery_broker"] == "redis://127.0.0.1:6379/5"
    assert seen["eager"] is False


def test_settings_take_each_roles_own_url_over_redis_url():
    seen = _settings_in_a_fresh_process(
        REDIS_URL="redis://127.0.0.1:6379/3",
        REDIS_CACHE_URL="redis://redis-cache:6379/0",
        REDIS_SESSIONS_URL="redis://redis-cache:6379/1",
        CELERY_BROKER_URL="redis://redis-broker:6379/0",
    )
    assert seen["caches"]["default"]["LOCATION"] == "redis://redis-cache:6379/0"
    assert seen["caches"]["sessions"]["LOCATION"] == "redis://redis-cache:6379/1"
    assert seen["broker"] == seen["celery_broker"] == "redis://redis-broker:6379/0"


def test_settings_without_redis_keep_per_process_caches_and_in_process_tasks():
    seen = _settings_in_a_fresh_process()
    locmem = "django.core.cache.backends.locmem.LocMemCache"
    assert seen["caches"]["default"]["BACKEND"] == locmem
    assert seen["caches"]["sessions"]["BACKEND"] == locmem
    # Two stores, as in Redis: clearing the cache does not empty the sessions' cache.
    assert seen["caches"]["default"]["LOCATION"] != seen["caches"]["sessions"]["LOCATION"]
    assert seen["broker"] == "memory://"
    assert seen["eager"] is True


def test_this_test_run_uses_three_distinct_databases(settings):
    _needs_redis_broker(settings)
    locations = {
        settings.CACHES["default"]["LOCATION"],
        settings.CACHES["sessions"]["LOCATION"],
        settings.CELERY_BROKER_URL,
    }
    assert len(locations) == 3


# --- Clearing the test cache -------------------------------------------------------------


def test_clearing_the_test_cache_keeps_a_queued_task_on_the_broker(settings):
    _needs_redis_broker(settings)
    from orders.tasks import orders_expire_unpaid_task

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    cache.set("before-the-clear", "cached")
    queued = orders_expire_unpaid_task.delay()
    try:
        caches_clear_owned()  # what the root conftest does before every test

        assert cache.get("before-the-clear") is None
        waiting = [json.loads(raw)["headers"]["id"] for raw in broker.lrange("celery", 0, -1)]
        assert queued.id in waiting
    finally:
        for raw in broker.lrange("celery", 0, -1):  # only this test's message
            if json.loads(raw)["headers"]["id"] == queued.id:
                broker.lrem("celery", 1, raw)


def test_clearing_the_test_cache_deletes_only_keys_under_its_prefix(settings):
    if "KEY_PREFIX" not in settings.CACHES["default"]:
        pytest.skip("the cache is per process (REDIS_URL is not set)")
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = cache._cache.get_client(write=True)
    others = ["no-prefix-at-all", f"{prefix}-another-site:1:page", f"x{prefix}:1:page"]
    cache.set("page", "ours")
    for key in others:
        client.set(key, "theirs")
    try:
        cache_clear_owned("default")

        assert cache.get("page") is None
        assert [client.get(key) for key in others] == [b"theirs"] * len(others)
    finally:
        client.delete(*others)


# --- Sessions ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_session_survives_clearing_the_cache(client, user):
    client.force_login(user)
    cache_key = SessionStore(session_key=client.session.session_key).cache_key
    sessions = caches["sessions"]
    assert sessions.get(cache_key) is not None

    cache_clear_owned("default")
    assert sessions.get(cache_key) is not None  # its own database: untouched

    cache_clear_owned("sessions")  # as an eviction would
    response = client.get("/accounts/orders/")

    assert response.status_code == 200  # still logged in: the database holds the session
    assert response.wsgi_request.user == user
    assert sessions.get(cache_key) is not None  # and cached again from the database
