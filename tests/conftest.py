"""Fixtures for the end-to-end tests: a real Celery worker on the test database and Redis.

The worker is a subprocess (`python -m celery -A shop worker`), so it sees only what is
committed: tests that use it need `@pytest.mark.django_db(transaction=True)` (the fixture
asks for `transactional_db` itself).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER_BOOT_TIMEOUT = 30.0


def _database_url(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


def _broker_clear(app) -> None:
    """Start from an empty broker: no task left by an earlier test (or an earlier run) may
    reach this worker, and none of this test's may be taken by anything else."""
    app.control.purge()
    with app.connection_for_write() as connection:
        client = connection.channel().client
        # Messages a killed worker had taken but not acknowledged (kombu's Redis transport).
        client.delete("unacked", "unacked_index", "unacked_mutex")


class CeleryWorker:
    """A running `celery worker` subprocess; `log()` is what it printed so far."""

    def __init__(self, process: subprocess.Popen, name: str, log_path: Path) -> None:
        self.process = process
        self.name = name
        self.log_path = log_path

    def log(self, tail: int = 60) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:])

    def assert_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(
                f"the Celery worker exited with code {self.process.returncode}:\n{self.log()}"
            )

    def stop(self) -> None:
        """TERM (warm shutdown: the task in hand finishes), then KILL if it lingers."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@pytest.fixture
def celery_worker(transactional_db, settings, tmp_path):
    """One real worker (solo pool, one task at a time) consuming the project's queues on
    the test database and the test Redis databases; stopped when the test ends."""
    from shop.celery import app

    broker = settings.CELERY_BROKER_URL
    if settings.CELERY_TASK_ALWAYS_EAGER or not broker.startswith(("redis://", "rediss://")):
        pytest.skip("needs Redis as the Celery broker (REDIS_URL is not set)")
    try:
        _broker_clear(app)
    except Exception as exc:  # Redis down: say so rather than time out later
        pytest.skip(f"the Celery broker {broker} cannot be reached: {exc}")

    worker = celery_worker_start(
        broker=broker,
        log_path=tmp_path / "celery-worker.log",
        # No other workers to sync with: skip the start-up rounds that wait for them.
        args=["--pool=solo", "--concurrency=1", "--without-mingle", "--without-gossip"],
    )
    try:
        _wait_ready(app, worker)
        yield worker
    finally:
        worker.stop()
        # Tasks this test queued that the worker did not take (e.g. retries with a countdown).
        with contextlib.suppress(Exception):
            _broker_clear(app)


def celery_worker_start(
    *, broker: str, log_path: Path, args: list[str], env: dict[str, str] | None = None
) -> CeleryWorker:
    """Start `python -m celery -A shop worker <args>` on the test database and `broker`.

    No -Q: the worker consumes every queue the project routes tasks to. The caller stops it.
    """
    from django.conf import settings
    from django.db import connection

    name = f"e2e-{uuid.uuid4().hex[:8]}@%h"
    worker_env = dict(os.environ)
    worker_env.update(
        {
            "DJANGO_SETTINGS_MODULE": "shop.settings",
            # The test database pytest-django made (test_<name>), not the developer's.
            "DATABASE_URL": _database_url(connection.settings_dict),
            # Each Redis role as this process resolved it, so the worker shares the test
            # cache, and `broker` as its broker, whatever REDIS_URL or overrides pytest was
            # given.
            "REDIS_URL": settings.REDIS_URL,
            "REDIS_CACHE_URL": settings.REDIS_CACHE_URL,
            "REDIS_SESSIONS_URL": settings.REDIS_SESSIONS_URL,
            "CELERY_BROKER_URL": broker,
            "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX,
            "SANDBOX_WEBHOOK_SECRET": settings.SANDBOX_WEBHOOK_SECRET,
            "CARRIER_WEBHOOK_SECRET": settings.CARRIER_WEBHOOK_SECRET,
            "EMAIL_URL": "consolemail://",
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        }
    )
    command = [sys.executable, "-m", "celery", "-A", "shop", "worker", "--loglevel=INFO"]
    command += ["--hostname", name, *args]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=worker_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches every child
        )
    return CeleryWorker(process, name.replace("%h", _hostname()), log_path)


def _hostname() -> str:
    import socket

    return socket.gethostname()


def _wait_ready(app, worker: CeleryWorker) -> None:
    deadline = time.monotonic() + WORKER_BOOT_TIMEOUT
    while time.monotonic() < deadline:
        worker.assert_alive()
        if app.control.ping(destination=[worker.name], timeout=0.5):
            return
    pytest.fail(
        f"the Celery worker did not answer within {WORKER_BOOT_TIMEOUT:.0f} s:\n{worker.log()}"
    )


def _wait_for(predicate, *, timeout: float, interval: float = 0.1, worker=None):
    """Poll `predicate` until it returns something truthy; fail with the worker's log."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if worker is not None:
            worker.assert_alive()
        if time.monotonic() > deadline:
            log = f"\nworker log:\n{worker.log()}" if worker is not None else ""
            pytest.fail(
                f"still waiting after {timeout:.0f} s for {predicate.__doc__ or predicate}{log}"
            )
        time.sleep(interval)


@pytest.fixture
def wait_for():
    """`wait_for(predicate, timeout=30, worker=celery_worker)`: poll until truthy."""
    return _wait_for
