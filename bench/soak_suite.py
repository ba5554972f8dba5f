"""The `soak` suite: what real traffic does, at a fixed rate, for `--soak-minutes` (10).

Anonymous browsing (pages, searches, the catalog API, the session cart), logged-in shoppers
who buy (cart, checkout with an Idempotency-Key, a sandbox payment and its signed callback,
reviews of what they bought), merchant staff who ship through the staff shipments API and
a carrier's tracking callbacks, all at once (bench/soak_locustfile.py, run headless by
locust), against the stack as deployed: gunicorn (DEBUG=False), one Celery worker and beat.

Reported: requests, errors by kind (with examples) and p50/p99 per request type; the RSS of
every process (gunicorn master and workers, the worker and its pool child, beat, and the
load generator) at the start and end of the load; the anonymous page cache's hit rate under
that write stream (the pagecache suite's `X-Page-Cache` count); and, once the queues are
drained, every drift check the shop has, each of which must come back clean.

Own database (`bazaar_bench_soak`, `BENCH_DB_NAME` + `_soak`, seeded like the catalog's),
reset before every run; cache key prefix `bazaar-bench-soak`; Celery broker: the payments
suite's database (11, `BENCH_SOAK_BROKER_URL`), emptied before and after (suites run one
after the other).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlsplit

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import catalog_suite  # noqa: E402
import harness  # noqa: E402
import soak_scenario  # noqa: E402
from harness import BenchError, log  # noqa: E402

NAME = "soak"
DESCRIPTION = (
    "browse, search, cart, checkout, payment callbacks, reviews and shipping at a fixed rate "
    "for --soak-minutes: errors, p50/p99 per request, memory, cache hit rate, drift checks"
)

BROKER_URL = harness.suite_broker_url("BENCH_SOAK_BROKER_URL", 2)
CACHE_PREFIX = "bazaar-bench-soak"
DOMAIN = "soak-bench.example"
PASSWORD = "soak-bench-password-0123"
SANDBOX_SECRET = "bench-sandbox-webhook-secret-0123456789"
CARRIER_SECRET = "bench-carrier-webhook-secret-0123456789"
POOL_SIZE = 2000  # products the shoppers buy (spread over the catalog), stock topped up
POPULAR_PAGES = 200  # product pages most visits go to (the catalog suite's)
ADDRESS = {
    "full_name": "Soak Shopper",
    "line1": "1 Soak Street",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}
DRAIN_TIMEOUT = 300.0
LOCUST_STOP_TIMEOUT = 90  # seconds a user may take to finish its journey at the end


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("soak suite")
    group.add_argument(
        "--soak-minutes", type=float, default=10.0, help="minutes of load (0.5: a smoke run)"
    )
    # More visitors at a slower pace each, rather than fewer at a fast one: a visitor waits
    # for each answer, so one slow page would otherwise hold the rate back.
    group.add_argument("--soak-browsers", type=int, default=12, help="anonymous visitors")
    group.add_argument(
        "--soak-browser-rate", type=float, default=0.5, help="pages per second per visitor"
    )
    group.add_argument("--soak-shoppers", type=int, default=6, help="logged-in buyers")
    group.add_argument(
        "--soak-journey-rate",
        type=float,
        default=0.1,
        help="purchase journeys per second per shopper",
    )


# --- The database --------------------------------------------------------------------------


def environment(url: str) -> dict[str, str]:
    env = harness.app_environment(url)
    env.update(
        {
            **harness.redis_environment(prefix=CACHE_PREFIX, broker_url=BROKER_URL),
            # DEBUG is off, and the shoppers pay through the sandbox: switch it on.
            "SANDBOX_ENABLED": "true",
            "SANDBOX_WEBHOOK_SECRET": SANDBOX_SECRET,
            "CARRIER_WEBHOOK_SECRET": CARRIER_SECRET,
            "EMAIL_URL": "dummymail://",
        }
    )
    return env


def prepare_database(*, products: int, reseed: bool) -> tuple[str, dict[str, str]]:
    url = harness.suite_database_url("soak")
    env = environment(url)
    harness.seeded_database_prepare(url, env, products=products, reseed=reseed)
    return url, env


def django_side(command: str, env: dict[str, str], payload: dict) -> Any:
    return harness.child_json(
        [str(Path(__file__).resolve()), command, json.dumps(payload)],
        env,
        what=f"`{command}`",
        timeout=1800,
    )


def broker_clear() -> None:
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    client.delete(
        "celery", "unacked", "unacked_index", "unacked_mutex", *client.scan_iter("_kombu.*")
    )


def traffic(url: str, setup: dict, options: argparse.Namespace) -> dict:
    """What the visitors ask for: list pages, categories, searches, product pages."""
    categories = [
        row[0]
        for row in harness.query_all(
            url,
            """
            SELECT c.slug FROM catalog_category c
            JOIN catalog_product p ON p.category_id = c.id AND p.is_active
            GROUP BY c.id ORDER BY count(*) DESC, c.id LIMIT 20
            """,
        )
    ]
    names = [
        row[0]
        for row in harness.query_all(
            url, "SELECT name FROM catalog_product WHERE is_active ORDER BY id LIMIT 3000"
        )
    ]
    # Pages the shop shows: an inactive product or merchant answers 404, as it should.
    slugs = [
        row[0]
        for row in harness.query_all(
            url,
            """
            SELECT p.slug FROM catalog_product p
            JOIN catalog_merchant m ON m.id = p.merchant_id AND m.is_active
            WHERE p.is_active ORDER BY p.id
            """,
        )
    ]
    shown = set(slugs)
    return {
        "list_paths": [
            "/products/",
            *(f"/products/?page={n}" for n in range(2, 6)),
            "/products/?ordering=-rating",
            "/products/?ordering=price",
            "/products/?in_stock=on",
        ],
        "categories": categories,
        "search_terms": [quote_plus(t) for t in catalog_suite.search_terms(names, count=40)],
        "popular_slugs": [
            slug for slug in catalog_suite._product_slugs(url, POPULAR_PAGES) if slug in shown
        ],
        "all_slugs": slugs,
        "browsers": options.soak_browsers,
        "browser_rate": options.soak_browser_rate,
        "shoppers_count": options.soak_shoppers,
        "journey_rate": options.soak_journey_rate,
        "staff_rate": 0.2,
        "carrier_rate": 2.0,
        "password": PASSWORD,
        "sandbox_secret": SANDBOX_SECRET,
        "carrier_secret": CARRIER_SECRET,
        "address": ADDRESS,
        **setup,
    }


# --- The processes -------------------------------------------------------------------------


@contextlib.contextmanager
def celery_beat(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """`celery -A shop beat` as deployed, its schedule in a temporary directory; always
    stopped (TERM to its process group, then KILL)."""
    with tempfile.TemporaryDirectory(prefix="bench-soak-beat-") as directory:
        log_path = Path(directory) / "beat.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    harness.PYTHON, "-m", "celery", "-A", "shop", "beat", "--loglevel=INFO",
                    "--schedule", str(Path(directory) / "schedule"),
                ],
                cwd=harness.ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while "beat: Starting" not in log_path.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(
                        "celery beat did not start:\n" + log_path.read_text(errors="replace")
                    )
                time.sleep(0.2)
            yield process
        finally:
            harness.stop_process_group(process)


def process_tree(*, port: int, worker_hostname: str, pids: dict[str, int]) -> dict[str, Any]:
    """{name: psutil.Process} of the stack: gunicorn's master and workers (found by the port
    they serve), the Celery worker and its pool child (by its hostname), and `pids`."""
    import psutil

    found: dict[str, Any] = {}
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "gunicorn" in cmdline and f"127.0.0.1:{port}" in cmdline:
            if process.parent() and f"127.0.0.1:{port}" in " ".join(process.parent().cmdline()):
                continue  # a worker: listed below, with its master
            found[f"gunicorn master (pid {process.pid})"] = process
            for child in sorted(process.children(), key=lambda p: p.pid):
                found[f"gunicorn worker (pid {child.pid})"] = child
        elif "celery" in cmdline and worker_hostname in cmdline:
            if process.parent() and worker_hostname in " ".join(process.parent().cmdline()):
                continue
            found[f"celery worker (pid {process.pid})"] = process
            for child in process.children():
                found[f"celery worker pool child (pid {child.pid})"] = child
    for name, pid in pids.items():
        with contextlib.suppress(psutil.NoSuchProcess):
            found[f"{name} (pid {pid})"] = psutil.Process(pid)
    return found


class MemorySampler:
    """Samples the RSS of the stack's processes every `every` seconds in a thread; the
    process tree is looked up again each time, so a restarted worker shows as a new row."""

    def __init__(self, find: Any, every: float) -> None:
        self.find, self.every = find, every
        self.samples: list[dict] = []
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> None:
        import psutil

        rss = {}
        for name, process in self.find().items():
            with contextlib.suppress(psutil.NoSuchProcess):
                rss[name] = process.memory_info().rss
        self.samples.append({"t": time.monotonic() - self.started, "rss": rss})

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def locust_run(base_url: str, config: dict, *, seconds: int, sampler_pids: dict) -> dict:
    """Run the scenario headless for `seconds`; returns what the locustfile wrote."""
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as directory:
        config_path, output_path = Path(directory) / "config.json", Path(directory) / "out.json"
        config_path.write_text(json.dumps(config))
        users = config["browsers"] + config["shoppers_count"] + len(config["staff"]) + 1
        command = [
            harness.PYTHON, "-m", "locust", "-f", str(BENCH_DIR / "soak_locustfile.py"),
            "--headless", "--users", str(users), "--spawn-rate", str(users),
            "--run-time", f"{seconds}s", "--stop-timeout", str(LOCUST_STOP_TIMEOUT),
            "--host", base_url, "--only-summary", "--loglevel", "WARNING",
            "--exit-code-on-error", "0",
        ]  # fmt: skip
        log(f"locust: {users} users for {seconds} s")
        env = {**os.environ, "SOAK_CONFIG": str(config_path), "SOAK_OUTPUT": str(output_path)}
        with (Path(directory) / "locust.log").open("w+") as locust_log:
            process = subprocess.Popen(
                command, cwd=harness.ROOT, env=env, stdout=locust_log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            sampler_pids["locust (load generator)"] = process.pid
            try:
                process.wait(timeout=seconds + LOCUST_STOP_TIMEOUT + 120)
            finally:
                harness.stop_process_group(process)
            locust_log.seek(0)
            tail = locust_log.read()[-4000:]
        if process.returncode != 0 or not output_path.exists():
            raise BenchError(f"locust failed ({process.returncode}):\n{tail}")
        return json.loads(output_path.read_text())


def wait_drained(url: str, *, timeout: float = DRAIN_TIMEOUT) -> float:
    """Wait until the broker holds no task (queued or unacknowledged), no callback waits in
    the inbox and no coalesced recomputation is pending, three looks in a row; returns the
    seconds it took."""
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    started = time.monotonic()
    quiet = 0
    while quiet < 3:
        busy = (
            client.llen("celery")
            + client.hlen("unacked")
            + harness.query_all(
                url, "SELECT count(*) FROM payments_webhookevent WHERE status = 'received'"
            )[0][0]
            + harness.query_all(url, "SELECT count(*) FROM core_pendingmark")[0][0]
        )
        quiet = 0 if busy else quiet + 1
        if time.monotonic() - started > timeout:
            raise BenchError(f"the queues were not drained within {timeout:.0f} s ({busy} left)")
        time.sleep(1)
    return time.monotonic() - started


def warm(base_url: str, config: dict, workers: int) -> None:
    """Every list, category and popular product page once: the run starts as a shop that
    has been open for a while, not from a cold cache."""
    paths = [
        "/",
        *config["list_paths"],
        *(f"/c/{slug}/" for slug in config["categories"]),
        *(f"/p/{slug}/" for slug in config["popular_slugs"]),
    ]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        statuses = list(pool.map(lambda path: harness.http_get(base_url + path)[0], paths))
    bad = [path for path, status in zip(paths, statuses, strict=True) if status != 200]
    if bad:
        raise BenchError(f"pages did not answer 200 while warming up: {bad[:5]}")


def run(options: argparse.Namespace) -> dict:
    seconds = max(10, round(options.soak_minutes * 60))
    url, env = prepare_database(products=options.products, reseed=options.reseed)
    log("soak: resetting orders, payments, shipments, reviews and carts; making the users")
    setup = django_side("setup", env, {"shoppers": options.soak_shoppers, "pool": POOL_SIZE})
    config = traffic(url, setup, options)
    harness.cache_clear(CACHE_PREFIX)
    broker_clear()
    hostname = f"bench-soak-{uuid.uuid4().hex[:8]}@%h"
    pids: dict[str, int] = {}
    try:
        with (
            harness.gunicorn(
                "shop.wsgi:application", env=env, config=options.server,
                probe_path="/products/", name="the shop",
            ) as base_url,
            harness.celery_worker(env, hostname=hostname),
        ):  # fmt: skip
            with celery_beat(env) as beat:
                pids["celery beat"] = beat.pid
                log("soak: warming the page cache (every list, category and popular page once)")
                warm(base_url, config, options.server.workers)
                port = urlsplit(base_url).port or 80

                def find() -> dict[str, Any]:
                    return process_tree(
                        port=port, worker_hostname=hostname.split("@")[0], pids=pids
                    )

                with MemorySampler(find, every=max(2.0, seconds / 40)) as sampler:
                    load = locust_run(base_url, config, seconds=seconds, sampler_pids=pids)
                pids.pop("locust (load generator)", None)
            log("soak: beat stopped; waiting for the worker to drain the queues")
            drained = wait_drained(url)
        log("soak: running the drift checks")
        checks = django_side("checks", env, {})
    finally:
        broker_clear()
        harness.cache_clear(CACHE_PREFIX)
    return report(options, load, sampler.samples, checks, drained=drained, config=config)


# --- The report ----------------------------------------------------------------------------


def report(
    options: argparse.Namespace,
    load: dict,
    samples: list[dict],
    checks: list[dict],
    *,
    drained: float,
    config: dict,
) -> dict:
    seconds = (load["stopped"] or 0) - (load["started"] or 0)
    request_table = harness.format_table(
        ["request", "requests", "errors", "req/s", "p50 ms", "p99 ms", "max ms"],
        soak_scenario.request_rows(load["timings"], load["failures"], seconds),
    )
    errors = load["errors"]
    error_table = (
        harness.format_table(
            ["error", "count", "requests", "examples"],
            [
                [
                    kind,
                    e["count"],
                    ", ".join(f"{r}: {n}" for r, n in e["requests"].items()),
                    " / ".join(e["examples"]),
                ]
                for kind, e in sorted(errors.items(), key=lambda item: -item[1]["count"])
            ],
        )
        if errors
        else "No errors."
    )
    memory_table = harness.format_table(
        [
            "process",
            "RSS start MB",
            "RSS end MB",
            "change MB",
            "2nd half MB",
            "max MB",
            "sampled s",
        ],
        soak_scenario.memory_rows(samples),
    )
    cache = load["cache"]
    every = {
        key: sum(counts.get(key, 0) for counts in cache.values())
        for key in ("hit", "miss", "other")
    }
    cache_rows = [
        [name, counts.get("hit", 0), counts.get("miss", 0), counts.get("other", 0),
         f"{soak_scenario.hit_rate(counts):.1%}"]
        for name, counts in sorted(cache.items())
    ]  # fmt: skip
    cache_rows.append(
        ["all anonymous", every["hit"], every["miss"], every["other"],
         f"{soak_scenario.hit_rate(every):.1%}"]
    )  # fmt: skip
    cache_table = harness.format_table(["page", "hit", "miss", "other", "hit rate"], cache_rows)
    checks_table = harness.format_table(
        ["drift check", "source", "result", "detail"],
        [[c["check"], c["source"], "clean" if c["ok"] else "DRIFT", c["detail"]] for c in checks],
    )
    flow = load["flow"]
    anonymous = sum(sum(counts.values()) for counts in cache.values())
    offered_pages = options.soak_browsers * options.soak_browser_rate
    offered_journeys = options.soak_shoppers * options.soak_journey_rate
    paid = soak_scenario.percentile
    paid_after = sorted(load["paid_after_ms"])
    ok = not errors and all(c["ok"] for c in checks)
    table = "\n\n".join(
        [
            request_table,
            "Errors by kind:\n\n" + error_table,
            "Memory (RSS) of every process:\n\n" + memory_table,
            "Anonymous page cache (`X-Page-Cache` of every anonymous answer; other: "
            "rendered but not stored, e.g. past the budget for pages with open "
            "parameters):\n\n" + cache_table,
            "Drift checks, after the queues drained:\n\n" + checks_table,
        ]
    )
    notes = [
        f"Load: {seconds:.0f} s of locust (`--soak-minutes {options.soak_minutes:g}`), "
        f"{options.soak_browsers} anonymous visitors at {options.soak_browser_rate:g} page/s "
        f"each, {options.soak_shoppers} shoppers at {options.soak_journey_rate:g} purchase "
        f"journey/s each, {len(config['staff'])} merchant staff (one per merchant) and a "
        "carrier; `constant_throughput`, so the rate is fixed while the shop keeps up. "
        f"Offered: {offered_pages:g} anonymous pages/s and {offered_journeys:g} purchase "
        f"journeys/s; served: {anonymous / seconds if seconds else 0:.2f} anonymous pages/s "
        f"and {flow.get('orders placed', 0) / seconds if seconds else 0:.2f} orders/s.",
        "Journeys: "
        + ", ".join(f"{name} {count}" for name, count in sorted(flow.items()))
        + f"; callback POST → order seen paid by its shopper: p50 {paid(paid_after, 0.5):.0f} "
        f"ms, p99 {paid(paid_after, 0.99):.0f} ms (polled every 0.5 s); "
        f"{load['parcels_left']} parcels shipped in the last seconds had no delivery "
        "report yet when the load stopped (in transit or just shipped: the books allow it).",
        f"Stack: {options.server.describe()} (DEBUG=False), one Celery worker "
        "(`--concurrency=1`, prefork) and `celery beat`, Redis and PostgreSQL, "
        f"{options.products} products; the queues drained {drained:.0f} s after the load "
        "(beat stopped first), then the drift checks ran.",
        "Memory: the first sample is taken when the load starts (after one request for "
        "each list, category and popular product page), the last when it ends.",
        "The machine is shared: other engineers' tests and benchmarks ran beside this one, "
        "so the latencies are this machine's on a busy day, not the shop's best.",
    ]
    return {
        "suite": NAME,
        "table": table,
        "notes": notes,
        "ok": ok,
        "data": {"load": load, "memory": samples, "checks": checks, "drained_s": drained},
    }


# --- The Django side (a child process with the production-like environment) ----------------


def _setup(payload: dict) -> dict:
    """Start from no orders, payments, shipments, reviews or carts; a pool of products with
    ample stock; shoppers, and one staff user per merchant."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from catalog.models import Merchant, Product, Variant
    from catalog.services import merchant_staff_set, product_summary_refresh
    from fulfilment.models import Carrier
    from orders.selectors import stock_drift
    from reviews.services import product_rating_recompute
    from shipping.models import ShippingMethod
    from shop.core.models import IdempotencyKey, OutboxEmail, PendingMark, UnsentVersionBump
    from shop.core.shop import shop_currency_stored

    User = get_user_model()
    kept = {Carrier}
    tables = [
        model._meta.db_table
        for label in ("cart", "orders", "payments", "fulfilment", "reviews")
        for model in apps.get_app_config(label).get_models()
        if model not in kept and not model._meta.proxy
    ] + [m._meta.db_table for m in (IdempotencyKey, OutboxEmail, PendingMark, UnsentVersionBump)]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(sorted(set(tables)))} CASCADE")
        User.objects.filter(email__endswith=f"@{DOMAIN}").delete()
        Variant.objects.filter(reserved__gt=0).update(reserved=0)
        currency = shop_currency_stored()
        products = list(
            Product.objects.active()
            .filter(variants__is_active=True, currency=currency)
            .distinct()
            .order_by("id")
            .values_list("id", flat=True)
        )
        step = max(1, len(products) // payload["pool"])
        chosen = products[::step][: payload["pool"]]
        variants: dict[int, Variant] = {}
        for variant in (
            Variant.objects.filter(product_id__in=chosen, is_active=True)
            .select_related("product")
            .order_by("pk")
        ):
            variants.setdefault(variant.product_id, variant)
        Variant.objects.filter(pk__in=[v.pk for v in variants.values()]).update(stock=1_000_000)
        product_summary_refresh(product_ids=list(variants))
        product_rating_recompute()

        password = make_password(PASSWORD)  # one hash for all: hashing is slow by design
        shoppers = User.objects.bulk_create(
            User(email=f"shopper-{n}@{DOMAIN}", name=f"Soak Shopper {n}", password=password)
            for n in range(payload["shoppers"])
        )
        staff = []
        for merchant in Merchant.objects.order_by("pk"):
            user = User.objects.create(
                email=f"staff-{merchant.slug}@{DOMAIN}", name="Soak Staff", password=password
            )
            merchant_staff_set(merchant=merchant, users=[*merchant.staff.all(), user])
            staff.append({"email": user.email, "merchant": merchant.pk})
    method = ShippingMethod.objects.filter(is_active=True, countries=[]).order_by("pk").first()
    carrier = Carrier.objects.filter(is_active=True, is_sandbox=True).order_by("pk").first()
    if method is None or carrier is None:
        raise SystemExit("the soak database has no worldwide shipping method or sandbox carrier")
    drift = stock_drift()
    if drift:
        raise SystemExit(f"stock drift before the run: {drift[:5]}")
    return {
        "shoppers": [{"email": user.email} for user in shoppers],
        "staff": staff,
        "pool": [
            {
                "product": variant.product_id,
                "slug": variant.product.slug,
                "product_name": variant.product.name,
                "variant": variant.pk,
            }
            for variant in variants.values()
        ],
        "shipping_method": method.pk,
        "carrier": carrier.slug,
    }


def _checks(payload: dict) -> list[dict]:
    import soak_checks

    return soak_checks.run_all()


def _django_main(command: str, payload: dict) -> Any:
    sys.path.insert(0, str(harness.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    return {"setup": _setup, "checks": _checks}[command](payload)


if __name__ == "__main__":
    print(json.dumps(_django_main(sys.argv[1], json.loads(sys.argv[2])), default=str))
