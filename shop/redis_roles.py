"""Which Redis database each of the shop's three uses of Redis gets: cache, sessions, broker.

Each role has a database of its own, so clearing the cache (a deploy, a test run, an
eviction) never drops a queued task, and production can put the cache and sessions on an
instance that evicts (`allkeys-lru`) and the broker on one that never does.

`REDIS_URL` alone, "the Redis of this shop", configures all three for development: its
database n holds the cache, n + 1 the sessions' cache and n + 2 the Celery broker. A role's
own URL wins when it is set (`REDIS_CACHE_URL`, `REDIS_SESSIONS_URL`, `CELERY_BROKER_URL`).
A role with neither has no Redis: settings then use a per-process cache, or run Celery
tasks in-process.

Plain Python, no Django settings needed: settings.py, scripts/services.py and the bench
harness all resolve the roles here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

# Redis's default `databases 16`: numbers 0-15.
REDIS_DATABASES = 16
# Role, its database's offset from REDIS_URL's, and the variable that overrides it.
ROLES = (
    ("cache", 0, "REDIS_CACHE_URL"),
    ("sessions", 1, "REDIS_SESSIONS_URL"),
    ("broker", 2, "CELERY_BROKER_URL"),
)
# The highest database REDIS_URL may name so that all three fit.
REDIS_URL_MAX_DATABASE = REDIS_DATABASES - len(ROLES)


@dataclass(frozen=True)
class RedisRoles:
    """The Redis URL of each role; empty for a role that has no Redis."""

    cache: str
    sessions: str
    broker: str


def redis_database(url: str) -> int:
    """The database number a `redis://` or `rediss://` URL names in its path (0 if none)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ImproperlyConfigured(
            f"REDIS_URL must be redis://host:port/n or rediss://… to derive the cache, sessions"
            f" and broker databases from it, not {parts.scheme}://; set REDIS_CACHE_URL,"
            " REDIS_SESSIONS_URL and CELERY_BROKER_URL instead"
        )
    if any(name == "db" for name, _ in parse_qsl(parts.query)):
        # redis-py lets ?db= win over the path, so every role would land on one database.
        raise ImproperlyConfigured(
            f"REDIS_URL {url!r} names its database with ?db=; put the number in the path"
            " (redis://host:port/n)"
        )
    path = parts.path.strip("/")
    if not path:
        return 0
    if not re.fullmatch(r"\d+", path):
        raise ImproperlyConfigured(f"REDIS_URL {url!r}: {path!r} is not a database number")
    return int(path)


def redis_url_with_database(url: str, database: int) -> str:
    """`url` (redis:// or rediss://) pointing at `database` instead."""
    redis_database(url)  # the same checks
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def redis_roles(
    redis_url: str = "", *, cache: str = "", sessions: str = "", broker: str = ""
) -> RedisRoles:
    """Each role's URL: its own when given, else REDIS_URL's database plus the role's offset,
    else empty. Raises ImproperlyConfigured when a derived database would pass 15."""
    given = {"cache": cache, "sessions": sessions, "broker": broker}
    derived = [(role, offset, name) for role, offset, name in ROLES if not given[role]]
    if redis_url and derived:
        base = redis_database(redis_url)
        past = [name for _, offset, name in derived if base + offset >= REDIS_DATABASES]
        if past:
            raise ImproperlyConfigured(
                f"REDIS_URL names database {base}; the shop uses it and the next two (cache"
                f" {base}, sessions {base + 1}, Celery broker {base + 2}), but Redis numbers"
                f" its databases 0-{REDIS_DATABASES - 1}: name {REDIS_URL_MAX_DATABASE} or"
                f" lower in REDIS_URL, or set {' and '.join(past)}"
            )
        for role, offset, _ in derived:
            given[role] = redis_url_with_database(redis_url, base + offset)
    return RedisRoles(**given)


def redis_roles_from(environ: Mapping[str, str]) -> RedisRoles:
    """The roles as settings.py resolves them from these variables (e.g. os.environ)."""
    return redis_roles(
        environ.get("REDIS_URL", ""),
        **{role: environ.get(name, "") for role, _, name in ROLES},
    )
