import pytest
from django.test import RequestFactory

from shop.core.clientip import client_ip, client_limit_key, limit_key_for_ip


def _request(remote="203.0.113.7", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request(forwarded="198.51.100.1")) == "203.0.113.7"
    assert client_ip(_request(forwarded="198.51.100.1, 192.0.2.9")) == "203.0.113.7"


def test_the_default_trusts_no_proxy():
    from django.conf import settings

    assert settings.TRUSTED_PROXY_COUNT == 0


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        # One proxy of ours: the client is what it appended, whatever the client prepended.
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),
        (1, "6.6.6.6,7.7.7.7 , 198.51.100.1", "198.51.100.1"),
        # Two: the outer one appended the client, the inner one the outer's address.
        (2, "6.6.6.6, 198.51.100.1, 10.0.0.2", "198.51.100.1"),
        # Fewer entries than proxies: the leftmost, which one of ours still wrote.
        (3, "198.51.100.1, 10.0.0.2", "198.51.100.1"),
    ],
)
def test_with_trusted_proxies_the_nth_address_from_the_right(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(_request(remote="10.0.0.1", forwarded=forwarded)) == expected


def test_with_proxies_but_no_header_the_socket_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request(remote="10.0.0.1")) == "10.0.0.1"


def test_garbage_where_an_address_should_be_falls_back_to_the_socket(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request(remote="10.0.0.1", forwarded="not-an-ip")) == "10.0.0.1"
    assert client_ip(_request(remote="", forwarded=None)) == "unknown"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("198.51.100.1:5123", "198.51.100.1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
        ("2001:DB8:0::1", "2001:db8::1"),
    ],
)
def test_addresses_are_normalised(settings, raw, expected):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request(remote="10.0.0.1", forwarded=raw)) == expected


def test_limits_key_an_ipv6_client_by_its_64():
    a = _request(remote="2001:db8:1:2:aaaa::1")
    b = _request(remote="2001:db8:1:2:bbbb::2")
    c = _request(remote="2001:db8:1:3::1")
    assert client_limit_key(a) == client_limit_key(b) == "2001:db8:1:2::/64"
    assert client_limit_key(c) != client_limit_key(a)
    assert limit_key_for_ip("203.0.113.7") == "203.0.113.7"
