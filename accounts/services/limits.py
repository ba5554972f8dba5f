"""Counters in a time window, the one mechanism behind every limit of accounts.

A window opens with its first hit and lasts `window` seconds. Whether it is still open is
judged by our clock, the one Retry-After is computed from; the keys' TTL in Redis (on
Redis's clock) only clears them away afterwards. `add()` writes only an absent key and
`incr()` is atomic in Redis, so concurrent hits each count once and the window starts at
the first one's time.

Two uses: the log-in failure limit (accounts.services.login) and the per-client-address
rate of registration and password-reset requests (`client_throttle` below).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from shop.core.cache import CacheWithLocalFallback
from shop.core.errors import ThrottledError

# While Redis is away the counts are kept per process (shop.core.cache), so an outage never
# lets unlimited guesses through: at most the limit per process and window.
cache = CacheWithLocalFallback()

_PERIODS = {"s": 1, "m": 60, "h": 60 * 60, "d": 24 * 60 * 60}


def digest(value: str) -> str:
    """A short fixed-length stand-in for `value` in a cache key (emails, addresses)."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def parse_rate(rate: str) -> tuple[int, int]:
    """`"30/hour"` (DRF's notation: s, m, h or d and anything after) as (30, 3600)."""
    count, _slash, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1].lower()]


@dataclass(frozen=True)
class WindowState:
    count: int
    retry_after: int  # whole seconds until the open window closes (at least 1)


class WindowCounter:
    def __init__(self, name: str, *, window: int) -> None:
        self.count_key = f"{name}:count"
        self.since_key = f"{name}:since"
        self.window = window

    def _over(self, since: float | None, now: float) -> bool:
        # No start time with a count still there (it expired a moment first, or was
        # evicted): the count stands until its own TTL ends.
        return since is not None and now >= since + self.window

    def _state(self, count: int | None, since: float | None, now: float) -> WindowState:
        if self._over(since, now):
            return WindowState(0, self.window)
        remaining = self.window if since is None else since + self.window - now
        return WindowState(int(count or 0), max(1, min(self.window, math.ceil(remaining))))

    def hit(self, now: float | None = None) -> WindowState:
        """Count one; returns the state after it."""
        now = time.time() if now is None else now
        since = cache.get(self.since_key)
        if self._over(since, now):
            # Over by our clock but not yet expired by Redis's: this hit opens the next
            # window. Only here can a concurrent hit go uncounted (its increment deleted),
            # and only for as long as the two clocks disagree.
            cache.delete_many([self.count_key, self.since_key])
            since = None
        if cache.add(self.since_key, now, timeout=self.window):
            since = now
        cache.add(self.count_key, 0, timeout=self.window)
        try:
            count = cache.incr(self.count_key)
        except ValueError:  # the window ran out between add() and incr()
            cache.add(self.count_key, 1, timeout=self.window)
            count, since = 1, now
        if since is None:
            since = cache.get(self.since_key)
        return self._state(count, since, now)


def window_states(counters: Sequence[WindowCounter], now: float) -> list[WindowState]:
    """The state of several counters in one round trip."""
    keys = [key for counter in counters for key in (counter.count_key, counter.since_key)]
    values = cache.get_many(keys)
    return [
        counter._state(values.get(counter.count_key), values.get(counter.since_key), now)
        for counter in counters
    ]


# --- Requests per client address -----------------------------------------------------------
# Registration and password-reset requests (page and API alike: one budget per address and
# scope, so switching doors gains nothing), at REGISTER_RATE each. The address comes from
# shop.core.clientip, which trusts X-Forwarded-For only as far as TRUSTED_PROXY_COUNT says.


def client_throttle(*, scope: str, client_address: str, rate: str | None = None) -> None:
    """Count one `scope` request from `client_address`; ThrottledError once past `rate`
    (default REGISTER_RATE). Refused requests count too: the window ends all the same."""
    limit, window = parse_rate(rate or settings.REGISTER_RATE)
    state = WindowCounter(f"throttle:{scope}:{digest(client_address)}", window=window).hit()
    if state.count > limit:
        raise ThrottledError(
            _("Too many requests from your network. Try again in %(minutes)d minutes.")
            % {"minutes": math.ceil(state.retry_after / 60)},
            retry_after=state.retry_after,
        )
