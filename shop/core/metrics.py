"""Prometheus metrics, with the official client (prometheus-client).

prometheus-client rather than django-prometheus: what we need is a latency histogram by
route, a handful of domain counters and gauges computed at scrape time, all correct across
gunicorn's worker processes. The client's multiprocess mode does that directly;
django-prometheus adds some forty metrics per request (and database/cache wrappers) we would
pay for on every request and not read, and needs the same multiprocess set-up anyway.

**Several processes.** gunicorn's workers (and a prefork Celery worker's children) are
separate processes, each with its own counters. With PROMETHEUS_MULTIPROC_DIR set (the
repository's gunicorn.conf.py sets it for every `gunicorn` started in the project; see
there), every process writes its samples to files in that directory and a scrape, answered
by whichever worker, adds up all of them. Without it (runserver, tests, one process) the
process's own registry is read.

**Computed at scrape.** What is a fact of the database or the broker (webhook backlog and
its age, queue depth) is not counted by processes but read when scraped, through collectors
the apps register here (`scrape_collector_register`), each within METRICS_SCRAPE_TIMEOUT;
one that fails drops its own samples and reports `bazaar_scrape_collector_up{collector} 0`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache, partial
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from shop.core.health import call_with_timeout
from shop.core.logs import (
    ENVIRON_KEY,
    REQUEST_ID_HEADER,
    request_id_accept,
    request_id_reset,
    request_id_set,
)

# No `*_created` series beside each counter: noise for dashboards, and absent in multiprocess
# mode anyway, so one process and several look alike.
disable_created_metrics()

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("shop.access")

REQUEST_LATENCY = Histogram(
    "bazaar_http_request_duration_seconds",
    "Time from the first middleware to the response, by URL pattern name (never the path).",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# Anonymous requests for a page that may be cached: served from the cache, or rendered
# (hit rate = hits / (hits + misses)).
PAGE_CACHE_HITS = Counter("bazaar_page_cache_hits", "Anonymous page cache hits.")
PAGE_CACHE_MISSES = Counter(
    "bazaar_page_cache_misses", "Cacheable anonymous pages rendered because the cache missed."
)

# Methods a client may send are endless; anything else is counted as "other".
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"


def _status_class(status: int) -> str:
    return f"{status // 100}xx"


@lru_cache(maxsize=4096)
def _latency(route: str, method: str, status: str) -> Any:
    # The labelled child, without labels()'s lock and checks on every request (the labels
    # are few: routes x methods x status classes).
    return REQUEST_LATENCY.labels(route, method, status)


@lru_cache(maxsize=8192)
def _route_of_path(path: str) -> str:
    # resolve() walks the URL patterns in order (~0.1 ms for the catalog's, which come last):
    # a page cache hit, served in well under a millisecond, pays it once per path. The paths
    # are those of stored pages (canonical URLs only), and the cache is bounded anyway.
    try:
        match = resolve(path)
    except Resolver404:
        return UNMATCHED
    return match.view_name or match.route or UNMATCHED


def route_name(request: HttpRequest, response: HttpResponseBase) -> str:
    """The URL pattern's name (`catalog:product`), a low-cardinality label. A page cache hit
    is answered before URL resolution, so its path is resolved here."""
    match = request.resolver_match
    if match is not None:
        return match.view_name or match.route or UNMATCHED
    if response.get("X-Page-Cache") == "hit":
        return _route_of_path(request.path_info)
    return UNMATCHED


class RequestObservabilityMiddleware:
    """The request id (shop.core.logs: chosen when the request started) in the response's
    X-Request-ID, the latency histogram and one access log line per request. Second in
    MIDDLEWARE, after the probes (which it leaves out)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        request_id = request.META.get(ENVIRON_KEY)
        token = None
        if request_id is None:  # no request_started signal (a RequestFactory request)
            request_id = request_id_accept(request.META.get("HTTP_X_REQUEST_ID"))
            token = request_id_set(request_id)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            elapsed = time.perf_counter() - started
            route = route_name(request, response)
            method = request.method if request.method in _METHODS else "other"
            _latency(route, method, _status_class(response.status_code)).observe(elapsed)
            if settings.ACCESS_LOG:
                access_logger.info(
                    "%s %s %s %.1fms",
                    request.method,
                    request.path,
                    response.status_code,
                    elapsed * 1000,
                    extra={
                        "method": method,
                        "path": request.path,
                        "route": route,
                        "status": response.status_code,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            return response
        finally:
            if token is not None:
                request_id_reset(token)


# --- Collected at scrape time -------------------------------------------------------------

ScrapeCollector = Callable[[], Iterable[Metric]]
_scrape_collectors: dict[str, ScrapeCollector] = {}


def scrape_collector_register(name: str, collect: ScrapeCollector) -> None:
    """Have `collect()` called at each scrape (on a probe thread, within
    METRICS_SCRAPE_TIMEOUT); `name` labels its `bazaar_scrape_collector_up`."""
    _scrape_collectors[name] = collect


def _listed(collect: ScrapeCollector) -> list[Metric]:
    return list(collect())


class _ScrapeTime:
    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "bazaar_scrape_collector_up",
            "1 when the collector answered at this scrape, 0 when it failed or timed out.",
            labels=["collector"],
        )
        for name, collect in list(_scrape_collectors.items()):
            try:
                families = call_with_timeout(
                    partial(_listed, collect), settings.METRICS_SCRAPE_TIMEOUT
                )
            except Exception:
                logger.warning("metrics: collector %s failed", name, exc_info=True)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


class _Scrape:
    """What one scrape reads: the processes' samples, then the scrape-time collectors."""

    def __init__(self, *sources: object) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()  # type: ignore[attr-defined]


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_metrics() -> object:
    """Every process's samples (multiprocess mode), or this process's registry."""
    if multiprocess_dir():
        return MultiProcessCollector(None)
    return REGISTRY


def metrics_render() -> tuple[bytes, str]:
    """The text exposition of every metric, and its content type."""
    return generate_latest(_Scrape(process_metrics(), _ScrapeTime())), CONTENT_TYPE_LATEST


# --- Celery queue depth, from the broker -----------------------------------------------


def _celery_queues() -> Iterable[Metric]:
    from celery import current_app

    depth = GaugeMetricFamily(
        "bazaar_celery_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
    )
    if current_app.conf.task_always_eager:
        return [depth]  # no broker: tasks run in-process
    names = sorted({current_app.conf.task_default_queue, *current_app.amqp.queues})
    with current_app.connection_for_read() as broker:
        channel = broker.default_channel
        for name in names:
            # kombu's Redis channel adds up the queue's priority lists.
            depth.add_metric([name], float(channel._size(name)))
    return [depth]


scrape_collector_register("celery_queues", _celery_queues)
