"""Hostile input against every URL pattern of the site: nothing may answer 5xx.

The schema fuzzing (tests/test_api_schema.py) reaches only what the OpenAPI schema
describes. This walks Django's URL resolver instead, so every page, form, admin screen,
webhook and API path is covered, including ones added later: a pattern whose parameters
this file cannot fill fails the test until it learns them.

For every pattern it fills the path parameters with values of real rows and with hostile
ones (30-digit ids, NUL, unicode, very long strings), sends GETs with hostile query strings
(huge ints, NULs, invalid UTF-8, arrays `a[]=`, repeated keys, very long values) to the
parameters the page itself offers (its GET forms and `?` links) and to the shop's known
ones, POSTs hostile bodies built from the fields of the page's own POST forms, bodies over
the upload limits and hostile headers and cookies. It does so logged out, as a shopper, as
a merchant's staff user and as a superuser. Under `/api/` and the webhooks every error
must also be API.md's JSON envelope, with `fields` as `{field: [message]}`.

Each request runs in a savepoint that is rolled back, so one request (an admin delete, a
logout, a placed order) never changes what the next one sees. Values come from fixed
lists walked in a fixed order (no randomness); a second test lets Hypothesis (derandomized)
invent query strings for the pages that read the most parameters.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from itertools import cycle, islice
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.core.signals import got_request_exception
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Query-string and form values, already percent-encoded as they go on the wire.
HOSTILE_VALUES = [
    "99999999999999999999999",  # past bigint
    "-99999999999999999999999",
    "9" * 400,
    "0",
    "-1",
    "1e309",  # a float that overflows to infinity
    "NaN",
    "1.5",
    "%00",  # NUL, which PostgreSQL refuses in text
    "a%00b",
    "%FF%FE",  # not UTF-8
    "%ED%A0%80",  # an encoded lone surrogate
    "%D9%A1%D9%A2",  # Arabic-Indic digits: int() reads them
    "%C2%B2",  # a superscript two: isdigit() says yes, int() says no
    "%E2%80%AE%F0%9F%98%80",  # right-to-left override, an emoji
    "%27%22%3C%3E%3B--",
    "..%2F..%2Fetc%2Fpasswd",
    "x" * 5000,
    "",
    "%20",
    "true",
    "null",
    "%5B%5D",
    "%7B%7D",
    "2024-13-45",
]
# How a hostile value is attached to a parameter name: plain, an array, repeated, nested.
SHAPES = ["{k}={v}", "{k}%5B%5D={v}", "{k}=1&{k}={v}", "{k}%5B0%5D%5Bx%5D={v}"]

# Query parameters the shop reads (pages, API, admin), beside those a page's forms offer.
KNOWN_QUERY = [
    "page",
    "reviews_page",
    "page_size",
    "q",
    "category",
    "merchant",
    "min_price",
    "max_price",
    "in_stock",
    "ordering",
    "country",
    "next",
    "attribute_colour",
    "attribute_",
    "min_rating",
    "lang",
    "o",
    "p",
    "e",
    "_changelist_filters",
    "_to_field",
    "_popup",
    "status__exact",
    "id__gt",
    "pk",
]
# Form fields posted even where no form on the page names them.
KNOWN_FORM = ["variant", "quantity", "next", "outcome", "email", "password", "rating"]

HOSTILE_IDS = ["0", "9" * 30]
HOSTILE_TEXT = ["%00", "x" * 300, "%F0%9F%98%80%E2%80%AE", "%FF", "..%2F..%2Fsecret"]
HOSTILE_SLUGS = ["x" * 300, "-"]
# Admin screens are slow to render: fewer hostile path values there.
ADMIN_HOSTILE_TEXT = ["%00", "9" * 30]

# Per pattern and role: GETs and POSTs where every parameter has the same value (what
# breaks a number or a text column everywhere at once), then ones mixing values and shapes.
# Admin screens and the schema are slow to render, so they get fewer of the latter.
UNIFORM_QUERIES = ["99999999999999999999999", "%00"]
UNIFORM_BODIES = ["99999999999999999999999", "%00"]
QUERIES_PER_PAGE = 2
BODIES_PER_PAGE = 2
EXPENSIVE_QUERIES_PER_PAGE = 1
EXPENSIVE_BODIES_PER_PAGE = 0
EXPENSIVE = ("admin/", "api/schema/", "api/docs/")

JSON_BODIES = [
    b'{"a": {"b": [1, {"c": null}]}, "lines": [{"quantity": "x"}, 7], "shipping_address": 5}',
    b'{"rating": 99999999999999999999999, "variant": 1e400, "quantity": -1, "q": "\\u0000"}',
    b"[[[[[[[[[[]]]]]]]]]]",
    b'{"email": "\\ud800@example.com", "password": "\\u0000", "name": ["x"], "body": NaN}',
    b"\xff\xfe not json",
]
JSON_METHODS = ["POST", "PATCH", "PUT", "DELETE", "POST"]

# Headers and cookies a client controls, one probe per request: a session cookie holding
# NUL (a quoted cookie may carry octal escapes), junk credentials, a foreign Host, a
# language nobody speaks, an Idempotency-Key of control characters.
HEADER_PROBES = [
    {"HTTP_COOKIE": 'sessionid="\\000\\000\\000\\000\\000\\000\\000\\000\\000"'},
    {"HTTP_COOKIE": "sessionid=" + "a" * 5000 + "; csrftoken=%00; django_language=%00"},
    {"HTTP_AUTHORIZATION": "Bearer \x00.\xff.x", "HTTP_IDEMPOTENCY_KEY": "\x00\x01"},
    {"HTTP_HOST": "evil.example.com"},
    {"HTTP_ACCEPT_LANGUAGE": "\x00,zz-ZZ;q=abc,*;q=-1", "HTTP_ACCEPT": "\x00/\x00"},
    {"HTTP_X_FORWARDED_FOR": "\x00, 999.1.1.1", "HTTP_REFERER": "\x00"},
]
# Bodies over the upload limits, sent with DATA_UPLOAD_MAX_MEMORY_SIZE lowered so they
# stay small: too big (413 under the API), and too many fields (400).
SMALL_UPLOAD_LIMIT = 2048
OVERSIZED_BODIES = [
    ("application/json", '{"q": "' + "x" * (2 * SMALL_UPLOAD_LIMIT) + '"}'),
    ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(1100))),
]

JSON_PREFIXES = ("/api/", "/payments/webhooks/", "/shipping/webhooks/")
REPR_LEAKS = ("ErrorDetail(", "{'", "[{", "'string'")
# Who sends it: the shop's pages and API logged out, as a shopper and as a merchant's staff
# user; the admin logged out (its login page), as that staff user and as a superuser.
ROLES = ["anonymous", "shopper", "merchant"]
ADMIN_ROLES = ["anonymous", "merchant", "superuser"]


# --- The URL patterns -------------------------------------------------------------------


@dataclass
class Route:
    route: str  # the pattern's text, prefixes included
    converters: dict[str, str]  # parameter -> converter name ("regex" for re_path groups)
    is_regex: bool

    @property
    def path(self) -> str:
        return "/" + self.route


def _walk(patterns, prefix: str = "", converters=None, regex=False) -> Iterator[Route]:
    for entry in patterns:
        pattern = entry.pattern
        own = dict(converters or {})
        if isinstance(pattern, RoutePattern):
            for name, converter in pattern.converters.items():
                own[name] = _converter_name(converter)
        else:
            own.update(dict.fromkeys(pattern.regex.groupindex, "regex"))
        text = prefix + str(pattern)
        is_regex = regex or isinstance(pattern, RegexPattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, text, own, is_regex)
        elif isinstance(entry, URLPattern):
            yield Route(text, own, is_regex)


def _converter_name(converter) -> str:
    from django.urls.converters import get_converters

    for name, registered in get_converters().items():
        if type(registered) is type(converter):
            return name
    return type(converter).__name__


_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def _fill(route: Route, values: dict[str, str]) -> str:
    """The route's text with its parameters replaced (values are already URL-encoded)."""
    text = route.route
    if route.is_regex:
        text = _GROUP.sub(lambda m: values[m.group("name")], text)
        text = re.sub(r"\\(.)", r"\1", text.replace("^", "").replace("$", ""))
    return "/" + _PARAM.sub(lambda m: values[m.group("name")], text)


def _admin_object_ids(route: Route) -> list[str]:
    """A real primary key of the model an admin route is about (`admin/<app>/<model>/`)."""
    from django.apps import apps

    match = re.match(r"admin/(\w+)/(\w+)/", route.route)
    if not match:
        return ["1"]
    try:
        model = apps.get_model(match.group(1), match.group(2))
    except LookupError:
        return ["1"]
    pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    return [quote(str(pk if pk is not None else 1), safe="")]


def _real_values(route: Route, values: dict[str, list[str]]) -> list[dict[str, str]]:
    """Path parameters of real rows: one set, plus one per further provider."""
    known = dict(values)
    known["object_id"] = _admin_object_ids(route)
    if route.route.startswith("admin/"):  # `<id>` of an admin's own views: its model's
        known["id"] = known["object_id"]
    if route.route.startswith("c/"):  # a category page takes a category's slug
        known["slug"] = values["category_slug"]
    missing = [name for name in route.converters if name not in known]
    if missing:
        pytest.fail(f"no values for the path parameters {missing} of {route.route}: add them")
    first = {name: known[name][0] for name in route.converters}
    options = [first]
    if "provider" in route.converters:
        options += [{**first, "provider": other} for other in known["provider"][1:]]
    return options


def _hostile_values(route: Route, real: dict[str, str]) -> list[dict[str, str]]:
    variants = []
    for name, converter in route.converters.items():
        if converter in ("int", "id"):
            candidates = HOSTILE_IDS
        elif converter == "slug":
            candidates = HOSTILE_SLUGS
        elif route.route.startswith("admin/"):
            candidates = ADMIN_HOSTILE_TEXT
        else:
            candidates = HOSTILE_TEXT
        variants += [{**real, name: value} for value in candidates]
    return variants


# --- Requests and what is checked --------------------------------------------------------


class _Forms(HTMLParser):
    """Field names of the page's forms, by method, and parameter names of its `?` links."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, set[str]] = {"get": set(), "post": set()}
        self.link_params: set[str] = set()
        self._method: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._method = (attributes.get("method") or "get").lower()
        elif tag in ("input", "select", "textarea", "button") and attributes.get("name"):
            self.fields.setdefault(self._method or "get", set()).add(attributes["name"])
        elif tag == "a" and (attributes.get("href") or "").startswith("?"):
            for part in attributes["href"][1:].split("&"):
                if part:
                    self.link_params.add(part.split("=", 1)[0])

    def handle_endtag(self, tag):
        if tag == "form":
            self._method = None


def _query_strings(names: list[str], count: int, start: int) -> list[str]:
    """`count` query strings, each giving every name a hostile value in some shape."""
    values = islice(cycle(HOSTILE_VALUES), start, None)
    shapes = islice(cycle(SHAPES), start, None)
    strings = []
    for _ in range(count):
        parts = [next(shapes).format(k=quote(name, safe=""), v=next(values)) for name in names]
        strings.append("&".join(parts))
    return strings


def _uniform(names: list[str], values: list[str]) -> list[str]:
    """One query string per value, giving that value to every name."""
    return ["&".join(f"{quote(name, safe='')}={value}" for name in names) for value in values]


def _envelope_problem(response) -> str:
    """What keeps an error answer from being API.md's envelope; "" when it is one."""
    if not response.get("Content-Type", "").startswith("application/json"):
        return f"not the JSON envelope: {response.get('Content-Type')}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return "not JSON"
    if not (
        isinstance(body, dict)
        and isinstance(body.get("code"), str)
        and isinstance(body.get("message"), str)
    ):
        return f"not the envelope: {str(body)[:200]}"
    fields = body.get("fields")
    if fields is None:
        return ""
    if not isinstance(fields, dict) or not all(
        isinstance(messages, list) and all(isinstance(m, str) for m in messages)
        for messages in fields.values()
    ):
        return f"`fields` is not {{field: [message]}}: {str(fields)[:200]}"
    leaks = [m for ms in fields.values() for m in ms if any(x in m for x in REPR_LEAKS)]
    if leaks:
        return f"a Python repr in `fields`: {leaks[0][:200]}"
    return ""


@dataclass
class Fuzzer:
    clients: dict[str, Client]
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    exceptions: list[str] = field(default_factory=list)

    def request(self, role: str, method: str, url: str, **kwargs):
        """One request in a savepoint that is rolled back; the client's cookies are put
        back after it, so a logout or a language switch does not carry over."""
        client = self.clients[role]
        saved = {key: morsel.value for key, morsel in client.cookies.items()}
        with transaction.atomic():
            response = getattr(client, method.lower())(url, **kwargs)
            transaction.set_rollback(True)
        client.cookies = SimpleCookie()
        for key, value in saved.items():
            client.cookies[key] = value
        self.check(response, method, url, role)
        return response

    def check(self, response, method: str, url: str, role: str) -> None:
        self.requests += 1
        where = f"{role:9} {method} {url[:160]}"
        if response.status_code >= 500:
            cause = self.exceptions[-1].strip() if self.exceptions else ""
            self.failures.append(f"{response.status_code} {where}\n    {cause[:300]}")
        elif response.status_code >= 400 and urlsplit(url).path.startswith(JSON_PREFIXES):
            problem = _envelope_problem(response)
            if problem:
                self.failures.append(f"{response.status_code} {where}\n    {problem}")
        self.exceptions.clear()

    def record_exception(self, sender, request=None, **kwargs) -> None:
        self.exceptions.append("".join(traceback.format_exception_only(*sys.exc_info()[:2])))

    @contextlib.contextmanager
    def running(self):
        got_request_exception.connect(self.record_exception, weak=False)
        # Thousands of refused requests would each log a warning (tracebacks for the
        # security ones): kept quiet, the failures list says what matters.
        quiet = [logging.getLogger(name) for name in ("django.request", "django.security")]
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.CRITICAL)
        try:
            yield self
        finally:
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)
            got_request_exception.disconnect(self.record_exception)

    def report(self) -> str:
        return f"{len(self.failures)} failures in {self.requests} requests:\n" + "\n".join(
            self.failures
        )


@pytest.fixture
def site(db, settings, tmp_path):
    """Real rows for every kind of path parameter, and a client per role."""
    settings.MEDIA_ROOT = tmp_path  # uploads are served from a folder that exists
    from django.contrib.auth.tokens import default_token_generator
    from django.contrib.contenttypes.models import ContentType
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from accounts.tests.factories import AddressFactory, UserFactory
    from cart.services import cart_add_item
    from catalog.models import Product
    from catalog.tests.factories import CategoryFactory, MerchantFactory, ProductFactory
    from orders.tests.factories import place_order
    from payments.tests.factories import start_sandbox_payment
    from reviews.tests.factories import ReviewFactory, buy
    from shipping.tests.factories import ShippingMethodFactory

    shopper = UserFactory(email="shopper@example.com")
    staff = UserFactory(email="merchant@example.com", is_staff=True)
    admin = UserFactory(email="admin@example.com", is_staff=True, is_superuser=True)
    merchant = MerchantFactory(staff=[staff])
    category = CategoryFactory(parent=CategoryFactory())
    products = [ProductFactory(category=category, merchant=merchant, variants=2) for _ in range(3)]
    address = AddressFactory(user=shopper)
    method = ShippingMethodFactory(countries=[])
    variant = products[0].variants.first()
    order = place_order(user=shopper, items=[(variant, 1)], shipping_method=method)
    payment = start_sandbox_payment(order)
    buy(user=shopper, product=products[1])
    ReviewFactory(product=products[0])
    line = cart_add_item(user=shopper, variant_id=products[2].variants.first().pk, quantity=1)

    values = {
        "slug": [products[0].slug],
        "category_slug": [category.slug],
        "number": [order.number],
        "line_id": [str(line.pk)],
        "variant_id": [str(variant.pk)],
        "payment_id": [str(payment.pk)],
        "address_id": [str(address.pk)],
        "pk": [str(products[0].pk)],
        "id": [str(products[0].pk)],
        "provider": ["sandbox", "stripe"],
        "carrier": ["dhl", "sandbox"],
        "order_id": [str(order.pk)],
        "return_id": ["1"],
        "reference": [payment.provider_reference],
        "uidb64": [urlsafe_base64_encode(force_bytes(shopper.pk))],
        "token": [default_token_generator.make_token(shopper)],
        "content_type_id": [str(ContentType.objects.get_for_model(Product).pk)],
        "path": ["products/none.jpg"],
        "app_label": ["catalog"],
        "url": ["nowhere/"],
    }
    clients = {"anonymous": Client(raise_request_exception=False)}
    for role, user in (("shopper", shopper), ("merchant", staff), ("superuser", admin)):
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(user)
    return values, clients, products[0]


# --- The tests ---------------------------------------------------------------------------


def test_no_page_form_or_endpoint_answers_5xx_to_hostile_input(site):
    values, clients, _product = site
    routes = list(_walk(get_resolver().url_patterns))
    assert len(routes) > 50, "the walk found the site"
    for route in routes:
        _real_values(route, values)  # fails at once on a parameter nobody fills

    fuzzer = Fuzzer(clients)
    started = time.process_time()
    with fuzzer.running():
        for offset, route in enumerate(routes):
            for role in ADMIN_ROLES if route.route.startswith("admin/") else ROLES:
                for real in _real_values(route, values):
                    _fuzz_route(fuzzer, route, role, real, offset)
    print(
        f"\npage/form fuzzer: {fuzzer.requests} requests, {len(fuzzer.failures)} failures, "
        f"{time.process_time() - started:.0f} s of CPU"
    )
    assert not fuzzer.failures, fuzzer.report()


def _fuzz_route(fuzzer: Fuzzer, route: Route, role: str, real: dict[str, str], offset: int):
    url = _fill(route, real)
    expensive = route.route.startswith(EXPENSIVE)
    page = fuzzer.request(role, "GET", url)
    forms = _Forms()
    if page.get("Content-Type", "").startswith("text/html"):
        forms.feed(page.content.decode(errors="replace"))
    fuzzer.request(role, "GET", url, **HEADER_PROBES[offset % len(HEADER_PROBES)])
    if role == "anonymous" and route.route.startswith("admin/"):
        return  # the admin's login page, which has a pattern of its own

    names = sorted(forms.fields["get"] | forms.link_params)
    names += [name for name in KNOWN_QUERY if name not in names]
    count = EXPENSIVE_QUERIES_PER_PAGE if expensive else QUERIES_PER_PAGE
    for query in [*_uniform(names, UNIFORM_QUERIES), *_query_strings(names, count, offset)]:
        fuzzer.request(role, "GET", f"{url}?{query}")

    form_names = sorted(forms.fields["post"] - {"csrfmiddlewaretoken"})
    form_names += [name for name in KNOWN_FORM if name not in form_names]
    count = EXPENSIVE_BODIES_PER_PAGE if expensive else BODIES_PER_PAGE
    form = "application/x-www-form-urlencoded"
    for body in [*_uniform(form_names, UNIFORM_BODIES), *_query_strings(form_names, count, offset)]:
        fuzzer.request(role, "POST", url, data=body, content_type=form)

    if not expensive:  # Django reads every body the same way; the admin's login has it
        content_type, oversized = OVERSIZED_BODIES[offset % len(OVERSIZED_BODIES)]
        with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=SMALL_UPLOAD_LIMIT):
            fuzzer.request(role, "POST", url, data=oversized, content_type=content_type)

    if route.path.startswith(JSON_PREFIXES):
        for method, body in zip(JSON_METHODS, JSON_BODIES, strict=True):
            fuzzer.request(role, method, url, data=body, content_type="application/json")

    for hostile in _hostile_values(route, real):
        bad_url = _fill(route, hostile)
        fuzzer.request(role, "GET", bad_url)
        fuzzer.request(role, "POST", bad_url, data="a=%00&b=1e999", content_type=form)


# Pages and endpoints that read the most query parameters, for Hypothesis to vary.
QUERY_PAGES = ["/products/", "/search/", "/c/{category}/", "/p/{product}/", "/api/v1/products/"]
# Any text (NUL, lone surrogates sent as their UTF-8 bytes, emoji, digits of every script).
_text = st.text(st.characters(exclude_categories=()), max_size=40)
_values = st.one_of(_text, st.integers().map(str), st.floats().map(str))


@hypothesis_settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    page=st.sampled_from(QUERY_PAGES),
    params=st.lists(st.tuples(st.one_of(st.sampled_from(KNOWN_QUERY), _text), _values), max_size=6),
)
def test_generated_query_strings_never_answer_5xx(site, page, params):
    values, clients, product = site
    url = page.format(category=values["category_slug"][0], product=product.slug)
    query = urlencode(
        [
            (key.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass"))
            for key, v in params
        ]
    )
    fuzzer = Fuzzer(clients)
    with fuzzer.running():
        fuzzer.request("anonymous", "GET", f"{url}?{query}")
    assert not fuzzer.failures, fuzzer.report()


# Parameters Django's own views check themselves (the password reset link's).
UNCONVERTED_ALLOWED = {"uidb64", "token"}


def test_the_shops_url_patterns_check_their_parameters_by_shape():
    """`int` takes a 30-digit id and `str` takes NUL; shop.core.converters take neither.
    Django's admin (`<path:object_id>`) checks its own."""
    loose = [
        f"{route.route} ({name}: {converter})"
        for route in _walk(get_resolver().url_patterns)
        if not route.route.startswith(("admin/", "^media/"))
        for name, converter in route.converters.items()
        if converter in ("int", "str", "path") and name not in UNCONVERTED_ALLOWED
    ]
    assert not loose, f"use a converter of shop/core/converters.py: {loose}"
