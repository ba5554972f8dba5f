"""The `orders` suite: orders placed per second through the service and over HTTP
(`POST /api/v1/orders/` under gunicorn), next to PostgreSQL's ceiling for the same
statements measured with pgbench in the same run.

Three scenarios, each on carts filled beforehand (outside the timed window):

- uncontended: every buyer's cart holds one random variant of 10,000, with ample stock;
- contended: every buyer's cart holds the same variant, with ample stock;
- sell-out: one variant with `--hot-stock` units and twice as many buyers: exactly that many
  orders are placed, every other buyer gets `insufficient_stock`, nothing else happens.

The service is driven by worker processes (as many as gunicorn's workers), each calling
`orders.services.order_place` for its buyers; pgbench runs `orders_pgbench.sql` with the
same number of clients, right before the service, on the same database. Checkout over HTTP
(`http_run`) is wrk POSTing one new placement per request, with a bearer token and an
Idempotency-Key, then the same POSTs again as replays; see bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from urllib.parse import urlsplit

import harness
import orders_workers
from harness import BenchError, log

NAME = "orders"
DESCRIPTION = "orders placed per second (uncontended, one hot variant) vs pgbench of the same SQL"

POOL_SIZE = 10_000
AMPLE_STOCK = 1_000_000
UNCONTENDED_MIN_RATIO = 0.30
HTTP_MIN_RATIO = 0.25
# Buyers with a filled cart per worker-second of an HTTP run: more than gunicorn can place,
# so every request is a new placement (a buyer sent twice would be a replay; the report
# says so if wrk ran out of buyers).
HTTP_BUYERS_PER_SECOND = 40
# Buyers placing, then retrying with the same key, one at a time, to check every replay
# answers exactly what the first request did.
REPLAY_CHECKS = 20
WRK_ORDERS_SCRIPT = harness.BENCH_DIR / "wrk_orders.lua"
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
    group.add_argument(
        "--profile-placements",
        type=int,
        default=100,
        help="placements profiled through the test client (default 100)",
    )
    group.add_argument(
        "--skip-service",
        action="store_true",
        help="run only checkout over HTTP (not the service-level scenarios)",
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
        # The HTTP scenario's buyers who logged in through auth/token/ hold token rows.
        (
            "DELETE FROM token_blacklist_blacklistedtoken WHERE token_id IN (SELECT t.id FROM"
            " token_blacklist_outstandingtoken t JOIN accounts_user u ON u.id = t.user_id"
            " WHERE u.email LIKE %s)",
            [f"%@{BUYER_DOMAIN}"],
        ),
        *(
            (
                f"DELETE FROM {table} WHERE user_id IN"
                " (SELECT id FROM accounts_user WHERE email LIKE %s)",
                [f"%@{BUYER_DOMAIN}"],
            )
            for table in ("token_blacklist_outstandingtoken", "accounts_tokenfamily")
        ),
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


def buyers_create(
    url: str, label: str, variant_ids: list[int], *, with_carts: bool = True
) -> list[int]:
    """One buyer per variant given, each with a cart holding one unit of it (unless
    `with_carts` is false: the HTTP scenario fills carts through the cart service); ids
    ascending and contiguous (one INSERT), so pgbench can draw buyers from a range."""
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
    if user_ids[-1] - user_ids[0] + 1 != len(user_ids):
        raise BenchError("bench buyers did not get contiguous ids (is something else writing?)")
    if not with_carts:
        return user_ids
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


# --- Checkout over HTTP ----------------------------------------------------------------


def wrk_orders(
    base_url: str, items: list[tuple[str, str, dict]], load: harness.LoadConfig, *, seconds: int
) -> tuple[harness.LoadResult, dict]:
    """POST `items` to `orders/` with wrk for `seconds` (each request its own token, key and
    body); wrk's figures and the script's (answers by status, requests wrapped around)."""
    # wrk_orders.lua's input: `token<TAB>key<TAB>body` a line.
    with tempfile.NamedTemporaryFile("w", prefix="bench-orders-", suffix=".txt") as lines:
        for token, key, body in items:
            lines.write(f"{token}\t{key}\t{json.dumps(body, separators=(',', ':'))}\n")
        lines.flush()
        return harness.wrk_script_run(
            WRK_ORDERS_SCRIPT,
            base_url + orders_workers.ORDERS_PATH,
            [lines.name, str(load.threads)],
            load,
            seconds=seconds,
        )


def api_post_order(base_url: str, token: str, key: str, body: dict) -> tuple[int, dict]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            orders_workers.ORDERS_PATH,
            body=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": key,
            },
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def api_login(base_url: str, email: str, password: str) -> str:
    """An access token from `auth/token/`, as an app logs in."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/v1/auth/token/",
            body=json.dumps({"email": email, "password": password}).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        response = connection.getresponse()
        data = json.loads(response.read() or b"{}")
    finally:
        connection.close()
    if response.status != 200:
        raise BenchError(f"auth/token/ answered {response.status}: {data}")
    return data["access"]


def _buyer_emails(url: str, user_ids: list[int]) -> dict[int, str]:
    rows = harness.execute(
        url, ("SELECT id, email FROM accounts_user WHERE id = ANY(%s)", [user_ids])
    )[0]
    return dict(rows)


def http_buyers_prepare(env: dict[str, str], buyers: list[tuple[int, int]], passwords=None):
    """Fill the buyers' carts through the cart service (in a child process, not timed)
    and mint their access tokens; returns (carts filled, {user id: token})."""
    answer = _one_shot(
        orders_workers.http_buyers_entry,
        env,
        {"buyers": buyers, "passwords": passwords or {}},
        timeout=900,
    )
    return answer["filled"], {int(k): v for k, v in answer["tokens"].items()}


def gunicorn_cpu_s(base_url: str) -> float:
    """CPU seconds used so far by the gunicorn serving `base_url` (master and workers),
    read from /proc: what the shop's Python costs, whatever else the machine is doing."""
    bind = urlsplit(base_url).netloc.encode()
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
            if b"gunicorn" not in command or bind not in command:
                continue
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def wait_idle(url: str, *, timeout: float = 180) -> None:
    """Return once no other session of the database runs a statement or holds a
    transaction, three looks in a row: the requests gunicorn still had queued when wrk
    stopped have been answered (a reset's TRUNCATE meanwhile would deadlock with them)."""
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 3:
        busy = harness.execute(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')",
        )[0][0][0]
        quiet = 0 if busy else quiet + 1
        if time.monotonic() > deadline:
            raise BenchError(f"the orders database stayed busy for {timeout:.0f} s")
        time.sleep(0.3)


def _order_count(url: str) -> int:
    return harness.execute(url, "SELECT count(*) FROM orders_order")[0][0][0]


def http_round(
    url: str,
    env: dict[str, str],
    base_url: str,
    *,
    number: int,
    pool: list[int],
    span: tuple[int, int],
    rng: random.Random,
    clients: int,
    method_id: int,
    load: harness.LoadConfig,
) -> dict:
    """One round: buyers' carts filled through the service (not timed), pgbench's ceiling,
    then wrk POSTing one new placement per request for `load.duration` seconds."""
    body = orders_workers.order_request_body(method_id)
    warm_count = HTTP_BUYERS_PER_SECOND * clients * max(load.warmup, 1)
    count = HTTP_BUYERS_PER_SECOND * clients * load.duration
    warm_ids = buyers_create(url, f"http{number}-warmup", [0] * warm_count, with_carts=False)
    ids = buyers_create(url, f"http{number}", [0] * count, with_carts=False)
    buyers = [(user_id, rng.choice(pool)) for user_id in warm_ids + ids]
    # A few buyers log in through auth/token/ as an app does; the others' tokens are the
    # same kind, minted directly (logging in thousands would time Argon2, not checkout).
    login_ids = ids[:clients]
    passwords = {user_id: f"bench-{uuid.uuid4().hex}" for user_id in login_ids}
    log(f"http round {number}: filling {len(buyers)} carts through the cart service")
    began = time.monotonic()
    filled, tokens = http_buyers_prepare(env, buyers, passwords)
    fill_s = time.monotonic() - began
    emails = _buyer_emails(url, login_ids)
    for user_id in login_ids:
        tokens[user_id] = api_login(base_url, emails[user_id], passwords[user_id])

    def items(user_ids: list[int]) -> list[tuple[str, str, dict]]:
        return [(tokens[user_id], f"bench-{uuid.uuid4()}", body) for user_id in user_ids]

    warm_items, measured_items = items(warm_ids), items(ids)
    pgbench_buyers = buyers_create(
        url, f"http{number}-pgbench", [rng.choice(pool) for _ in range(count * 3)]
    )
    log(f"http round {number}: pgbench, {clients} clients, {load.duration} s")
    ceiling = pgbench_run(
        url,
        clients=clients,
        duration=load.duration,
        buyers=(pgbench_buyers[0], pgbench_buyers[-1]),
        variants=span,
        method_id=method_id,
    )
    log(f"http round {number}: pgbench {ceiling['tps']:.0f} TPS; POST orders/ with wrk")
    orders_before = _order_count(url)
    if load.warmup:
        wrk_orders(base_url, warm_items, load, seconds=load.warmup)
        wait_idle(url)
    orders_warm = _order_count(url)
    cpu_before = gunicorn_cpu_s(base_url)
    measured, raw = wrk_orders(base_url, measured_items, load, seconds=load.duration)
    cpu = gunicorn_cpu_s(base_url) - cpu_before
    wait_idle(url)
    orders_after = _order_count(url)
    statuses = {key: int(n) for key, n in raw.get("statuses", {}).items()}
    placed = statuses.get("201", 0)
    per_s = placed / measured.duration_s if measured.duration_s else 0.0
    log(f"http round {number}: {per_s:.0f} placements/s, answers {statuses}")
    return {
        "round": number,
        "placements_per_s": per_s,
        "placed": placed,
        "cpu_ms_per_request": cpu * 1000 / measured.requests if measured.requests else 0.0,
        "statuses": statuses,
        "wrapped": raw.get("wrapped", 0),
        "load": measured,
        "pgbench": ceiling,
        "ratio": per_s / ceiling["tps"] if ceiling["tps"] else 0.0,
        "orders_created": orders_after - orders_warm,
        "warmup_orders": orders_warm - orders_before,
        "buyers": len(ids),
        "carts_filled": filled,
        "fill_s": fill_s,
        "logins": len(login_ids),
        "items": measured_items,
    }


def http_replays(
    url: str,
    env: dict[str, str],
    base_url: str,
    *,
    items: list[tuple[str, str, dict]],
    pool: list[int],
    rng: random.Random,
    method_id: int,
    load: harness.LoadConfig,
) -> dict:
    """Retries with the same key: first REPLAY_CHECKS buyers place and retry one at a time
    (the retry must answer exactly what the first answer was, and place nothing); then wrk
    retries the placements of a measured round (`items`) for `load.duration` seconds."""
    body = orders_workers.order_request_body(method_id)
    ids = buyers_create(url, "replay-check", [0] * REPLAY_CHECKS, with_carts=False)
    _filled, tokens = http_buyers_prepare(env, [(user_id, rng.choice(pool)) for user_id in ids])
    mismatches = []
    for user_id in ids:
        key = f"bench-{uuid.uuid4()}"
        first = api_post_order(base_url, tokens[user_id], key, body)
        before = _order_count(url)
        again = api_post_order(base_url, tokens[user_id], key, body)
        if first[0] != 201 or again != first or _order_count(url) != before:
            mismatches.append({"first": first, "retry": again})
    orders = harness.execute(
        url, ("SELECT count(*) FROM orders_order WHERE user_id = ANY(%s)", [ids])
    )[0][0][0]
    before = _order_count(url)
    load_result, raw = wrk_orders(base_url, items, load, seconds=load.duration)
    wait_idle(url)
    created = _order_count(url) - before
    statuses = {key: int(n) for key, n in raw.get("statuses", {}).items()}
    return {
        "checked": len(ids),
        "mismatches": mismatches[:5],
        "mismatch_count": len(mismatches),
        "check_orders": orders,
        "load": load_result,
        "statuses": statuses,
        "keys": len(items),
        "orders_created": created,
    }


def http_run(
    url: str,
    env: dict[str, str],
    *,
    pool: list[int],
    span: tuple[int, int],
    rng: random.Random,
    clients: int,
    method_id: int,
    options: argparse.Namespace,
) -> dict:
    """Checkout over HTTP under gunicorn (DEBUG=False, as every suite serves the shop),
    `--rounds` rounds each paired with its own pgbench ceiling; the round with the median
    ratio is kept. Then the replays, the SQL of one placement and the profile."""
    load = options.load
    log("http: the SQL of one placement through the whole stack, and of its replay")
    capture_buyer = buyers_create(url, "http-capture", [0], with_carts=False)[0]
    captured = _one_shot(
        orders_workers.http_capture_entry, env, (capture_buyer, pool[0]), method_id
    )
    rounds = []
    with harness.gunicorn(
        "shop.wsgi:application",
        env=env,
        config=options.server,
        probe_path=orders_workers.ORDERS_PATH,
        name="the shop",
    ) as base_url:
        for number in range(1, max(options.rounds, 1) + 1):
            reset(url)
            rounds.append(
                http_round(
                    url,
                    env,
                    base_url,
                    number=number,
                    pool=pool,
                    span=span,
                    rng=rng,
                    clients=clients,
                    method_id=method_id,
                    load=load,
                )
            )
        kept = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
        # The last round's orders are the ones still there (each round starts from reset).
        placed_items = _placed_items(url, rounds[-1]["items"])
        log(f"http: replays of {len(placed_items)} placed keys")
        replays = http_replays(
            url,
            env,
            base_url,
            items=placed_items,
            pool=pool,
            rng=rng,
            method_id=method_id,
            load=load,
        )
    log(f"http: profiling {options.profile_placements} placements through the test client")
    profile_ids = buyers_create(
        url, "http-profile", [0] * (2 * options.profile_placements + 1), with_carts=False
    )
    profile = _one_shot(
        orders_workers.http_profile_entry,
        env,
        [(user_id, rng.choice(pool)) for user_id in profile_ids],
        method_id,
        timeout=900,
    )
    for entry in rounds:
        entry.pop("items")
    return {
        "rounds": rounds,
        "kept": kept["round"],
        "replays": replays,
        "captured": captured,
        "profile": profile,
    }


def _placed_items(url: str, items: list[tuple[str, str, dict]]) -> list[tuple[str, str, dict]]:
    """The items whose key answered 201 (stored with the order), for the replay run."""
    keys = [key for _token, key, _body in items]
    rows = harness.execute(
        url,
        (
            "SELECT key FROM core_idempotencykey WHERE key = ANY(%s) AND response_status = 201",
            [keys],
        ),
    )[0]
    placed = {row[0] for row in rows}
    return [item for item in items if item[1] in placed]


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
    if not options.skip_service:
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
    pool, span, hot = choose_variants(url)
    scenarios["http"] = http_run(
        url,
        env,
        pool=pool,
        span=span,
        rng=rng,
        clients=clients,
        method_id=method_id,
        options=options,
    )
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
        if key not in scenarios:
            continue
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

    outcome_line = ""
    if "sellout" in scenarios:
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
        *([outcome_line] if outcome_line else []),
        "Ratio: the service's orders/s over pgbench's TPS of the same statements.",
    ]
    http_ok, http_rows, http_notes, http_findings = _http_report(
        scenarios["http"], captured, clients=clients, options=options
    )
    ok = ok and http_ok
    rows += http_rows
    notes += http_notes
    findings += http_findings
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


def _http_report(
    http: dict, captured: dict, *, clients: int, options: argparse.Namespace
) -> tuple[bool, list[list[str]], list[str], list[str]]:
    """The table rows, notes and findings of checkout over HTTP."""
    rounds = http["rounds"]
    kept = next(entry for entry in rounds if entry["round"] == http["kept"])
    load, ceiling = kept["load"], kept["pgbench"]
    findings = []
    for entry in rounds:
        unexpected = {code: n for code, n in entry["statuses"].items() if code != "201"}
        if unexpected:
            findings.append(f"http round {entry['round']}: answers other than 201: {unexpected}")
        if entry["wrapped"]:
            findings.append(f"http round {entry['round']}: wrk ran out of buyers")
        if entry["orders_created"] < entry["placed"]:
            findings.append(
                f"http round {entry['round']}: {entry['placed']} answers 201 but only "
                f"{entry['orders_created']} orders"
            )
        if load.errors:
            findings.append(f"http round {entry['round']}: wrk errors {load.errors}")
    clean = not findings
    passed = kept["ratio"] >= HTTP_MIN_RATIO and clean
    replays = http["replays"]
    replay_other = {code: n for code, n in replays["statuses"].items() if code != "201"}
    replay_ok = (
        not replays["mismatch_count"]
        and replays["check_orders"] == replays["checked"]
        and replays["orders_created"] == 0
        and not replay_other
        and not replays["load"].errors
    )
    if replays["mismatch_count"]:
        findings.append(f"replays that differ from the first answer: {replays['mismatches']}")
    if replays["orders_created"] or replays["check_orders"] != replays["checked"]:
        findings.append(
            f"replays placed orders: {replays['orders_created']} during the wrk run, "
            f"{replays['check_orders']} for {replays['checked']} checked buyers"
        )
    if replay_other:
        findings.append(f"replays answered other than 201: {replay_other}")
    rows = [
        [
            "HTTP: POST orders/, JWT + Idempotency-Key, each a new placement",
            f"{kept['placements_per_s']:.0f}",
            f"{load.p50_ms:.1f}",
            f"{load.p99_ms:.1f}",
            f"{kept['cpu_ms_per_request']:.1f}",
            f"{ceiling['tps']:.0f}",
            f"{ceiling['latency_avg_ms']:.1f}" if ceiling["latency_avg_ms"] else "",
            f"{kept['ratio']:.2f}",
            f"≥ {HTTP_MIN_RATIO:.2f}",
            "PASS" if passed else "MISS",
        ],
        [
            "HTTP: the same POSTs again (replays, same key and body)",
            f"{replays['load'].rps:.0f}",
            f"{replays['load'].p50_ms:.1f}",
            f"{replays['load'].p99_ms:.1f}",
            "",
            "",
            "",
            "",
            "first answer, no order",
            "PASS" if replay_ok else "MISS",
        ],
    ]
    place, replay = http["captured"]["placement"], http["captured"]["replay"]
    kinds, replay_kinds = (
        _statement_kinds(place["statements"]),
        _statement_kinds(replay["statements"]),
    )
    service_kinds = _statement_kinds(captured["statements"])
    profile = http["profile"]
    parts = "; ".join(
        f"{part['part'].strip()} {part['ms_per_placement']:.2f} ms ({part['share']:.0%})"
        for part in profile["parts"]
    )
    notes = [
        f"HTTP: the shop under gunicorn ({options.server.describe()}, DEBUG=False, as every "
        f"suite serves it); {options.load.describe()} with bench/wrk_orders.lua: every "
        "request a buyer of its own with `Authorization: Bearer <access>`, a fresh "
        "`Idempotency-Key` (a UUID) and API.md's body (`shipping_method`, "
        f"`shipping_address`); {kept['buyers']} buyers per round (plus the warm-up's), each "
        "cart holding one unit of a random variant of the pool, filled through "
        f"cart.services.cart_add_item before the round ({kept['fill_s']:.0f} s, not timed); "
        f"{kept['logins']} of them logged in through auth/token/, the others' access tokens "
        "minted the same way (simplejwt AccessToken.for_user). Placements/s = 201 answers "
        f"over wrk's run; {kept['orders_created']} orders were written in the kept round.",
        "HTTP rounds (each paired with its own pgbench run right before it; the median "
        "ratio kept): "
        + ", ".join(
            f"{entry['placements_per_s']:.0f}/s vs {entry['pgbench']['tps']:.0f} TPS "
            f"= {entry['ratio']:.2f}"
            for entry in rounds
        )
        + ".",
        f"Replays: {replays['checked']} buyers placed and retried one at a time "
        f"({replays['mismatch_count']} retries differed from the first answer; "
        f"{replays['check_orders']} orders for them); then wrk re-sent the "
        f"{replays['keys']} placed POSTs of the last round for {options.load.duration} s: "
        f"{replays['load'].requests} answers {replays['statuses']}, "
        f"{replays['orders_created']} orders created.",
        f"SQL per placement over HTTP: {len(place['statements'])} statements "
        f"({kinds['data']} data, {kinds['transaction']} BEGIN/COMMIT, {kinds['savepoints']} "
        f"savepoint commands, {kinds['repeated']} repeated) against "
        f"{len(captured['statements'])} for the service alone "
        f"({service_kinds['data']} data); a replay sends {len(replay['statements'])} "
        f"({replay_kinds['data']} data, {replay_kinds['savepoints']} savepoint commands).",
        f"One placement through Django's test client under the production settings, in one "
        f"process: {profile['plain_wall_ms_per_placement']:.1f} ms wall, "
        f"{profile['plain_cpu_ms_per_placement']:.1f} ms CPU (mean of "
        f"{profile['plain_placements']}, no profiler).",
        f"Profile (cProfile, {profile['placements']} placements through Django's test client "
        "under the production settings, per placement; cumulative, so nested parts are "
        f"inside their parent): {profile['wall_ms_per_placement']:.1f} ms wall, "
        f"{profile['profiled_ms_per_placement']:.1f} ms profiled: {parts}.",
    ]
    http["ok"] = passed and replay_ok
    return passed and replay_ok, rows, notes, findings
