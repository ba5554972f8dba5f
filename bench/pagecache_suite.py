"""The `pagecache` suite: the anonymous page cache's hit rate under a steady write stream.

wrk loads product pages and list pages anonymously (the catalog suite's 200 product pages;
the product list and its pages, sorted and filtered lists, category pages, searches, the
home page) while a writer process (bench/pagecache_writer.py) sells and takes back the last
unit of hot products and posts reviews at a steady rate, through the shop's services, and
one Celery worker recomputes the rating figures. The hit rate is counted from every
answer's X-Page-Cache header, per group (product pages, lists).

`--before REV` measures a git revision (exported with `git archive` to a temporary
directory) the same way first, so the table shows the hit rate before and after a change
to the page cache; the database, the targets, the load and the write stream are the same.

Own database (`bazaar_bench_pagecache`, seeded like the catalog's) and cache key prefix;
the Celery broker is the reviews suite's database (12, `BENCH_PAGECACHE_BROKER_URL`), which
both suites empty before and after use (suites run one after the other).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote_plus

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import catalog_suite  # noqa: E402
import harness  # noqa: E402
from harness import BenchError, LoadConfig, ServerConfig, log  # noqa: E402

NAME = "pagecache"
DESCRIPTION = (
    "page-cache hit rate of product pages and lists while sales and reviews stream in "
    "(--before REV: the same for an older revision)"
)

BROKER_URL = harness.suite_broker_url("BENCH_PAGECACHE_BROKER_URL", 3)
CACHE_PREFIX = "bazaar-bench-pagecache"
BUYER_DOMAIN = "pagecache-bench.example"
PRODUCT_PAGES = 200
HOT_EVERY = 10  # every 10th product page is a hot product: its stock is one unit
ADDRESS = {
    "full_name": "Bench Buyer",
    "line1": "1 Bench Street",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}
WRITER_BOOT_TIMEOUT = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pagecache suite")
    group.add_argument(
        "--sales-rate", type=float, default=1.0, help="last units sold per second (each taken back)"
    )
    group.add_argument(
        "--hold", type=float, default=2.0, help="seconds a sold unit stays sold before its cancel"
    )
    group.add_argument("--reviews-rate", type=float, default=1.0, help="reviews per second")
    group.add_argument(
        "--before",
        metavar="REV",
        help="also measure this git revision (e.g. the commit a page-cache change started from)",
    )


# --- Preparation -------------------------------------------------------------------------


def prepare_database(*, products: int, reseed: bool) -> tuple[str, dict[str, str]]:
    url = harness.suite_database_url("pagecache")
    env = harness.app_environment(url)
    env.update(harness.redis_environment(prefix=CACHE_PREFIX, broker_url=BROKER_URL))
    harness.seeded_database_prepare(url, env, products=products, reseed=reseed)
    return url, env


def list_paths(url: str) -> list[str]:
    """The list pages a visitor browses: the product list and its next pages, sorted and
    filtered lists, the biggest categories, searches, the home page."""
    categories = [
        row[0]
        for row in harness.query_all(
            url,
            """
            SELECT c.slug FROM catalog_category c
            JOIN catalog_product p ON p.category_id = c.id AND p.is_active
            GROUP BY c.id ORDER BY count(*) DESC, c.id LIMIT 5
            """,
        )
    ]
    names = [
        row[0]
        for row in harness.query_all(
            url, "SELECT name FROM catalog_product WHERE is_active ORDER BY id LIMIT 3000"
        )
    ]
    terms = catalog_suite.search_terms(names, count=5)
    return [
        "/",
        "/products/",
        *(f"/products/?page={n}" for n in range(2, 6)),
        "/products/?ordering=-rating",
        "/products/?ordering=price",
        "/products/?in_stock=on",
        *(f"/c/{slug}/" for slug in categories),
        *(f"/search/?q={quote_plus(term)}" for term in terms),
    ]


def django_side(command: str, env: dict[str, str], payload: dict) -> dict:
    return harness.child_json(
        [str(Path(__file__).resolve()), command, json.dumps(payload)],
        env,
        what=f"`{command}`",
        timeout=900,
    )


def _setup(payload: dict) -> dict:
    """Undo the previous run (its buyers, orders, reviews, reservations), give every hot
    product exactly one unit (one variant with stock 1, the others 0), and make the buyers:
    one who buys the hot units, and reviewers who bought every product page's product."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from catalog.models import Product, Variant
    from catalog.services import product_summary_refresh
    from orders.models import Order, OrderLine
    from reviews.models import Review
    from reviews.services import product_rating_recompute
    from shipping.models import ShippingMethod

    User = get_user_model()
    products = Product.objects.in_bulk(payload["slugs"], field_name="slug")
    pages = [products[slug] for slug in payload["slugs"] if slug in products]
    hot = pages[::HOT_EVERY]
    old = User.objects.filter(email__endswith=f"@{BUYER_DOMAIN}")
    touched = list(
        Review.objects.filter(author__in=old).values_list("product_id", flat=True).distinct()
    )
    with transaction.atomic():
        Review.objects.filter(author__in=old).delete()
        Order.objects.filter(user__in=old).delete()
        old.delete()
        # Only this suite's buyers order in this database: nothing else holds a unit.
        Variant.objects.filter(product__in=hot).update(reserved=0, stock=0)
        firsts = [
            Variant.objects.filter(product=product, is_active=True).order_by("pk").first()
            for product in hot
        ]
        hot_variants = [v for v in firsts if v is not None]
        Variant.objects.filter(pk__in=[v.pk for v in hot_variants]).update(stock=1)
        product_summary_refresh(product_ids=[p.pk for p in hot])
        if touched:
            product_rating_recompute(product_ids=touched)

    method = ShippingMethod.objects.filter(is_active=True, countries=[]).order_by("pk").first()
    if method is None:
        raise SystemExit("the bench database has no shipping method for every country")
    variants: dict[int, Variant] = {}
    for variant in Variant.objects.filter(product__in=pages, is_active=True).order_by("pk"):
        variants.setdefault(variant.product_id, variant)
    review_products = [p for p in pages if p.pk in variants]

    with transaction.atomic():
        buyer = User.objects.create(email=f"seller-{uuid.uuid4().hex[:8]}@{BUYER_DOMAIN}")
        reviewers = User.objects.bulk_create(
            User(email=f"reviewer-{n}@{BUYER_DOMAIN}", password="!")
            for n in range(payload["reviewers"])
        )
        orders = Order.objects.bulk_create(
            Order(
                user=user,
                email=user.email,
                status=Order.Status.PAID,
                payment_status=Order.PaymentStatus.PAID,
                currency="USD",
                subtotal_amount=Decimal("1.00"),
                shipping_amount=Decimal("0.00"),
                total_amount=Decimal("1.00"),
                shipping_method_name="Standard",
                ship_full_name="Bench Buyer",
                ship_line1="1 Bench St",
                ship_city="Springfield",
                ship_postal_code="12345",
                ship_country="US",
            )
            for user in reviewers
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                variant=variants[product.pk],
                product=product,
                merchant_id=product.merchant_id,
                product_name=product.name,
                variant_name=variants[product.pk].name,
                sku=variants[product.pk].sku,
                merchant_name="Bench merchant",
                unit_price_amount=variants[product.pk].price_amount,
                quantity=1,
                line_total_amount=variants[product.pk].price_amount,
                currency=variants[product.pk].currency,
            )
            for order in orders
            for product in review_products
        )
    return {
        "hot_variant_ids": [v.pk for v in hot_variants],
        "review_product_ids": [p.pk for p in review_products],
        "buyer_id": buyer.pk,
        "reviewer_ids": [u.pk for u in reviewers],
        "shipping_method_id": method.pk,
        "touched_before": len(touched),
    }


def _cleanup(payload: dict) -> dict:
    """Leave no reservation behind (the writer cancels its orders; this is the backstop)."""
    from catalog.models import Variant
    from orders.models import Order

    pending = Order.objects.filter(
        user__email__endswith=f"@{BUYER_DOMAIN}", status=Order.Status.PENDING_PAYMENT
    ).count()
    reserved = Variant.objects.filter(pk__in=payload["hot_variant_ids"]).values_list(
        "reserved", flat=True
    )
    return {"pending_orders_left": pending, "reserved": sum(reserved)}


def broker_clear() -> None:
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    client.delete(
        "celery", "unacked", "unacked_index", "unacked_mutex", *client.scan_iter("_kombu.*")
    )


# --- One measurement ---------------------------------------------------------------------


@contextlib.contextmanager
def checkout(revision: str):
    """The files of `revision` in a temporary directory (`git archive`: the repository
    and its work trees are left alone)."""
    with tempfile.TemporaryDirectory(prefix="bench-pagecache-") as directory:
        archive = subprocess.run(
            ["git", "archive", revision], cwd=harness.ROOT, capture_output=True, check=False
        )
        if archive.returncode != 0:
            raise BenchError(f"git archive {revision}: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", directory], input=archive.stdout, check=True)
        yield Path(directory)


@contextlib.contextmanager
def writer(env: dict[str, str], payload: dict):
    """The writer process (bench/pagecache_writer.py); yields once it is ready and, on the
    way out, waits for its report (it stops by itself after `seconds`)."""
    process = subprocess.Popen(
        [harness.PYTHON, str(BENCH_DIR / "pagecache_writer.py"), json.dumps(payload)],
        cwd=payload["code"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    report: dict = {}
    try:
        deadline = time.monotonic() + WRITER_BOOT_TIMEOUT
        line = process.stdout.readline() if process.stdout else ""
        if line.strip() != "READY" or time.monotonic() > deadline:
            raise BenchError(f"the writer did not start:\n{line}{process.stderr.read()[-3000:]}")
        yield report
        out, err = process.communicate(timeout=payload["seconds"] + 120)
        if process.returncode != 0:
            raise BenchError(f"the writer failed ({process.returncode}):\n{err[-3000:]}")
        report.update(json.loads(out.strip().splitlines()[-1]))
    finally:
        harness.stop_process_group(process)


def _load(base_url: str, paths: list[str], config: LoadConfig, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", prefix="bench-wrk-", suffix=".txt") as paths_file:
        paths_file.write("\n".join(paths) + "\n")
        paths_file.flush()
        load, data = harness.wrk_script_run(
            BENCH_DIR / "wrk_pagecache.lua",
            base_url + paths[0],
            [paths_file.name],
            config,
            seconds=seconds,
        )
    return {"load": load, "cache": data["cache"]}


def measure(
    label: str,
    code: Path,
    *,
    url: str,
    env: dict[str, str],
    targets: dict[str, list[str]],
    options: argparse.Namespace,
) -> dict:
    """One run: fresh state, the shop and a worker from `code`, the writer, and wrk on the
    product pages and the lists at the same time."""
    load: LoadConfig = options.load
    server: ServerConfig = options.server
    reviews_needed = int(options.reviews_rate * (load.warmup + load.duration + 30)) + 1
    setup = django_side(
        "setup",
        env,
        {
            "slugs": [path.split("/")[2] for path in targets["product"]],
            "reviewers": max(1, -(-reviews_needed // PRODUCT_PAGES)),
        },
    )
    harness.cache_clear(CACHE_PREFIX)
    broker_clear()
    if code != harness.ROOT:
        harness.manage(["collectstatic", "--noinput"], env, quiet=True, code=code)
    # Connections split by the share of paths: both groups are loaded at once.
    product_connections = max(1, load.connections * 3 // 4)
    configs = {
        "product": replace(load, connections=product_connections, threads=1),
        "list": replace(
            load, connections=max(1, load.connections - product_connections), threads=1
        ),
    }
    payload = {
        **setup,
        "code": str(code),
        "address": ADDRESS,
        "sales_rate": options.sales_rate,
        "reviews_rate": options.reviews_rate,
        "hold": options.hold,
        # Writes run through the warm-up and the measurement, and a little past both.
        "seconds": load.warmup + load.duration + 2,
    }
    name = f"bench-pagecache-{uuid.uuid4().hex[:8]}@%h"
    with (
        harness.gunicorn(
            "shop.wsgi:application",
            env=env,
            config=server,
            probe_path="/products/",
            name=f"the shop ({label})",
            code=code,
        ) as base_url,
        harness.celery_worker(env, hostname=name, code=code),
        ThreadPoolExecutor(max_workers=server.workers) as pool,
    ):
        # Every page once, before any write: both runs start from the same warm cache.
        log(f"{label}: asking for each of the {sum(map(len, targets.values()))} pages once")
        warmed = list(pool.map(lambda path: harness.http_get(base_url + path)[0], [
            path for paths in targets.values() for path in paths
        ]))  # fmt: skip
        if any(status != 200 for status in warmed):
            raise BenchError(f"{label}: a page did not answer 200 while warming the cache")
        results, written = _measure_with_writes(
            env, payload, pool, base_url, targets=targets, configs=configs, label=label
        )
    cleanup = django_side("cleanup", env, {"hot_variant_ids": setup["hot_variant_ids"]})
    broker_clear()
    harness.cache_clear(CACHE_PREFIX)
    log(f"{label}: writer {written}")
    return {"label": label, "results": results, "writer": written, "cleanup": cleanup}


def _measure_with_writes(
    env: dict[str, str],
    payload: dict,
    pool: ThreadPoolExecutor,
    base_url: str,
    *,
    targets: dict[str, list[str]],
    configs: dict[str, LoadConfig],
    label: str,
) -> tuple[dict, dict]:
    """wrk on both groups at once while the writer streams sales and reviews: a warm-up,
    then the measured run. Returns the measured results and the writer's report."""
    warmup, duration = configs["product"].warmup, configs["product"].duration
    with writer(env, payload) as written:
        log(f"{label}: warming up for {warmup} s with the writes streaming")
        list(pool.map(lambda key: _load(base_url, targets[key], configs[key], warmup), configs))
        log(f"{label}: measuring for {duration} s")
        loads = pool.map(lambda key: _load(base_url, targets[key], configs[key], duration), configs)
        results = dict(zip(configs, loads, strict=True))
    return results, written


def _rate(cache: dict) -> float:
    total = cache["hit"] + cache["miss"] + cache["other"]
    return cache["hit"] / total if total else 0.0


def run(options: argparse.Namespace) -> dict:
    harness.ensure_wrk()
    url, env = prepare_database(products=options.products, reseed=options.reseed)
    targets = {
        "product": [f"/p/{slug}/" for slug in catalog_suite._product_slugs(url, PRODUCT_PAGES)],
        "list": list_paths(url),
    }
    runs = []
    try:
        if options.before:
            with checkout(options.before) as old_code:
                runs.append(
                    measure(
                        f"before ({options.before})",
                        old_code,
                        url=url,
                        env=env,
                        targets=targets,
                        options=options,
                    )
                )
        runs.append(
            measure(
                "after (this checkout)",
                harness.ROOT,
                url=url,
                env=env,
                targets=targets,
                options=options,
            )
        )
    finally:
        broker_clear()
        harness.cache_clear(CACHE_PREFIX)
    return _report(options, runs, targets)


def _report(options: argparse.Namespace, runs: list[dict], targets: dict) -> dict:
    rows = []
    ok = True
    for measured in runs:
        results, written = measured["results"], measured["writer"]
        product, listing = results["product"], results["list"]
        both = {
            key: product["cache"][key] + listing["cache"][key] for key in ("hit", "miss", "other")
        }
        done = written.get("done", {})
        errors = sum(written.get("errors", {}).values())
        http_errors = product["load"].error_count + listing["load"].error_count
        ok = ok and not errors and not http_errors and not measured["cleanup"]["reserved"]
        rows.append(
            [
                measured["label"],
                f"{_rate(product['cache']):.1%}",
                f"{_rate(listing['cache']):.1%}",
                f"{_rate(both):.1%}",
                f"{product['load'].rps + listing['load'].rps:.0f}",
                f"{done.get('placed', 0)} / {done.get('cancelled', 0)} / {done.get('reviewed', 0)}"
                f" in {written.get('seconds', 0):.0f} s",
                f"{errors} / {http_errors}",
            ]
        )
    table = harness.format_table(
        [
            "code",
            "product pages hit rate",
            "lists hit rate",
            "all",
            "req/s",
            "last units sold / taken back / reviews",
            "write / HTTP errors",
        ],
        rows,
    )
    notes = [
        "Every page was asked for once before the writes started (both runs start warm). "
        f"Traffic: {len(targets['product'])} product pages (the catalog suite's) and "
        f"{len(targets['list'])} list pages (the product list and pages 2-5, sorted by rating "
        "and by price, in stock only, the five biggest categories, five searches, the home "
        "page), loaded at once by two wrk processes (3/4 and 1/4 of the connections), "
        "anonymous; the hit rate is the share of answers with `X-Page-Cache: hit`.",
        f"Writes: sales at {options.sales_rate:g}/s (order_place of the only unit of one of "
        f"{PRODUCT_PAGES // HOT_EVERY} hot products, every 10th product page, taken back by "
        f"order_cancel {options.hold:g} s later) and reviews at {options.reviews_rate:g}/s "
        "(review_create, on the product pages' products in turn), from "
        "one process, through the warm-up and the measurement; one Celery worker recomputes "
        "the figures (coalesced, 2 s).",
        f"Server: {options.server.describe()}, DEBUG=False; load: {options.load.describe()} "
        "split over the two groups. Each run starts from a cold cache and the same stock.",
    ]
    return {
        "suite": NAME,
        "table": table,
        "notes": notes,
        "ok": ok,
        "data": {"runs": runs, "targets": targets},
    }


# --- Entry point of the Django-side subprocess -------------------------------------------


def _django_main(command: str, payload: dict) -> dict:
    sys.path.insert(0, str(harness.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    return {"setup": _setup, "cleanup": _cleanup}[command](payload)


if __name__ == "__main__":
    print(json.dumps(_django_main(sys.argv[1], json.loads(sys.argv[2]))))
