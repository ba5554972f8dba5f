"""The security headers' middleware: nonces that survive the page cache, Permissions-Policy."""

import re

import pytest
from django.test import Client

from shop.core.security import csp_nonce_placeholder, permissions_policy_header

pytestmark = pytest.mark.urls("shop.core.tests.security_urls")


def _nonces(response) -> tuple[str, str]:
    """(the nonce in the CSP header, the nonce on the page's script)."""
    header = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    page = re.search(r'<script nonce="([^"]*)">', response.content.decode())
    assert header and page, (response["Content-Security-Policy"], response.content)
    return header[1], page[1]


def test_a_script_gets_this_answers_nonce_on_a_page_that_is_not_cached():
    first, second = Client().get("/uncached/"), Client().get("/uncached/")

    assert _nonces(first)[0] == _nonces(first)[1]
    assert _nonces(second)[0] == _nonces(second)[1]
    assert _nonces(first)[0] != _nonces(second)[0]


def test_a_cached_page_carries_a_fresh_nonce_for_every_visitor():
    stored, served = Client().get("/cached/"), Client().get("/cached/")

    assert (stored["X-Page-Cache"], served["X-Page-Cache"]) == ("miss", "hit")
    for response in (stored, served):
        header_nonce, page_nonce = _nonces(response)
        assert header_nonce == page_nonce
    assert _nonces(stored)[0] != _nonces(served)[0]
    assert csp_nonce_placeholder() not in served.content.decode()


def test_the_placeholder_cannot_be_guessed_from_outside(settings):
    # Text a visitor put into a page (a review) is not turned into the nonce unless it holds
    # the placeholder, which is derived from SECRET_KEY.
    response = Client().get("/uncached/", {"text": "bazaar-csp-nonce-"})
    assert "bazaar-csp-nonce-</p>" in response.content.decode()
    assert len(csp_nonce_placeholder()) > len("bazaar-csp-nonce-") + 30


def test_permissions_policy_is_sent_on_every_answer(settings):
    response = Client().get("/uncached/")

    assert response["Permissions-Policy"] == permissions_policy_header(settings.PERMISSIONS_POLICY)
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_permissions_policy_header_format():
    assert (
        permissions_policy_header({"camera": [], "payment": ["self", '"https://pay.example"']})
        == 'camera=(), payment=(self "https://pay.example")'
    )
