"""`make run` keeps its processes up: scripts/run.py's Supervisor starts again a child that
exited, says so, and waits longer each time one keeps dying soon after it starts.

Real child processes, a clock the test moves by hand (no sleeps)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

# scripts/ is no package; run.py imports its sibling services.py.
import run

EXITS = [sys.executable, "-c", "import sys; sys.exit(3)"]
# Runs until its stdin is closed: a process that is up until the test says otherwise.
WAITS = [sys.executable, "-c", "import sys; sys.stdin.read()"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def harness():
    clock = Clock()
    lines: list[str] = []
    started: list[subprocess.Popen] = []

    def start(name: str, command: list[str]) -> subprocess.Popen:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE)
        started.append(proc)
        return proc

    supervisor = run.Supervisor(start=start, clock=clock, say=lines.append)
    yield supervisor, clock, lines, started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdin:
            proc.stdin.close()


def _exit_now(supervisor, name: str) -> None:
    """Wait (no clock involved) until the current process of `name` has exited."""
    supervisor.children[name].proc.wait(timeout=30)


def test_a_child_that_exits_is_started_again_and_a_line_says_so(harness):
    supervisor, clock, lines, started = harness
    supervisor.add("worker", EXITS)
    _exit_now(supervisor, "worker")
    clock.now += 120  # it had run for two minutes: no backoff

    supervisor.check()
    assert lines == ["worker exited with code 3 after 120 s; restarting it in 1 s"]
    assert supervisor.procs() == {}  # nothing to stop while it waits
    assert len(started) == 1

    clock.now += 0.5
    supervisor.check()
    assert len(started) == 1  # not before its delay

    clock.now += 0.5
    supervisor.check()
    assert lines[-1] == "worker: starting it again"
    assert len(started) == 2
    assert supervisor.procs() == {"worker": started[1]}
    assert started[1].pid != started[0].pid


def test_a_child_that_keeps_dying_waits_longer_each_time_up_to_a_minute(harness):
    supervisor, clock, lines, started = harness
    supervisor.add("beat", EXITS)
    delays = []
    for _ in range(9):
        _exit_now(supervisor, "beat")
        supervisor.check()  # exited at once: a quick death
        delay = supervisor.children["beat"].restart_at - clock.now
        delays.append(delay)
        clock.now += delay
        supervisor.check()
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert len(started) == 10
    assert "(9 quick exits in a row)" in lines[-2]


def test_a_child_that_ran_long_enough_is_restarted_at_the_first_delay_again(harness):
    supervisor, clock, lines, _ = harness
    supervisor.add("worker", EXITS)
    for _ in range(4):  # 1, 2, 4, 8 s
        _exit_now(supervisor, "worker")
        supervisor.check()
        clock.now = supervisor.children["worker"].restart_at
        supervisor.check()
    _exit_now(supervisor, "worker")
    clock.now += run.Supervisor.STABLE_AFTER  # this one stayed up
    supervisor.check()
    assert lines[-1].endswith("restarting it in 1 s")


def test_children_that_run_are_left_alone(harness):
    supervisor, clock, lines, _ = harness
    web = supervisor.add("web", WAITS)
    supervisor.add("worker", EXITS)
    _exit_now(supervisor, "worker")
    clock.now += 5
    supervisor.check()
    assert [line.split()[0] for line in lines] == ["worker"]
    assert web.poll() is None
    assert supervisor.procs() == {"web": web}
