"""A response cache for anonymous catalog traffic.

Most catalog traffic is anonymous and identical, so rendered pages and API answers are
kept in Redis, keyed by the full URL, the language and the *catalog version*. Any change
to products, variants, stock, categories or merchants bumps the version
(`catalog_changed()`), which makes every cached entry unreachable at once; each process
re-reads the version at most every `CATALOG_VERSION_TTL` seconds, so a change shows
within about a second.

Only views that opt in with `@anonymous_cache` are stored, and only for requests that
carry no session and no credentials: anything personal (a cart, a login) bypasses it.
The CSRF token of a cached page is a placeholder replaced per request, so visitors
never share a token.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation

VERSION_KEY = "catalog:version"
CSRF_PLACEHOLDER = "__bazaar_csrf_token__"
_CSRF_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
_STORED_HEADERS = ("Content-Type", "Content-Language", "Vary", "X-Frame-Options")

_local_version: tuple[float, int] | None = None  # (read at, version), per process


class _LocalPages:
    """A small per-process LRU in front of Redis for the hottest pages.

    Safe without invalidation of its own: keys carry the catalog version, so after a change
    no request asks for an old entry again, and old ones fall off the end."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[str, tuple[float, tuple]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            expires_at, entry = found
            if time.monotonic() > expires_at:
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple, timeout: float) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic() + timeout, entry)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_local = _LocalPages(size=256)


def catalog_version() -> int:
    global _local_version
    now = time.monotonic()
    if _local_version is not None and now - _local_version[0] < settings.CATALOG_VERSION_TTL:
        return _local_version[1]
    version = cache.get(VERSION_KEY)
    if version is None:
        # Never stored (or evicted): start from the clock so no stale entry can match.
        version = int(time.time() * 1000)
        cache.add(VERSION_KEY, version, timeout=None)
        version = cache.get(VERSION_KEY, version)
    _local_version = (now, version)
    return version


def catalog_changed() -> None:
    """Make every cached catalog page stale (call after the change has committed)."""
    global _local_version
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.add(VERSION_KEY, int(time.time() * 1000), timeout=None)
    _local_version = None


def reset_local_version() -> None:
    """Forget what this process remembers (tests call it between cases)."""
    global _local_version
    _local_version = None
    _local.clear()


def anonymous_cache(view=None, *, timeout: int | None = None):
    """Mark a view's successful answers as shareable between anonymous visitors, for
    `timeout` seconds at most (default PAGE_CACHE_TIMEOUT); any catalog change ends it."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response.anonymous_cacheable = timeout or True
            return response

        return wrapped

    return decorate(view) if view is not None else decorate


def _timeout(response) -> int:
    marked = response.anonymous_cacheable
    return settings.PAGE_CACHE_TIMEOUT if marked is True else int(marked)


def _is_anonymous(request) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and "HTTP_AUTHORIZATION" not in request.META
    )


def _key(request) -> str:
    language = translation.get_language_from_request(request)
    raw = f"{request.get_full_path()}|{language}|{request.get_host()}|{request.scheme}"
    digest = hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()
    return f"page:{catalog_version()}:{digest}"


class AnonymousPageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _is_anonymous(request):
            return self.get_response(request)
        key = _key(request)
        stored = _local.get(key)
        if stored is None:
            stored = cache.get(key)
            if stored is not None:
                # Redis knows the remaining life; a short local copy never outlives it by much.
                _local.put(key, stored, settings.CATALOG_VERSION_TTL)
        if stored is not None:
            status, headers, content = stored
            response = HttpResponse(content, status=status)
            for name, value in headers:
                response[name] = value
            response["X-Page-Cache"] = "hit"
            return self._with_csrf(request, response)

        request.page_cache_candidate = True
        response = self.get_response(request)
        if (
            getattr(response, "anonymous_cacheable", False)
            and response.status_code == 200
            and not response.streaming
            and not response.cookies
        ):
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            headers = [(h, response[h]) for h in _STORED_HEADERS if h in response]
            stored = (response.status_code, headers, response.content)
            timeout = _timeout(response)
            cache.set(key, stored, timeout)
            _local.put(key, stored, timeout)
            response["X-Page-Cache"] = "miss"
        return self._with_csrf(request, response)

    @staticmethod
    def _with_csrf(request, response):
        content = getattr(response, "content", b"") if not response.streaming else b""
        if _CSRF_PLACEHOLDER_BYTES in content:
            response.content = content.replace(_CSRF_PLACEHOLDER_BYTES, get_token(request).encode())
        return response
