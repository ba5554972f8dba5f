"""Fragments of pages and API answers that are the same for everyone, cached by version.

The anonymous page cache (shop.core.pagecache) serves whole pages, but only to visitors
without a session; a logged-in shopper, or any URL nobody asked for before, renders the
whole page again. Most of such a page is still the same for everyone: a product's card on
a list, a product's API representation. `fragments_get_or_build` keeps each such piece in
Redis under the *version* of what it shows (e.g. `card:<id>`, see catalog/versions.py) and
the `catalog` version, so a change that bumps the version makes the old piece unreachable;
nothing is deleted, entries expire by their timeout.

Reads cost two Redis round trips for any number of pieces (the versions, mostly from this
process's short-lived copies, then one `get_many`), and builds only the missing ones.

The same race rule as the page cache: a piece built from data read before a change, whose
version was bumped after that read but before the version was read, must not be stored
under the new version. So `started_ms` (taken before the data was read from PostgreSQL) is
compared with the time each version last changed, and a piece whose version changed since
then (within the clock skew) is served but not stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.core.cache import cache
from django.utils import translation

from shop.core.pagecache import (
    _CLOCK_SKEW_MS,
    CATALOG,
    _token_time_ms,
    versions_current,
    versions_ensure,
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
    tokens = versions_current(names)
    if len(tokens) != len(names):
        tokens = versions_ensure(names)
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
