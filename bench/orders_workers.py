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
