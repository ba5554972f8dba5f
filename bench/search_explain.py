"""EXPLAIN ANALYZE of the SQL behind a search, for terms given on the command line.

Run by the `search` suite in a subprocess with the bench environment:

    python bench/search_explain.py '["headphones", "wireles", "mug"]'

For each term it times (PostgreSQL's own Execution Time, in ms, and the plan's top node):
the look-up of the typed words among the catalog's, the count and the page of
`products/?q=` as the shop runs them now, the suggestions' query, and, for the profile of
before and after, the predicate search used before (`search_vector @@ websearch_to_tsquery
OR name %> text`) counted over the same products. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

import django  # noqa: E402

SCAN = r"Seq Scan on \w+|Bitmap Heap Scan on \w+|(?:Bitmap )?Index (?:Only )?Scan (?:on|using) \w+"
OLD_COUNT = (
    "SELECT count(*) FROM catalog_product INNER JOIN catalog_merchant "
    "ON catalog_product.merchant_id = catalog_merchant.id "
    "WHERE catalog_product.is_active AND catalog_merchant.is_active AND ("
    "catalog_product.search_vector @@ websearch_to_tsquery('english'::regconfig, %s) "
    "OR catalog_product.name %%> %s)"
)


def explain(sql: str, params) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + sql, params)
        lines = [row[0] for row in cursor.fetchall()]
    total = next(
        float(m.group(1)) for line in lines if (m := re.search(r"Execution Time: ([\d.]+)", line))
    )
    scans = sorted({m.group(0) for line in lines for m in re.finditer(SCAN, line)})
    return {"ms": total, "scans": scans, "rows_top": lines[0].strip()[:160]}


def main() -> int:
    terms: list[str] = json.loads(sys.argv[1])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    django.setup()

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog import search
    from catalog.selectors import product_list

    report: dict[str, list] = {}
    for term in terms:
        with CaptureQueriesContext(connection) as captured:
            search.words_resolve(search.words_of(term)[: search.MAX_QUERY_WORDS])
        lookup = captured.captured_queries[0]["sql"]
        queryset = product_list().search(term).order_by("-relevance", "-id")
        count_sql, count_params = queryset.order_by().values("pk").query.sql_with_params()
        page_sql, page_params = queryset[:24].query.sql_with_params()
        with CaptureQueriesContext(connection) as captured:
            search.product_suggestions(term)
        suggest_sqls = [q["sql"] for q in captured.captured_queries]
        with connection.cursor() as cursor:  # as product_suggestions plans its last query
            cursor.execute("SET enable_seqscan = off")
        row = {
            "term": term,
            "words": explain(lookup, None),
            "count": explain(f"SELECT count(*) FROM ({count_sql}) AS matches", count_params),
            "page": explain(page_sql, page_params),
            "suggest": [explain(sql, None) for sql in suggest_sqls[1:] if sql.startswith("SELECT")],
        }
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")
        row["before_count"] = explain(OLD_COUNT, [term, term])
        report.setdefault("terms", []).append(row)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
