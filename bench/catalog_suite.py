"""The `catalog` suite: catalog pages and API, cache hit and cache miss, against two references.

The shop is seeded with 10,000 products (`--products 100000` for the large catalog) and
served by gunicorn with DEBUG off; wrk loads the product list, product pages, the products
API list and detail (and search, as a cache hit only: bench/search_suite.py measures it
cold) each three ways:

- `hit`: anonymous, no cookie, warm: answered by the anonymous page cache;
- `miss`: anonymous, every URL made one no cache holds (`cold=<n>` appended), so every
  request misses the page cache and renders (fragment and object caches stay warm, as
  they are after a sale or a review invalidates a page);
- `user`: a logged-in shopper's session cookie (with a cart line): never page-cached.

Two references are served the same way and measured right before each target: the minimal
no-query Django view (bench/minimal_app.py, the ceiling: a `hit` is read as a ratio to it)
and a one-query Django page with a small template (bench/one_query_app.py: `miss` and
`user` are read as a ratio to it; issue 11 wants at least 0.25).
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
DESCRIPTION = (
    "product list, product page, products API list/detail (and search): cache hit, anonymous"
    " miss and logged-in, vs a minimal Django view and a one-query Django page"
)

MAX_QUERIES = 8
PRODUCT_PAGES = 4000
SEARCH_TERMS = 50
LIST_PAGES = 20
API_PAGES = 20
MODES = ("hit", "miss", "user")
HIT_RATIO = 0.50
MISS_RATIO = 0.25
# Product list orderings and API filters drawn from, so list URLs vary as real traffic does.
LIST_ORDERINGS = ("", "price", "-price", "-rating")
API_ORDERINGS = ("", "price", "-price", "-rating", "-created")


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    paths: list[str]
    min_ratio: float
    modes: tuple[str, ...] = MODES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("catalog suite")
    group.add_argument(
        "--catalog-targets",
        default="",
        help="comma-separated targets to measure (list, product, api, api_detail, search);"
        " default all",
    )
    group.add_argument(
        "--catalog-modes",
        default=",".join(MODES),
        help="comma-separated modes: hit, miss (anonymous, page cache missed), user"
        " (logged-in shopper); default all",
    )


# --- Preparation ---------------------------------------------------------------------


def _product_rows(url: str, count: int) -> list[tuple[str, int]]:
    """Active products spread over the whole table (slug, id), the same from run to run."""
    rows = harness.query_all(
        url,
        """
        SELECT DISTINCT ON (bucket) slug, id
        FROM (SELECT slug, id, ntile(%s) OVER (ORDER BY id) AS bucket
              FROM catalog_product WHERE is_active) AS spread
        ORDER BY bucket, id
        """,
        [count],
    )
    return [(row[0], row[1]) for row in rows]


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


def _query(**params: object) -> str:
    pairs = [f"{name}={value}" for name, value in params.items() if value not in ("", None)]
    return "?" + "&".join(pairs) if pairs else ""


def list_paths(category_slugs: list[str]) -> list[str]:
    """Product list pages as shoppers walk them: pages 1-LIST_PAGES of each ordering, and
    the first pages of each category; canonical URLs, so a `hit` can be stored."""
    paths = [
        "/products/" + _query(ordering=ordering, page=page if page > 1 else "")
        for ordering in LIST_ORDERINGS
        for page in range(1, LIST_PAGES + 1)
    ]
    paths += [
        "/products/" + _query(category=slug, page=page if page > 1 else "")
        for slug in category_slugs
        for page in (1, 2)
    ]
    return paths


def api_paths(category_slugs: list[str], merchant_ids: list[int]) -> list[str]:
    """The products API with filters and pages drawn from many combinations: every ordering
    by in-stock or not, by each category or merchant or neither, by page."""
    scopes: list[dict[str, object]] = [{}]
    scopes += [{"category": slug} for slug in category_slugs]
    scopes += [{"merchant": pk} for pk in merchant_ids]
    paths = []
    for scope in scopes:
        pages = range(1, API_PAGES + 1) if not scope else range(1, 4)
        for ordering in API_ORDERINGS:
            for in_stock in ("", "true"):
                for page in pages:
                    query = _query(
                        **scope,
                        ordering=ordering,
                        in_stock=in_stock,
                        page=page if page > 1 else "",
                    )
                    paths.append("/api/v1/products/" + query)
    return paths


def build_targets(url: str, wanted: set[str] | None = None) -> list[Target]:
    products = _product_rows(url, PRODUCT_PAGES)
    if not products:
        raise BenchError("the bench database has no active product")
    names = [
        row[0]
        for row in harness.query_all(
            url, "SELECT name FROM catalog_product WHERE is_active ORDER BY id LIMIT 3000"
        )
    ]
    categories = [row[0] for row in harness.query_all(url, "SELECT slug FROM catalog_category")]
    merchants = [
        row[0] for row in harness.query_all(url, "SELECT id FROM catalog_merchant WHERE is_active")
    ]
    terms = search_terms(names)
    targets = [
        Target("list", "product list /products/", list_paths(categories), HIT_RATIO),
        Target("product", "product page /p/<slug>/", [f"/p/{s}/" for s, _ in products], HIT_RATIO),
        Target("api", "API /api/v1/products/", api_paths(categories, merchants), HIT_RATIO),
        Target(
            "api_detail",
            "API /api/v1/products/<id>/",
            [f"/api/v1/products/{pk}/" for _, pk in products],
            HIT_RATIO,
        ),
        # Search is measured cold by bench/search_suite.py; here only as a cache hit.
        Target(
            "search",
            "search /search/?q=",
            [f"/search/?q={quote_plus(term)}" for term in terms],
            0.25,
            modes=("hit",),
        ),
    ]
    return [t for t in targets if not wanted or t.key in wanted]


# --- Measurements --------------------------------------------------------------------


def query_counts(targets: list[Target], env: dict[str, str], cookie: str) -> dict[str, dict]:
    """One request per target through Django's test client, every cache cold: anonymous,
    and (key `<target>:user`) with the logged-in shopper's cookie."""
    first_paths = {target.key: target.paths[0] for target in targets}
    args = [str(harness.BENCH_DIR / "query_counts.py"), json.dumps(first_paths)]
    if cookie:
        args.append(cookie)
    return harness.child_json(args, env, what="counting queries")


def check_paths(base_url: str, target: Target, cookie: str = "") -> tuple[list[str], float]:
    """Paths (the first 200) that do not answer 200, and the share of them served from the
    page cache (asked after the load, so every path has been requested before)."""
    failing, hits = [], 0
    paths = target.paths[:200]
    for path in paths:
        status, headers, _ = harness.http_get(base_url + path, cookie=cookie)
        if status != 200:
            failing.append(f"{path} -> {status}")
        if headers.get("X-Page-Cache") == "hit":
            hits += 1
    return failing, hits / len(paths)


def session_cookie(env: dict[str, str]) -> str:
    """The cookie of a logged-in bench shopper (bench/session_login.py)."""
    answer = harness.child_json(
        [str(harness.BENCH_DIR / "session_login.py")], env, what="logging the shopper in"
    )
    return answer["cookie"]


def _warm(base_url: str, target: Target, mode: str, cookie: str) -> None:
    """A hit is measured warm: every URL requested once first (the product pages' 4,000
    would otherwise still be filling the page cache during the run)."""
    if mode == "hit":
        for path in target.paths:
            harness.http_get(base_url + path)


def run(options: argparse.Namespace) -> dict:
    server: ServerConfig = options.server
    load: LoadConfig = options.load
    harness.ensure_wrk()
    url, env = harness.prepare_database(products=options.products, reseed=options.reseed)
    wanted = {name for name in options.catalog_targets.split(",") if name}
    modes = [mode for mode in options.catalog_modes.split(",") if mode in MODES]
    targets = build_targets(url, wanted)

    harness.cache_clear(harness.BENCH_CACHE_PREFIX)
    cookie = session_cookie(env) if "user" in modes else ""
    log("counting queries per target on a cold cache")
    counts = query_counts(targets, env, cookie)
    harness.cache_clear(harness.BENCH_CACHE_PREFIX)
    if cookie:
        cookie = session_cookie(env)  # the clear dropped its cached copy (PostgreSQL keeps it)

    # Every server stays up (an idle gunicorn costs nothing) and both references are
    # measured right before each target, so a change in the machine's background load
    # during the run moves both figures of a ratio alike.
    measured: dict[str, dict] = {}
    with (
        harness.ceiling_server(env, server) as ceiling_url,
        harness.one_query_server(env, server) as one_query_url,
        harness.gunicorn(
            "shop.wsgi:application", env=env, config=server, probe_path="/products/", name="shop"
        ) as shop_url,
    ):
        one_query_paths = [f"/?id={n}" for n in range(1, 4001, 7)]
        for target in targets:
            for mode in (m for m in modes if m in target.modes):
                key = f"{target.key}:{mode}"
                mode_cookie = cookie if mode == "user" else ""
                failing, _ = check_paths(shop_url, target, mode_cookie)
                if failing:
                    measured[key] = {"error": "not 200: " + "; ".join(failing[:3])}
                    log(f"{key}: skipped, {measured[key]['error']}")
                    continue
                _warm(shop_url, target, mode, mode_cookie)
                pairs = []
                for round_number in range(1, options.rounds + 1):
                    ceiling = harness.wrk_measure(ceiling_url, ["/"], load)
                    one_query = harness.wrk_measure(one_query_url, one_query_paths, load)
                    log(
                        f"loading {target.label} [{mode}] ({len(target.paths)} URLs), "
                        f"round {round_number}"
                    )
                    result = harness.wrk_measure(
                        shop_url, target.paths, load, cookie=mode_cookie, bust=mode == "miss"
                    )
                    reference = ceiling if mode == "hit" else one_query
                    log(
                        f"{key}: {result.rps:.0f} req/s, ceiling {ceiling.rps:.0f} req/s, "
                        f"one-query page {one_query.rps:.0f} req/s"
                    )
                    ratio = result.rps / reference.rps if reference.rps else 0.0
                    pairs.append((ratio, result, ceiling, one_query))
                # With several rounds, the round of median ratio stands for the target.
                _, result, ceiling, one_query = sorted(pairs, key=lambda pair: pair[0])[
                    len(pairs) // 2
                ]
                _, cached = check_paths(shop_url, target, mode_cookie)
                measured[key] = {
                    "load": result,
                    "ceiling": ceiling,
                    "one_query": one_query,
                    "cached_share": cached,
                }
                if result.error_count:
                    measured[key]["error"] = f"wrk errors {result.errors}"

    return _report(targets, modes, measured, counts, server, load, options.products)


# --- Report --------------------------------------------------------------------------


def _median_run(runs: list[LoadResult]) -> LoadResult | None:
    return sorted(runs, key=lambda run: run.rps)[len(runs) // 2] if runs else None


def _reference_row(label: str, run: LoadResult | None, queries: str) -> list[str]:
    if run is None:
        return []
    return [
        label, "", f"{run.rps:.0f}", f"{run.p50_ms:.1f}", f"{run.p99_ms:.1f}", "", "", "", "",
        queries, "", f"{run.bytes_per_response / 1024:.1f}",
    ]  # fmt: skip


def _report(
    targets: list[Target],
    modes: list[str],
    measured: dict[str, dict],
    counts: dict[str, dict],
    server: ServerConfig,
    load: LoadConfig,
    products: int,
) -> dict:
    headers = [
        "target",
        "cache",
        "req/s",
        "p50 ms",
        "p99 ms",
        "reference req/s",
        "ratio",
        "wanted",
        "result",
        f"queries (cold, ≤{MAX_QUERIES})",
        "page cache hits",
        "KB/answer",
    ]
    ceiling = _median_run([d["ceiling"] for d in measured.values() if "ceiling" in d])
    one_query = _median_run([d["one_query"] for d in measured.values() if "one_query" in d])
    rows = [
        row
        for row in (
            _reference_row("minimal Django view, no query (median run)", ceiling, "0"),
            _reference_row("one-query Django page, small template (median run)", one_query, "1"),
        )
        if row
    ]
    entries = []
    all_pass = True
    for target in targets:
        for mode in (m for m in modes if m in target.modes):
            key = f"{target.key}:{mode}"
            count = counts.get(key if mode == "user" else target.key, {})
            queries = count.get("queries")
            queries_ok = (
                queries is not None and queries <= MAX_QUERIES and count.get("status") == 200
            )
            query_cell = "?" if queries is None else f"{queries}" + ("" if queries_ok else " MISS")
            if mode == "hit":
                query_cell = "0 (hit)" if queries_ok else query_cell
            all_pass = all_pass and queries_ok
            min_ratio = target.min_ratio if mode == "hit" else MISS_RATIO
            entry = {
                "target": target.key,
                "mode": mode,
                "label": target.label,
                "urls": len(target.paths),
                "min_ratio": min_ratio,
                "queries_cold": queries,
                "queries_status": count.get("status"),
                "queries_sql": count.get("sql"),
            }
            entries.append(entry)
            data = measured.get(key, {})
            result: LoadResult | None = data.get("load")
            if data.get("error") or result is None:
                all_pass = False
                entry["error"] = data.get("error", "not measured")
            if result is None:
                rows.append(
                    [target.label, mode, *"-----", f"≥ {min_ratio:.2f}", "ERROR", query_cell,
                     "", ""]
                )  # fmt: skip
                continue
            # The higher of the reference measured just before and the run's median
            # reference: a reference run slowed by background load must not inflate a ratio.
            own, median = (
                (data["ceiling"], ceiling) if mode == "hit" else (data["one_query"], one_query)
            )
            paired: LoadResult = max(own, median or own, key=lambda run: run.rps)
            ratio = result.rps / paired.rps if paired.rps else 0.0
            passed = ratio >= min_ratio and not data.get("error")
            all_pass = all_pass and passed
            cached = data["cached_share"]
            entry.update(
                {
                    "load": result,
                    "reference": paired,
                    "ratio": round(ratio, 3),
                    "pass": passed,
                    "cached": cached,
                }
            )
            rows.append(
                [
                    target.label,
                    mode,
                    f"{result.rps:.0f}",
                    f"{result.p50_ms:.1f}",
                    f"{result.p99_ms:.1f}",
                    f"{paired.rps:.0f}",
                    f"{ratio:.2f}",
                    f"≥ {min_ratio:.2f}",
                    ("PASS" if passed else "MISS") + (" (errors)" if data.get("error") else ""),
                    query_cell,
                    f"{cached:.0%}",
                    f"{result.bytes_per_response / 1024:.1f}",
                ]
            )
    table = harness.format_table(headers, rows)
    notes = [
        f"{products:,} products. Server: {server.describe()}, DEBUG=False, 127.0.0.1; "
        f"load: {load.describe()}.",
        "Cache: hit = anonymous, warm, no cookie (page cache); miss = anonymous, every URL one"
        " no cache holds (`cold=<n>` appended); user = a logged-in shopper's session cookie.",
        "Ratio: hit to the minimal Django view, miss and user to the one-query Django page;"
        " each to the higher of its run just before the target and the median of its runs.",
        "Queries: one request with every cache cold (page cache and fragments included):"
        " anonymous for hit and miss, with the shopper's cookie for user.",
        "Page cache hits: share of the target's first 200 URLs answered from the page cache"
        " after the run.",
    ]
    errors = [f"{e['target']}:{e['mode']}: {e['error']}" for e in entries if e.get("error")]
    return {
        "suite": NAME,
        "table": table,
        "notes": notes + [f"Error: {error}" for error in errors],
        "ok": all_pass,
        "data": {
            "server": server,
            "load": load,
            "products": products,
            "ceiling_median": ceiling,
            "one_query_median": one_query,
            "targets": entries,
        },
    }
