"""/metrics under gunicorn with several workers, as production runs it: every scrape, whichever
worker answers it, adds up the samples of all workers (gunicorn.conf.py's multiprocess mode).
Without it each worker would report only the requests it served itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import _database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "gunicorn-metrics-token-42"
REQUESTS = 40
ROUTE = "set_language"  # /i18n/setlang/: no database, no template, never cached


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def gunicorn_two_workers(settings, tmp_path):
    from django.db import connection

    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    stale = multiproc / "counter_1.db"
    stale.write_bytes(b"left by an earlier run")
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "DEBUG": "true",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_CACHE_URL": settings.REDIS_CACHE_URL,
        "REDIS_SESSIONS_URL": settings.REDIS_SESSIONS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX,
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "ACCESS_LOG": "false",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    log = tmp_path / "gunicorn.log"
    # From the project's directory, as every gunicorn of ours: gunicorn.conf.py is read.
    command = [sys.executable, "-m", "gunicorn", "shop.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--log-level", "warning"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{log.read_text()}")
            try:
                if _get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not come up:\n{log.read_text()}")
            time.sleep(0.2)
        assert not stale.exists(), "files of an earlier run must be removed at start"
        yield base, multiproc
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _route_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "bazaar_http_request_duration_seconds_count"
                and sample.labels.get("route") == ROUTE
            ):
                return sample.value
    return 0.0


def test_every_scrape_adds_up_all_workers(gunicorn_two_workers):
    base, multiproc = gunicorn_two_workers
    opener = urllib.request.build_opener(_NoRedirect)

    def hit(_: int) -> int:
        try:
            with opener.open(base + "/i18n/setlang/", timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    # Eight at once against two sync workers: both serve some of them.
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(hit, range(REQUESTS)))
    assert set(statuses) == {302}, statuses

    serving = [path for path in multiproc.glob("histogram_*.db") if _route_count_in(path) > 0]
    assert len(serving) == 2, "the requests should have been spread over both workers"

    for _ in range(6):  # answered by one worker or the other; each sees every request
        status, body = _get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200, body
        assert _route_count(body.decode()) == REQUESTS

    assert _get(base + "/metrics")[0] == 401


def _route_count_in(path: Path) -> float:
    for metric in MultiProcessCollector.merge([str(path)]):
        for sample in metric.samples:
            if sample.name.endswith("_count") and sample.labels.get("route") == ROUTE:
                return sample.value
    return 0.0
