"""Helpers shared by the test suites of every app."""

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection

_T = TypeVar("_T")


def run_together(
    functions: Sequence[Callable[[], _T]], *, timeout: float = 120
) -> list[_T | Exception | None]:
    """Start every function at the same moment, each on its own thread and database
    connection; returns what each returned or raised (concurrency tests assert on these)."""
    barrier = threading.Barrier(len(functions))
    results: list[_T | Exception | None] = [None] * len(functions)

    def worker(index: int, function: Callable[[], _T]) -> None:
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
