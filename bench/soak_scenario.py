"""The pure parts of the `soak` suite, shared by the suite and its locust scenario: the
callbacks a payment provider and a carrier send, how an answer that went wrong is named,
and how the figures are assembled into the report's tables. No Django, no locust here,
so tests/test_bench_soak.py checks them in milliseconds.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# The shop answers every error under /api/ and the webhooks as {"code", "message"}: the
# code names the kind of failure, so errors are grouped by it, with a few examples each.
EXAMPLES_PER_ERROR = 3


def payment_succeeded_event(payment: Mapping[str, Any], *, order_number: str) -> dict[str, Any]:
    """The `payment_intent.succeeded` event the sandbox provider sends for `payment` (the
    answer of POST orders/{number}/payments/), shaped as API.md "Payments" defines it:
    the amount in minor units, the currency in lower case, our ids in the metadata."""
    amount = int(Decimal(str(payment["amount"])) * 100)
    return {
        "id": f"evt_soak_{secrets.token_hex(12)}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(datetime.now(UTC).timestamp()),
        "data": {
            "object": {
                "id": payment["provider_reference"],
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "currency": str(payment["currency"]).lower(),
                "status": "succeeded",
                "metadata": {"order_number": order_number, "payment_id": str(payment["id"])},
            }
        },
    }


def carrier_event(tracking_number: str, status: str) -> dict[str, Any]:
    """A carrier's tracking callback (API.md "Shipping")."""
    return {
        "id": f"trk_soak_{secrets.token_hex(12)}",
        "tracking_number": tracking_number,
        "status": status,
        "description": f"Parcel {status.replace('_', ' ')} (soak).",
        "occurred_at": datetime.now(UTC).isoformat(),
    }


def error_kind(status: int | None, body: bytes | str | None, *, expected: Sequence[int]) -> str:
    """The kind of a wrong answer: `HTTP <status> <code>` (the envelope's code when the body
    has one), or the transport error's name when no answer came."""
    if status is None or status == 0:
        return "no answer"
    code = ""
    if body:
        try:
            data = json.loads(body)
        except (ValueError, TypeError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("code"), str):
            code = f" {data['code']}"
    wanted = "/".join(str(s) for s in expected)
    return f"HTTP {status}{code} (wanted {wanted})"


def errors_record(
    errors: dict[str, dict[str, Any]], kind: str, *, request: str, example: str
) -> None:
    """Count one error of `kind` and keep its first few examples."""
    entry = errors.setdefault(kind, {"count": 0, "requests": {}, "examples": []})
    entry["count"] += 1
    entry["requests"][request] = entry["requests"].get(request, 0) + 1
    if len(entry["examples"]) < EXAMPLES_PER_ERROR:
        entry["examples"].append(f"{request}: {example[:300]}")


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted values (0 when there are none)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered) - 1e-9))
    return float(ordered[min(len(ordered), rank) - 1])


def request_rows(
    timings: Mapping[str, Sequence[float]], failures: Mapping[str, int], seconds: float
) -> list[list[str]]:
    """One row per request type: requests, failures, req/s, p50, p99, max (ms); then the
    total."""
    rows = []
    every: list[float] = []
    for name in sorted(timings):
        ordered = sorted(timings[name])
        every.extend(ordered)
        rows.append(_row(name, ordered, failures.get(name, 0), seconds))
    rows.append(_row("all", sorted(every), sum(failures.values()), seconds))
    return rows


def _row(name: str, ordered: Sequence[float], failed: int, seconds: float) -> list[str]:
    rate = len(ordered) / seconds if seconds else 0.0
    return [
        name,
        str(len(ordered)),
        str(failed),
        f"{rate:.2f}",
        f"{percentile(ordered, 0.50):.0f}",
        f"{percentile(ordered, 0.99):.0f}",
        f"{(ordered[-1] if ordered else 0):.0f}",
    ]


def hit_rate(counts: Mapping[str, int]) -> float:
    """The share of answers with `X-Page-Cache: hit` (as the pagecache suite counts)."""
    total = counts.get("hit", 0) + counts.get("miss", 0) + counts.get("other", 0)
    return counts.get("hit", 0) / total if total else 0.0


def memory_rows(samples: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """One row per process seen in the RSS samples ({"t": seconds, "rss": {process: bytes}},
    oldest first): RSS at the first and last sample, the change, the change over the second
    half alone (a process that only warms up grows early, one that leaks keeps growing),
    and the highest."""
    names: list[str] = []
    for sample in samples:
        names.extend(name for name in sample["rss"] if name not in names)
    rows = []
    for name in names:
        seen = [(s["t"], s["rss"][name]) for s in samples if name in s["rss"]]
        first, last = seen[0][1], seen[-1][1]
        middle_t = (seen[0][0] + seen[-1][0]) / 2
        middle = min(seen, key=lambda sample: abs(sample[0] - middle_t))[1]
        rows.append(
            [
                name,
                f"{first / 2**20:.1f}",
                f"{last / 2**20:.1f}",
                f"{(last - first) / 2**20:+.1f}",
                f"{(last - middle) / 2**20:+.1f}",
                f"{max(r for _, r in seen) / 2**20:.1f}",
                f"{seen[0][0]:.0f}-{seen[-1][0]:.0f}",
            ]
        )
    return rows
