"""gunicorn's configuration, read by every `gunicorn` started in the project's directory (the
image's WORKDIR, `make run`, bench/), so /metrics is right with any number of workers.

Each worker is a process with its own counters; prometheus-client's multiprocess mode has
every worker write its samples to files in PROMETHEUS_MULTIPROC_DIR and a scrape (answered by
any one worker) add them all up. The directory must be known before a worker imports the
client, so it is set here, in the master: the operator's, emptied at start (files of an
earlier run would be counted again), or else a fresh temporary one. Options on the command
line still win over anything here; this file sets no other option.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from typing import Any

_given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _given:
    os.makedirs(_given, exist_ok=True)
    for _stale in glob.glob(os.path.join(_given, "*.db")):
        os.remove(_stale)
    _made = None
else:
    _made = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bazaar-metrics-")


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exits keeps its counters (they are totals) but its live gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _made:
        shutil.rmtree(_made, ignore_errors=True)
