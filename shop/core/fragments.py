"""Fragments of pages and API answers that are the same for everyone, cached by version.

The anonymous page cache (shop.core.pagecache) serves whole pages, but only to visitors
without a session; a logged-in shopper, or any URL nobody asked for before, renders the
whole page again. Most of such a page is still the same for everyone: a product's card on
a list, a product's API representation. `fragments_get_or_build` keeps each such piece in
Redis under the *version* of what it shows (e.g. `card:<id>`, see catalog/versions.py) and
the `catalog` version, so a change that bumps the version makes the old piece unreachable;
nothing is deleted, entries expire by their timeout.

Reads cost at most two Redis round trips for any number of pieces (the versions, mostly
from this process's short-lived copies, read and any missing ones created in one pipeline by
`versions_known`; then one `get_many`), and builds only the missing ones.

The same race rule as the page cache: a piece built from data read before a change, whose
version was bumped after that read but before the version was read, must not be stored
under the new version. So `started_ms` (taken before the data was read from PostgreSQL) is
compared with the time each version last changed, and a piece whose version changed since
then (within the clock skew) is served but not stored.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils import translation
from django.utils.functional import cached_property

from shop.core.pagecache import (
    _CANDIDATE_MARK,
    _CLOCK_SKEW_MS,
    _DECLINED_MARK,
    _DEPENDS_MARK,
    ANY,
    CATALOG,
    CSRF_PLACEHOLDER,
    _token_time_ms,
    is_page_cache_candidate,
    page_depends_on,
    versions_current,
    versions_ensure,
    versions_known,
)

_T = TypeVar("_T")
_V = TypeVar("_V")
_KEY = "frag:{kind}:{name}:{token}:{catalog}:{extra}"


def now_ms() -> float:
    """The `started_ms` of a read about to happen."""
    return time.time() * 1000


def fragments_get_or_build(
    items: Sequence[_T],
    *,
    kind: str,
    version: Callable[[_T], str],
    build: Callable[[_T], _V],
    started_ms: float,
    timeout: int,
    extra: str = "",
) -> list[_V]:
    """For each item, its piece of `kind` (e.g. a card's HTML), from the cache when one was
    stored under the item's current `version(item)` and the current catalog version, else
    `build(item)` (stored for `timeout` seconds unless its version changed after
    `started_ms`). `extra` names what else the piece varies by (a host, a format); the
    active language is always part of the key."""
    if not items:
        return []
    names = {version(item) for item in items} | {CATALOG}
    tokens = versions_known(names)
    if len(tokens) != len(names):
        return [build(item) for item in items]  # Redis is away: nothing to key by
    suffix = f"{extra}|{translation.get_language()}"
    keys = [
        _KEY.format(
            kind=kind,
            name=version(item),
            token=tokens[version(item)],
            catalog=tokens[CATALOG],
            extra=suffix,
        )
        for item in items
    ]
    found = cache.get_many(keys)
    pieces: list[_V] = []
    new: dict[str, _V] = {}
    newest_allowed = started_ms - _CLOCK_SKEW_MS
    catalog_ok = _token_time_ms(tokens[CATALOG]) < newest_allowed
    for item, key in zip(items, keys, strict=True):
        if key in found:
            pieces.append(found[key])
            continue
        piece = build(item)
        pieces.append(piece)
        if catalog_ok and _token_time_ms(tokens[version(item)]) < newest_allowed:
            new[key] = piece
    if new:
        cache.set_many(new, timeout)
    return pieces


# --- A page's content, the same for everyone, around a per-request frame ----------------

_CONTENT_KEY = "content:{}"
# (html, meta, the versions it was rendered from)
_ContentEntry = tuple[str, dict[str, Any], tuple[tuple[str, int], ...]]


def _content_key(request: HttpRequest, key: str) -> str:
    language = translation.get_language()
    raw = f"{key}|{language}|{request.get_host()}|{request.scheme}"
    return _CONTENT_KEY.format(hashlib.blake2b(raw.encode(), digest_size=16).hexdigest())


def _content_valid(entry: object) -> bool:
    if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[2], tuple)):
        return False
    built_from = dict(entry[2])
    return bool(built_from) and versions_current(list(built_from)) == built_from


def content_get_or_build(
    request: HttpRequest,
    *,
    key: str,
    build: Callable[[], tuple[str, dict[str, Any]]],
    timeout: int,
) -> tuple[str, dict[str, Any]]:
    """A page's content (HTML and a little data the frame around it needs) for `key` (a
    canonical URL: what the content is a function of), from the cache while every version
    it was built from is current, else `build()`. `build` declares its versions on
    `request` as the view always has (`page_depends_on`, `page_shows_cards`, ...), and may
    decline (`page_cache_decline`): those rules decide when the content is stale exactly as
    they do for the anonymous page cache, and a hit declares the same versions again, so a
    page the page cache stores around cached content depends on what that content shows.

    Unlike the page cache, it serves logged-in users too: `build` must leave everything
    personal out of the HTML (a placeholder the view fills per request)."""
    cache_key = _content_key(request, key)
    entry = cache.get(cache_key)
    if _content_valid(entry):
        html, meta, built_from = entry
        declared = {name for name, _ in built_from} - {CATALOG}
        if ANY not in declared:
            page_depends_on(request, *declared)
        return html, meta
    started_ms = now_ms()
    html, meta = build()
    if getattr(request, _DECLINED_MARK, False):
        return html, meta
    declared_now: set[str] | None = getattr(request, _DEPENDS_MARK, None)
    names = {CATALOG, *(declared_now if declared_now is not None else (ANY,))}
    tokens = versions_ensure(names)
    if len(tokens) != len(names):
        return html, meta  # Redis is away
    if max(_token_time_ms(token) for token in tokens.values()) >= started_ms - _CLOCK_SKEW_MS:
        return html, meta  # changed while it was built: it may hold the data from before
    stored: _ContentEntry = (html, meta, tuple(sorted(tokens.items())))
    cache.set(cache_key, stored, timeout)
    return html, meta


@contextmanager
def rendering_shared(request: HttpRequest) -> Iterator[None]:
    """Render for everyone inside: `{% csrf_input %}` and `{% csp_nonce %}` write the page
    cache's placeholders (filled per request by `placeholders_fill` or the page cache)."""
    was = getattr(request, _CANDIDATE_MARK, False)
    setattr(request, _CANDIDATE_MARK, True)
    try:
        yield
    finally:
        setattr(request, _CANDIDATE_MARK, was)


def placeholders_fill(request: HttpRequest, html: str) -> str:
    """This visitor's CSRF token in place of the placeholder, unless the page is one the
    anonymous page cache may store (it fills the placeholder itself, per visitor)."""
    if is_page_cache_candidate(request) or CSRF_PLACEHOLDER not in html:
        return html
    return html.replace(CSRF_PLACEHOLDER, get_token(request))


# --- One value under several versions: a list's count ------------------------------------

_MISSING = object()


def value_get_or_build(
    key: str,
    *,
    versions: Collection[str],
    build: Callable[[], _V],
    started_ms: float,
    timeout: int,
) -> _V:
    """The value of `key` while `versions` (and `catalog`) are unchanged, else `build()`
    (stored unless one of them changed after `started_ms`)."""
    names = set(versions) | {CATALOG}
    tokens = versions_known(names)
    if len(tokens) != len(names):
        return build()  # Redis is away
    raw = f"{key}|{sorted(tokens.items())}"
    cache_key = f"value:{hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()}"
    found = cache.get(cache_key, _MISSING)
    if found is not _MISSING:
        return found
    value = build()
    if max(_token_time_ms(token) for token in tokens.values()) < started_ms - _CLOCK_SKEW_MS:
        cache.set(cache_key, value, timeout)
    return value


class VersionedCountPaginator(Paginator):
    """A Paginator whose COUNT is cached while `versions` (what decides which rows the
    list holds, e.g. catalog.versions.product_list_versions) are unchanged: the count of a
    filter scans every matching row, on every page, each time (the page itself reads one
    page through an index)."""

    def __init__(
        self, object_list: Any, per_page: int, *, versions: Collection[str], **kwargs: Any
    ) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.count_versions = list(versions)
        self.started_ms = now_ms()

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is None:
            return super().count
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:
            return 0  # a filter no row can match (an empty list of ids)
        return value_get_or_build(
            f"count:{sql}:{params!r}",
            versions=self.count_versions,
            build=lambda: Paginator.count.func(self),  # type: ignore[attr-defined]
            started_ms=self.started_ms,
            timeout=settings.PAGE_CACHE_TIMEOUT,
        )
