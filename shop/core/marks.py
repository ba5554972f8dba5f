"""Short-lived marks in PostgreSQL: "this work is already queued" for request coalescing.

`cache.add(key, 1, timeout)` is the usual tool, but a coalescing mark kept in Redis
fails both ways in an outage: treated as a miss, every request would queue its own run;
treated as present, none would. A mark here lives in the database the work reads anyway.
"""

from __future__ import annotations

from django.db import connection
from django.db.models.functions import Now

from shop.core.models import PendingMark

# One statement, atomic under concurrency: a second caller waits on the first's row and
# then finds it unexpired (no row returned). An expired mark (its work was lost) is taken
# over, as an expired cache key would be.
_ADD_SQL = f"""
INSERT INTO {PendingMark._meta.db_table} AS m (key, expires_at)
VALUES (%s, now() + make_interval(secs => %s))
ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
WHERE m.expires_at <= now()
RETURNING 1
"""


def mark_add(*, key: str, seconds: float) -> bool:
    """Set the mark `key` for `seconds` unless an unexpired one exists; True if this call
    set it (the caller then queues the work)."""
    with connection.cursor() as cursor:
        cursor.execute(_ADD_SQL, [key, seconds])
        return cursor.fetchone() is not None


def mark_delete(*, key: str) -> None:
    """Remove the mark: the work has started, so the next request queues another run."""
    PendingMark.objects.filter(key=key).delete()


def mark_exists(*, key: str) -> bool:
    """Whether an unexpired mark `key` exists (for tests and the benchmarks)."""
    return PendingMark.objects.filter(key=key, expires_at__gt=Now()).exists()
