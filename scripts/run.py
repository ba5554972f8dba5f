"""`make run`: the whole shop on this machine, demo data included, until Ctrl-C.

Finds or starts PostgreSQL and Redis (scripts/services.py), migrates, seeds demo data into an
empty catalog, then runs the web server, a Celery worker and Celery beat with their output
prefixed by name. Without Redis, tasks run in-process, so no worker or beat is started.
A child that exits is started again, with a line saying so; one that keeps dying soon after
it starts waits longer each time (1 s, 2 s, 4 s ... up to a minute) instead of spinning.
Ctrl-C (or SIGTERM) stops every child, then anything services.py started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import services

ROOT = services.ROOT
DATA = ROOT / ".data"
SEED_PRODUCTS = "500"
DEMO_PASSWORD = "demo-pass-123"
DEMO_USERS = [
    ("admin@example.com", "superuser, /admin/"),
    ("merchant@example.com", "merchant staff, /admin/"),
    ("shopper@example.com", "shopper"),
]
_print_lock = threading.Lock()


class Stop(Exception):
    """Raised from a signal handler to leave the main loop and clean up."""


def _on_signal(signum, frame):
    raise Stop(signal.Signals(signum).name)


def manage(*args: str) -> int:
    return subprocess.call([sys.executable, "manage.py", *args], cwd=ROOT)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def seed_if_empty() -> None:
    probe = (
        "import sys; from catalog.models import Product;"
        " sys.exit(0 if Product.objects.exists() else 3)"
    )
    if manage("shell", "--verbosity", "0", "-c", probe) != 3:
        return  # products exist: keep the developer's data (or the probe failed, and said why)
    services.say(f"empty catalog: seeding demo data ({SEED_PRODUCTS} products)")
    if manage("seed_demo", "--products", SEED_PRODUCTS) != 0:
        services.say("seed_demo failed; the shop starts without demo data")


def _pump(name: str, proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        with _print_lock:
            sys.stdout.write(f"{name:<6} | {line}")
            sys.stdout.flush()


def start(name: str, command: list[str]) -> subprocess.Popen:
    # A session of its own: the terminal's Ctrl-C reaches only us, and we stop children in order.
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    threading.Thread(target=_pump, args=(name, proc), daemon=True).start()
    return proc


@dataclass
class Child:
    name: str
    command: list[str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    # Deaths in a row, each less than STABLE_AFTER seconds after its start.
    quick_deaths: int = 0
    restart_at: float | None = None


class Supervisor:
    """Keeps the children running: `check()`, called every half second, starts again any
    child that exited. The pause before a restart doubles with each quick death in a row,
    so a process that cannot start (a syntax error under --reload, a port taken) is retried
    at most once a minute; one that ran for STABLE_AFTER seconds starts over at 1 s."""

    STABLE_AFTER = 30.0
    FIRST_DELAY = 1.0
    MAX_DELAY = 60.0

    def __init__(
        self,
        *,
        start: Callable[[str, list[str]], subprocess.Popen],
        clock: Callable[[], float] = time.monotonic,
        say: Callable[[str], None] = services.say,
    ) -> None:
        self._start = start
        self._clock = clock
        self._say = say
        self.children: dict[str, Child] = {}

    def add(self, name: str, command: list[str]) -> subprocess.Popen:
        child = Child(name, command)
        self.children[name] = child
        self._launch(child)
        assert child.proc is not None
        return child.proc

    def procs(self) -> dict[str, subprocess.Popen]:
        """The running (or exited but not yet replaced) processes, for stop_all()."""
        return {name: c.proc for name, c in self.children.items() if c.proc is not None}

    def check(self) -> None:
        now = self._clock()
        for child in self.children.values():
            if child.proc is None:
                if child.restart_at is not None and now >= child.restart_at:
                    self._say(f"{child.name}: starting it again")
                    self._launch(child)
                continue
            code = child.proc.poll()
            if code is None:
                continue
            uptime = now - child.started_at
            child.quick_deaths = child.quick_deaths + 1 if uptime < self.STABLE_AFTER else 1
            delay = min(self.MAX_DELAY, self.FIRST_DELAY * 2 ** (child.quick_deaths - 1))
            more = f" ({child.quick_deaths} quick exits in a row)" if child.quick_deaths > 1 else ""
            self._say(
                f"{child.name} exited with code {code} after {uptime:.0f} s{more};"
                f" restarting it in {delay:.0f} s"
            )
            child.proc = None
            child.restart_at = now + delay

    def _launch(self, child: Child) -> None:
        child.proc = self._start(child.name, child.command)
        child.started_at = self._clock()
        child.restart_at = None


def stop_all(procs: dict[str, subprocess.Popen]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # gunicorn: graceful; celery: warm shutdown
    deadline = time.monotonic() + 15
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            services.say(f"{name} did not stop in time; killing it")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for_http(url: str, web: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and web.poll() is None:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer means the server is up
        except OSError:
            time.sleep(0.3)
    return False


def banner(url: str, redis: bool) -> None:
    lines = [
        "",
        f"Bazaar is running at {url}  (admin: {url}admin/, API docs: {url}api/docs/)",
        f"Demo logins, password {DEMO_PASSWORD}:",
        *(f"  {email:<22} {role}" for email, role in DEMO_USERS),
        "Processes: web (gunicorn)"
        + (", worker and beat (celery)" if redis else "; Celery tasks run in-process"),
        "Press Ctrl-C to stop.",
        "",
    ]
    with _print_lock:
        print("\n".join(lines), flush=True)


def main() -> int:
    # Restore Ctrl-C even when started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    services.load_dotenv()
    # Local use: DEBUG turns off the HTTPS-only defaults and serves static files from the app dirs.
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    port = int(os.environ.get("PORT", "8000"))
    if not port_is_free(port):
        services.say(f"port {port} is in use; stop what runs there or set PORT, e.g. PORT=8001")
        return 1
    DATA.mkdir(exist_ok=True)

    svc = services.ensure(redis_db=services.REDIS_DB_RUN)
    supervisor = Supervisor(start=start)
    try:
        if manage("migrate", "--noinput", "--verbosity", "1") != 0:
            return 1
        seed_if_empty()
        # `python -m`, not .venv/bin scripts: their shebangs name the path the venv was made at.
        web = supervisor.add(
            "web",
            [
                *(sys.executable, "-m", "gunicorn"),
                "shop.wsgi",
                *("--bind", f"127.0.0.1:{port}", "--workers", "2"),
                # No gunicorn access log: the shop logs each request (ACCESS_LOG).
                "--reload",
            ],
        )
        if svc.redis:
            celery = [sys.executable, "-m", "celery"]
            supervisor.add("worker", [*celery, "-A", "shop", "worker", "-l", "INFO"])
            supervisor.add(
                "beat",
                [*celery, "-A", "shop", "beat", "-l", "INFO", "--schedule", str(DATA / "beat")],
            )
        url = f"http://127.0.0.1:{port}/"
        if not wait_for_http(url, web):
            services.say("the web server did not come up; see its output above")
            return 1
        banner(url, svc.redis)
        while True:
            supervisor.check()
            time.sleep(0.5)
    except (KeyboardInterrupt, Stop):
        with _print_lock:
            print(flush=True)
        services.say("stopping")
        return 0
    finally:
        # A second Ctrl-C during cleanup must not leave children or the database behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(supervisor.procs())
        svc.close()


if __name__ == "__main__":
    sys.exit(main())
