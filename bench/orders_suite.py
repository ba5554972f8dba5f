"""The `orders` suite: orders placed per second through the service, next to PostgreSQL's
ceiling for the same statements measured with pgbench in the same run.

Three scenarios, each on carts filled beforehand (outside the timed window):

- uncontended: every buyer's cart holds one random variant of 10,000, with ample stock;
- contended: every buyer's cart holds the same variant, with ample stock;
- sell-out: one variant with `--hot-stock` units and twice as many buyers: exactly that many
  orders are placed, every other buyer gets `insufficient_stock`, nothing else happens.

The service is driven by worker processes (as many as gunicorn's workers), each calling
`orders.services.order_place` for its buyers; pgbench runs `orders_pgbench.sql` with the
same number of clients, right before the service, on the same database.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import time
from urllib.parse import urlsplit

import harness
import orders_workers
from harness import BenchError, log

NAME = "orders"
DESCRIPTION = "orders placed per second (uncontended, one hot variant) vs pgbench of the same SQL"

POOL_SIZE = 10_000
AMPLE_STOCK = 1_000_000
UNCONTENDED_MIN_RATIO = 0.30
# Carts filled per worker-second of the run: more than the service can place, so the
# duration, not the buyers, ends a scenario (the report says so if buyers ran out).
BUYERS_PER_SECOND = 150
BUYER_DOMAIN = "bench-buyers.invalid"
PGBENCH_SCRIPT = harness.BENCH_DIR / "orders_pgbench.sql"
# Its own broker (Redis database 10 by default): the confirmation mails it queues wait there.
ORDERS_BROKER_URL = harness.suite_broker_url("BENCH_ORDERS_BROKER_URL", 1)
ORDERS_CACHE_PREFIX = "bazaar-bench-orders"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("orders suite")
    group.add_argument(
        "--order-clients",
        type=int,
        default=None,
        help="workers placing orders, and pgbench clients (default: gunicorn's --workers)",
    )
    group.add_argument(
        "--order-threads",
        action="store_true",
        help="run the workers as threads of one process instead of processes (to compare)",
    )
    group.add_argument(
        "--hot-stock",
        type=int,
        default=300,
        help="units of the sold-out variant; twice as many buyers try (default 300)",
    )


# --- The database ----------------------------------------------------------------------


def prepare_database(*, products: int, reseed: bool) -> tuple[str, dict[str, str]]:
    """The orders suite's own database beside the shared bench database: it truncates
    orders and rewrites stock, which the catalog suite's figures must not see."""
    url = harness.suite_database_url("orders")
    env = harness.app_environment(url)
    env.update(harness.redis_environment(prefix=ORDERS_CACHE_PREFIX, broker_url=ORDERS_BROKER_URL))
    harness.seeded_database_prepare(url, env, products=products, reseed=reseed, collectstatic=False)
    return url, env


def reset(url: str) -> None:
    """Forget every order and cart and every reservation: the books start balanced."""
    harness.execute(
        url,
        "TRUNCATE orders_orderevent, orders_orderline, orders_order, cart_cartline, cart_cart,"
        " core_idempotencykey CASCADE",
        ("DELETE FROM accounts_user WHERE email LIKE %s", [f"%@{BUYER_DOMAIN}"]),
        "UPDATE catalog_variant SET reserved = 0 WHERE reserved <> 0",
        "VACUUM ANALYZE catalog_variant, accounts_user, cart_cart, cart_cartline, orders_order,"
        " orders_orderline, orders_orderevent",
    )


def choose_variants(url: str) -> tuple[list[int], tuple[int, int], int]:
    """The 10,000 buyable variants of lowest id (the pool), the id span they cover (which
    pgbench draws from), and a hot variant outside it. Every variant of the span gets ample
    stock, so neither the service nor pgbench ever runs short on the pool."""
    rows = harness.execute(
        url,
        (
            """
            SELECT v.id FROM catalog_variant v JOIN catalog_product p ON p.id = v.product_id
            JOIN catalog_merchant m ON m.id = p.merchant_id
            WHERE v.is_active AND p.is_active AND m.is_active ORDER BY v.id LIMIT %s
            """,
            [POOL_SIZE + 1],
        ),
    )[0]
    ids = [row[0] for row in rows]
    if len(ids) < POOL_SIZE + 1:
        raise BenchError(f"the orders bench database has {len(ids)} buyable variants")
    pool, hot = ids[:POOL_SIZE], ids[POOL_SIZE]
    span = (pool[0], pool[-1])
    missing = harness.execute(
        url,
        (
            "SELECT %s - count(*) FROM catalog_variant WHERE id BETWEEN %s AND %s",
            [span[1] - span[0] + 1, *span],
        ),
    )[0][0][0]
    if missing:
        raise BenchError(f"{missing} variant ids are missing in {span}: --reseed the database")
    harness.execute(
        url,
        (
            "UPDATE catalog_variant SET stock = %s WHERE id BETWEEN %s AND %s",
            [AMPLE_STOCK, *span],
        ),
    )
    return pool, span, hot


def shipping_method(url: str) -> int:
    rows = harness.execute(
        url,
        "SELECT id FROM shipping_shippingmethod WHERE is_active AND countries = '{}' ORDER BY id",
    )[0]
    if not rows:
        raise BenchError("the orders bench database has no shipping method for every country")
    return rows[0][0]


def buyers_create(url: str, label: str, variant_ids: list[int]) -> list[int]:
    """One buyer per variant given, each with a cart holding one unit of it; ids ascending
    and contiguous (one INSERT), so pgbench can draw buyers from a range."""
    users = harness.execute(
        url,
        (
            f"""
            INSERT INTO accounts_user
                (password, is_superuser, email, name, is_staff, is_active, date_joined)
            SELECT '!', false, %s || n || '@{BUYER_DOMAIN}', 'Bench Buyer', false, true, now()
            FROM generate_series(1, %s) AS n
            RETURNING id
            """,
            [f"{label}-", len(variant_ids)],
        ),
    )[0]
    user_ids = sorted(row[0] for row in users)
    harness.execute(
        url,
        (
            """
            WITH cart AS (
                INSERT INTO cart_cart (created_at, updated_at, user_id)
                SELECT now(), now(), user_id FROM unnest(%s::bigint[]) AS u(user_id)
                RETURNING id, user_id
            )
            INSERT INTO cart_cartline (created_at, updated_at, quantity, cart_id, variant_id)
            SELECT now(), now(), 1, cart.id, line.variant
            FROM unnest(%s::bigint[], %s::bigint[]) AS line(user_id, variant)
            JOIN cart USING (user_id)
            """,
            [user_ids, user_ids, variant_ids],
        ),
    )
    if user_ids[-1] - user_ids[0] + 1 != len(user_ids):
        raise BenchError("bench buyers did not get contiguous ids (is something else writing?)")
    return user_ids


# --- Measurements ----------------------------------------------------------------------


def _spawn():
    return multiprocessing.get_context("spawn")


def _collect(results, count: int, processes: list, *, timeout: float) -> list[dict]:
    answers = []
    deadline = time.monotonic() + timeout
    while len(answers) < count:
        try:
            answers.append(results.get(timeout=1))
        except queue.Empty:
            if time.monotonic() > deadline:
                raise BenchError("the order workers did not finish in time") from None
            if all(process.exitcode is not None for process in processes) and results.empty():
                raise BenchError("an order worker died without a word") from None
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    crashes = [answer["crash"] for answer in answers if "crash" in answer]
    if crashes:
        raise BenchError("an order worker failed:\n" + crashes[0])
    return answers


def _one_shot(target, *args, timeout: float = 120) -> dict:
    """Run one of orders_workers' entry points in a fresh process and return its answer."""
    ctx = _spawn()
    results = ctx.Queue()
    process = ctx.Process(target=target, args=(*args, results))
    process.start()
    return _collect(results, 1, [process], timeout=timeout)[0]


def service_run(
    env: dict[str, str],
    buyers: list[int],
    warmup_buyers: list[int],
    *,
    clients: int,
    threads: bool,
    method_id: int,
    duration: float | None,
) -> dict:
    """Place the buyers' carts with `clients` workers (buyers dealt round-robin)."""
    jobs = [
        {
            "buyer_ids": buyers[index::clients],
            "warmup_buyer_id": warmup_buyers[index],
            "shipping_method_id": method_id,
            "duration": duration,
        }
        for index in range(clients)
    ]
    ctx = _spawn()
    results = ctx.Queue()
    timeout = (duration or 120) + 300
    if threads:
        processes = [ctx.Process(target=orders_workers.threads_entry, args=(env, jobs, results))]
    else:
        barrier = ctx.Barrier(clients)
        processes = [
            ctx.Process(target=orders_workers.process_entry, args=(env, job, barrier, results))
            for job in jobs
        ]
    for process in processes:
        process.start()
    answers = _collect(results, clients, processes, timeout=timeout)

    start = min(answer["start"] for answer in answers)
    end = max(answer["end"] for answer in answers)
    placed_ends = [answer["last_placed"] for answer in answers if answer["last_placed"]]
    outcomes: dict[str, int] = {}
    for answer in answers:
        for outcome, count in answer["outcomes"].items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    latencies = sorted(value for answer in answers for value in answer["latencies_ms"])
    placed = outcomes.get("placed", 0)
    # Orders/s over the time orders were being placed: for the sell-out, up to the last
    # unit sold (the refusals after it are cheap and would flatter the figure).
    window = (max(placed_ends) if placed_ends else end) - start
    return {
        "placed": placed,
        "insufficient_stock": outcomes.get("insufficient_stock", 0),
        "other": {key: n for key, n in outcomes.items() if key not in OUTCOMES},
        "attempts": len(latencies),
        "window_s": window,
        "total_s": end - start,
        "orders_per_s": placed / window if window > 0 else 0.0,
        "p50_ms": _percentile(latencies, 50),
        "p99_ms": _percentile(latencies, 99),
        "buyers_left": sum(answer["buyers_left"] for answer in answers),
        # The workers' own CPU time per attempt: what an order costs in Python, whatever
        # else the machine is doing (wall-clock latency also counts waiting for a core).
        "cpu_ms_per_attempt": (
            sum(answer["cpu_s"] for answer in answers) * 1000 / len(latencies) if latencies else 0.0
        ),
    }


OUTCOMES = ("placed", "insufficient_stock")


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(percent) - 1]


def pgbench_run(
    url: str,
    *,
    clients: int,
    duration: int,
    buyers: tuple[int, int],
    variants: tuple[int, int],
    method_id: int,
) -> dict:
    pgbench = shutil.which("pgbench")
    if not pgbench:
        raise BenchError(
            "pgbench is not installed: it comes with PostgreSQL's client tools "
            "(Debian/Ubuntu: `sudo apt-get install postgresql-client`)"
        )
    parts = urlsplit(url)
    command = [
        pgbench,
        "--no-vacuum",
        "--protocol=simple",
        f"--file={PGBENCH_SCRIPT}",
        f"--client={clients}",
        f"--jobs={min(2, clients)}",
        f"--time={duration}",
        f"--define=buyer_lo={buyers[0]}",
        f"--define=buyer_hi={buyers[1]}",
        f"--define=variant_lo={variants[0]}",
        f"--define=variant_hi={variants[1]}",
        f"--define=method_id={method_id}",
        f"--host={parts.hostname or '127.0.0.1'}",
        f"--port={parts.port or 5432}",
        f"--username={parts.username or 'postgres'}",
        parts.path.lstrip("/"),
    ]
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    output = result.stdout + result.stderr
    tps = re.search(r"^tps = ([\d.]+)", output, re.MULTILINE)
    latency = re.search(r"^latency average = ([\d.]+) ms", output, re.MULTILINE)
    done = re.search(r"actually processed: (\d+)", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    if result.returncode != 0 or not tps:
        raise BenchError(f"pgbench failed ({result.returncode}):\n{output.strip()[-2000:]}")
    return {
        "tps": float(tps.group(1)),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "transactions": int(done.group(1)) if done else None,
        "failed": int(failed.group(1)) if failed else 0,
    }


def check_books(env: dict[str, str], variant_id: int) -> dict:
    return _one_shot(orders_workers.check_entry, env, variant_id)


def redis_cleanup() -> None:
    """Drop what the service left in Redis: in the suite's broker, the Celery queue of the
    confirmation mails (no worker runs here) and its bindings; the suite's cache keys."""
    import redis

    client = redis.Redis.from_url(ORDERS_BROKER_URL)
    client.delete("celery", *client.scan_iter(match="_kombu.binding*"))
    harness.cache_clear(ORDERS_CACHE_PREFIX)


# --- The run ---------------------------------------------------------------------------


def run(options: argparse.Namespace) -> dict:
    clients = options.order_clients or options.server.workers
    duration = options.load.duration
    url, env = prepare_database(products=options.products, reseed=options.reseed)
    reset(url)
    pool, span, hot = choose_variants(url)
    method_id = shipping_method(url)
    rng = random.Random(2024)
    buyer_count = BUYERS_PER_SECOND * clients * duration

    def warmup_buyers(label: str) -> list[int]:
        return buyers_create(url, f"{label}-warmup", rng.sample(pool, clients))

    log("capturing the SQL of one placement")
    capture_buyer = buyers_create(url, "capture", [pool[0]])[0]
    captured = _one_shot(orders_workers.capture_entry, env, capture_buyer, method_id)
    if captured["outcome"] != "placed":
        raise BenchError(f"the captured placement failed: {captured['outcome']}")

    scenarios: dict[str, dict] = {}
    for key, variants_of_buyers, pgbench_variants in (
        ("uncontended", lambda n: [rng.choice(pool) for _ in range(n)], span),
        ("contended", lambda n: [hot] * n, (hot, hot)),
    ):
        reset(url)
        harness.execute(
            url, ("UPDATE catalog_variant SET stock = %s WHERE id = %s", [AMPLE_STOCK, hot])
        )
        buyers = buyers_create(url, key, variants_of_buyers(buyer_count))
        pgbench_buyers = buyers_create(url, f"{key}-pgbench", variants_of_buyers(buyer_count))
        warmups = warmup_buyers(key)
        log(f"{key}: pgbench, {clients} clients, {duration} s")
        ceiling = pgbench_run(
            url,
            clients=clients,
            duration=duration,
            buyers=(pgbench_buyers[0], pgbench_buyers[-1]),
            variants=pgbench_variants,
            method_id=method_id,
        )
        log(f"{key}: pgbench {ceiling['tps']:.0f} TPS; the service, {clients} workers")
        measured = service_run(
            env,
            buyers,
            warmups,
            clients=clients,
            threads=options.order_threads,
            method_id=method_id,
            duration=duration,
        )
        log(f"{key}: {measured['orders_per_s']:.0f} orders/s")
        books = check_books(env, hot)
        scenarios[key] = {"service": measured, "pgbench": ceiling, "books": books}

    reset(url)
    stock = options.hot_stock
    harness.execute(url, ("UPDATE catalog_variant SET stock = %s WHERE id = %s", [stock, hot]))
    buyers = buyers_create(url, "sellout", [hot] * (2 * stock))
    log(f"sell-out: {2 * stock} buyers for {stock} units of variant {hot}")
    measured = service_run(
        env,
        buyers,
        warmup_buyers("sellout"),
        clients=clients,
        threads=options.order_threads,
        method_id=method_id,
        duration=None,
    )
    books = check_books(env, hot)
    scenarios["sellout"] = {"service": measured, "books": books, "stock": stock}
    reset(url)
    redis_cleanup()
    return _report(scenarios, captured, clients=clients, duration=duration, options=options)


# --- Report ----------------------------------------------------------------------------


def _statement_kinds(statements: list[str]) -> dict[str, int]:
    kinds = {"savepoints": 0, "constraint checks": 0, "repeated": 0, "data": 0, "transaction": 0}
    seen = set()
    for sql in statements:
        text = sql.strip().upper()
        if text.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            kinds["savepoints"] += 1
        elif text.startswith('SELECT 1 AS "_CHECK"'):
            kinds["constraint checks"] += 1
        elif text in ("BEGIN", "COMMIT", "ROLLBACK"):
            kinds["transaction"] += 1
        elif text in seen:
            kinds["repeated"] += 1  # e.g. full_clean's unique check of the order number
        else:
            kinds["data"] += 1
        seen.add(text)
    return kinds


def _script_statements() -> int:
    lines = PGBENCH_SCRIPT.read_text().splitlines()
    return sum(1 for line in lines if line and not line.startswith(("--", "\\")))


def _report(
    scenarios: dict[str, dict],
    captured: dict,
    *,
    clients: int,
    duration: int,
    options: argparse.Namespace,
) -> dict:
    headers = [
        "scenario",
        "orders/s",
        "p50 ms",
        "p99 ms",
        "worker CPU ms/order",
        "pgbench TPS",
        "pgbench avg ms",
        "ratio",
        "wanted",
        "result",
    ]
    rows, ok, findings = [], True, []
    for key, label in (
        ("uncontended", "uncontended: random variants of 10,000"),
        ("contended", "contended: every buyer on one variant"),
    ):
        data = scenarios[key]
        service, ceiling, books = data["service"], data["pgbench"], data["books"]
        ratio = service["orders_per_s"] / ceiling["tps"] if ceiling["tps"] else 0.0
        clean = not service["other"] and not books["drift"] and not ceiling["failed"]
        if key == "uncontended":
            passed = ratio >= UNCONTENDED_MIN_RATIO and clean
            wanted = f"≥ {UNCONTENDED_MIN_RATIO:.2f}"
        else:
            passed, wanted = clean, "no errors"
        ok = ok and passed
        data["ratio"] = round(ratio, 3)
        data["pass"] = passed
        if service["other"]:
            findings.append(f"{key}: unexpected outcomes {service['other']}")
        if books["drift"]:
            findings.append(f"{key}: stock drift {books['drift'][:5]}")
        if service["buyers_left"] == 0 and service["total_s"] < duration * 0.95:
            findings.append(f"{key}: buyers ran out after {service['total_s']:.1f} s")
        rows.append(
            [
                label,
                f"{service['orders_per_s']:.0f}",
                f"{service['p50_ms']:.1f}",
                f"{service['p99_ms']:.1f}",
                f"{service['cpu_ms_per_attempt']:.1f}",
                f"{ceiling['tps']:.0f}",
                f"{ceiling['latency_avg_ms']:.1f}" if ceiling["latency_avg_ms"] else "",
                f"{ratio:.2f}",
                wanted,
                "PASS" if passed else "MISS",
            ]
        )

    sellout = scenarios["sellout"]
    service, books, stock = sellout["service"], sellout["books"], sellout["stock"]
    expected_refusals = 2 * stock - stock
    sold_out = (
        service["placed"] == stock
        and service["insufficient_stock"] == expected_refusals
        and not service["other"]
        and books["reserved"] == stock
        and not books["drift"]
    )
    ok = ok and sold_out
    sellout["pass"] = sold_out
    rows.append(
        [
            f"sell-out: {2 * stock} buyers, {stock} units of one variant",
            f"{service['orders_per_s']:.0f}",
            f"{service['p50_ms']:.1f}",
            f"{service['p99_ms']:.1f}",
            f"{service['cpu_ms_per_attempt']:.1f}",
            "",
            "",
            "",
            f"{stock} placed, {expected_refusals} refused",
            "PASS" if sold_out else "MISS",
        ]
    )
    other = sum(service["other"].values())
    outcome_line = (
        f"Sell-out outcomes: {service['placed']} placed, {service['insufficient_stock']} "
        f"insufficient_stock, {other} other"
        + (f" {service['other']}" if other else "")
        + f"; variant reserved {books['reserved']} of stock {books['stock']}; "
        f"stock_drift() {'empty' if not books['drift'] else books['drift'][:5]}."
    )
    kinds = _statement_kinds(captured["statements"])
    notes = [
        f"Service: {clients} worker "
        + ("threads in one process" if options.order_threads else "processes")
        + " (django.setup() each, DEBUG=False, one connection each), calling "
        "orders.services.order_place on carts filled before the timed window; "
        f"{duration} s per scenario after one warm-up order per worker.",
        f"Ceiling: pgbench -M simple -c {clients} -j {min(2, clients)} -T {duration} running "
        f"bench/orders_pgbench.sql ({_script_statements()} statements) right before the "
        "service, on the same database.",
        f"One placement sends {len(captured['statements'])} statements: {kinds['data']} data, "
        f"{kinds['transaction']} BEGIN/COMMIT, {kinds['savepoints']} savepoint commands, "
        f"{kinds['constraint checks']} constraint-validation SELECTs (full_clean) and "
        f"{kinds['repeated']} repeated statement(s) (full_clean's unique check); "
        "the pgbench script has the data statements and BEGIN/COMMIT.",
        outcome_line,
        "Ratio: the service's orders/s over pgbench's TPS of the same statements.",
    ]
    return {
        "suite": NAME,
        "table": harness.format_table(headers, rows),
        "notes": notes + [f"Finding: {finding}" for finding in findings],
        "ok": ok,
        "data": {
            "clients": clients,
            "duration": duration,
            "threads": options.order_threads,
            "scenarios": scenarios,
            "placement_sql": captured["statements"],
        },
    }
