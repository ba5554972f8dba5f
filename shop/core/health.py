"""Probes for load balancers and orchestrators, and the Prometheus endpoint's door.

- `/healthz`: the process lives and answers. No I/O at all: no database, cache, session,
  CSRF or template; a process that can run this middleware is alive.
- `/readyz`: PostgreSQL, the cache's Redis and the Celery broker each answer within
  READYZ_TIMEOUT seconds. 200 when every check in READYZ_CHECKS passes, else 503; the JSON
  body names each check and its result, so a failing probe says which one failed.
- `/metrics`: Prometheus' text format (shop.core.metrics), only with the bearer token of
  METRICS_TOKEN; 404 when no token is set, as if it did not exist.

`ProbeMiddleware` answers these first in MIDDLEWARE, before anything else runs, which is
deliberate:

- before SecurityMiddleware, so SECURE_SSL_REDIRECT does not answer a load balancer's plain
  HTTP probe of a backend with a redirect to HTTPS it cannot follow;
- before anything reads the Host header (CommonMiddleware, CSRF, the page cache), so a probe
  addressed to the backend's IP (as load balancers and kubelets send it) is answered though
  that IP is not in ALLOWED_HOSTS. Nothing in these answers depends on the host, so no
  host-header attack applies (no absolute URL, nothing cached or keyed by host);
- outside the page cache, sessions and CSRF, and every answer says `Cache-Control: no-store`,
  so a probe is never served from a cache and never creates a session.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

HEALTHZ_PATH = "/healthz"
READYZ_PATH = "/readyz"
METRICS_PATH = "/metrics"
_T = TypeVar("_T")

# Checks run here so a server that does not answer costs the probe READYZ_TIMEOUT, not a
# TCP timeout; a check still stuck keeps its thread, and later probes use the others.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bazaar-probe")


def call_with_timeout(function: Callable[[], _T], timeout: float) -> _T:
    """`function()` on a probe thread; TimeoutError when it takes longer than `timeout`.
    The thread closes its database connection afterwards (no connection is left open on a
    thread nobody closes it on)."""

    try:
        return _pool.submit(_closing(function)).result(timeout=timeout)
    except FutureTimeout:
        raise TimeoutError(f"no answer within {timeout:g} s") from None


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    backend = caches["default"]
    client = getattr(backend, "_client", None)
    if client is not None:  # the Redis cache: a PING past its circuit breaker
        client().ping()


def _check_broker() -> None:
    from celery import current_app

    if current_app.conf.task_always_eager:
        return  # no broker configured: tasks run in-process
    with current_app.connection_for_read() as broker:
        client = getattr(broker.default_channel, "client", None)
        if client is not None:  # Redis
            client.ping()


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
}


def _closing(function: Callable[[], _T]) -> Callable[[], _T]:
    def run() -> _T:
        try:
            return function()
        finally:
            connection.close()

    return run


def readiness() -> tuple[bool, dict[str, str]]:
    """Every check's result ("ok" or why not), and whether those in READYZ_CHECKS passed.
    The checks run at once, so a probe takes READYZ_TIMEOUT at most, not one per check."""
    timeout = settings.READYZ_TIMEOUT
    deadline = time.monotonic() + timeout
    running = {name: _pool.submit(_closing(check)) for name, check in CHECKS.items()}
    results: dict[str, str] = {}
    for name, future in running.items():
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            results[name] = f"failed: TimeoutError: no answer within {timeout:g} s"
        except Exception as exc:
            results[name] = f"failed: {type(exc).__name__}: {exc}"[:300]
        else:
            results[name] = "ok"
    ready = all(results.get(name) == "ok" for name in settings.READYZ_CHECKS)
    return ready, results


def _json(body: dict[str, Any], status: int) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body), status=status, content_type="application/json; charset=utf-8"
    )
    response["Cache-Control"] = "no-store"
    return response


def healthz_response() -> HttpResponse:
    return _json({"status": "ok"}, 200)


def readyz_response() -> HttpResponse:
    ready, checks = readiness()
    if not ready:
        failing = sorted(name for name in settings.READYZ_CHECKS if checks.get(name) != "ok")
        logger.warning("readyz: not ready: %s", {name: checks[name] for name in failing})
        return _json({"status": "unavailable", "failing": failing, "checks": checks}, 503)
    return _json({"status": "ok", "checks": checks}, 200)


def metrics_authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return False
    given = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


def metrics_response(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return _json({"code": "not_found", "message": "Not found."}, 404)
    if not metrics_authorized(request):
        response = _json({"code": "not_authenticated", "message": "Bearer token needed."}, 401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    from shop.core.metrics import metrics_render

    body, content_type = metrics_render()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


class ProbeMiddleware:
    """Answers /healthz, /readyz and /metrics before any other middleware runs (see the
    module's docstring for why first). GET and HEAD only; the trailing slash is optional."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info.rstrip("/") or "/"
        if path not in (HEALTHZ_PATH, READYZ_PATH, METRICS_PATH):
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = _json({"code": "method_not_allowed", "message": "GET only."}, 405)
            response["Allow"] = "GET, HEAD"
            return response
        if path == HEALTHZ_PATH:
            return healthz_response()
        if path == READYZ_PATH:
            return readyz_response()
        return metrics_response(request)
