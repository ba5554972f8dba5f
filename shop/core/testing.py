"""Helpers shared by the test suites of every app."""

import threading

from django.db import connection


def run_together(functions, *, timeout: float = 120):
    """Start every function at the same moment, each on its own thread and database
    connection; returns what each returned or raised (concurrency tests assert on these)."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def worker(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as exc:  # the outcome under test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    return results
