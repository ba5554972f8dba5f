"""A response cache for anonymous catalog traffic.

Most catalog traffic is anonymous and identical, so rendered pages and API answers are
kept in Redis, keyed by the URL (its query parameters in sorted order), the language, the
host and the scheme.

**What is stored.** Only views that opt in (`@anonymous_cache`, or `AnonymousCacheMixin`
for the API) and only requests that carry no session and no credentials: anything
personal (a cart, a login) bypasses it. A view stores only *canonical* URLs: each query
parameter must be one the view declares (`query=`), given once, with a value in its
canonical spelling (`page=2`, never `page=02`), and the view may decline a URL it answered
with something else (`?page=999` shown as the last page). Anything else is served but not
stored, so `?junk=<random>` cannot fill Redis. Parameters whose values come from an open
set (search words, prices) are canonical too, but their entries are admitted only up to
PAGE_CACHE_OPEN_ENTRIES per PAGE_CACHE_TIMEOUT. The CSRF token of a cached page is a
placeholder replaced per request, so visitors never share a token.

**When an entry goes stale.** Every entry records the *versions* it was rendered from:
`catalog` (categories, merchants: everything depends on it), plus what its view declares
with `page_depends_on()`: a version per product shown, a version per kind of list. An
entry is served only while each of those versions is unchanged; a write bumps only the
versions of what it changed (`versions_bump()`, after commit), so a sale or a review makes
stale the pages of that product and the lists that show it, not the whole cache. A view
that declares nothing depends on `any`, which every bump changes. Each process trusts its
copy of a version for CATALOG_VERSION_TTL seconds, so a change shows within about a second.
A version records when it last changed, and a page rendered while one of its versions
changed is not stored: it might hold data from before the change under the version after.

**Redis away.** The cache backend (shop.core.cache) turns an unreachable Redis into misses:
pages are rendered from PostgreSQL and nothing is stored. A version bump that cannot reach
Redis is written to PostgreSQL (`UnsentVersionBump`) and replayed when Redis answers
again, before the next cached page is served from this process.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar, overload
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.template.response import SimpleTemplateResponse
from django.utils import translation

from shop.core.cache import cache_ensure_many, on_recovery
from shop.core.metrics import PAGE_CACHE_HITS, PAGE_CACHE_MISSES

logger = logging.getLogger(__name__)

CSRF_PLACEHOLDER = "__bazaar_csrf_token__"
_CSRF_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
_STORED_HEADERS = ("Content-Type", "Content-Language", "Vary", "X-Frame-Options")
# Attributes Django's classes do not declare, so they are set and read by these names only:
# a view marks its response as shareable; the middleware marks a request whose page it may
# store; a view records the versions its answer was built from, or declines its URL.
_CACHEABLE_MARK = "anonymous_cacheable"
_OPEN_MARK = "anonymous_cacheable_open"
_CANDIDATE_MARK = "page_cache_candidate"
_DEPENDS_MARK = "page_cache_depends"
_DECLINED_MARK = "page_cache_declined"

# Versions every entry, and every entry whose view declared nothing, depend on.
CATALOG = "catalog"
ANY = "any"
_VERSION_KEY = "pagecache:v:{}"
_OPEN_BUDGET_KEY = "pagecache:open:{}"
# A version's token is the time of the change (ms) and random bits: equal tokens mean "not
# changed", and a token says when its version changed. Clocks of the processes that render
# and the processes that write must agree within _CLOCK_SKEW_MS (NTP keeps them far closer).
_RANDOM_BITS = 24
_CLOCK_SKEW_MS = 500
# Unsent bumps replayed one by one up to this many distinct versions, else as a bump of all.
_REPLAY_MAX = 500

# (status, headers, content, the versions it was rendered from)
_Entry = tuple[int, list[tuple[str, str]], bytes, tuple[tuple[str, int], ...]]
_P = ParamSpec("_P")
_R = TypeVar("_R", bound=HttpResponseBase)


# --- Versions ----------------------------------------------------------------------------


def _token(at_ms: int) -> int:
    return (at_ms << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)


def _token_time_ms(token: int) -> int:
    return token >> _RANDOM_BITS


def _version_key(name: str) -> str:
    return _VERSION_KEY.format(name)


class _LocalVersions:
    """This process's copies of version tokens, each trusted for CATALOG_VERSION_TTL."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.tokens: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self.lock = threading.Lock()

    def fresh(self, names: Iterable[str], ttl: float) -> tuple[dict[str, int], list[str]]:
        now = time.monotonic()
        found: dict[str, int] = {}
        stale: list[str] = []
        with self.lock:
            for name in names:
                copy = self.tokens.get(name)
                if copy is not None and now - copy[0] < ttl:
                    found[name] = copy[1]
                else:
                    stale.append(name)
        return found, stale

    def remember(self, tokens: Mapping[str, int]) -> None:
        now = time.monotonic()
        with self.lock:
            for name, token in tokens.items():
                self.tokens[name] = (now, token)
                self.tokens.move_to_end(name)
            while len(self.tokens) > self.size:
                self.tokens.popitem(last=False)

    def forget(self, names: Iterable[str]) -> None:
        with self.lock:
            for name in names:
                self.tokens.pop(name, None)

    def clear(self) -> None:
        with self.lock:
            self.tokens.clear()


_versions = _LocalVersions(size=50_000)


def versions_current(names: Collection[str], *, fresh: bool = False) -> dict[str, int]:
    """The tokens of `names`: this process's copies younger than CATALOG_VERSION_TTL (none
    when `fresh`), the rest from Redis in one round trip. Names Redis does not hold (never
    bumped, evicted, or Redis away) are left out."""
    if fresh:
        found: dict[str, int] = {}
        stale = list(names)
    else:
        found, stale = _versions.fresh(names, settings.CATALOG_VERSION_TTL)
    if stale:
        stored = cache.get_many([_version_key(name) for name in stale])
        read = {name: stored[_version_key(name)] for name in stale if _version_key(name) in stored}
        _versions.remember(read)
        found.update(read)
    return found


def versions_ensure(names: Collection[str]) -> dict[str, int]:
    """The current tokens of `names`, read from Redis, creating those it does not hold (as
    changed long ago: an entry rendered now may depend on them). Names are left out only
    when Redis is away. One round trip however many names (SET NX each, then MGET)."""
    if not names:
        return {}
    stored = cache_ensure_many(cache, {_version_key(name): _token(0) for name in names})
    tokens = {name: stored[_version_key(name)] for name in names if _version_key(name) in stored}
    _versions.remember(tokens)
    return tokens


def versions_known(names: Collection[str]) -> dict[str, int]:
    """`versions_current`, creating (as `versions_ensure`) those Redis does not hold, in the
    same single round trip: what a reader that ensures missing versions anyway asks for."""
    found, stale = _versions.fresh(names, settings.CATALOG_VERSION_TTL)
    if stale:
        found.update(versions_ensure(stale))
    return found


def versions_bump(names: Iterable[str]) -> None:
    """Make stale every entry that depends on one of `names` (and those that declared
    nothing). Call it once the change has committed; a bump Redis cannot take is kept in
    PostgreSQL and replayed when Redis answers again."""
    changed = {*names, ANY}
    token = _token(int(time.time() * 1000))
    unsent = cache.set_many({_version_key(name): token for name in changed}, timeout=None)
    _versions.forget(changed)
    if unsent:
        _unsent_record(changed)


def _unsent_record(names: Collection[str]) -> None:
    from shop.core.models import UnsentVersionBump

    try:
        UnsentVersionBump.objects.bulk_create(UnsentVersionBump(name=name) for name in names)
    except DatabaseError:
        # PostgreSQL away too: nothing is being served or cached, and every entry stored
        # before expires within PAGE_CACHE_TIMEOUT.
        logger.exception("page cache: could not record unsent version bumps %s", sorted(names))


def versions_replay_unsent() -> int:
    """Send the bumps that could not reach Redis (run when it answers again); returns how
    many versions were bumped."""
    from django.db.models import Max

    from shop.core.models import UnsentVersionBump

    try:
        rows = list(
            UnsentVersionBump.objects.order_by("id").values_list("id", "name")[: _REPLAY_MAX + 1]
        )
        if not rows:
            return 0
        last_id = max(pk for pk, _ in rows)
        names = {name for _, name in rows}
        if len(rows) > _REPLAY_MAX:
            # A long outage under writes: cheaper to start the whole cache again.
            last_id = UnsentVersionBump.objects.aggregate(last=Max("id"))["last"]
            names = {CATALOG}
        token = _token(int(time.time() * 1000))
        unsent = cache.set_many({_version_key(name): token for name in names}, timeout=None)
        _versions.forget(names)
        _local.clear()
        if unsent:
            return 0  # Redis went away again: the rows wait for the next recovery
        UnsentVersionBump.objects.filter(id__lte=last_id).delete()
    except DatabaseError:
        logger.exception("page cache: could not replay unsent version bumps")
        return 0
    logger.warning("page cache: replayed %d version bumps made while Redis was away", len(names))
    return len(names)


on_recovery(versions_replay_unsent)


def catalog_version() -> int:
    """The token of `catalog`, which every cached entry depends on (e.g. as part of a key
    of a cached value that must follow catalog changes)."""
    tokens = versions_known([CATALOG])
    # Redis away: a token of this moment, so nothing cached before can match it.
    return tokens.get(CATALOG) or _token(int(time.time() * 1000))


def catalog_changed() -> None:
    """Make every cached catalog page stale (call after the change has committed)."""
    versions_bump([CATALOG])


def reset_local_version() -> None:
    """Forget what this process remembers (tests call it between cases)."""
    _versions.clear()
    _local.clear()


# --- What a view declares ------------------------------------------------------------


def _http_request(request: Any) -> HttpRequest:
    # DRF's Request reads through to the HttpRequest but keeps attributes set on itself.
    return getattr(request, "_request", request)


def page_depends_on(request: Any, *names: str) -> None:
    """Record that the page answering `request` shows what these versions cover (e.g.
    a product's), so it goes stale when one of them is bumped. A view that calls this,
    even with no names, no longer depends on `any`."""
    http_request = _http_request(request)
    depends: set[str] | None = getattr(http_request, _DEPENDS_MARK, None)
    if depends is None:
        depends = set()
        setattr(http_request, _DEPENDS_MARK, depends)
    depends.update(names)


def page_cache_decline(request: Any) -> None:
    """Do not store the answer to this request: the view answered a URL other than the
    one asked (a page number past the end shown as the last page, a filter it ignored)."""
    setattr(_http_request(request), _DECLINED_MARK, True)


@dataclass(frozen=True)
class Param:
    """A query parameter a cached view understands: which values are canonical (`valid`,
    given a non-empty value), whether it may be empty (as a form leaves it), and whether
    its values come from an open set (free text, amounts), whose entries are budgeted."""

    valid: Callable[[str], bool]
    blank: bool = False
    open: bool = False
    # A family of parameters (`prefixed()`), declared under the key `<prefix>*`: which
    # names after the prefix are canonical, and how many of them one URL may give.
    suffix: Callable[[str], bool] | None = None
    most: int = 1


_WHOLE_NUMBER = re.compile(r"[1-9][0-9]{0,17}")
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?")


def whole_number(*, maximum: int = 100_000, blank: bool = False, open: bool = False) -> Param:
    """1, 2, ... up to `maximum`, written without a sign, a leading zero or spaces; `open`
    when the values multiply the pages stored rather than name them (a page size)."""
    return Param(
        valid=lambda value: bool(_WHOLE_NUMBER.fullmatch(value)) and int(value) <= maximum,
        blank=blank,
        open=open,
    )


def choice(*values: str, blank: bool = False) -> Param:
    allowed = frozenset(values)
    return Param(valid=allowed.__contains__, blank=blank)


def member(values: Callable[[], Collection[str]], *, blank: bool = False) -> Param:
    """One of what `values()` returns when asked (e.g. the slugs of the categories)."""
    return Param(valid=lambda value: value in values(), blank=blank)


def text(*, max_length: int, blank: bool = True) -> Param:
    """Free text (a search): canonical without leading, trailing or repeated spaces."""
    return Param(
        valid=lambda value: len(value) <= max_length and value == " ".join(value.split()),
        blank=blank,
        open=True,
    )


def amount(*, blank: bool = False) -> Param:
    """A non-negative amount such as `10` or `9.95` (at most two decimals, no sign)."""
    return Param(valid=lambda value: bool(_AMOUNT.fullmatch(value)), blank=blank, open=True)


def prefixed(suffix: Callable[[str], bool], values: Param, *, most: int) -> Param:
    """Parameters named `<prefix><suffix>` (declared as `"<prefix>*"`, e.g. `attribute_*`)
    whose suffix passes `suffix`, each taking what `values` takes, at most `most` per URL:
    their names are open, so both their number and their spelling are bounded."""
    return Param(valid=values.valid, blank=values.blank, open=True, suffix=suffix, most=most)


def _family(params: Mapping[str, Param], name: str, seen: dict[str, int]) -> Param | None:
    """The `prefixed()` parameter `name` belongs to, counted in `seen`; None when it
    belongs to none or its family is already full."""
    for key, param in params.items():
        prefix = key[:-1]
        if param.suffix is None or not key.endswith("*") or not name.startswith(prefix):
            continue
        if not param.suffix(name[len(prefix) :]):
            return None
        seen[key] = seen.get(key, 0) + 1
        return param if seen[key] <= param.most else None
    return None


def query_canonical(request: HttpRequest, params: Mapping[str, Param]) -> tuple[bool, bool]:
    """Whether the query string of `request` is canonical for a view taking `params`, and
    whether it uses a parameter with open values."""
    uses_open = False
    seen: dict[str, int] = {}
    for name, values in request.GET.lists():
        param = params.get(name)
        if param is None or param.suffix is not None:
            param = _family(params, name, seen)
        if param is None or len(values) != 1:
            return False, False
        value = values[0]
        if value == "":
            if not param.blank:
                return False, False
            continue
        if not param.valid(value):
            return False, False
        uses_open = uses_open or param.open
    return True, uses_open


def mark_cacheable(
    response: HttpResponseBase, timeout: int | None = None, *, open: bool = False
) -> None:
    """Let the middleware share this successful answer between anonymous visitors, for
    `timeout` seconds at most (default PAGE_CACHE_TIMEOUT)."""
    setattr(response, _CACHEABLE_MARK, timeout or True)
    setattr(response, _OPEN_MARK, open)


def mark_cacheable_if_canonical(
    request: Any,
    response: HttpResponseBase,
    *,
    query: Mapping[str, Param],
    timeout: int | None = None,
) -> None:
    """`mark_cacheable` when the URL asked is canonical for `query` and the view did not
    decline it; otherwise the answer is served and not stored."""
    http_request = _http_request(request)
    if getattr(http_request, _DECLINED_MARK, False):
        return
    canonical, uses_open = query_canonical(http_request, query)
    if canonical:
        mark_cacheable(response, timeout, open=uses_open)


def is_page_cache_candidate(request: HttpRequest) -> bool:
    """Whether the page rendered for this request may be stored for anonymous visitors."""
    return bool(getattr(request, _CANDIDATE_MARK, False))


@overload
def anonymous_cache(
    view: Callable[_P, _R], *, timeout: int | None = None, query: Mapping[str, Param] | None = None
) -> Callable[_P, _R]: ...


@overload
def anonymous_cache(
    view: None = None, *, timeout: int | None = None, query: Mapping[str, Param] | None = None
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]: ...


def anonymous_cache(
    view: Callable[_P, _R] | None = None,
    *,
    timeout: int | None = None,
    query: Mapping[str, Param] | None = None,
) -> Callable[_P, _R] | Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Mark a view's successful answers to canonical URLs as shareable between anonymous
    visitors, for `timeout` seconds at most (default PAGE_CACHE_TIMEOUT). `query` names the
    parameters the view takes (none by default: only the bare URL is stored)."""
    params: Mapping[str, Param] = query or {}

    def decorate(view: Callable[_P, _R]) -> Callable[_P, _R]:
        @wraps(view)
        def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            response = view(*args, **kwargs)
            mark_cacheable_if_canonical(args[0], response, query=params, timeout=timeout)
            return response

        return wrapped

    return decorate(view) if view is not None else decorate


# --- The middleware ----------------------------------------------------------------------


class _LocalPages:
    """A small per-process LRU in front of Redis for the hottest pages. Its entries are
    checked against the versions like Redis's, so it needs no invalidation of its own."""

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

    def discard(self, key: str) -> None:
        with self.lock:
            self.entries.pop(key, None)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_local = _LocalPages(size=256)


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
    # Parameters in sorted order: `?b=1&a=2` and `?a=2&b=1` are one page (the views read
    # parameters by name; a repeated one is never canonical, so never stored).
    query = urlencode(sorted((k, v) for k, values in request.GET.lists() for v in values))
    language = translation.get_language_from_request(request)
    raw = f"{request.path}?{query}|{language}|{request.get_host()}|{request.scheme}"
    digest = hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()
    return f"page:{digest}"


def _valid(entry: object) -> bool:
    """Whether a stored entry is of this format and every version it was built from is
    still current."""
    if not (isinstance(entry, tuple) and len(entry) == 4 and isinstance(entry[3], tuple)):
        return False  # an entry of an older format, or not ours
    built_from = dict(entry[3])
    if not built_from:
        return False
    return versions_current(list(built_from)) == built_from


def _open_admitted() -> bool:
    """Whether one more page with open parameters fits this window's budget."""
    window = max(1, settings.PAGE_CACHE_TIMEOUT)
    key = _OPEN_BUDGET_KEY.format(int(time.time()) // window)
    if cache.add(key, 1, timeout=2 * window):
        return settings.PAGE_CACHE_OPEN_ENTRIES >= 1
    try:
        return cache.incr(key) <= settings.PAGE_CACHE_OPEN_ENTRIES
    except ValueError:  # the window's counter just expired (or Redis is away)
        return False


class AnonymousPageCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not _is_anonymous(request):
            return self.get_response(request)
        key = _key(request)
        hit = self._lookup(key)
        if hit is not None:
            status, headers, content, _ = hit
            served = HttpResponse(content, status=status)
            for name, value in headers:
                served[name] = value
            served["X-Page-Cache"] = "hit"
            PAGE_CACHE_HITS.inc()
            return self._with_csrf(request, served)

        started_ms = time.time() * 1000
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
            self._store(key, request, response, started_ms)
            response["X-Page-Cache"] = "miss"
            PAGE_CACHE_MISSES.inc()
        return self._with_csrf(request, response)

    @staticmethod
    def _lookup(key: str) -> _Entry | None:
        entry = _local.get(key)
        if entry is not None:
            if _valid(entry):
                return entry
            _local.discard(key)
        entry = cache.get(key)
        if entry is None or not _valid(entry):
            return None
        # Redis knows the remaining life; a short local copy never outlives it by much.
        _local.put(key, entry, settings.CATALOG_VERSION_TTL)
        return entry

    @staticmethod
    def _store(key: str, request: HttpRequest, response: HttpResponse, started_ms: float) -> None:
        declared: set[str] | None = getattr(request, _DEPENDS_MARK, None)
        names = {CATALOG, *(declared if declared is not None else (ANY,))}
        tokens = versions_ensure(names)
        if len(tokens) != len(names):
            return  # Redis is away: nothing can be stored, or checked later
        if max(_token_time_ms(token) for token in tokens.values()) >= started_ms - _CLOCK_SKEW_MS:
            return  # changed while this page was rendered: it may hold the data before
        if getattr(response, _OPEN_MARK, False) and not _open_admitted():
            return
        headers = [(h, response[h]) for h in _STORED_HEADERS if h in response]
        entry: _Entry = (
            response.status_code,
            headers,
            response.content,
            tuple(sorted(tokens.items())),
        )
        timeout = _timeout(response)
        cache.set(key, entry, timeout)
        _local.put(key, entry, timeout)

    @staticmethod
    def _with_csrf(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        # A streamed answer has no `content` to rewrite (and is never a cached page).
        if isinstance(response, HttpResponse) and _CSRF_PLACEHOLDER_BYTES in response.content:
            response.content = response.content.replace(
                _CSRF_PLACEHOLDER_BYTES, get_token(request).encode()
            )
        return response
