"""Orders' Prometheus counters (shop/core/metrics.py explains the set-up)."""

from prometheus_client import Counter

ORDERS_PLACED = Counter(
    "bazaar_orders_placed", "Orders placed, counted when the placing transaction commits."
)
