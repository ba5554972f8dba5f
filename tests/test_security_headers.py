"""Every page of the shop, the admin and the API docs passes its own Content-Security-Policy.

The policy (settings.CONTENT_SECURITY_POLICY) allows scripts from our origin or carrying the
request's nonce, and styles only from stylesheets. So each page is rendered and read as a
browser would enforce it: every <script> has a src on our origin or the nonce of this
answer's header, no style="" attribute, <style> element, on...="" handler or javascript:
URL is left (the browser would block them and the page would break), and the
Permissions-Policy header is there too.
"""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog.models import Product, ProductImage
from catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from orders.tests.factories import place_order
from payments.tests.factories import start_sandbox_payment
from reviews.tests.factories import ReviewFactory
from shipping.tests.factories import ShippingMethodFactory

pytestmark = pytest.mark.django_db

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
OUR_ORIGIN = "http://testserver"


class _Markup(HTMLParser):
    """What a Content-Security-Policy looks at in a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.style_elements: list[dict[str, str | None]] = []
        self.stylesheets: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        elif tag == "style":
            self.style_elements.append(attributes)
        elif tag == "link" and "stylesheet" in (attributes.get("rel") or "").split():
            self.stylesheets.append(attributes.get("href") or "")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f'<{tag} style="{value}">')
            elif name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> (an inline event handler)")
            elif name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")


def _directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _is_ours(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return url.startswith("/") or not url.startswith("//")
    return f"{parts.scheme}://{parts.netloc}" == OUR_ORIGIN


def assert_passes_its_policy(response, where: str) -> None:
    assert response.status_code == 200, f"{where}: {response.status_code}"
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{where}: no Content-Security-Policy header"
    policy = _directives(header)
    for directive in ("script-src", "style-src", "default-src"):
        assert "'unsafe-inline'" not in policy.get(directive, []), (where, directive)
        assert "'unsafe-eval'" not in policy.get(directive, []), (where, directive)
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    nonces = {value[len("'nonce-") : -1] for value in policy["script-src"] if "nonce-" in value}
    assert response.headers.get("Permissions-Policy"), f"{where}: no Permissions-Policy header"

    if not response["Content-Type"].startswith("text/html"):
        return
    markup = _Markup()
    markup.feed(response.content.decode())
    for script in markup.scripts:
        if script.get("src"):
            assert _is_ours(script["src"]), f"{where}: a script from elsewhere: {script['src']}"
        else:
            assert script.get("nonce") in nonces, f"{where}: an inline script without the nonce"
    for style in markup.style_elements:
        assert style.get("nonce") in nonces, f"{where}: a <style> element without the nonce"
    for href in markup.stylesheets:
        assert _is_ours(href), f"{where}: a stylesheet from elsewhere: {href}"
    assert markup.problems == [], f"{where}: blocked by the policy: {markup.problems}"


@pytest.fixture
def shop(settings, tmp_path):
    """A small shop with a bit of everything the pages show."""
    settings.MEDIA_ROOT = tmp_path
    category = CategoryFactory(name="Lamps", slug="lamps")
    product = ProductFactory(name="Walnut Lamp", category=category)
    VariantFactory(product=product, price_amount=Decimal("12.00"))
    ProductImage.objects.create(
        product=product,
        image=SimpleUploadedFile("lamp.gif", GIF, "image/gif"),
        thumbnail=SimpleUploadedFile("lamp-thumb.gif", GIF, "image/gif"),
    )
    for rating in (5, 4, 2):
        ReviewFactory(product=product, rating=rating)
    Product.objects.filter(pk=product.pk).update(
        rating_avg=Decimal("3.67"),
        rating_count=3,
        rating_histogram={"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    )
    ShippingMethodFactory()
    shopper = UserFactory()
    order = place_order(user=shopper, items=[(product.variants.first(), 1)])
    payment = start_sandbox_payment(order)
    cart_add_item(user=shopper, variant_id=product.variants.first().pk, quantity=1)
    return {
        "product": product,
        "category": category,
        "shopper": shopper,
        "order": order,
        "payment": payment,
    }


def test_the_shops_pages_pass_the_policy(shop):
    anonymous, shopper = Client(), Client()
    shopper.force_login(shop["shopper"])
    pages = {
        anonymous: [
            "/",
            "/products/",
            shop["category"].get_absolute_url(),
            shop["product"].get_absolute_url(),
            "/search/?q=lamp",
            "/cart/",
            "/accounts/login/",
            "/accounts/register/",
            "/accounts/password/reset/",
            "/accounts/password/reset/sent/",
        ],
        shopper: [
            "/",
            shop["product"].get_absolute_url(),
            "/cart/",
            "/checkout/",
            shop["order"].get_absolute_url(),
            "/accounts/orders/",
            "/accounts/password/change/",
            shop["payment"].redirect_url,  # the signed link the provider hands out
        ],
    }
    for client, paths in pages.items():
        for path in paths:
            response = client.get(path, follow=True)
            assert_passes_its_policy(response, path)
    # The anonymous pages again, now from the page cache: the headers come with them.
    for path in pages[anonymous][:4]:
        response = anonymous.get(path)
        assert response.headers.get("X-Page-Cache") == "hit", path
        assert_passes_its_policy(response, f"{path} (cached)")


def test_error_pages_pass_the_policy(settings, client):
    settings.DEBUG = False  # the shop's own 404 page, not Django's debug page
    response = client.get("/p/no-such-product/")

    assert response.status_code == 404
    response.status_code = 200  # checked as a page
    assert_passes_its_policy(response, "404 page")


def _admin_urls() -> list[str]:
    """Every registered model's list, add form and one object's change form."""
    urls = ["/admin/", "/admin/password_change/"]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        with contextlib.suppress(NoReverseMatch):
            urls.append(reverse("admin:{}_{}_add".format(*info)))
        obj = model._default_manager.first()
        if obj is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
    return urls


def test_the_admin_passes_the_policy(shop):
    login_page = Client().get("/admin/login/")
    assert_passes_its_policy(login_page, "/admin/login/")

    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    variant = shop["product"].variants.first()
    urls = [
        *_admin_urls(),
        reverse("admin:catalog_variant_adjust_stock", args=[variant.pk]),
    ]
    assert len(urls) > 20
    for url in urls:
        response = client.get(url)
        if response.status_code == 403:  # an admin that allows no adding (append-only rows)
            continue
        assert_passes_its_policy(response, url)
    # The catalog's image previews are sized by its stylesheet, not by style="".
    product_page = client.get(reverse("admin:catalog_product_change", args=[shop["product"].pk]))
    assert 'class="catalog-preview catalog-preview--80"' in product_page.content.decode()
    assert "catalog/admin.css" in product_page.content.decode()


def test_the_api_docs_come_from_our_static_files_and_pass_the_policy(client):
    response = client.get("/api/docs/")

    assert_passes_its_policy(response, "/api/docs/")
    html = response.content.decode()
    assert not re.search(r"cdn|jsdelivr|unpkg|cdnjs", html, re.I)
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert len(sources) >= 5
    for source in sources:
        path = urlsplit(source).path
        if path.startswith("/static/"):
            # In the image (collectstatic) and so served offline.
            assert finders.find(path.removeprefix("/static/")), source
    # Swagger UI's start-up script is a second request to the same page, not inline.
    [start_up] = [s for s in sources if "script" in urlsplit(s).query]
    script = client.get(start_up)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
