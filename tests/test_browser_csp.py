"""The Content-Security-Policy as a browser enforces it: no page breaks under it.

tests/test_security_headers.py reads every page's markup; this opens the pages whose own
scripts run (the API docs' Swagger UI, the admin's forms) in Chromium against the live
server and collects every policy violation the browser reports, with a listener that
Playwright installs before any page script runs. Skipped without Chromium, like
tests/test_browser.py.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory

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
PASSWORD = "a-long-browser-password-42"

# Runs in every page before its own scripts; not subject to the page's policy.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `(${event.sourceFile}:${event.lineNumber})`
  );
});
"""

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


def test_api_docs_and_admin_run_under_the_policy_in_a_browser(live_server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    product = ProductFactory(name="Walnut Desk Lamp", variants__price_amount=Decimal("24.00"))
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    admin.set_password(PASSWORD)
    admin.save()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(base_url=live_server.url)
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.add_init_script(RECORD_VIOLATIONS)
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        expect = sync_api.expect
        violations: dict[str, list[str]] = {}

        def visit(path: str) -> None:
            response = page.goto(path)
            assert response is not None and response.ok, path
            assert response.headers.get("content-security-policy"), path
            page.wait_for_load_state("networkidle")
            violations[path] = page.evaluate("window.__cspViolations")

        try:
            # Swagger UI draws the operations from the schema it fetched: it ran.
            visit("/api/docs/")
            expect(page.locator(".opblock").first).to_be_visible()
            expect(page.get_by_text("Bazaar API").first).to_be_visible()

            visit("/")
            visit(product.get_absolute_url())

            visit("/admin/login/")
            page.get_by_label("Email").fill(admin.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_text("Site administration")).to_be_visible()
            violations["/admin/ (after log-in)"] = page.evaluate("window.__cspViolations")
            # The product form: inlines, prepopulated slug and the admin's own scripts.
            visit(f"/admin/catalog/product/{product.pk}/change/")
            page.get_by_text("Add another Product image").click()
            expect(page.locator("#id_images-0-alt_text")).to_be_visible()
            violations["product form, inline added"] = page.evaluate("window.__cspViolations")
            visit("/admin/catalog/product/add/")
            page.get_by_label("Name:").press_sequentially("Copper Kettle")
            expect(page.get_by_label("Slug:")).to_have_value("copper-kettle")
            violations["product add form, slug filled"] = page.evaluate("window.__cspViolations")
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"screenshot: {tmp_path / 'failure.png'}\nURL: {page.url}")
            raise
        finally:
            browser.close()

    assert {path: found for path, found in violations.items() if found} == {}
    assert not [text for text in console if "Content Security Policy" in text], console
