"""The `search` suite: searches nobody sent before, at 100,000 products (issue 11).

    .venv/bin/python bench/run.py search --products 100000 [--rounds 3]

Search terms are made from the catalog's own words (the words of product names, with
words of the descriptions): single words, pairs of words that occur together, slips of
the fingers (a swap of neighbouring letters, a missing letter), short words and their
slips. Every request of a run is a different URL, asked once: wrk runs one thread (one
request counter) over 4 connections, the warm-up uses terms of its own, and the page cache
is emptied before each target, so each answer is computed: the cold path. Targets: the
search page `/search/?q=`, `products/?q=` and `products/suggest/?q=` (what has been typed so
far: a word and the start of the next). The goal: search p99 < 50 ms, suggest p99 < 20 ms,
with 4 concurrent clients; every search page within 8 queries.

Also reported: the minimal Django view under the same load (the machine's reference in the
same run) and, for 24 terms, EXPLAIN ANALYZE of each statement of a search
(bench/search_explain.py), beside the predicate search used before, counted the same way.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote

import harness
from harness import BenchError, LoadConfig, LoadResult, ServerConfig, log

NAME = "search"
DESCRIPTION = "searches and suggestions nobody sent before (cache misses), p50/p99 and plans"

CLIENTS = 4
MAX_QUERIES = 8
WANTED_P99_MS = {"page": 50.0, "api": 50.0, "suggest": 20.0}
VOCABULARY = 2000
EXPLAINED_TERMS = 24


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    warmup: list[str]
    paths: list[str]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """None of its own: `--products 100000` (shared) sizes the catalog."""


# --- Terms ---------------------------------------------------------------------------


def _slip(word: str, rng: random.Random) -> str:
    """A swap of two neighbouring letters or a letter left out, away from the first."""
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def vocabulary(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Up to VOCABULARY real words (name words first, then description words) and the
    pairs of words that stand together in product names."""
    rows = harness.query_all(
        url,
        "SELECT name, description FROM catalog_product WHERE is_active ORDER BY id LIMIT 20000",
    )
    name_words: Counter[str] = Counter()
    text_words: Counter[str] = Counter()
    pairs: set[tuple[str, str]] = set()
    for name, description in rows:
        words = re.findall(r"[^\W\d_]{3,}", name.lower())
        name_words.update(words)
        pairs.update(itertools.pairwise(words))
        text_words.update(re.findall(r"[^\W\d_]{3,}", description.lower()))
    ordered = [w for w, _ in name_words.most_common()]
    ordered += [w for w, _ in text_words.most_common() if w not in name_words]
    return ordered[:VOCABULARY], sorted(pairs)


def search_terms(words: list[str], pairs: list[tuple[str, str]], *, seed: int = 11) -> list[str]:
    """Distinct queries, shuffled: words, pairs, slips of both, short words and slips."""
    rng = random.Random(seed)
    terms = list(words)
    terms += [f"{a} {b}" for a, b in pairs]
    terms += [_slip(w, rng) for w in words if len(w) >= 5]
    terms += [f"{_slip(a, rng)} {b}" for a, b in pairs if len(a) >= 5]
    terms += [f"{a} {_slip(b, rng)}" for a, b in pairs if len(b) >= 5]
    short = [w for w in words if 3 <= len(w) <= 4]
    terms += [_slip(w, rng) for w in short]
    terms += [f"{b} {a}" for a, b in pairs]  # the same words, typed the other way round
    unique = list(dict.fromkeys(t for t in terms if t.strip()))
    rng.shuffle(unique)
    return unique


def typed_so_far(terms: list[str], *, seed: int = 12) -> list[str]:
    """What a shopper has typed when suggestions are asked: the start of a term."""
    rng = random.Random(seed)
    prefixes = []
    for term in terms:
        cut = rng.randint(min(3, len(term)), len(term))
        prefixes.append(term[:cut].rstrip())
    return list(dict.fromkeys(p for p in prefixes if p))


def build_targets(url: str) -> tuple[list[Target], list[str]]:
    words, pairs = vocabulary(url)
    if not words:
        raise BenchError("the bench database has no active product")
    terms = search_terms(words, pairs)
    typed = typed_so_far(terms)
    log(f"{len(words)} words, {len(pairs)} pairs: {len(terms)} distinct search terms")
    # Each target a third of the terms (no answer of one warms another), 10 % of it to warm up.
    third = len(terms) // 3

    def split(chosen: list[str], template: str) -> tuple[list[str], list[str]]:
        paths = [template.format(quote(term)) for term in chosen]
        cut = max(1, len(paths) // 10)
        return paths[:cut], paths[cut:]

    page = split(terms[:third], "/search/?q={}")
    api = split(terms[third : 2 * third], "/api/v1/products/?q={}")
    suggest = split(typed, "/api/v1/products/suggest/?q={}")
    targets = [
        Target("page", "search page /search/?q=", *page),
        Target("api", "API products/?q=", *api),
        Target("suggest", "API products/suggest/?q=", *suggest),
    ]
    return targets, terms


# --- Measurements --------------------------------------------------------------------


def query_counts(targets: list[Target], env: dict[str, str]) -> dict[str, dict]:
    """Queries of 20 cold requests per target (every cache emptied before each)."""
    sample = {
        f"{target.key}:{n}": path for target in targets for n, path in enumerate(target.paths[:20])
    }
    return harness.child_json(
        [str(harness.BENCH_DIR / "query_counts.py"), json.dumps(sample)],
        env,
        what="counting queries",
    )


def explain(terms: list[str], env: dict[str, str]) -> dict:
    return harness.child_json(
        [str(harness.BENCH_DIR / "search_explain.py"), json.dumps(terms)], env, what="EXPLAIN"
    )


def _prepare_tables(url: str) -> None:
    """What autovacuum does in a running shop, done now rather than some minutes into the
    run: the GIN indexes' pending entries merged, statistics fresh."""
    harness.execute(
        url,
        (
            "SELECT gin_clean_pending_list(%s::regclass), gin_clean_pending_list(%s::regclass)",
            ["catalog_product_search_gin", "catalog_searchword_trgm"],
        ),
        "ANALYZE catalog_product",
        "ANALYZE catalog_searchword",
    )


def run(options: argparse.Namespace) -> dict:
    server: ServerConfig = options.server
    base: LoadConfig = options.load
    load = LoadConfig(duration=base.duration, warmup=0, connections=CLIENTS, threads=1)
    harness.ensure_wrk()
    url, env = harness.prepare_database(products=options.products, reseed=options.reseed)
    if options.products < 100_000:
        log(f"{options.products} products: the goal is set at 100,000 (--products 100000)")
    if not harness.query_all(url, "SELECT count(*) FROM catalog_searchword")[0][0]:
        harness.manage(["search_words_rebuild"], env)
    _prepare_tables(url)
    targets, terms = build_targets(url)

    log("counting queries per target on a cold cache")
    counts = query_counts(targets, env)
    log(f"EXPLAIN ANALYZE of {EXPLAINED_TERMS} terms")
    plans = explain(terms[-EXPLAINED_TERMS:], env)

    measured: dict[str, dict] = {}
    with (
        harness.ceiling_server(env, server) as ceiling_url,
        harness.gunicorn(
            "shop.wsgi:application", env=env, config=server, probe_path="/search/", name="shop"
        ) as shop_url,
    ):
        ceiling = harness.wrk_run(ceiling_url, ["/"], load, seconds=load.duration)
        for target in targets:
            failing = [
                path for path in target.warmup[:5] if harness.http_get(shop_url + path)[0] != 200
            ]
            if failing:
                measured[target.key] = {"error": "not 200: " + "; ".join(failing)}
                continue
            rounds = []
            for round_number in range(1, options.rounds + 1):
                harness.cache_clear(harness.BENCH_CACHE_PREFIX)
                harness.wrk_run(shop_url, target.warmup, load, seconds=2)
                # Each round its own slice of the paths: no URL is asked twice in a run.
                share = len(target.paths) // options.rounds
                paths = target.paths[(round_number - 1) * share : round_number * share]
                log(f"loading {target.label} ({len(paths)} URLs), round {round_number}")
                result = harness.wrk_run(shop_url, paths, load, seconds=load.duration)
                log(
                    f"{target.key}: {result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms, "
                    f"p99 {result.p99_ms:.1f} ms, {result.requests} requests"
                )
                rounds.append((result, len(paths)))
            result, distinct = sorted(rounds, key=lambda pair: pair[0].p99_ms)[len(rounds) // 2]
            measured[target.key] = {"load": result, "distinct": distinct}
            if result.error_count:
                measured[target.key]["error"] = f"wrk errors {result.errors}"

    return _report(targets, measured, counts, plans, ceiling, server, load)


# --- Report --------------------------------------------------------------------------


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{statistics.median(ordered):.1f} / {ordered[-1]:.1f}"


def _report(
    targets: list[Target],
    measured: dict[str, dict],
    counts: dict[str, dict],
    plans: dict,
    ceiling: LoadResult,
    server: ServerConfig,
    load: LoadConfig,
) -> dict:
    headers = [
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "wanted p99",
        "result",
        f"queries (cold, ≤{MAX_QUERIES})",
        "requests / distinct URLs",
    ]
    rows = [["reference: minimal Django view", f"{ceiling.rps:.0f}", f"{ceiling.p50_ms:.1f}",
             f"{ceiling.p99_ms:.1f}", "", "", "0", ""]]  # fmt: skip
    ok = True
    entries = []
    for target in targets:
        sample = [v for k, v in counts.items() if k.startswith(f"{target.key}:")]
        queries = [v["queries"] for v in sample if v.get("status") == 200]
        bad = [v for v in sample if v.get("status") != 200]
        queries_ok = bool(queries) and max(queries) <= MAX_QUERIES and not bad
        query_cell = (f"{min(queries)}-{max(queries)}" if queries else "?") + (
            "" if queries_ok else " MISS"
        )
        data = measured.get(target.key, {})
        result: LoadResult | None = data.get("load")
        entry = {"target": target.key, "queries": queries, "bad_status": len(bad)}
        entries.append(entry)
        if result is None:
            ok = False
            entry["error"] = data.get("error", "not measured")
            rows.append([target.label, "-", "-", "-", "", "ERROR", query_cell, ""])
            continue
        wanted = WANTED_P99_MS[target.key]
        passed = result.p99_ms < wanted and not data.get("error") and queries_ok
        ok = ok and passed
        entry.update({"load": result, "distinct": data["distinct"], "pass": passed})
        rows.append(
            [
                target.label,
                f"{result.rps:.0f}",
                f"{result.p50_ms:.1f}",
                f"{result.p99_ms:.1f}",
                f"< {wanted:.0f}",
                ("PASS" if passed else "MISS") + (" (errors)" if data.get("error") else ""),
                query_cell,
                f"{result.requests} / {data['distinct']}",
            ]
        )
    table = harness.format_table(headers, rows)

    explained = plans.get("terms", [])
    plan_headers = ["statement (EXPLAIN ANALYZE)", "median / max ms", "scans"]
    kinds = [
        ("before: count of `@@ OR name %> text`", lambda t: [t["before_count"]]),
        ("typed words among the catalog's", lambda t: [t["words"]]),
        ("count (bounded candidates)", lambda t: [t["count"]]),
        ("page of 24 by relevance", lambda t: [t["page"]]),
        ("suggest: completions + products", lambda t: t["suggest"]),
    ]
    plan_rows = []
    for label, pick in kinds:
        nodes = [node for term in explained for node in pick(term)]
        scans = sorted({scan for node in nodes for scan in node["scans"]})
        plan_rows.append([label, _stats([n["ms"] for n in nodes]), ", ".join(scans)])
    table += "\n\n" + harness.format_table(plan_headers, plan_rows)

    notes = [
        f"Server: {server.describe()}, DEBUG=False; load: wrk -t1 -c{CLIENTS} "
        f"-d{load.duration}s, every request a URL not asked before (page cache emptied, "
        "warm-up on terms of its own).",
        "Terms: the catalog's words (names first, then descriptions), pairs of name words, "
        "slips (a swap or a missing letter), short words and their slips.",
        f"Plans: {len(explained)} terms; PostgreSQL's Execution Time, without the network.",
    ]
    return {
        "suite": NAME,
        "table": table,
        "notes": notes,
        "ok": ok,
        "data": {
            "server": server,
            "load": load,
            "ceiling": ceiling,
            "targets": entries,
            "plans": explained,
        },
    }
