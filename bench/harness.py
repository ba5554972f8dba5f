"""Shared pieces of the benchmark suites: the bench database, gunicorn, wrk and the results.

Every suite runs against its own PostgreSQL database (`bazaar_bench`), its own Celery broker
database and its own cache key prefix, so a benchmark never reads or clobbers development or
test data, and a seeded database is reused from one run to the next.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from shop.redis_roles import (
    REDIS_DATABASES,
    redis_database,
    redis_roles,
    redis_url_with_database,
)

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = sys.executable

BENCH_DB_NAME = os.environ.get("BENCH_DB_NAME", "bazaar_bench")
# Redis databases 7-12 are the bench's (development has 0-2, the tests 13-15; see
# scripts/services.py). Every suite keeps its cache (7) and sessions (8) under a key prefix of
# its own and deletes only those keys; each has a broker database of its own (catalog 9, then
# `suite_broker_url`: orders 10, payments 11, reviews 12), because Celery's keys (the `celery`
# queue, `unacked`) carry no prefix and a suite empties its broker.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
BENCH_REDIS = redis_roles(BENCH_REDIS_URL)
BENCH_CACHE_PREFIX = "bazaar-bench"


def suite_broker_url(variable: str, offset: int) -> str:
    """A suite's own broker: `variable` from the environment, else the database `offset` past
    the catalog suite's broker, on the same server."""
    if os.environ.get(variable):
        return os.environ[variable]
    database = redis_database(BENCH_REDIS.broker) + offset
    if database >= REDIS_DATABASES:
        raise BenchError(f"BENCH_REDIS_URL leaves no database {database} for {variable}")
    return redis_url_with_database(BENCH_REDIS.broker, database)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A benchmark cannot run; the message says why and what to do."""


# --- Database ------------------------------------------------------------------------


def bench_database_url() -> str:
    """The server of DATABASE_URL (or the local default) with the bench database's name."""
    source = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/bazaar"
    parts = urlsplit(source)
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB_NAME}", parts.query, ""))


def _conninfo(url: str, dbname: str | None = None) -> str:
    parts = urlsplit(url)
    scheme = "postgresql" if parts.scheme in ("postgres", "postgresql", "pgsql") else parts.scheme
    path = f"/{dbname}" if dbname else parts.path
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def database_exists(url: str) -> bool:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_conninfo(url, "postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def database_create(url: str, *, drop_first: bool = False) -> None:
    name = urlsplit(url).path.lstrip("/")
    ident = sql.Identifier(name)
    with psycopg.connect(_conninfo(url, "postgres"), autocommit=True) as conn:
        if drop_first:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))


def query_all(url: str, statement: str, params: Sequence = ()) -> list[tuple]:
    with psycopg.connect(_conninfo(url)) as conn:
        return conn.execute(statement, params).fetchall()


def execute(url: str, *statements: tuple[str, Sequence] | str) -> list[list[tuple]]:
    """Run statements in autocommit mode, each either SQL alone or (SQL, parameters);
    returns each one's rows (empty when none)."""
    answers = []
    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        for statement in statements:
            query, params = (statement, None) if isinstance(statement, str) else statement
            cursor = conn.execute(query, params)
            answers.append(cursor.fetchall() if cursor.description else [])
    return answers


def _product_count(url: str) -> int:
    try:
        return query_all(url, "SELECT count(*) FROM catalog_product")[0][0]
    except psycopg.errors.UndefinedTable:
        return 0


def suite_database_url(suffix: str) -> str:
    """The URL of a suite's own database beside the shared one (`bazaar_bench_<suffix>`),
    for suites that write what the other suites' figures must not see."""
    parts = urlsplit(bench_database_url())
    name = f"{BENCH_DB_NAME}_{suffix}"
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def seeded_database_prepare(
    url: str,
    env: dict[str, str],
    *,
    products: int,
    reseed: bool = False,
    collectstatic: bool = True,
) -> None:
    """Create and migrate the database at `url` and seed it with `products` products,
    unless it has exactly that many already (a seeded database is reused from run to run);
    `env` is the environment of the `manage.py` commands run against it."""
    name = urlsplit(url).path.lstrip("/")
    existed = database_exists(url)
    if reseed or not existed:
        log(("recreating" if existed else "creating") + f" database {name}")
        database_create(url, drop_first=existed)
    manage(["migrate", "--noinput"], env, quiet=True)
    count = _product_count(url)
    if count != products:
        if count:
            # An interrupted seed or another size: start again from an empty database.
            log(f"{count} products, {products} wanted: recreating database {name}")
            database_create(url, drop_first=True)
            manage(["migrate", "--noinput"], env, quiet=True)
        manage(["seed_demo", "--products", str(products)], env)
        count = _product_count(url)
        if count != products:
            raise BenchError(f"seed_demo made {count} products, {products} were asked for")
    else:
        log(f"reusing database {name}: {count} products (--reseed to start over)")
    if collectstatic:
        manage(["collectstatic", "--noinput"], env, quiet=True)


def prepare_database(*, products: int, reseed: bool = False) -> tuple[str, dict[str, str]]:
    """The shared bench database, seeded with `products` products (see
    `seeded_database_prepare`). Returns its URL and the environment of a production-like
    process using it."""
    url = bench_database_url()
    env = app_environment(url)
    seeded_database_prepare(url, env, products=products, reseed=reseed)
    return url, env


def redis_clear_prefix(url: str, prefix: str) -> int:
    """Delete the keys under `prefix` in the database of `url` (and only those)."""
    import redis

    client = redis.Redis.from_url(url)
    deleted = 0
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        deleted += client.delete(key)
    return deleted


def cache_clear(prefix: str) -> int:
    """Delete a suite's cache and session keys (and only those): a run starts cold."""
    return redis_clear_prefix(BENCH_REDIS.cache, prefix) + redis_clear_prefix(
        BENCH_REDIS.sessions, prefix
    )


def redis_environment(*, prefix: str, broker_url: str | None = None) -> dict[str, str]:
    """The variables that put a suite's processes on the bench's Redis: the shared cache and
    sessions databases under `prefix`, and `broker_url` (default: the catalog suite's). Each
    role is set, so no REDIS_CACHE_URL or CELERY_BROKER_URL of the developer's leaks in."""
    return {
        "REDIS_URL": BENCH_REDIS_URL,
        "REDIS_CACHE_URL": BENCH_REDIS.cache,
        "REDIS_SESSIONS_URL": BENCH_REDIS.sessions,
        "CELERY_BROKER_URL": broker_url or BENCH_REDIS.broker,
        "CACHE_KEY_PREFIX": prefix,
    }


# --- Django processes ----------------------------------------------------------------


def app_environment(database_url: str) -> dict[str, str]:
    """The environment of a production-like process against the bench database."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "shop.settings",
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
            "DATABASE_URL": database_url,
            **redis_environment(prefix=BENCH_CACHE_PREFIX),
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def manage(
    args: Sequence[str], env: dict[str, str], *, quiet: bool = False, code: Path = ROOT
) -> None:
    """`manage.py <args>` of the checkout at `code` (this one by default)."""
    command = [PYTHON, str(code / "manage.py"), *args]
    log("$ manage.py " + " ".join(args))
    result = subprocess.run(
        command,
        cwd=code,
        env=env,
        stdout=subprocess.DEVNULL if quiet else None,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"`manage.py {' '.join(args)}` failed with exit code {result.returncode}")


def child_json(
    args: Sequence[str], env: dict[str, str], *, what: str, timeout: float | None = None
) -> Any:
    """Run `python <args>` from the project root with `env` (a suite's Django side, in a
    child process) and return the JSON of the last line it prints; BenchError with the
    tail of its stderr, prefixed by "`what` failed", if it exits non-zero."""
    result = subprocess.run(
        [PYTHON, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"{what} failed:\n{result.stderr.strip()[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class ServerConfig:
    """How gunicorn serves every app under test: the same for the app and the ceiling."""

    workers: int = 4
    worker_class: str = "sync"
    threads: int = 1

    def describe(self) -> str:
        text = f"gunicorn --workers {self.workers} --worker-class {self.worker_class}"
        if self.worker_class == "gthread":
            text += f" --threads {self.threads}"
        return text

    def arguments(self) -> list[str]:
        args = ["--workers", str(self.workers), "--worker-class", self.worker_class]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads)]
        return args


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process_group(process: subprocess.Popen, *, grace: float = 15) -> None:
    """Stop a process we started in its own session (gunicorn, a Celery worker): TERM to
    its process group, then KILL if it lingers more than `grace` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def gunicorn(
    app: str,
    *,
    env: dict[str, str],
    config: ServerConfig,
    pythonpath: Path | None = None,
    probe_path: str = "/",
    name: str = "app",
    code: Path = ROOT,
) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port; yields its base URL and always stops it.
    The app is imported from the checkout at `code` (this one by default)."""
    port = free_port()
    command = [
        PYTHON,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        *config.arguments(),
        "--log-level",
        "warning",
        "--timeout",
        "60",
    ]
    if pythonpath:
        command += ["--pythonpath", str(pythonpath)]
    log(f"serving {name}: {config.describe()} on 127.0.0.1:{port}")
    process = subprocess.Popen(command, cwd=code, env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, base_url + probe_path, name=name)
        yield base_url
    finally:
        stop_process_group(process)


def ceiling_server(
    env: dict[str, str], config: ServerConfig
) -> contextlib.AbstractContextManager[str]:
    """The ceiling every figure is compared with: bench/minimal_app.py's minimal Django
    view under gunicorn with the same `config` as the shop (see `gunicorn`)."""
    return gunicorn(
        "minimal_app:application",
        env=env,
        config=config,
        pythonpath=BENCH_DIR,
        name="minimal Django view",
    )


def one_query_server(
    env: dict[str, str], config: ServerConfig
) -> contextlib.AbstractContextManager[str]:
    """The second reference: bench/one_query_app.py's page (one SQL query against the
    bench database of `env`, a small template) under gunicorn with the same `config`."""
    return gunicorn(
        "one_query_app:application",
        env=env,
        config=config,
        pythonpath=BENCH_DIR,
        name="one-query Django page",
    )


def _wait_until_up(process: subprocess.Popen, url: str, *, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn serving {name} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
            return
        except urllib.error.HTTPError:
            return  # it answers, even if not with 200: a target's own status is checked later
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise BenchError(f"gunicorn serving {name} did not answer {url} within {timeout:.0f} s")


def http_get(url: str, *, cookie: str = "") -> tuple[int, dict[str, str], bytes]:
    headers = {"User-Agent": "bazaar-bench"}
    if cookie:
        headers["Cookie"] = cookie
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@contextlib.contextmanager
def celery_worker(
    env: dict[str, str], *, hostname: str, boot_timeout: float = 60, code: Path = ROOT
) -> Iterator[Path]:
    """One Celery worker as production runs it (`celery -A shop worker --concurrency=1`,
    prefork) with `env`, logging to a temporary file; yields that file's path once the
    worker says it is ready. Always stopped (TERM to its process group, then KILL), and
    its log removed. It runs the checkout at `code` (this one by default)."""
    descriptor, log_name = tempfile.mkstemp(prefix="bench-celery-", suffix=".log")
    log_path = Path(log_name)
    command = [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "shop",
        "worker",
        "--concurrency=1",
        "--loglevel=INFO",
        "--hostname",
        hostname,
        "--without-mingle",
        "--without-gossip",
    ]
    log(f"starting one Celery worker ({' '.join(command[2:])})")
    with os.fdopen(descriptor, "wb") as log_file:  # the worker keeps its own copy
        process = subprocess.Popen(
            command,
            cwd=code,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + boot_timeout
        while " ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None:
                raise BenchError(
                    f"the Celery worker exited with code {process.returncode}:\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            if time.monotonic() > deadline:
                raise BenchError(f"the Celery worker was not ready within {boot_timeout:.0f} s")
            time.sleep(0.1)
        yield log_path
    finally:
        stop_process_group(process, grace=20)
        with contextlib.suppress(OSError):
            log_path.unlink()


# --- Load generator ------------------------------------------------------------------

WRK_SCRIPT = BENCH_DIR / "wrk_paths.lua"


@dataclass(frozen=True)
class LoadConfig:
    """wrk's settings; the same for every target and for the ceiling."""

    duration: int = 10
    warmup: int = 2
    connections: int = 32
    threads: int = 2

    def describe(self) -> str:
        return (
            f"wrk -t{self.threads} -c{self.connections} -d{self.duration}s "
            f"(after a {self.warmup} s warm-up)"
        )


@dataclass
class LoadResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    bytes_per_response: int
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing: installing the Debian package `wrk`")
        for args in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(args, check=False, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
        if found:
            return found
    raise BenchError(
        "the load generator `wrk` is not installed: run `sudo apt-get install wrk` "
        "(Debian/Ubuntu) or `brew install wrk` (macOS), then run the benchmark again"
    )


def wrk_run(
    base_url: str,
    paths: Sequence[str],
    config: LoadConfig,
    *,
    seconds: int,
    cookie: str = "",
    bust: bool = False,
) -> LoadResult:
    """Load `paths` (in turn, over every connection) for `seconds`; wrk's own numbers.
    `cookie`: sent with every request (a logged-in session); `bust`: every URL made one no
    cache holds (`cold=<n>` appended), so anonymous requests miss the page cache."""
    with tempfile.NamedTemporaryFile("w", prefix="bench-wrk-", suffix=".txt") as paths_file:
        paths_file.write("\n".join(paths) + "\n")
        paths_file.flush()
        args = [paths_file.name, cookie, "bust" if bust else ""]
        load, _ = wrk_script_run(WRK_SCRIPT, base_url + paths[0], args, config, seconds=seconds)
        return load


def wrk_script_run(
    script: Path,
    url: str,
    script_args: Sequence[str],
    config: LoadConfig,
    *,
    seconds: int,
) -> tuple[LoadResult, dict]:
    """Run wrk with a Lua `script` of ours (given `script_args` after `--`) against `url`
    for `seconds`. The script prints one `BENCH_JSON {...}` line; returns that line read
    into a LoadResult, and the line's raw data (for figures of a script's own)."""
    command = [
        ensure_wrk(),
        f"-t{config.threads}",
        f"-c{config.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        "--",
        *script_args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"wrk failed ({result.returncode}): {result.stderr.strip()}")
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line.removeprefix("BENCH_JSON "))
            break
    else:
        raise BenchError(f"wrk printed no result line:\n{result.stdout}\n{result.stderr}")
    duration_s = data["duration_us"] / 1e6
    load = LoadResult(
        requests=data["requests"],
        duration_s=duration_s,
        rps=data["requests"] / duration_s if duration_s else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        bytes_per_response=data["bytes"] // data["requests"] if data["requests"] else 0,
        errors={name: count for name, count in data["errors"].items() if count},
    )
    return load, data


def wrk_measure(
    base_url: str,
    paths: Sequence[str],
    config: LoadConfig,
    *,
    cookie: str = "",
    bust: bool = False,
) -> LoadResult:
    if config.warmup:
        wrk_run(base_url, paths, config, seconds=config.warmup, cookie=cookie, bust=bust)
    return wrk_run(base_url, paths, config, seconds=config.duration, cookie=cookie, bust=bust)


# --- Results -------------------------------------------------------------------------


def machine_description() -> dict[str, object]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "commit": commit or None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table, padded so it also reads well in a terminal."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), separator, *(line(row) for row in cells[1:])])


def write_results(suite: str, payload: dict, markdown: str) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = RESULTS_DIR / f"{suite}-{stamp}.json"
    md_path = RESULTS_DIR / f"{suite}-{stamp}.md"
    json_path.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    md_path.write_text(markdown + "\n")
    for path, latest in ((json_path, "json"), (md_path, "md")):
        shutil.copyfile(path, RESULTS_DIR / f"{suite}-latest.{latest}")
    return json_path, md_path


def _json_default(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


# --- Signed callbacks posted like a provider or a carrier (payments, fulfilment suites) ---


def stripe_signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """`Stripe-Signature` as API.md defines it, written here from the contract: HMAC-SHA256
    of "<t>.<raw body>" with the webhook secret."""
    import hashlib
    import hmac

    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def post_signed(base_url: str, path: str, event: dict, *, secret: str) -> dict:
    """POST one event, signed right now; returns when it was sent and answered."""
    import http.client
    import json
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    body = json.dumps(event).encode()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        sent = time.time()
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": stripe_signature(secret, body),
            },
        )
        response = connection.getresponse()
        response.read()
        answered = time.time()
    finally:
        connection.close()
    return {"sent": sent, "answered": answered, "status": response.status}


def post_signed_events(
    base_url: str, path: str, events: list[dict], *, secret: str, rate: float | None
) -> list[dict]:
    """POST the events: at `rate` per second on a fixed schedule (a late POST does not
    delay the next), or all at once (16 threads) when `rate` is None."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    posts: list[dict | None] = [None] * len(events)
    start = time.monotonic() + 0.2
    lock = threading.Lock()

    def send(index: int) -> None:
        if rate:
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        answer = post_signed(base_url, path, events[index], secret=secret)
        with lock:
            posts[index] = answer

    with ThreadPoolExecutor(max_workers=8 if rate else 16) as pool:
        for future in [pool.submit(send, index) for index in range(len(events))]:
            future.result()
    return posts  # type: ignore[return-value]


def latency_summary(values: list[float]) -> dict:
    """p50, p99 and max of a list of milliseconds."""
    import statistics

    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)
    if len(ordered) == 1:
        return {"p50": ordered[0], "p99": ordered[0], "max": ordered[0]}
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p99": cuts[98], "max": ordered[-1]}
