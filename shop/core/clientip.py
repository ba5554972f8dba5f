"""The client's address, the one every throttle and limiter keys on.

Behind no proxy (`TRUSTED_PROXY_COUNT = 0`, the default) it is the socket's address and
`X-Forwarded-For` is ignored: anyone can send that header, so trusting it would let every
request pick a fresh identity. Behind N proxies of our own, each appends the address it
was connected from to `X-Forwarded-For`, so the Nth address from the right is the one the
outermost of them saw; what is further left came from the client and proves nothing.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Protocol

from django.conf import settings

# Limits key an IPv6 client by its /64: one subscriber is routinely handed a whole /64,
# so keying on the full address would give them 2**64 fresh identities.
IPV6_LIMIT_PREFIX = 64


class _HasMeta(Protocol):
    """A Django `HttpRequest` or a DRF `Request` (which hands `META` through)."""

    @property
    def META(self) -> dict[str, Any]: ...


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:443"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(request: _HasMeta) -> str:
    """The client's IP address as text; "unknown" when there is none to be found."""
    meta = request.META
    remote = _parse(str(meta.get("REMOTE_ADDR") or ""))
    proxies = settings.TRUSTED_PROXY_COUNT
    address = remote
    if proxies > 0:
        forwarded = [
            part for part in str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if part.strip()
        ]
        if forwarded:
            # Fewer entries than proxies: the leftmost was still added by one of ours.
            # An entry our own proxy wrote that is not an address: fall back to the socket.
            address = _parse(forwarded[-min(proxies, len(forwarded))]) or remote
    return str(address) if address is not None else "unknown"


def client_limit_key(request: _HasMeta) -> str:
    """`client_ip`, with an IPv6 address widened to its /64: what limits count on."""
    ip = client_ip(request)
    return limit_key_for_ip(ip)


def limit_key_for_ip(ip: str) -> str:
    """The key a limit counts `ip` under (an IPv6 address's /64, an IPv4 address itself)."""
    address = _parse(ip)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{address}/{IPV6_LIMIT_PREFIX}", strict=False))
    return ip
