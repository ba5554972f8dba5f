"""The `catalog` suite: anonymous catalog pages and API against the machine's ceiling.

The shop is seeded with 10,000 products and served by gunicorn with DEBUG off; wrk loads
the product list, product pages, search pages and the product API, each for the same
time with the same connections, and a minimal Django view served the same way right
before each of them. Each target's throughput is read as a ratio to that ceiling.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote_plus

import harness
from harness import BenchError, LoadConfig, LoadResult, ServerConfig, log

NAME = "catalog"
DESCRIPTION = "product list, product page, search and products API vs a minimal Django view"

MAX_QUERIES = 8
PRODUCT_PAGES = 200
SEARCH_TERMS = 50
LIST_PAGES = 5


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    paths: list[str]
    min_ratio: float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's own options (none yet: the database options are shared, in run.py)."""


# --- Preparation ---------------------------------------------------------------------


def _product_slugs(url: str, count: int) -> list[str]:
    """Active products spread over the whole table, the same ones from run to run."""
    rows = harness.query_all(
        url,
        """
        SELECT DISTINCT ON (bucket) slug
        FROM (SELECT slug, id, ntile(%s) OVER (ORDER BY id) AS bucket
              FROM catalog_product WHERE is_active) AS spread
        ORDER BY bucket, id
        """,
        [count],
    )
    return [row[0] for row in rows]


def _typo(word: str) -> str:
    """A likely slip of the fingers: two different neighbouring letters swapped, as near
    the middle of the word as can be."""
    middle = len(word) // 2
    for i in sorted(range(1, len(word) - 1), key=lambda i: abs(i - middle)):
        if word[i] != word[i - 1]:
            return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    return word[:-1]


def search_terms(names: list[str], count: int = SEARCH_TERMS) -> list[str]:
    """Terms people would type, taken from product names: common words, two-word
    phrases and a few typos (which the search is expected to forgive)."""
    words = [re.findall(r"[^\W\d_]{3,}", name.lower()) for name in names]
    frequency = Counter(word for name_words in words for word in name_words if len(word) >= 4)
    common = [word for word, _ in sorted(frequency.items(), key=lambda item: (-item[1], item[0]))]
    typos = [_typo(word) for word in common if len(word) >= 5][:4]
    phrases = list(dict.fromkeys(" ".join(w[:2]) for w in words if len(w) >= 2))
    phrase_count = min(len(phrases), count // 3)
    step = max(1, len(phrases) // max(1, phrase_count))
    chosen_phrases = phrases[::step][:phrase_count]
    singles = common[: count - len(typos) - len(chosen_phrases)]
    terms = list(dict.fromkeys(singles + chosen_phrases + typos))
    return terms[:count]


def build_targets(url: str) -> list[Target]:
    slugs = _product_slugs(url, PRODUCT_PAGES)
    names = [
        row[0]
        for row in harness.query_all(
            url, "SELECT name FROM catalog_product WHERE is_active ORDER BY id LIMIT 3000"
        )
    ]
    if not slugs:
        raise BenchError("the bench database has no active product")
    terms = search_terms(names)
    pages = ["", *(f"?page={n}" for n in range(2, LIST_PAGES + 1))]
    return [
        Target("list", "product list /products/", [f"/products/{p}" for p in pages], 0.50),
        Target("product", "product page /p/<slug>/", [f"/p/{slug}/" for slug in slugs], 0.50),
        Target(
            "search",
            "search /search/?q=",
            [f"/search/?q={quote_plus(term)}" for term in terms],
            0.25,
        ),
        Target("api", "API /api/v1/products/", [f"/api/v1/products/{p}" for p in pages], 0.50),
    ]


# --- Measurements --------------------------------------------------------------------


def query_counts(targets: list[Target], env: dict[str, str]) -> dict[str, dict]:
    """One request per target through Django's test client, every cache cold."""
    first_paths = {target.key: target.paths[0] for target in targets}
    return harness.child_json(
        [str(harness.BENCH_DIR / "query_counts.py"), json.dumps(first_paths)],
        env,
        what="counting queries",
    )


def check_paths(base_url: str, target: Target) -> tuple[list[str], float]:
    """Paths that do not answer 200, and the share of paths served from the page cache
    (asked after the load, so every path has been requested before)."""
    failing, hits = [], 0
    for path in target.paths:
        status, headers, _ = harness.http_get(base_url + path)
        if status != 200:
            failing.append(f"{path} -> {status}")
        if headers.get("X-Page-Cache") == "hit":
            hits += 1
    return failing, hits / len(target.paths)


def run(options: argparse.Namespace) -> dict:
    server: ServerConfig = options.server
    load: LoadConfig = options.load
    harness.ensure_wrk()
    url, env = harness.prepare_database(products=options.products, reseed=options.reseed)
    targets = build_targets(url)

    log("counting queries per target on a cold cache")
    counts = query_counts(targets, env)
    harness.cache_clear(harness.BENCH_CACHE_PREFIX)

    # Both servers stay up (an idle gunicorn costs nothing) and the ceiling is measured
    # right before each target, so a change in the machine's background load during the
    # run moves both figures of a ratio alike.
    measured: dict[str, dict] = {}
    with (
        harness.ceiling_server(env, server) as ceiling_url,
        harness.gunicorn(
            "shop.wsgi:application", env=env, config=server, probe_path="/products/", name="shop"
        ) as shop_url,
    ):
        for target in targets:
            failing, _ = check_paths(shop_url, target)
            if failing:
                measured[target.key] = {"error": "not 200: " + "; ".join(failing[:3])}
                log(f"{target.key}: skipped, {measured[target.key]['error']}")
                continue
            pairs = []
            for round_number in range(1, options.rounds + 1):
                ceiling = harness.wrk_measure(ceiling_url, ["/"], load)
                log(f"loading {target.label} ({len(target.paths)} URLs), round {round_number}")
                result = harness.wrk_measure(shop_url, target.paths, load)
                log(f"{target.key}: {result.rps:.0f} req/s, ceiling {ceiling.rps:.0f} req/s")
                pairs.append((result.rps / ceiling.rps if ceiling.rps else 0.0, result, ceiling))
            # With several rounds, the round of median ratio stands for the target.
            _, result, ceiling = sorted(pairs, key=lambda pair: pair[0])[len(pairs) // 2]
            failing, cached = check_paths(shop_url, target)
            measured[target.key] = {"load": result, "ceiling": ceiling, "cached_share": cached}
            if result.error_count:
                measured[target.key]["error"] = f"wrk errors {result.errors}"

    return _report(targets, measured, counts, server, load)


# --- Report --------------------------------------------------------------------------


def _median_run(runs: list[LoadResult]) -> LoadResult | None:
    return sorted(runs, key=lambda run: run.rps)[len(runs) // 2] if runs else None


def _report(
    targets: list[Target],
    measured: dict[str, dict],
    counts: dict[str, dict],
    server: ServerConfig,
    load: LoadConfig,
) -> dict:
    headers = [
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "ceiling req/s",
        "ratio",
        "wanted",
        "result",
        f"queries (cold, ≤{MAX_QUERIES})",
        "page cache hits",
        "KB/answer",
    ]
    ceilings = [data["ceiling"] for data in measured.values() if "ceiling" in data]
    ceiling = _median_run(ceilings)
    rows = []
    if ceiling:
        rows.append(
            [
                "ceiling: minimal Django view (median run)",
                f"{ceiling.rps:.0f}",
                f"{ceiling.p50_ms:.1f}",
                f"{ceiling.p99_ms:.1f}",
                "",
                "1.00",
                "",
                "",
                "0",
                "",
                f"{ceiling.bytes_per_response / 1024:.1f}",
            ]
        )
    entries = []
    all_pass = True
    for target in targets:
        count = counts.get(target.key, {})
        queries = count.get("queries")
        queries_ok = queries is not None and queries <= MAX_QUERIES and count.get("status") == 200
        query_cell = "?" if queries is None else f"{queries}" + ("" if queries_ok else " MISS")
        all_pass = all_pass and queries_ok
        entry = {
            "target": target.key,
            "label": target.label,
            "urls": len(target.paths),
            "min_ratio": target.min_ratio,
            "queries_cold": queries,
            "queries_status": count.get("status"),
            "queries_sql": count.get("sql"),
        }
        entries.append(entry)
        data = measured.get(target.key, {})
        result: LoadResult | None = data.get("load")
        if data.get("error") or result is None:
            all_pass = False
            entry["error"] = data.get("error", "not measured")
        if result is None:
            rows.append(
                [target.label, *"-----", f"≥ {target.min_ratio:.2f}", "ERROR", query_cell, "", ""]
            )
            continue
        # The higher of the ceiling measured just before and the run's median ceiling: a
        # ceiling run slowed by background load must not inflate a ratio.
        paired: LoadResult = max(data["ceiling"], ceiling, key=lambda run: run.rps)
        ratio = result.rps / paired.rps if paired.rps else 0.0
        passed = ratio >= target.min_ratio and not data.get("error")
        all_pass = all_pass and passed
        cached = data["cached_share"]
        entry.update(
            {
                "load": result,
                "ceiling": paired,
                "ratio": round(ratio, 3),
                "pass": passed,
                "cached": cached,
            }
        )
        rows.append(
            [
                target.label,
                f"{result.rps:.0f}",
                f"{result.p50_ms:.1f}",
                f"{result.p99_ms:.1f}",
                f"{paired.rps:.0f}",
                f"{ratio:.2f}",
                f"≥ {target.min_ratio:.2f}",
                ("PASS" if passed else "MISS") + (" (errors)" if data.get("error") else ""),
                query_cell,
                f"{cached:.0%}",
                f"{result.bytes_per_response / 1024:.1f}",
            ]
        )
    table = harness.format_table(headers, rows)
    notes = [
        f"Server: {server.describe()}, DEBUG=False, 127.0.0.1; load: {load.describe()}, "
        "anonymous, no cookies.",
        "Ratio: the target's req/s over the minimal Django view's: the higher of its run just"
        " before the target and the median of its runs.",
        "Queries: one anonymous request with every cache cold (page cache included).",
        "Page cache hits: share of the target's URLs answered from the page cache after the run.",
    ]
    errors = [f"{e['target']}: {e['error']}" for e in entries if e.get("error")]
    return {
        "suite": NAME,
        "table": table,
        "notes": notes + [f"Error: {error}" for error in errors],
        "ok": all_pass,
        "data": {"server": server, "load": load, "ceiling_median": ceiling, "targets": entries},
    }
