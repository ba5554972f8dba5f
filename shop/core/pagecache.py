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
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar, overload

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.template.response import SimpleTemplateResponse
from django.utils import translation

VERSION_KEY = "catalog:version"
CSRF_PLACEHOLDER = "__bazaar_csrf_token__"
_CSRF_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
_STORED_HEADERS = ("Content-Type", "Content-Language", "Vary", "X-Frame-Options")
# Attributes Django's classes do not declare, so they are set and read by these names only:
# a view marks its response as shareable; the middleware marks a request whose page it may store.
_CACHEABLE_MARK = "anonymous_cacheable"
_CANDIDATE_MARK = "page_cache_candidate"

_Entry = tuple[int, list[tuple[str, str]], bytes]  # (status, headers, content)
_P = ParamSpec("_P")
_R = TypeVar("_R", bound=HttpResponseBase)

_local_version: tuple[float, int] | None = None  # (read at, version), per process


class _LocalPages:
    """A small per-process LRU in front of Redis for the hottest pages.

    Safe without invalidation of its own: keys carry the catalog version, so after a change
    no request asks for an old entry again, and old ones fall off the end."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[str, tuple[float, _Entry]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> _Entry | None:
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

    def put(self, key: str, entry: _Entry, timeout: float) -> None:
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


def mark_cacheable(response: HttpResponseBase, timeout: int | None = None) -> None:
    """Let the middleware share this successful answer between anonymous visitors, for
    `timeout` seconds at most (default PAGE_CACHE_TIMEOUT)."""
    setattr(response, _CACHEABLE_MARK, timeout or True)


def is_page_cache_candidate(request: HttpRequest) -> bool:
    """Whether the page rendered for this request may be stored for anonymous visitors."""
    return bool(getattr(request, _CANDIDATE_MARK, False))


@overload
def anonymous_cache(view: Callable[_P, _R], *, timeout: int | None = None) -> Callable[_P, _R]: ...


@overload
def anonymous_cache(
    view: None = None, *, timeout: int | None = None
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]: ...


def anonymous_cache(
    view: Callable[_P, _R] | None = None, *, timeout: int | None = None
) -> Callable[_P, _R] | Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Mark a view's successful answers as shareable between anonymous visitors, for
    `timeout` seconds at most (default PAGE_CACHE_TIMEOUT); any catalog change ends it."""

    def decorate(view: Callable[_P, _R]) -> Callable[_P, _R]:
        @wraps(view)
        def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            response = view(*args, **kwargs)
            mark_cacheable(response, timeout)
            return response

        return wrapped

    return decorate(view) if view is not None else decorate


def _timeout(response: HttpResponseBase) -> int:
    marked: int | bool = getattr(response, _CACHEABLE_MARK)
    return settings.PAGE_CACHE_TIMEOUT if marked is True else int(marked)


def _is_anonymous(request: HttpRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and "HTTP_AUTHORIZATION" not in request.META
    )


def _key(request: HttpRequest) -> str:
    language = translation.get_language_from_request(request)
    raw = f"{request.get_full_path()}|{language}|{request.get_host()}|{request.scheme}"
    digest = hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()
    return f"page:{catalog_version()}:{digest}"


class AnonymousPageCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
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
            hit = HttpResponse(content, status=status)
            for name, value in headers:
                hit[name] = value
            hit["X-Page-Cache"] = "hit"
            return self._with_csrf(request, hit)

        setattr(request, _CANDIDATE_MARK, True)
        response = self.get_response(request)
        if (
            getattr(response, _CACHEABLE_MARK, False)
            and response.status_code == 200
            # A streamed answer (no `content`) is never stored.
            and isinstance(response, HttpResponse)
            and not response.cookies
        ):
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                response.render()
            headers = [(h, response[h]) for h in _STORED_HEADERS if h in response]
            stored = (response.status_code, headers, response.content)
            timeout = _timeout(response)
            cache.set(key, stored, timeout)
            _local.put(key, stored, timeout)
            response["X-Page-Cache"] = "miss"
        return self._with_csrf(request, response)

    @staticmethod
    def _with_csrf(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        # A streamed answer has no `content` to rewrite (and is never a cached page).
        if isinstance(response, HttpResponse) and _CSRF_PLACEHOLDER_BYTES in response.content:
            response.content = response.content.replace(
                _CSRF_PLACEHOLDER_BYTES, get_token(request).encode()
            )
        return response
