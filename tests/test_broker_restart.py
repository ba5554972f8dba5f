"""The Celery worker outlives its broker: Redis killed (-9) and restarted ten times while tasks
are in flight, and no task is lost.

The broker is a Redis of this test's own (AOF with fsync on every write, as a broker that
must not lose a queued task runs), on a free port, in tmp_path; the shared Redis is never
touched. The worker is `celery -A shop worker` as production runs it (prefork, two
processes, no flags: the app's own settings and consumer), plus a task that only this test
registers. Each round waits until the worker has taken a task since the last restart (so it
is still consuming), kills Redis while that task runs, lets the task finish while Redis is
down (its ack cannot reach the broker), then starts Redis again. At the end every task that
was published ran at least once (acks_late: a task may run twice, never zero times), and the
worker is the same process that started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, CeleryWorker, _wait_for, _wait_ready, celery_worker_start

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ROUNDS = 10
BATCH = 3
TASK_SECONDS = 0.3
ROUND_TIMEOUT = 30.0
DRAIN_TIMEOUT = 60.0
REDIS_BOOT_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server child process that can be killed and started again on its data."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")),
                *("--appendonly", "yes", "--appendfsync", "always", "--save", ""),
            ],
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + REDIS_BOOT_TIMEOUT
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited with {self.process.returncode}: {self.log()}")
            try:
                if client.ping():  # answers only once the append-only file is loaded
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer on {self.port}: {self.log()}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final save; only what the AOF already has survives."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _redis_server(tmp_path: Path, name: str):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    directory = tmp_path / name
    directory.mkdir()
    return RedisServer(directory)


@pytest.fixture
def broker_redis(tmp_path):
    """The broker this test kills."""
    server = _redis_server(tmp_path, "broker")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def store_redis(tmp_path):
    """Where the probe task records its runs: a Redis nobody kills or flushes (the shared test
    database is flushed by every test that starts, in any session using it)."""
    server = _redis_server(tmp_path, "store")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def _broker_app(url: str):
    """A Celery app on `url`, for a few calls while that Redis runs.

    Not the shop's app: that one talks to the test Redis, and its mailbox (ping, stats)
    publishes there whatever connection it is given."""
    from celery import Celery
    from kombu import pools

    from shop.celery import app as shop_app

    app = Celery("broker-restart-test", broker=url, set_as_current=False)
    app.conf.update(
        accept_content=["json"],
        task_serializer="json",
        broker_transport_options=shop_app.conf.broker_transport_options,
    )
    try:
        yield app
    finally:
        app.close()
        # kombu keeps its connection pools per broker URL, across apps: drop them, or the
        # next app reuses a socket of the Redis that was killed since.
        pools.reset()


def _broker_url_for(redis_url: str) -> str:
    """The broker URL that settings.py derives from REDIS_URL, as the worker will see it
    (it may choose another database of that server)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "REDIS_URL": redis_url}
    code = "from django.conf import settings; print(settings.CELERY_BROKER_URL)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def _members(client: redis.Redis, name: str) -> set[int]:
    return {int(member) for member in client.smembers(name)}


def test_the_worker_survives_ten_broker_restarts_mid_task_and_loses_no_task(
    broker_redis, store_redis, tmp_path
):
    client = redis.Redis(port=store_redis.port)
    key = "broker-restart"
    broker_url = _broker_url_for(broker_redis.url)
    worker: CeleryWorker = celery_worker_start(
        broker=broker_url,
        log_path=tmp_path / "celery-worker.log",
        # What `celery -A shop worker` runs in production on a two-core machine.
        args=["--pool=prefork", "--concurrency=2", "--include=tests.broker_tasks"],
    )
    published: list[int] = []

    def publish(count: int) -> None:
        with _broker_app(broker_url) as app:
            for _ in range(count):
                n = len(published)
                kwargs = {"n": n, "store_url": store_redis.url, "key": key}
                app.send_task(
                    "tests.broker_tasks.broker_probe_task",
                    kwargs={**kwargs, "seconds": TASK_SECONDS},
                )
                published.append(n)

    def counter(name: str) -> int:
        return int(client.get(f"{key}:{name}") or 0)

    try:
        with _broker_app(broker_url) as app:
            _wait_ready(app, worker)
        pid = worker.process.pid

        for _ in range(ROUNDS):
            starts_before = counter("starts")
            publish(BATCH)

            def task_in_flight(starts_before=starts_before):
                """the worker to take a task (it must still consume after a restart)"""
                return counter("starts") > starts_before

            _wait_for(task_in_flight, timeout=ROUND_TIMEOUT, interval=0.02, worker=worker)
            broker_redis.kill()

            def tasks_finished_while_down():
                """the tasks in flight to finish while the broker is down"""
                return counter("runs") >= counter("starts")

            _wait_for(tasks_finished_while_down, timeout=ROUND_TIMEOUT, worker=worker)
            broker_redis.start()

        publish(BATCH)

        def missing() -> set[int]:
            return set(published) - _members(client, f"{key}:done")

        deadline = time.monotonic() + DRAIN_TIMEOUT
        while missing() and time.monotonic() < deadline:
            worker.assert_alive()
            time.sleep(0.2)
        if missing():
            broker = redis.Redis.from_url(broker_url)
            pytest.fail(
                f"tasks {sorted(missing())} of {len(published)} never ran; the broker holds"
                f" {broker.llen('celery')} queued and {broker.hlen('unacked')} unacked"
                f" message(s):\n{broker.hvals('unacked')}\nworker log:\n{worker.log(tail=400)}"
            )

        log = worker.log(tail=100_000)
        assert "Unrecoverable error" not in log, log
        assert log.count("Connection to broker lost") >= ROUNDS
        with _broker_app(broker_url) as app:
            stats = app.control.inspect(destination=[worker.name], timeout=2).stats()
        assert stats is not None, f"the worker did not answer:\n{worker.log()}"
        assert stats[worker.name]["pid"] == pid
        worker.assert_alive()
    finally:
        worker.stop()
