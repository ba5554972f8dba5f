"""Count the SQL queries one request runs with every cache cold (anonymous, and with a
logged-in shopper's session cookie when one is given).

Run by the harness in a subprocess with the bench environment (DEBUG off, the bench
database and Redis database), so the count is the production one:

    python bench/query_counts.py '{"list": "/products/", "product": "/p/some-slug/"}'

Before each request the bench's cache keys are deleted, so the page cache, and any other
cache the views use, start cold. Prints one JSON object: for each target its status,
number of queries and their SQL.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

import django  # noqa: E402


def main() -> int:
    targets: dict[str, str] = json.loads(sys.argv[1])
    # A logged-in shopper's cookie ("sessionid=..."): each target is counted with it too.
    cookie = sys.argv[2] if len(sys.argv) > 2 else ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    django.setup()

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from harness import redis_clear_prefix  # beside this script

    from shop.core.pagecache import reset_local_version

    # The cache and the sessions' cache, each in its own Redis database.
    redis_caches = [c for c in settings.CACHES.values() if "LOCATION" in c and c.get("KEY_PREFIX")]
    client = Client(HTTP_HOST="127.0.0.1")
    report = {}
    runs = [(name, path, "") for name, path in targets.items()]
    if cookie:
        runs += [(f"{name}:user", path, cookie) for name, path in targets.items()]
    for name, path, with_cookie in runs:
        for cache in redis_caches:
            redis_clear_prefix(cache["LOCATION"], cache["KEY_PREFIX"])
        reset_local_version()
        client.cookies.clear()
        if with_cookie:
            cookie_name, _, value = with_cookie.partition("=")
            client.cookies[cookie_name] = value
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        report[name] = {
            "path": path,
            "status": response.status_code,
            "queries": len(captured.captured_queries),
            "sql": [query["sql"] for query in captured.captured_queries],
        }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
