"""Redis by role: cache, sessions and the Celery broker each in a database of their own."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from shop.redis_roles import RedisRoles, redis_roles, redis_roles_from

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
