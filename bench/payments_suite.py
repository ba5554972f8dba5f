"""The `payments` suite: provider callbacks taken in per second, and the time from a
callback's POST to its order being paid with one Celery worker.

- Webhook intake: `wrk` POSTs distinct, correctly signed `payment_intent.succeeded` events
  to `/payments/webhooks/sandbox/` of the shop under gunicorn (DEBUG=False). Each answer
  means the event was verified, stored and queued; every event is different, so no answer
  is the cheap duplicate path. The minimal Django view is measured right before, as the
  catalog suite does, for a ratio.
- End to end: orders awaiting payment, each with a pending sandbox payment, get their
  succeeded events POSTed at a steady rate (then all at once, a burst) while one real
  worker (`celery -A shop worker --concurrency=1`) applies them; latency is the order's
  `paid_at` minus the moment its POST was sent.

The Django side (placing orders, starting payments) runs in a child process of this file
(`python bench/payments_suite.py prepare ...`) with the production-like environment; the
suite itself only speaks HTTP, SQL and Redis.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import BenchError, log

NAME = "payments"
DESCRIPTION = "webhook events accepted per second; webhook POST → order paid latency, 1 worker"

WEBHOOK_PATH = "/payments/webhooks/sandbox/"
WRK_SCRIPT = harness.BENCH_DIR / "wrk_webhooks.lua"
SANDBOX_SECRET = "bench-sandbox-webhook-secret-0123456789"
# Its own broker (Redis database 11 by default): the queue length is part of its books.
PAYMENTS_BROKER_URL = harness.suite_broker_url("BENCH_PAYMENTS_BROKER_URL", 2)
PAYMENTS_CACHE_PREFIX = "bazaar-bench-payments"
# Signed bodies made per second of a wrk run: well above what 2 cores take in, so no
# connection ever wraps around to an event already sent (the report says if one did).
BODIES_PER_SECOND = 4000
WARMUP_EVENTS = 5
PAID_TIMEOUT = 180.0
BUYER_EMAIL = "bench-payments-buyer@bench-buyers.invalid"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("payments suite")
    group.add_argument(
        "--payment-orders",
        type=int,
        default=200,
        help="orders paid end to end in each of the steady and burst runs (default 200)",
    )
    group.add_argument(
        "--payment-rate",
        type=float,
        default=20.0,
        help="webhook POSTs per second in the steady end-to-end run (default 20)",
    )


# --- The database ----------------------------------------------------------------------


def environment(url: str) -> dict[str, str]:
    env = harness.app_environment(url)
    env.update(
        {
            **harness.redis_environment(
                prefix=PAYMENTS_CACHE_PREFIX, broker_url=PAYMENTS_BROKER_URL
            ),
            "SANDBOX_WEBHOOK_SECRET": SANDBOX_SECRET,
            # DEBUG is off here, and the bench pays through the sandbox: switch it on.
            "SANDBOX_ENABLED": "true",
            "EMAIL_URL": "dummymail://",
        }
    )
    return env


def prepare_database() -> tuple[str, dict[str, str]]:
    """Its own small database: a product, a shipping method, a buyer. Orders and
    payments are truncated before every run, so nothing depends on an earlier one."""
    url = harness.suite_database_url("payments")
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
        "TRUNCATE payments_moneyevent, payments_refund, payments_webhookevent,"
        " payments_payment, orders_orderevent, orders_orderline, orders_order,"
        " cart_cartline, cart_cart, core_idempotencykey CASCADE",
        "UPDATE catalog_variant SET reserved = 0, stock = 1000000",
        "VACUUM ANALYZE payments_webhookevent, payments_payment, orders_order",
    )


def redis_reset() -> None:
    """Empty the suite's broker of what Celery left there (the queue, its bindings,
    unacknowledged messages) and delete the suite's cache keys."""
    import redis

    client = redis.Redis.from_url(PAYMENTS_BROKER_URL)
    client.delete(
        "celery", "unacked", "unacked_index", "unacked_mutex", *client.scan_iter("_kombu.*")
    )
    harness.cache_clear(PAYMENTS_CACHE_PREFIX)


def queue_length() -> int:
    import redis

    return redis.Redis.from_url(PAYMENTS_BROKER_URL).llen("celery")


# --- Signed events -----------------------------------------------------------------------


def sign(body: bytes, timestamp: int | None = None) -> str:
    return harness.stripe_signature(SANDBOX_SECRET, body, timestamp)


def intake_event(index: int, run: str) -> dict:
    """A succeeded event shaped like the sandbox's, for a payment that does not exist: the
    intake stores and queues it all the same (applying it would flag it; no worker runs)."""
    return {
        "id": f"evt_bench_{run}_{index:07d}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"sbx_pi_bench{index:012d}",
                "object": "payment_intent",
                "amount": 2890,
                "amount_received": 2890,
                "currency": "usd",
                "status": "succeeded",
                "metadata": {"order_number": f"BENCH-{index:07d}", "payment_id": "0"},
            }
        },
    }


def write_bodies(path: Path, count: int, run: str) -> None:
    """One `signature<TAB>body` line per event; signed now (valid for 300 s)."""
    with path.open("w") as out:
        for index in range(count):
            body = json.dumps(intake_event(index, run), separators=(",", ":"))
            out.write(f"{sign(body.encode())}\t{body}\n")


def wrk_intake(base_url: str, config: harness.LoadConfig, *, seconds: int, run: str) -> dict:
    """POST distinct signed events for `seconds`; wrk's figures plus wrap-arounds."""
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        bodies = Path(tmp) / "bodies.tsv"
        write_bodies(bodies, BODIES_PER_SECOND * max(seconds, 1), run)
        load, data = harness.wrk_script_run(
            WRK_SCRIPT,
            base_url + WEBHOOK_PATH,
            [str(bodies), str(config.threads)],
            config,
            seconds=seconds,
        )
    duration_s = load.duration_s
    accepted = load.requests - load.errors.get("status", 0)
    return {
        "load": load,
        "accepted": accepted,
        "accepted_per_s": accepted / duration_s if duration_s else 0.0,
        "wrapped": data.get("wrapped", 0),
        # Requests written, also those still unanswered when wrk stopped (the server may
        # have stored them all the same).
        "sent": data.get("sent", 0),
    }


def settled_counts(url: str, *, timeout: float = 15.0) -> tuple[int, int]:
    """Events stored and tasks queued, once requests still in flight when wrk stopped have
    finished (both figures unchanged for half a second)."""
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
    """In a child with the bench environment: `count` orders of one buyer, each with a
    pending sandbox payment, placed and started through the shop's services."""
    return harness.child_json(
        [str(Path(__file__).resolve()), "prepare", str(count)], env, what="preparing the orders"
    )


def _child_prepare(count: int) -> None:
    import django

    django.setup()
    from decimal import Decimal

    from django.utils.text import slugify

    from accounts.models import User
    from cart.services import cart_add_item
    from catalog.models import Category, Merchant, Product, Variant
    from catalog.services import product_summary_refresh
    from orders.services import ShippingAddress, order_place
    from payments.providers.sandbox import sandbox_event_build
    from payments.services.start import payment_start
    from shipping.models import ShippingMethod

    name = "Bench Payments Lamp"
    product = Product.objects.filter(slug=slugify(name)).first()
    if product is None:
        merchant, _ = Merchant.objects.get_or_create(
            slug="bench-payments", defaults={"name": "Bench Payments"}
        )
        category, _ = Category.objects.get_or_create(
            slug="bench-payments", defaults={"name": "Bench Payments"}
        )
        product = Product.objects.create(
            merchant=merchant, category=category, name=name, slug=slugify(name)
        )
        Variant.objects.create(
            product=product,
            sku="BENCH-PAY-1",
            name="Default",
            price_amount=Decimal("24.00"),
            stock=1_000_000,
        )
        product_summary_refresh(product_ids=[product.pk])
    variant = product.variants.get()
    method = ShippingMethod.objects.filter(name="Bench courier").first()
    if method is None:
        method = ShippingMethod.objects.create(
            name="Bench courier", price_amount=Decimal("4.90"), countries=[], estimated_days=2
        )
    buyer = User.objects.filter(email=BUYER_EMAIL).first() or User.objects.create_user(
        email=BUYER_EMAIL, password=None, name="Bench Buyer"
    )
    address = ShippingAddress(
        full_name="Bench Buyer", line1="1 Bench Street", city="Berlin", postal_code="10115",
        country="DE",
    )  # fmt: skip
    prepared = []
    for _ in range(count):
        cart_add_item(user=buyer, variant_id=variant.pk, quantity=1)
        order = order_place(user=buyer, shipping_method_id=method.pk, address=address)
        payment = payment_start(order=order, provider_name="sandbox")
        prepared.append(
            {
                "order_id": order.pk,
                "payment_id": payment.pk,
                "event": sandbox_event_build(payment=payment, succeeded=True),
            }
        )
    print(json.dumps(prepared))


# --- End to end ------------------------------------------------------------------------------


def post_events(base_url: str, events: list[dict], *, rate: float | None) -> list[dict]:
    return harness.post_signed_events(
        base_url, WEBHOOK_PATH, events, secret=SANDBOX_SECRET, rate=rate
    )


def wait_queue_empty(*, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while queue_length():
        if time.monotonic() > deadline:
            raise BenchError(f"the worker did not empty its queue within {timeout:.0f} s")
        time.sleep(0.1)
    time.sleep(0.5)  # the task taken last (prefetch 1) finishes


def wait_paid(url: str, order_ids: list[int], *, timeout: float) -> None:
    ids = ",".join(str(pk) for pk in order_ids)
    deadline = time.monotonic() + timeout
    while True:
        done = harness.execute(
            url,
            f"SELECT count(*) FROM orders_order WHERE id IN ({ids}) AND paid_at IS NOT NULL",
        )[0][0][0]
        if done == len(order_ids):
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{len(order_ids) - done} orders still unpaid after {timeout:.0f} s")
        time.sleep(0.05)


def e2e_run(
    url: str, env: dict[str, str], base_url: str, *, count: int, rate: float | None
) -> dict:
    """Prepare `count` orders (plus a few warm-up ones), post their events, wait until
    every order is paid, and read the timings back from the database."""
    prepared = django_prepare(env, count + WARMUP_EVENTS)
    warmup, measured = prepared[:WARMUP_EVENTS], prepared[WARMUP_EVENTS:]
    post_events(base_url, [item["event"] for item in warmup], rate=None)
    wait_paid(url, [item["order_id"] for item in warmup], timeout=60)
    # Placing the orders queued their confirmation mails: the worker sends them first, so
    # the measured events find it idle.
    wait_queue_empty(timeout=120)
    posts = post_events(base_url, [item["event"] for item in measured], rate=rate)
    order_ids = [item["order_id"] for item in measured]
    wait_paid(url, order_ids, timeout=PAID_TIMEOUT)
    ids = ",".join(str(pk) for pk in order_ids)
    rows = harness.execute(
        url,
        f"""
        SELECT o.id, extract(epoch FROM o.paid_at), o.status, p.status,
               extract(epoch FROM w.received_at), extract(epoch FROM w.processed_at),
               w.status, w.attempts,
               (SELECT count(*) FROM payments_moneyevent m
                WHERE m.payment_id = p.id AND m.kind = 'capture')
        FROM orders_order o
        JOIN payments_payment p ON p.order_id = o.id
        LEFT JOIN payments_webhookevent w ON w.payment_id = p.id
        WHERE o.id IN ({ids})
        """,
    )[0]
    by_order = {row[0]: row for row in rows}
    total, intake, applied = [], [], []
    problems: list[str] = []
    for item, post in zip(measured, posts, strict=True):
        row = by_order.get(item["order_id"])
        if post["status"] != 200:
            problems.append(f"order {item['order_id']}: webhook answered {post['status']}")
        if row is None:
            problems.append(f"order {item['order_id']}: no webhook event joined to its payment")
            continue
        _, paid_at, status, payment_status, received_at, processed_at, w_status, _attempts, caps = (
            row
        )
        if (status, payment_status, w_status, caps) != ("paid", "captured", "processed", 1):
            problems.append(
                f"order {item['order_id']}: {status}/{payment_status}, event {w_status}, "
                f"{caps} captures"
            )
        total.append((float(paid_at) - post["sent"]) * 1000)
        intake.append((float(received_at) - post["sent"]) * 1000)
        applied.append((float(processed_at) - float(received_at)) * 1000)
    first_sent = min(post["sent"] for post in posts)
    last_paid = max(float(row[1]) for row in rows)
    return {
        "orders": count,
        "rate": rate,
        "posted_over_s": max(post["sent"] for post in posts) - first_sent,
        "paid_per_s": count / (last_paid - first_sent) if last_paid > first_sent else 0.0,
        "latency_ms": harness.latency_summary(total),
        "intake_ms": harness.latency_summary(intake),
        "stored_to_applied_ms": harness.latency_summary(applied),
        "post_answer_ms": harness.latency_summary(
            [(p["answered"] - p["sent"]) * 1000 for p in posts]
        ),
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
                "shop.wsgi:application",
                env=env,
                config=server,
                probe_path=WEBHOOK_PATH,  # a GET there is a 405: it answers
                name="shop",
            ) as shop_url,
        ):
            log("ceiling: the minimal Django view")
            intake["ceiling"] = harness.wrk_measure(ceiling_url, ["/"], load)
            log(f"webhook intake: warm-up {load.warmup} s, then {load.duration} s")
            if load.warmup:
                intake["warmup"] = wrk_intake(shop_url, load, seconds=load.warmup, run="w")
            intake["measured"] = wrk_intake(shop_url, load, seconds=load.duration, run="m")
            stored, intake["queued"] = settled_counts(url)
            intake["stored"] = stored
            log(
                f"webhook intake: {intake['measured']['accepted_per_s']:.0f} events/s; "
                f"{stored} stored, {intake['queued']} queued"
            )
            reset(url)
            redis_reset()

            with harness.celery_worker(env, hostname=f"bench-payments-{secrets.token_hex(4)}@%h"):
                for key, rate in (("steady", options.payment_rate), ("burst", None)):
                    label = f"{rate:g}/s" if rate else "all at once"
                    log(f"end to end ({key}): {options.payment_orders} orders, POSTs {label}")
                    e2e[key] = e2e_run(url, env, shop_url, count=options.payment_orders, rate=rate)
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
    warmup_accepted = intake.get("warmup", {}).get("accepted", 0)
    accepted_total = warmup_accepted + measured["accepted"]
    findings = []
    if load.errors:
        findings.append(f"webhook intake errors: {load.errors}")
    sent_total = measured["sent"] + intake.get("warmup", {}).get("sent", 0)
    # Answered events must all be stored; requests unanswered when wrk stopped may be too.
    if not accepted_total <= intake["stored"] <= sent_total:
        findings.append(
            f"{accepted_total} events answered 2xx and {sent_total} sent, "
            f"but {intake['stored']} stored"
        )
    if intake["queued"] != intake["stored"]:
        findings.append(f"{intake['stored']} events stored but {intake['queued']} queued")
    wrapped = measured["wrapped"] + intake.get("warmup", {}).get("wrapped", 0)
    if wrapped:
        findings.append(f"{wrapped} POSTs repeated an event already sent (bodies ran out)")
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
            "webhook intake: distinct signed events",
            f"{measured['accepted_per_s']:.0f} events/s",
            f"{load.p50_ms:.1f}",
            f"{load.p99_ms:.1f}",
            f"{load.max_ms:.1f}",
            f"{ratio:.2f} of the ceiling; {intake['stored']} stored, {intake['queued']} queued",
        ],
    ]
    for data in e2e.values():
        latency, intake_ms, applied = (
            data["latency_ms"],
            data["intake_ms"],
            data["stored_to_applied_ms"],
        )
        how = f"{data['rate']:g} POSTs/s" if data["rate"] else "all POSTed at once (16 threads)"
        rows.append(
            [
                f"POST → order paid, 1 worker, {data['orders']} orders, {how}",
                f"{data['paid_per_s']:.1f} paid/s",
                f"{latency['p50']:.0f}",
                f"{latency['p99']:.0f}",
                f"{latency['max']:.0f}",
                f"POST → stored p50 {intake_ms['p50']:.0f} / p99 {intake_ms['p99']:.0f} ms; "
                f"stored → applied p50 {applied['p50']:.0f} / p99 {applied['p99']:.0f} ms",
            ]
        )
    ok = not findings and all(not data["problems"] for data in e2e.values())
    notes = [
        f"Server: {options.server.describe()}, DEBUG=False, 127.0.0.1; intake load: "
        f"{options.load.describe()}, wrk + bench/wrk_webhooks.lua POSTing pre-signed bodies, "
        "each event once (every wrk thread takes its own share of the bodies).",
        "Intake events/s counts 2xx answers only; each is an event verified, stored and queued "
        "(the suite checks answered ≤ rows stored ≤ requests sent, and queue length = rows).",
        "End to end: one `celery -A shop worker --concurrency=1` (prefork, as deployed); each "
        "order's succeeded event POSTed over HTTP to the same gunicorn, signed at send time; "
        "latency = orders.paid_at minus the moment the POST was sent (same machine clock). "
        f"{WARMUP_EVENTS} warm-up orders are paid first and not counted, and the worker "
        "has emptied its queue (the orders' confirmation mails) before the first POST.",
        "paid/s = orders over the time from the first POST to the last order paid: for the "
        "burst, what one worker applies per second; for the steady run, just the POST rate.",
    ]
    return {
        "suite": NAME,
        "table": harness.format_table(headers, rows),
        "notes": notes + [f"Finding: {finding}" for finding in findings],
        "ok": ok,
        "data": {"intake": intake, "end_to_end": e2e},
    }


if __name__ == "__main__":
    # The Django side: `python bench/payments_suite.py prepare COUNT` (environment given).
    if len(sys.argv) == 3 and sys.argv[1] == "prepare":
        sys.path.insert(0, str(harness.ROOT))
        _child_prepare(int(sys.argv[2]))
    else:
        sys.exit("usage: payments_suite.py prepare COUNT (run by bench/run.py)")
