"""Fuzz every operation of the served OpenAPI schema against the app itself.

Schemathesis loads `/api/schema/` from the WSGI app (no server needed), generates valid and
invalid requests per operation and checks that nothing answers 5xx and that every answer
(status, content type, headers, body) is what the schema says. It runs inside
pytest-django's test transaction, on a small seeded catalog and a user with an address,
so list, detail and authenticated answers carry real rows.
"""

import re
from decimal import Decimal
from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.adapter.security import (
    declares_security,
    has_effective_optional_auth,
)

from shop.wsgi import application

# Schema-valid input the API still refuses with 400 by design: an id of no merchant in the
# `merchant` filter (API.md: bad input is a 400, unlike an unknown category slug, which
# simply matches nothing). Every other check runs with its defaults.
config = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-name": "GET /api/v1/products/",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404"]}
                },
            },
            # Registering: a weak password is schema-valid (the password validators are not
            # a schema property) and a 400 by design; past REGISTER_RATE, 429.
            {
                "include-name": "POST /api/v1/auth/register/",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "429"]}
                },
            },
            # The same for a body's `variant` in the cart: an id of no buyable variant is a
            # 400 field error (body input), not a 404.
            {
                "include-name": "POST /api/v1/cart/lines/",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "404", "409"]
                    }
                },
            },
            # Placing an order refuses schema-valid input by design: an id of no shipping
            # method or of someone else's address is a 400 field error, and the seeded cart
            # is empty (400 `empty_cart`) once the first generated order is placed. API.md
            # makes "exactly one of shipping_address / address_id" a 400 too.
            {
                "include-name": "POST /api/v1/orders/",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "404", "409"]
                    }
                },
            },
            # Starting a payment: `stripe` is schema-valid but the test shop has no Stripe
            # keys (400 `provider_unavailable`); a generated Idempotency-Key reused with the
            # other provider is a 409, and so is paying the seeded order that is paid.
            {
                "include-name": "POST /api/v1/orders/{number}/payments/",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "404", "409"]
                    }
                },
            },
            # Shipping and returns refuse schema-valid input that does not fit the order's
            # state by design: a line id of another order or more than is left to ship or
            # to return is a 400 field error (API.md), like the cart's unknown variant.
            *(
                {
                    "include-name": name,
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "403", "404", "409"]
                        }
                    },
                }
                for name in (
                    "POST /api/v1/orders/{number}/returns/",
                    "POST /api/v1/staff/orders/{number}/shipments/",
                    "POST /api/v1/staff/orders/{number}/cancel-lines/",
                    "POST /api/v1/staff/returns/{return_id}/receive/",
                    "POST /api/v1/staff/returns/{return_id}/reject/",
                )
            ),
            # Provider webhooks: a generated body is never signed with the webhook secret
            # (400 `invalid_signature`), and Stripe has no keys in the test shop (404).
            {
                "include-name": "POST /payments/webhooks/{provider}/",
                "checks": {"positive_data_acceptance": {"expected-statuses": ["400", "404"]}},
            },
            # The same for carriers' tracking callbacks (unsigned: 400; unknown carrier: 404).
            {
                "include-name": "POST /shipping/webhooks/{carrier}/",
                "checks": {"positive_data_acceptance": {"expected-statuses": ["400", "404"]}},
            },
        ]
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=config)

# Ids of the rows the fixtures seed, by path parameter name; filled per test.
SEEDED_IDS: dict[str, list[int]] = {}


@schema.hook
def map_path_parameters(context, path_parameters):
    """Point half of the generated ids at seeded rows: random integers would almost only
    ever reach the 404 branch of detail endpoints."""
    if not path_parameters:
        return path_parameters
    for name, value in path_parameters.items():
        ids = SEEDED_IDS.get(name)
        if ids and type(value) is int and value % 2 == 0:
            path_parameters[name] = ids[(value // 2) % len(ids)]
        elif ids and type(value) is str is type(ids[0]) and len(value) % 2 == 0:
            # String keys (order numbers): only for parameters seeded with strings, so a
            # negative case's `null` sent as "null" for an integer id stays invalid.
            path_parameters[name] = ids[(len(value) // 2) % len(ids)]
    return path_parameters


@schema.hook
def map_body(context, body):
    """Likewise for ids in a JSON body (a cart line's `variant`)."""
    if not isinstance(body, dict):
        return body
    for name in ("variant",):
        ids = SEEDED_IDS.get(name)
        value = body.get(name)
        if ids and type(value) is int and value % 2 == 0:
            body[name] = ids[(value // 2) % len(ids)]
    return body


@pytest.fixture
def wsgi_in_test_transaction(db):
    """Keep Django from closing the test's DB connection after each request.

    The real WSGI handler runs `close_old_connections` on request start and finish, which
    would drop pytest-django's open transaction; Django's own test client unhooks it the
    same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(wsgi_in_test_transaction):
    """Seed a catalog and a user with an address; returns the user's auth header."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.tests.factories import AddressFactory, UserFactory
    from cart.services import cart_add_item
    from catalog.models import ProductImage
    from catalog.tests.factories import (
        CategoryFactory,
        MerchantFactory,
        ProductAttributeFactory,
        ProductFactory,
    )
    from orders.tests.factories import place_order
    from reviews.models import BoughtTogether
    from reviews.tests.factories import ReviewFactory, buy
    from shipping.tests.factories import ShippingMethodFactory

    root = CategoryFactory(slug="root")
    child = CategoryFactory(parent=root, slug="child")
    merchant = MerchantFactory()
    products = []
    for category, price in zip([root, child, child], ["5.00", "19.90", "120.00"], strict=True):
        product = ProductFactory(
            category=category, merchant=merchant, variants=2, variants__price_amount=Decimal(price)
        )
        ProductAttributeFactory(product=product, name="Colour", value="Blue")
        products.append(product)
    ProductImage.objects.create(product=products[0], image="products/sample.jpg", alt_text="A")

    user = UserFactory()
    addresses = AddressFactory.create_batch(2, user=user)
    variants = [variant for product in products for variant in product.variants.all()]
    # Checkout: a method shipping everywhere and a placed order (before the cart fills up),
    # so listing, reading, cancelling and placing orders all reach their 2xx answers.
    method = ShippingMethodFactory(countries=[])
    orders = [
        place_order(user=user, items=[(variants[-1], 1)], shipping_method=method) for _ in range(2)
    ]
    # Payments: the second order is paid (a captured sandbox payment, partly refunded), so
    # its payment list carries derived totals; the first stays payable.
    _seed_paid_with_refund(orders[1])
    # Reviews (before the cart fills up: a paid order takes the whole cart): a published
    # review to list, a bought-together row to recommend, and a paid order of the first
    # product, so the user's first review of it is a 201 (later ones a 409).
    ReviewFactory(product=products[1], author=UserFactory(name="Ada Lovelace"))
    BoughtTogether.objects.create(product=products[0], other=products[2], orders=2)
    buy(user=user, product=products[0])
    # Fulfilment: the user also staffs the merchant (the staff endpoints answer them), and a
    # third order is paid, shipped and delivered, with a return asked for.
    fulfilled, return_id = _seed_delivered_with_return(user, merchant, variants[0], method)
    orders.append(fulfilled)
    cart_lines = [
        cart_add_item(user=user, variant_id=variant.pk, quantity=1) for variant in variants[:4]
    ]

    SEEDED_IDS["id"] = [p.pk for p in products]
    SEEDED_IDS["address_id"] = [a.pk for a in addresses]
    SEEDED_IDS["line_id"] = [line.pk for line in cart_lines]
    SEEDED_IDS["variant"] = [variant.pk for variant in variants]
    SEEDED_IDS["number"] = [order.number for order in orders]
    SEEDED_IDS["shipping_method"] = [method.pk]
    SEEDED_IDS["return_id"] = [return_id]
    yield {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}
    SEEDED_IDS.clear()


def _seed_paid_with_refund(order):
    from django.conf import settings as django_settings
    from django.db import transaction

    from payments.models import Payment
    from payments.services.refunds import refund_execute, refund_request
    from payments.services.webhooks import webhook_event_apply
    from payments.tests.factories import deliver_sandbox_event, start_sandbox_payment

    payment = start_sandbox_payment(order)
    event = deliver_sandbox_event(payment, succeeded=True, settings=django_settings)
    webhook_event_apply(event_pk=event.pk)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        refund = refund_request(payment=locked, amount=Decimal("1.00"), key="seed-refund")
    refund_execute(refund_id=refund.pk)


def _seed_delivered_with_return(user, merchant, variant, method):
    from django.conf import settings as django_settings

    from catalog.services import merchant_staff_set
    from fulfilment.services.returns import return_request
    from fulfilment.services.shipments import carrier_event_apply, shipment_create
    from fulfilment.tests.factories import deliver_carrier_event
    from orders.tests.factories import place_order
    from payments.services.webhooks import webhook_event_apply
    from payments.tests.factories import deliver_sandbox_event, start_sandbox_payment

    merchant_staff_set(merchant=merchant, users=[user])
    order = place_order(user=user, items=[(variant, 2)], shipping_method=method)
    payment = start_sandbox_payment(order)
    webhook_event_apply(
        event_pk=deliver_sandbox_event(payment, succeeded=True, settings=django_settings).pk
    )
    shipment = shipment_create(
        order_id=order.pk, carrier="sandbox", tracking_number="SBX-SEED-1", by=user
    )
    carrier_event_apply(event_pk=deliver_carrier_event(shipment, status="delivered").pk)
    line = order.lines.get()
    requested = return_request(
        order_id=order.pk, user=user, lines={line.pk: 1}, reason="damaged", comment=""
    )
    return order, requested.pk


def _needs_credentials(operation) -> bool:
    return declares_security(operation) and not has_effective_optional_auth(
        operation, operation.schema.raw_schema
    )


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, seeded):
    # Operations open to anonymous callers are fuzzed anonymously (as most catalog
    # traffic is, through the page cache); the others with a valid token.
    headers = seeded if _needs_credentials(case.operation) else None
    case.call_and_validate(headers=headers)


# --- The schema describes the whole contract ----------------------------------------------

# Every operation ../shared/API.md names (the public contract), as written there: methods
# and paths, `{...}` for path parameters.
API_MD_OPERATIONS = [
    ("POST", "/api/v1/auth/register/"),
    ("POST", "/api/v1/auth/token/"),
    ("POST", "/api/v1/auth/token/refresh/"),
    ("POST", "/api/v1/auth/token/revoke/"),
    ("GET", "/api/v1/me/"),
    ("PATCH", "/api/v1/me/"),
    ("GET", "/api/v1/me/addresses/"),
    ("POST", "/api/v1/me/addresses/"),
    ("GET", "/api/v1/me/addresses/{id}/"),
    ("PATCH", "/api/v1/me/addresses/{id}/"),
    ("DELETE", "/api/v1/me/addresses/{id}/"),
    ("GET", "/api/v1/categories/"),
    ("GET", "/api/v1/products/"),
    ("GET", "/api/v1/products/suggest/"),
    ("GET", "/api/v1/products/{id}/"),
    ("GET", "/api/v1/products/{id}/recommendations/"),
    ("GET", "/api/v1/products/{id}/reviews/"),
    ("POST", "/api/v1/products/{id}/reviews/"),
    ("POST", "/api/v1/staff/reviews/{id}/reply/"),
    ("GET", "/api/v1/cart/"),
    ("POST", "/api/v1/cart/lines/"),
    ("PATCH", "/api/v1/cart/lines/{id}/"),
    ("DELETE", "/api/v1/cart/lines/{id}/"),
    ("GET", "/api/v1/shipping-methods/"),
    ("POST", "/api/v1/orders/"),
    ("GET", "/api/v1/orders/"),
    ("GET", "/api/v1/orders/{number}/"),
    ("POST", "/api/v1/orders/{number}/cancel/"),
    ("POST", "/api/v1/orders/{number}/payments/"),
    ("GET", "/api/v1/orders/{number}/payments/"),
    ("POST", "/payments/webhooks/{provider}/"),
    ("POST", "/api/v1/staff/orders/{number}/shipments/"),
    ("GET", "/api/v1/orders/{number}/shipments/"),
    ("POST", "/shipping/webhooks/{carrier}/"),
    ("POST", "/api/v1/orders/{number}/returns/"),
    ("GET", "/api/v1/orders/{number}/returns/"),
    ("GET", "/api/v1/staff/orders/"),
    ("POST", "/api/v1/staff/returns/{id}/approve/"),
    ("POST", "/api/v1/staff/returns/{id}/reject/"),
    ("POST", "/api/v1/staff/returns/{id}/receive/"),
    ("POST", "/api/v1/staff/orders/{number}/cancel-lines/"),
    ("POST", "/api/v1/support/tickets/"),
    ("GET", "/api/v1/support/tickets/"),
    ("GET", "/api/v1/support/tickets/{id}/"),
    ("POST", "/api/v1/support/tickets/{id}/messages/"),
    ("POST", "/api/v1/support/tickets/{id}/close/"),
    ("GET", "/api/v1/staff/support/tickets/"),
    ("POST", "/api/v1/staff/support/tickets/{id}/messages/"),
    ("POST", "/api/v1/staff/support/tickets/{id}/resolve/"),
]
# A value of the right shape for each path parameter, to ask the URLconf whether it exists.
SAMPLE_PARAMETERS = {"id": "1", "number": "BZ0000000", "provider": "sandbox", "carrier": "dhl"}
_PARAMETER = re.compile(r"\{(\w+)\}")


def _built(method: str, path: str) -> bool:
    """Whether the URLconf routes `method path` to a view that answers that method."""
    concrete = _PARAMETER.sub(lambda m: SAMPLE_PARAMETERS[m.group(1)], path)
    try:
        match = resolve(concrete)
    except Resolver404:
        return False
    view_class = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
    if view_class is None:
        return True  # a plain view: the path alone is what the schema must show
    return hasattr(view_class, method.lower())


def _shape(path: str) -> str:
    return _PARAMETER.sub("{}", path)


@pytest.mark.django_db
def test_the_schema_describes_every_operation_of_the_contract_that_exists(api_client):
    served = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    described = {
        (method.upper(), _shape(path))
        for path, operations in served.json()["paths"].items()
        for method in operations
    }
    built = [(method, path) for method, path in API_MD_OPERATIONS if _built(method, path)]
    # The webhooks are outside /api/v1/ and were the part the schema used to miss.
    assert ("POST", "/payments/webhooks/{provider}/") in built
    missing = [
        f"{method} {path}" for method, path in built if (method, _shape(path)) not in described
    ]
    assert not missing, f"routed but not in the OpenAPI schema: {missing}"


def _template(path: str) -> re.Pattern[str]:
    parts = _PARAMETER.split(path)  # literals at even indices, parameter names at odd ones
    return re.compile(
        "".join(re.escape(part) if i % 2 == 0 else "[^/]+" for i, part in enumerate(parts))
    )


def test_the_list_above_holds_every_path_api_md_names():
    """Keeps API_MD_OPERATIONS in step with API.md where the file is at hand (a developer's
    checkout keeps it at ../shared/API.md); CI's fresh clone has none and relies on the
    list as written."""
    source = Path(__file__).resolve().parents[2] / "shared" / "API.md"
    if not source.is_file():
        pytest.skip("../shared/API.md is not beside this checkout")
    text = source.read_text()
    text = text[: text.index("## HTML pages")]  # pages: tests/test_fuzz_pages.py
    named = {
        match.group(1)
        for match in re.finditer(r"`(/?[a-z0-9_\-{}/.]+/)(?:\?[^`]*)?`", text)
        if match.group(1) not in ("/api/v1/", "/api/", "/admin/", "staff/")
    }
    listed = {_shape(path) for _method, path in API_MD_OPERATIONS}
    # API.md also names webhooks by provider (`/payments/webhooks/alipay/`): instances of
    # a listed `{provider}` path. No other parameter is ever written out.
    by_name = [
        _template(path)
        for _method, path in API_MD_OPERATIONS
        if set(_PARAMETER.findall(path)) <= {"provider", "carrier"} and "{" in path
    ]
    missing = []
    for path in named:
        full = path if path.startswith("/") else f"/api/v1/{path}"
        if _shape(full) not in listed and not any(t.fullmatch(full) for t in by_name):
            missing.append(full)
    assert not missing, f"API.md names paths this test does not list: {sorted(missing)}"
