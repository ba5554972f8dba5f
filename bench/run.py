"""Run Bazaar's benchmarks: `python bench/run.py [suite ...]` (`make bench` runs them all).

Each suite is a module beside this file with NAME, DESCRIPTION, add_arguments(parser)
and run(options) -> report; add a new one to SUITES. A report holds a markdown table,
notes, an `ok` flag and the raw data, which are printed and written under bench/results/.

Exit status: 0 when every suite ran (a target below its wanted ratio is reported as MISS
but does not fail the run unless --strict), 1 when a suite could not run or, with
--strict, missed a target, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import catalog_suite
import fulfilment_suite
import harness
import orders_suite
import pagecache_suite
import payments_suite
import reviews_suite
import search_suite
import soak_suite
from harness import BenchError, LoadConfig, ServerConfig

SUITES = {
    suite.NAME: suite
    for suite in (
        catalog_suite,
        orders_suite,
        payments_suite,
        fulfilment_suite,
        reviews_suite,
        pagecache_suite,
        search_suite,
        soak_suite,
    )
}
PRODUCTS = 10_000


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmarks of Bazaar against the ceiling of this machine.",
        epilog="Suites: "
        + "; ".join(f"{name}: {suite.DESCRIPTION}" for name, suite in SUITES.items()),
    )
    parser.add_argument("suites", nargs="*", metavar="suite", help="suites to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target misses")
    defaults_load, defaults_server = LoadConfig(), ServerConfig()
    load = parser.add_argument_group("load generator (wrk)")
    load.add_argument("--duration", type=int, default=defaults_load.duration, help="seconds")
    load.add_argument("--warmup", type=int, default=defaults_load.warmup, help="seconds")
    load.add_argument("--connections", type=int, default=defaults_load.connections)
    load.add_argument("--wrk-threads", type=int, default=defaults_load.threads)
    load.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure each target (and its ceiling) this many times; keep the median ratio",
    )
    server = parser.add_argument_group("gunicorn (the same for every app served)")
    server.add_argument("--workers", type=int, default=defaults_server.workers)
    server.add_argument(
        "--worker-class", choices=["sync", "gthread"], default=defaults_server.worker_class
    )
    server.add_argument("--threads", type=int, default=defaults_server.threads)
    data = parser.add_argument_group("bench database (shared by the suites)")
    data.add_argument(
        "--products",
        type=int,
        default=PRODUCTS,
        help=f"products seeded into the bench database (default {PRODUCTS})",
    )
    data.add_argument(
        "--reseed", action="store_true", help="drop the bench database and seed it again"
    )
    for suite in SUITES.values():
        suite.add_arguments(parser)

    options = parser.parse_args(argv)
    unknown = [name for name in options.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s): {', '.join(unknown)}; known: {', '.join(SUITES)}")
    options.load = LoadConfig(
        duration=options.duration,
        warmup=options.warmup,
        connections=options.connections,
        threads=options.wrk_threads,
    )
    options.server = ServerConfig(
        workers=options.workers, worker_class=options.worker_class, threads=options.threads
    )
    return options


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    if options.list:
        for name, suite in SUITES.items():
            print(f"{name}: {suite.DESCRIPTION}")
        return 0
    machine = harness.machine_description()
    harness.log(
        f"{machine['cores']} cores, load average {machine['load_average']}, "
        f"commit {machine['commit']}"
    )
    failed = False
    for name in options.suites or list(SUITES):
        try:
            report = SUITES[name].run(options)
        except BenchError as error:
            print(f"\nbench {name}: cannot run: {error}", file=sys.stderr)
            failed = True
            continue
        markdown = "\n".join(
            [
                f"## bench: {name}",
                "",
                report["table"],
                "",
                *(f"- {note}" for note in report["notes"]),
                f"- Machine: {machine['cores']} cores, Python {machine['python']}, "
                f"commit {machine['commit']}, load average before {machine['load_average']}.",
            ]
        )
        print("\n" + markdown + "\n")
        json_path, md_path = harness.write_results(name, {"machine": machine, **report}, markdown)
        written = ", ".join(str(path.relative_to(harness.ROOT)) for path in (json_path, md_path))
        print(f"written: {written}")
        if not report["ok"] and options.strict:
            failed = True
    return 1 if failed else 0


def _terminated(signum, frame):
    raise SystemExit(143)  # unwinds like Ctrl-C, so every server started is stopped


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminated)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        # The gunicorn context managers have stopped their servers on the way out.
        print("\nbench: interrupted", file=sys.stderr)
        sys.exit(130)
