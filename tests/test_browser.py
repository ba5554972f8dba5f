"""A shopper in a real browser, from registration to a paid order; then the merchant ships
it from the admin and the shopper follows the parcel.

Chromium (Debian's `/usr/bin/chromium`, driven by Playwright) against the live server
(pytest-django's `live_server`, on the test database), with a real Celery worker: the
sandbox page's "Pay" queues the signed webhook, the worker POSTs it to the live server,
the live server stores it and queues its application, the worker applies it, and the
order page shows the order paid. Only visible labels are used to find things.

`make test` installs what this needs (the `playwright` package from the dev extra, and
Debian's `chromium` when it is missing and apt-get can run); without Chromium the test is
skipped. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from decimal import Decimal

import pytest

from catalog.tests.factories import ProductFactory
from orders.models import Order
from payments.models import Payment, WebhookEvent
from shipping.tests.factories import ShippingMethodFactory

CHROMIUM = os.environ.get("BAZAAR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
STEP_TIMEOUT_MS = 15_000
PAID_TIMEOUT = 30

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason=f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium; "
        "`make test` does it when run as root)",
    ),
]


MERCHANT_EMAIL = "lamps@merchant.example"


def _seed_catalog() -> None:
    from accounts.tests.factories import UserFactory
    from fulfilment.models import Carrier
    from fulfilment.tests.conftest import CARRIERS
    from fulfilment.tests.factories import merchant_with_staff

    merchant = merchant_with_staff(UserFactory(email=MERCHANT_EMAIL), name="Lamp Works")
    for slug, name, template, sandbox in CARRIERS:
        Carrier.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "tracking_url_template": template, "is_sandbox": sandbox},
        )
    ProductFactory(
        name="Walnut Desk Lamp",
        merchant=merchant,
        variants__price_amount=Decimal("24.00"),
        variants__stock=5,
    )
    ProductFactory(name="Linen Tea Towel", variants__price_amount=Decimal("9.50"))
    ProductFactory(name="Copper Watering Can", variants__price_amount=Decimal("31.00"))
    ShippingMethodFactory(name="Standard courier", price_amount=Decimal("4.90"))


def test_shopper_registers_buys_and_pays_in_the_browser(live_server, celery_worker, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    _seed_catalog()
    email = f"shopper-{uuid.uuid4().hex[:8]}@example.com"

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(base_url=live_server.url)
        page.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            number = _shop(page, sync_api.expect, email=email, worker=celery_worker)
            # The merchant, in a browser of their own, ships it from the admin.
            merchant = browser.new_context(base_url=live_server.url).new_page()
            merchant.set_default_timeout(STEP_TIMEOUT_MS)
            _ship(merchant, sync_api.expect, number=number)
            # The shopper sees the parcel and its timeline move.
            _follow_parcel(page, sync_api.expect, worker=celery_worker)
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"screenshot: {tmp_path / 'failure.png'}\nURL: {page.url}\n{page.content()}")
            print(f"worker log:\n{celery_worker.log()}")
            raise
        finally:
            browser.close()

    # The browser is gone (and with it Playwright's event loop): check the books.
    order = Order.objects.get(number=number)
    assert order.user.email == email
    assert order.status == Order.Status.SHIPPED
    assert order.total_amount == Decimal("28.90")  # 24.00 + 4.90 shipping
    payment = order.payments.get()
    assert payment.provider == "sandbox"
    assert payment.status == Payment.Status.CAPTURED
    event = WebhookEvent.objects.get(payment=payment)
    assert event.status == WebhookEvent.Status.PROCESSED
    line = order.lines.get()
    assert line.quantity == 1
    line.variant.refresh_from_db()
    assert (line.variant.stock, line.variant.reserved) == (4, 0)


def _shop(page, expect, *, email: str, worker) -> str:
    """Drive the shop like a person; returns the order number."""
    # Register, then log in (registering does not: it answers a taken email the same way).
    page.goto("/accounts/register/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Password").fill("a-long-browser-password-42")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.locator("main").get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a-long-browser-password-42")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    # Search for the product and open it.
    page.get_by_role("searchbox", name="Search products").fill("walnut lamp")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name="Walnut Desk Lamp").click()
    expect(page.get_by_role("heading", name="Walnut Desk Lamp")).to_be_visible()

    # Into the cart, then checkout.
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name=re.compile(r"^Cart \(1\)")).click()
    expect(page.get_by_role("link", name="Walnut Desk Lamp")).to_be_visible()
    page.get_by_role("link", name="Checkout").click()

    # Step 1: a new address.
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Address line 1").fill("1 Compiler Street")
    page.get_by_label("City").fill("Arlington")
    page.get_by_label("Postal code").fill("22201")
    page.get_by_label("Country").select_option("US")
    page.get_by_role("button", name="Continue to shipping").click()

    # Step 2: the shipping method, then place the order.
    page.get_by_label(re.compile("Standard courier")).check()
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))
    order_url = page.url
    number = order_url.rstrip("/").rsplit("/", 1)[1]
    expect(page.get_by_text("Pending payment", exact=True)).to_be_visible()

    # Pay on the order page, which hands over to the sandbox provider's page.
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("heading", name="Sandbox payment")).to_be_visible()
    page.get_by_role("button", name="Pay", exact=True).click()

    # Back on the order page; the worker applies the webhook in the background.
    expect(page).to_have_url(order_url)
    deadline = time.monotonic() + PAID_TIMEOUT
    status = page.locator(".order-status")
    while status.inner_text().strip() != "Paid":
        worker.assert_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"the order page still says {status.inner_text()!r} after {PAID_TIMEOUT} s")
        time.sleep(0.25)
        page.reload()
    return number


def _ship(page, expect, *, number: str) -> None:
    """A merchant logs in to the admin, opens Orders to ship and ships the order with the
    sandbox carrier, then has the sandbox carrier report the parcel in transit."""
    from accounts.tests.factories import DEFAULT_PASSWORD

    page.goto("/admin/")
    page.get_by_label("Email").fill(MERCHANT_EMAIL)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Orders to ship").click()
    expect(page.get_by_text(number)).to_be_visible()
    page.get_by_role("link", name="Ship", exact=True).click()
    page.get_by_label("Carrier").select_option(label="Bazaar Sandbox Post")
    page.get_by_label("Tracking number").fill("SBX-BROWSER-1")
    page.get_by_role("button", name="Ship", exact=True).click()
    expect(page.get_by_text("the shopper is emailed")).to_be_visible()
    # The sandbox carrier's next callback, sent from the shipments list.
    page.goto("/admin/fulfilment/shipment/")
    page.get_by_role("checkbox", name=re.compile("Select this object")).first.check()
    page.get_by_label("Action:", exact=False).and_(page.locator("select")).select_option(
        label="Send the next sandbox tracking event"
    )
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("sandbox tracking event sent")).to_be_visible()


def _follow_parcel(page, expect, *, worker) -> None:
    page.reload()
    expect(page.get_by_role("heading", name="Parcels")).to_be_visible()
    expect(page.locator(".order-shipments")).to_contain_text("SBX-BROWSER-1")
    deadline = time.monotonic() + PAID_TIMEOUT
    while "In transit" not in page.locator(".order-shipments").inner_text():
        worker.assert_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"no in-transit step after {PAID_TIMEOUT} s")
        time.sleep(0.25)
        page.reload()
    expect(page.locator(".shipment-status")).to_have_text("In transit")
