"""The `fulfilment` suite: carrier tracking callbacks taken in per second, and the time from
a callback's POST to its shipment updated with one Celery worker.

- Intake: `wrk` POSTs distinct, correctly signed tracking events (in_transit) to
  `/shipping/webhooks/sandbox/` of the shop under gunicorn (DEBUG=False). Each 2xx means the
  event was verified, stored in the inbox and queued. The minimal Django view is measured
  right before, for a ratio, as in the payments suite (whose intake shares the inbox).
- End to end: paid orders, each shipped with the sandbox carrier, get an in_transit callback
  POSTed at a steady rate (then all at once) while one real worker applies them; latency is
  the shipment event's recorded time minus the moment its POST was sent.

The Django side (placing, paying and shipping orders) runs in a child process of this file
(`python bench/fulfilment_suite.py prepare COUNT`) with the production-like environment.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import BenchError, log

NAME = "fulfilment"
DESCRIPTION = "carrier callbacks accepted per second; callback POST → shipment updated, 1 worker"

CARRIER = "sandbox"
WEBHOOK_PATH = f"/shipping/webhooks/{CARRIER}/"
WRK_SCRIPT = harness.BENCH_DIR / "wrk_webhooks.lua"
CARRIER_SECRET = "bench-carrier-webhook-secret-0123456789"
SANDBOX_SECRET = "bench-sandbox-webhook-secret-0123456789"
# The payments suite's broker database: suites run one after the other, and each empties
# its broker before and after.
BROKER_URL = harness.suite_broker_url("BENCH_FULFILMENT_BROKER_URL", 2)
CACHE_PREFIX = "bazaar-bench-fulfilment"
BODIES_PER_SECOND = 4000
UPDATED_TIMEOUT = 180.0
BUYER_EMAIL = "bench-fulfilment-buyer@bench-buyers.invalid"
STAFF_EMAIL = "bench-fulfilment-staff@bench-buyers.invalid"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fulfilment suite")
    group.add_argument(
        "--shipment-count",
        type=int,
        default=200,
        help="shipments tracked end to end in each of the steady and burst runs (default 200)",
    )
    group.add_argument(
        "--tracking-rate",
        type=float,
        default=20.0,
        help="carrier callbacks per second in the steady end-to-end run (default 20)",
    )


def environment(url: str) -> dict[str, str]:
    env = harness.app_environment(url)
    env.update(
        {
            **harness.redis_environment(prefix=CACHE_PREFIX, broker_url=BROKER_URL),
            # The orders are paid through the sandbox, off with DEBUG=False unless enabled.
            "SANDBOX_ENABLED": "true",
            "SANDBOX_WEBHOOK_SECRET": SANDBOX_SECRET,
            "CARRIER_WEBHOOK_SECRET": CARRIER_SECRET,
            "EMAIL_URL": "dummymail://",
        }
    )
    return env


def prepare_database() -> tuple[str, dict[str, str]]:
    url = harness.suite_database_url("fulfilment")
    env = environment(url)
    if not harness.database_exists(url):
        log(f"creating database {urlsplit(url).path.lstrip('/')}")
        harness.database_create(url)
    harness.manage(["migrate", "--noinput"], env, quiet=True)
    harness.manage(["collectstatic", "--noinput"], env, quiet=True)
    return url, env


def reset(url: str) -> None:
    harness.execute(
        url,
        "TRUNCATE fulfilment_shipmentevent, fulfilment_shipmentline, fulfilment_shipment,"
        " fulfilment_returnline, fulfilment_return, core_outboxemail,"
        " payments_moneyevent, payments_refund, payments_webhookevent, payments_payment,"
        " orders_orderevent, orders_orderline, orders_order, cart_cartline, cart_cart,"
        " core_idempotencykey CASCADE",
        "UPDATE catalog_variant SET reserved = 0, stock = 1000000",
        "VACUUM ANALYZE payments_webhookevent, fulfilment_shipment, fulfilment_shipmentevent",
    )


def redis_reset() -> None:
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    client.delete(
        "celery", "unacked", "unacked_index", "unacked_mutex", *client.scan_iter("_kombu.*")
    )
    harness.cache_clear(CACHE_PREFIX)


def queue_length() -> int:
    import redis

    return redis.Redis.from_url(BROKER_URL).llen("celery")


def tracking_event(tracking_number: str, event_id: str) -> dict:
    return {
        "id": event_id,
        "tracking_number": tracking_number,
        "status": "in_transit",
        "description": "Parcel in transit (bench).",
        "occurred_at": datetime.now(UTC).isoformat(),
    }


def write_bodies(path: Path, count: int, run: str) -> None:
    """One `signature<TAB>body` line per event; signed now (valid for 300 s). The tracking
    numbers are no shipment's: intake stores and queues them all the same."""
    with path.open("w") as out:
        for index in range(count):
            event = tracking_event(f"BENCH-NONE-{index:07d}", f"trk_bench_{run}_{index:07d}")
            body = json.dumps(event, separators=(",", ":"))
            out.write(f"{harness.stripe_signature(CARRIER_SECRET, body.encode())}\t{body}\n")


def wrk_intake(base_url: str, config: harness.LoadConfig, *, seconds: int, run: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-carriers-") as tmp:
        bodies = Path(tmp) / "bodies.tsv"
        write_bodies(bodies, BODIES_PER_SECOND * max(seconds, 1), run)
        load, data = harness.wrk_script_run(
            WRK_SCRIPT,
            base_url + WEBHOOK_PATH,
            [str(bodies), str(config.threads)],
            config,
            seconds=seconds,
        )
    accepted = load.requests - load.errors.get("status", 0)
    return {
        "load": load,
        "accepted": accepted,
        "accepted_per_s": accepted / load.duration_s if load.duration_s else 0.0,
        "wrapped": data.get("wrapped", 0),
        "sent": data.get("sent", 0),
    }


def settled_counts(url: str, *, timeout: float = 15.0) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        counts = (
            harness.execute(url, "SELECT count(*) FROM payments_webhookevent")[0][0][0],
            queue_length(),
        )
        if counts == last or time.monotonic() > deadline:
            return counts
        last = counts
        time.sleep(0.5)


# --- The Django side (a child process) -----------------------------------------------------


def django_prepare(env: dict[str, str], count: int) -> list[dict]:
    return harness.child_json(
        [str(Path(__file__).resolve()), "prepare", str(count)], env, what="shipping the orders"
    )


def _child_prepare(count: int) -> None:
    import django

    django.setup()
    from decimal import Decimal

    from django.conf import settings
    from django.contrib.auth.models import Group

    from accounts.models import User
    from cart.services import cart_add_item
    from catalog.models import Category, Merchant, Product, Variant
    from catalog.services import MERCHANTS_GROUP, merchant_staff_set, product_summary_refresh
    from fulfilment.services.shipments import shipment_create
    from orders.services import ShippingAddress, order_place
    from payments.providers.sandbox import sandbox_event_build
    from payments.services.start import payment_start
    from payments.services.webhooks import webhook_event_apply, webhook_receive
    from shipping.models import ShippingMethod

    Group.objects.get_or_create(name=MERCHANTS_GROUP)
    merchant, _ = Merchant.objects.get_or_create(
        slug="bench-fulfilment", defaults={"name": "Bench Fulfilment"}
    )
    staff = User.objects.filter(email=STAFF_EMAIL).first() or User.objects.create_user(
        email=STAFF_EMAIL, password=None, name="Bench Staff"
    )
    merchant_staff_set(merchant=merchant, users=[staff])
    product = Product.objects.filter(slug="bench-fulfilment-box").first()
    if product is None:
        category, _ = Category.objects.get_or_create(
            slug="bench-fulfilment", defaults={"name": "Bench Fulfilment"}
        )
        product = Product.objects.create(
            merchant=merchant, category=category, name="Bench Box", slug="bench-fulfilment-box"
        )
        Variant.objects.create(
            product=product, sku="BENCH-FUL-1", name="Default",
            price_amount=Decimal("12.00"), stock=1_000_000,
        )  # fmt: skip
        product_summary_refresh(product_ids=[product.pk])
    variant = product.variants.get()
    method = ShippingMethod.objects.filter(name="Bench courier").first() or (
        ShippingMethod.objects.create(
            name="Bench courier", price_amount=Decimal("4.90"), countries=[], estimated_days=2
        )
    )
    buyer = User.objects.filter(email=BUYER_EMAIL).first() or User.objects.create_user(
        email=BUYER_EMAIL, password=None, name="Bench Buyer"
    )
    address = ShippingAddress(
        full_name="Bench Buyer", line1="1 Bench Street", city="Berlin", postal_code="10115",
        country="DE",
    )  # fmt: skip
    prepared = []
    for index in range(count):
        cart_add_item(user=buyer, variant_id=variant.pk, quantity=1)
        order = order_place(user=buyer, shipping_method_id=method.pk, address=address)
        payment = payment_start(order=order, provider_name="sandbox")
        body = json.dumps(sandbox_event_build(payment=payment, succeeded=True)).encode()
        stored = webhook_receive(
            provider_name="sandbox",
            payload=body,
            signature=harness.stripe_signature(settings.SANDBOX_WEBHOOK_SECRET, body),
        )
        webhook_event_apply(event_pk=stored.pk)
        tracking = f"BENCH-{secrets.token_hex(4)}-{index:06d}"
        shipment = shipment_create(
            order_id=order.pk, carrier=CARRIER, tracking_number=tracking, by=staff
        )
        prepared.append(
            {
                "shipment_id": shipment.pk,
                "event": tracking_event(tracking, f"trk_e2e_{secrets.token_hex(8)}"),
            }
        )
    print(json.dumps(prepared))


# --- End to end ------------------------------------------------------------------------------


def wait_queue_empty(*, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while queue_length():
        if time.monotonic() > deadline:
            raise BenchError(f"the worker did not empty its queue within {timeout:.0f} s")
        time.sleep(0.1)
    time.sleep(0.5)


def wait_updated(url: str, shipment_ids: list[int], *, timeout: float) -> None:
    ids = ",".join(str(pk) for pk in shipment_ids)
    deadline = time.monotonic() + timeout
    while True:
        done = harness.execute(
            url,
            f"SELECT count(*) FROM fulfilment_shipment WHERE id IN ({ids})"
            " AND status = 'in_transit'",
        )[0][0][0]
        if done == len(shipment_ids):
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{len(shipment_ids) - done} shipments not updated in {timeout:.0f} s")
        time.sleep(0.05)


def e2e_run(
    url: str, env: dict[str, str], base_url: str, *, count: int, rate: float | None
) -> dict:
    prepared = django_prepare(env, count)
    # Placing, paying and shipping queued mails and the payment events' tasks: the worker
    # works them off first, so the measured callbacks find it idle.
    wait_queue_empty(timeout=300)
    posts = harness.post_signed_events(
        base_url,
        WEBHOOK_PATH,
        [item["event"] for item in prepared],
        secret=CARRIER_SECRET,
        rate=rate,
    )
    ids = [item["shipment_id"] for item in prepared]
    wait_updated(url, ids, timeout=UPDATED_TIMEOUT)
    sources = ",".join(f"'{item['event']['id']}'" for item in prepared)
    rows = harness.execute(
        url,
        f"""
        SELECT e.source, extract(epoch FROM e.created_at), extract(epoch FROM w.received_at),
               w.status
        FROM fulfilment_shipmentevent e
        JOIN payments_webhookevent w ON w.event_id = e.source
        WHERE e.source IN ({sources})
        """,
    )[0]
    by_source = {row[0]: row for row in rows}
    total, intake, problems = [], [], []
    for item, post in zip(prepared, posts, strict=True):
        row = by_source.get(item["event"]["id"])
        if post["status"] != 200:
            problems.append(f"shipment {item['shipment_id']}: webhook answered {post['status']}")
        if row is None:
            problems.append(f"shipment {item['shipment_id']}: no timeline step recorded")
            continue
        if row[3] != "processed":
            problems.append(f"shipment {item['shipment_id']}: event {row[3]}")
        total.append((float(row[1]) - post["sent"]) * 1000)
        intake.append((float(row[2]) - post["sent"]) * 1000)
    first_sent = min(post["sent"] for post in posts)
    last = max(float(row[1]) for row in rows) if rows else first_sent
    return {
        "shipments": count,
        "rate": rate,
        "updated_per_s": count / (last - first_sent) if last > first_sent else 0.0,
        "latency_ms": harness.latency_summary(total),
        "intake_ms": harness.latency_summary(intake),
        "problems": problems,
    }


# --- The run ---------------------------------------------------------------------------------


def run(options: argparse.Namespace) -> dict:
    url, env = prepare_database()
    server, load = options.server, options.load
    reset(url)
    redis_reset()
    intake: dict = {}
    e2e: dict = {}
    try:
        with (
            harness.ceiling_server(env, server) as ceiling_url,
            harness.gunicorn(
                "shop.wsgi:application", env=env, config=server, probe_path=WEBHOOK_PATH,
                name="shop",
            ) as shop_url,
        ):  # fmt: skip
            log("ceiling: the minimal Django view")
            intake["ceiling"] = harness.wrk_measure(ceiling_url, ["/"], load)
            log(f"carrier intake: warm-up {load.warmup} s, then {load.duration} s")
            if load.warmup:
                intake["warmup"] = wrk_intake(shop_url, load, seconds=load.warmup, run="w")
            intake["measured"] = wrk_intake(shop_url, load, seconds=load.duration, run="m")
            intake["stored"], intake["queued"] = settled_counts(url)
            log(
                f"carrier intake: {intake['measured']['accepted_per_s']:.0f} events/s; "
                f"{intake['stored']} stored, {intake['queued']} queued"
            )
            reset(url)
            redis_reset()
            with harness.celery_worker(env, hostname=f"bench-fulfil-{secrets.token_hex(4)}@%h"):
                for key, rate in (("steady", options.tracking_rate), ("burst", None)):
                    label = f"{rate:g}/s" if rate else "all at once"
                    log(f"end to end ({key}): {options.shipment_count} shipments, POSTs {label}")
                    e2e[key] = e2e_run(url, env, shop_url, count=options.shipment_count, rate=rate)
                    log(
                        f"end to end ({key}): p50 {e2e[key]['latency_ms']['p50']:.0f} ms, "
                        f"p99 {e2e[key]['latency_ms']['p99']:.0f} ms"
                    )
    finally:
        reset(url)
        redis_reset()
    return _report(intake, e2e, options)


def _report(intake: dict, e2e: dict, options: argparse.Namespace) -> dict:
    measured, ceiling = intake["measured"], intake["ceiling"]
    load: harness.LoadResult = measured["load"]
    accepted_total = intake.get("warmup", {}).get("accepted", 0) + measured["accepted"]
    sent_total = measured["sent"] + intake.get("warmup", {}).get("sent", 0)
    findings = []
    if load.errors:
        findings.append(f"carrier intake errors: {load.errors}")
    if not accepted_total <= intake["stored"] <= sent_total:
        findings.append(
            f"{accepted_total} answered 2xx and {sent_total} sent, but {intake['stored']} stored"
        )
    if intake["queued"] != intake["stored"]:
        findings.append(f"{intake['stored']} events stored but {intake['queued']} queued")
    for key, data in e2e.items():
        findings += [f"{key}: {problem}" for problem in data["problems"][:5]]
    ratio = measured["accepted_per_s"] / ceiling.rps if ceiling.rps else 0.0
    headers = ["measurement", "figure", "p50 ms", "p99 ms", "max ms", "notes"]
    rows = [
        [
            "ceiling: minimal Django view (GET)",
            f"{ceiling.rps:.0f} req/s",
            f"{ceiling.p50_ms:.1f}",
            f"{ceiling.p99_ms:.1f}",
            f"{ceiling.max_ms:.1f}",
            "",
        ],
        [
            "carrier intake: distinct signed tracking events",
            f"{measured['accepted_per_s']:.0f} events/s",
            f"{load.p50_ms:.1f}",
            f"{load.p99_ms:.1f}",
            f"{load.max_ms:.1f}",
            f"{ratio:.2f} of the ceiling; {intake['stored']} stored, {intake['queued']} queued",
        ],
    ]
    for data in e2e.values():
        latency, intake_ms = data["latency_ms"], data["intake_ms"]
        how = f"{data['rate']:g} POSTs/s" if data["rate"] else "all POSTed at once (16 threads)"
        rows.append(
            [
                f"POST → shipment updated, 1 worker, {data['shipments']} shipments, {how}",
                f"{data['updated_per_s']:.1f} updated/s",
                f"{latency['p50']:.0f}",
                f"{latency['p99']:.0f}",
                f"{latency['max']:.0f}",
                f"POST → stored p50 {intake_ms['p50']:.0f} / p99 {intake_ms['p99']:.0f} ms",
            ]
        )
    notes = [
        f"Server: {options.server.describe()}, DEBUG=False, 127.0.0.1; intake load: "
        f"{options.load.describe()}, wrk + bench/wrk_webhooks.lua POSTing pre-signed carrier "
        "callbacks to /shipping/webhooks/sandbox/, each once.",
        "Intake events/s counts 2xx answers; each is a callback verified, stored in the inbox "
        "and queued (answered ≤ stored ≤ sent, queue length = rows are checked).",
        "End to end: one `celery -A shop worker --concurrency=1`; each shipment's in_transit "
        "callback POSTed over HTTP, signed at send time; latency = the timeline step's "
        "recorded time minus the moment the POST was sent (same machine clock).",
    ]
    return {
        "suite": NAME,
        "table": harness.format_table(headers, rows),
        "notes": notes + [f"Finding: {finding}" for finding in findings],
        "ok": not findings,
        "data": {"intake": intake, "end_to_end": e2e},
    }


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "prepare":
        sys.path.insert(0, str(harness.ROOT))
        _child_prepare(int(sys.argv[2]))
    else:
        sys.exit("usage: fulfilment_suite.py prepare COUNT (run by bench/run.py)")
