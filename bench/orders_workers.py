"""The Django side of the `orders` suite, run in processes the suite starts.

Each process gets the production-like environment of the orders bench database, calls
django.setup() and then only the shop's own services: `orders.services.order_place` for
buyers whose carts the suite filled beforehand, so the timed window holds placements and
nothing else. This module imports Django lazily: bench/run.py itself never loads it.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections import Counter

ADDRESS = {
    "full_name": "Bench Buyer",
    "line1": "1 Bench Street",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


def _setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def _placer(shipping_method_id: int):
    """A function placing one user's cart, returning its outcome: `placed`,
    `insufficient_stock`, or the name and message of anything else raised."""
    from catalog.errors import InsufficientStock
    from orders.services import ShippingAddress, order_place

    address = ShippingAddress(**ADDRESS)

    def place(user) -> str:
        try:
            order_place(user=user, shipping_method_id=shipping_method_id, address=address)
        except InsufficientStock:
            return "insufficient_stock"
        except Exception as error:  # every other outcome is a finding: count and keep it
            return f"{type(error).__name__}: {error}"[:300]
        return "placed"

    return place


def place_buyers(
    *,
    buyer_ids: list[int],
    warmup_buyer_id: int | None,
    shipping_method_id: int,
    duration: float | None,
    barrier,
) -> dict:
    """Place the carts of `buyer_ids` one after the other, after a warm-up order and once
    every worker is ready; stop early at `duration` seconds. Only the placements are timed."""
    from django.db import connection

    from accounts.models import User

    users = User.objects.in_bulk(buyer_ids)
    place = _placer(shipping_method_id)
    if warmup_buyer_id is not None:
        warmup = place(User.objects.get(pk=warmup_buyer_id))
        if warmup != "placed":
            raise RuntimeError(f"the warm-up order was not placed: {warmup}")
    barrier.wait(timeout=300)
    start, cpu_start = time.monotonic(), time.thread_time()
    deadline = start + duration if duration else None
    latencies, outcomes, last_placed = [], Counter(), None
    end = start
    for buyer_id in buyer_ids:
        if deadline is not None and time.monotonic() >= deadline:
            break
        began = time.monotonic()
        outcome = place(users[buyer_id])
        end = time.monotonic()
        latencies.append((end - began) * 1000)
        outcomes[outcome] += 1
        if outcome == "placed":
            last_placed = end
    cpu = time.thread_time() - cpu_start
    connection.close()
    return {
        "cpu_s": cpu,
        "start": start,
        "end": end,
        "last_placed": last_placed,
        "latencies_ms": latencies,
        "outcomes": dict(outcomes),
        "buyers_left": len(buyer_ids) - len(latencies),
    }


def process_entry(env, job: dict, barrier, results) -> None:
    """One worker process, like one gunicorn sync worker: its own interpreter and connection."""
    try:
        _setup(env)
        results.put(place_buyers(barrier=barrier, **job))
    except BaseException:
        barrier.abort()
        results.put({"crash": traceback.format_exc()})


def threads_entry(env, jobs: list[dict], results) -> None:
    """Every worker a thread of one process (one GIL), for comparison with processes."""
    try:
        _setup(env)
    except BaseException:
        for _job in jobs:
            results.put({"crash": traceback.format_exc()})
        return
    barrier = threading.Barrier(len(jobs))

    def work(job: dict) -> None:
        try:
            results.put(place_buyers(barrier=barrier, **job))
        except BaseException:
            barrier.abort()
            results.put({"crash": traceback.format_exc()})

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def capture_entry(env, buyer_id: int, shipping_method_id: int, results) -> None:
    """Place one order with every SQL statement captured, as the pgbench script's reference."""
    try:
        _setup(env)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from accounts.models import User

        user = User.objects.get(pk=buyer_id)
        place = _placer(shipping_method_id)
        with CaptureQueriesContext(connection) as captured:
            outcome = place(user)
        statements = [query["sql"] for query in captured.captured_queries]
        results.put({"outcome": outcome, "statements": statements})
    except BaseException:
        results.put({"crash": traceback.format_exc()})


def check_entry(env, variant_id: int, results) -> None:
    """The stock books after a run: `stock_drift()` and the hot variant's figures."""
    try:
        _setup(env)
        from catalog.models import Variant
        from orders.selectors import stock_drift

        variant = Variant.objects.get(pk=variant_id)
        results.put(
            {
                "drift": stock_drift(),
                "stock": variant.stock,
                "reserved": variant.reserved,
            }
        )
    except BaseException:
        results.put({"crash": traceback.format_exc()})


# --- Checkout over HTTP (the `http` scenario) -----------------------------------------

ORDERS_PATH = "/api/v1/orders/"


def order_request_body(shipping_method_id: int) -> dict:
    """The body a mobile app POSTs to `orders/` (API.md "Checkout and orders")."""
    return {"shipping_method": shipping_method_id, "shipping_address": dict(ADDRESS)}


def _carts_fill(buyers: list[tuple[int, int]]) -> int:
    """Put one unit of its variant in the cart of every buyer whose cart is empty, through
    the cart service (`cart_add_item`), as the shop's add-to-cart does; returns how many."""
    from accounts.models import User
    from cart.models import CartLine
    from cart.services import cart_add_item

    ids = [user_id for user_id, _variant in buyers]
    users = User.objects.in_bulk(ids)
    holding = set(
        CartLine.objects.filter(cart__user_id__in=ids).values_list("cart__user_id", flat=True)
    )
    filled = 0
    for user_id, variant_id in buyers:
        if user_id not in holding:
            cart_add_item(user=users[user_id], variant_id=variant_id, quantity=1)
            filled += 1
    return filled


def _access_tokens(user_ids: list[int]) -> dict[int, str]:
    """Access tokens as `auth/token/` hands them out (simplejwt's AccessToken of the user,
    signed with the shop's key, with its revocation claim), minted here because logging in
    thousands of buyers would time Argon2, not checkout."""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User

    users = User.objects.in_bulk(user_ids)
    return {user_id: str(AccessToken.for_user(users[user_id])) for user_id in user_ids}


def http_buyers_entry(env, payload: dict, results) -> None:
    """Fill the carts of `payload["buyers"]` ([user id, variant id] pairs) through the cart
    service and mint their access tokens; give `payload["passwords"]` ({user id: password})
    a password, so those buyers log in through `auth/token/` like an app."""
    try:
        _setup(env)
        from accounts.models import User

        buyers = [(int(user_id), int(variant_id)) for user_id, variant_id in payload["buyers"]]
        for user_id, password in payload.get("passwords", {}).items():
            user = User.objects.get(pk=int(user_id))
            user.set_password(password)
            user.save(update_fields=["password"])
        filled = _carts_fill(buyers)
        tokens = _access_tokens([user_id for user_id, _variant in buyers])
        results.put({"filled": filled, "tokens": {str(k): v for k, v in tokens.items()}})
    except BaseException:
        results.put({"crash": traceback.format_exc()})


def _api_client():
    from django.test import Client

    return Client(HTTP_ACCEPT="application/json")


def _post_order(client, token: str, key: str, body: dict):
    import json

    return client.post(
        ORDERS_PATH,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def http_capture_entry(env, buyer: tuple[int, int], shipping_method_id: int, results) -> None:
    """One placement through the whole stack (Django's test client: middleware, JWT,
    idempotency, serializers, service) with every SQL statement captured, then its replay."""
    try:
        _setup(env)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        _carts_fill([buyer])
        token = _access_tokens([buyer[0]])[buyer[0]]
        client = _api_client()
        body = order_request_body(shipping_method_id)
        answers = {}
        for label in ("placement", "replay"):
            with CaptureQueriesContext(connection) as captured:
                response = _post_order(client, token, f"capture-{buyer[0]}", body)
            answers[label] = {
                "status": response.status_code,
                "statements": [query["sql"] for query in captured.captured_queries],
            }
        results.put(answers)
    except BaseException:
        results.put({"crash": traceback.format_exc()})


# Where a placement's time goes: (label, module path suffix, function name). Cumulative
# times, so a nested part (stock locks) is also inside its parent (the service).
PROFILE_PARTS = [
    ("middleware and Django's handler (outside the view)", None, None),
    ("the DRF view, all of it", "rest_framework/views.py", "dispatch"),
    ("authentication (JWT: signature, user row)", "rest_framework/request.py", "_authenticate"),
    ("throttling", "rest_framework/views.py", "check_throttles"),
    ("permissions", "rest_framework/views.py", "check_permissions"),
    ("request body parsing", "rest_framework/request.py", "_load_data_and_files"),
    ("input serializer (is_valid)", "rest_framework/serializers.py", "is_valid"),
    ("idempotency key (claim + store + commit)", "shop/core/idempotency.py", "idempotent_call"),
    ("the service order_place", "orders/services.py", "order_place"),
    ("  cart lines lock", "cart/services.py", "cart_lines_lock_for_checkout"),
    ("  stock lock + reserve", "catalog/stock.py", "stock_reserve"),
    ("  confirmation mail queued (on commit)", "shop/core/tasks.py", "enqueue"),
    ("order re-read for the answer (selector)", "orders/selectors.py", "order_get_for_customer"),
    ("output serializer", "rest_framework/serializers.py", "data"),
    ("response rendering (JSON)", "rest_framework/response.py", "rendered_content"),
    ("COMMIT", "django/db/backends/base/base.py", "commit"),
    ("waiting on PostgreSQL (every execute)", "django/db/backends/utils.py", "_execute"),
]


def _profile_parts(stats, total: float, calls: int) -> list[dict]:
    table = stats.stats  # {(file, line, name): (cc, nc, tt, ct, callers)}

    def cumulative(suffix: str, name: str) -> float:
        # The outermost of same-named functions of a module (Serializer.data calls
        # BaseSerializer.data): the largest cumulative time, not their sum.
        return max(
            (
                value[3]
                for (filename, _line, function), value in table.items()
                if function == name and filename.endswith(suffix)
            ),
            default=0.0,
        )

    parts = []
    dispatch = cumulative("rest_framework/views.py", "dispatch")
    for label, suffix, name in PROFILE_PARTS:
        seconds = total - dispatch if suffix is None else cumulative(suffix, name)
        parts.append(
            {
                "part": label,
                "ms_per_placement": seconds * 1000 / calls,
                "share": seconds / total if total else 0.0,
            }
        )
    return parts


def http_profile_entry(env, buyers: list, shipping_method_id: int, results) -> None:
    """cProfile placements through Django's test client under the production settings,
    one warm-up first; the time of each part of the request, per placement."""
    try:
        _setup(env)
        import cProfile
        import io
        import pstats

        pairs = [(int(user_id), int(variant_id)) for user_id, variant_id in buyers]
        _carts_fill(pairs)
        tokens = _access_tokens([user_id for user_id, _variant in pairs])
        client = _api_client()
        body = order_request_body(shipping_method_id)
        warmup, plain, measured = pairs[0], pairs[1::2], pairs[2::2]
        response = _post_order(client, tokens[warmup[0]], f"profile-{warmup[0]}", body)
        if response.status_code != 201:
            raise RuntimeError(f"the warm-up placement answered {response.status_code}")
        statuses: Counter = Counter()
        # Every other buyer is placed without the profiler, which slows Python code down
        # more than waiting on PostgreSQL: the time a placement really takes here.
        started, cpu_started = time.perf_counter(), time.process_time()
        for user_id, _variant in plain:
            response = _post_order(client, tokens[user_id], f"profile-{user_id}", body)
            statuses[response.status_code] += 1
        plain_wall = time.perf_counter() - started
        plain_cpu = time.process_time() - cpu_started
        profiler = cProfile.Profile()
        started = time.perf_counter()
        for user_id, _variant in measured:
            profiler.enable()
            response = _post_order(client, tokens[user_id], f"profile-{user_id}", body)
            profiler.disable()
            statuses[response.status_code] += 1
        wall = time.perf_counter() - started
        stats = pstats.Stats(profiler)
        total = stats.total_tt  # type: ignore[attr-defined]
        text = io.StringIO()
        stats.stream = text  # type: ignore[attr-defined]
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        results.put(
            {
                "placements": len(measured),
                "plain_placements": len(plain),
                "plain_wall_ms_per_placement": plain_wall * 1000 / len(plain),
                "plain_cpu_ms_per_placement": plain_cpu * 1000 / len(plain),
                "statuses": {str(k): v for k, v in statuses.items()},
                "profiled_ms_per_placement": total * 1000 / len(measured),
                "wall_ms_per_placement": wall * 1000 / len(measured),
                "parts": _profile_parts(stats, total, len(measured)),
                "top": text.getvalue(),
            }
        )
    except BaseException:
        results.put({"crash": traceback.format_exc()})
