"""The `soak` suite's traffic (bench/soak_suite.py starts it: `locust -f` this file, headless).

Who visits, each at a fixed rate (`constant_throughput`, so the load does not rise or fall
with the shop's speed as long as it keeps up):

- Browsers (anonymous): the home page, the product list and its pages, sorted and filtered
  lists, categories, searches, product pages (most of them among the popular products), the
  catalog API; now and then one adds a product to the session cart (the HTML form, with
  its CSRF token) and looks at `/cart/`, then leaves (a new visitor takes its place).
- Shoppers (JWT, logged in once through `auth/token/`): a journey each time: a product of
  the API list, the product, one or two lines into the cart (API), the cart, checkout
  (`POST orders/` with an Idempotency-Key, sometimes retried with the same key as a client
  whose answer got lost would), a sandbox payment, its signed `payment_intent.succeeded`
  callback POSTed as the provider sends it, and the order polled until it is paid; then a
  review of something bought on an earlier journey.
- Merchant staff (one per merchant, JWT): the paid and partly shipped orders holding their
  lines, each shipped through the staff shipments API.
- A carrier: signed tracking callbacks for the parcels shipped (in transit, then delivered).

The suite passes its data in a JSON file named by SOAK_CONFIG; at the end this file writes
every answer's time, the errors by kind with examples, the page cache's hits and what the
journeys did to SOAK_OUTPUT.
"""

from __future__ import annotations

import html
import json
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import stripe_signature
from locust import HttpUser, constant_throughput, events, task
from soak_scenario import (
    carrier_event,
    error_kind,
    errors_record,
    payment_succeeded_event,
)

CONFIG: dict[str, Any] = json.loads(Path(os.environ["SOAK_CONFIG"]).read_text())
API = "/api/v1"
PAID_STATUSES = {"paid", "partially_shipped", "shipped", "delivered"}
PAID_WAIT = 60.0  # seconds a shopper polls for the callback to be applied

STATE: dict[str, Any] = {
    "timings": defaultdict(list),
    "failures": Counter(),
    "errors": {},
    "cache": defaultdict(Counter),
    "flow": Counter(),
    "paid_after_ms": [],
    "started": None,
    "stopped": None,
}
SHOPPERS: list[dict] = list(CONFIG["shoppers"])
STAFF: list[dict] = list(CONFIG["staff"])
# (tracking number, next status, not before): parcels the carrier reports on.
PARCELS: deque = deque()
CARRIER_DELAY = 3.0


@events.test_start.add_listener
def _started(**kwargs: Any) -> None:
    STATE["started"] = time.time()


@events.test_stop.add_listener
def _stopped(**kwargs: Any) -> None:
    STATE["stopped"] = time.time()


@events.request.add_listener
def _answered(request_type: str, name: str, response_time: float, exception: Any, **kw: Any):
    key = f"{request_type} {name}"
    STATE["timings"][key].append(response_time)
    if exception:
        STATE["failures"][key] += 1


@events.user_error.add_listener
def _scenario_error(user_instance: Any, exception: Exception, tb: Any, **kwargs: Any) -> None:
    errors_record(
        STATE["errors"],
        f"scenario error {type(exception).__name__}",
        # A task set's error is its user's.
        request=type(getattr(user_instance, "user", user_instance)).__name__,
        example=repr(exception),
    )


@events.quitting.add_listener
def _write(environment: Any, **kwargs: Any) -> None:
    output = {
        "started": STATE["started"],
        "stopped": STATE["stopped"] or time.time(),
        "timings": STATE["timings"],
        "failures": STATE["failures"],
        "errors": STATE["errors"],
        "cache": {name: dict(counts) for name, counts in STATE["cache"].items()},
        "flow": STATE["flow"],
        "paid_after_ms": STATE["paid_after_ms"],
        "parcels_left": len(PARCELS),
    }
    Path(os.environ["SOAK_OUTPUT"]).write_text(json.dumps(output))


def call(
    client: Any,
    method: str,
    path: str,
    *,
    name: str,
    expect: tuple[int, ...] = (200,),
    cache: bool = False,
    **kwargs: Any,
) -> Any:
    """One request, named `name` in the figures; an answer other than `expect` is counted
    as an error of its kind (with the path and the body's start as an example) and None
    returned."""
    kwargs.setdefault("allow_redirects", False)
    with client.request(method, path, name=name, catch_response=True, **kwargs) as response:
        if cache:
            state = response.headers.get("X-Page-Cache")
            STATE["cache"][name][state if state in ("hit", "miss") else "other"] += 1
        if response.status_code in expect:
            response.success()
            return response
        kind = error_kind(response.status_code or None, response.content, expected=expect)
        body = (response.text or "")[:200] if response.content else str(response.error)
        errors_record(STATE["errors"], kind, request=f"{method} {name}", example=f"{path} → {body}")
        response.failure(kind)
        return None


def signed_post(client: Any, path: str, event: dict, *, secret: str, name: str) -> Any:
    """POST a callback signed as API.md says (HMAC-SHA256 of "<t>.<raw body>")."""
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": stripe_signature(secret, body),
    }
    return call(client, "POST", path, name=name, data=body, headers=headers)


class Browser(HttpUser):
    """An anonymous visitor: one page per tick."""

    fixed_count = CONFIG["browsers"]
    wait_time = constant_throughput(CONFIG["browser_rate"])

    def _get(self, path: str, name: str) -> Any:
        return call(self.client, "GET", path, name=name, cache=True)

    @task(1)
    def home(self) -> None:
        self._get("/", "/")

    @task(3)
    def product_list(self) -> None:
        self._get(random.choice(CONFIG["list_paths"]), "/products/?…")

    @task(2)
    def category(self) -> None:
        self._get(f"/c/{random.choice(CONFIG['categories'])}/", "/c/[slug]/")

    @task(2)
    def search(self) -> None:
        term = random.choice(CONFIG["search_terms"])
        self._get(f"/search/?q={term}", "/search/?q=")

    @task(6)
    def product(self) -> None:
        self._get(f"/p/{self._slug()}/", "/p/[slug]/")

    @task(2)
    def api_products(self) -> None:
        page = random.randint(1, 5)
        self._get(f"{API}/products/?page={page}", f"{API}/products/")

    @task(2)
    def api_product(self) -> None:
        product = random.choice(CONFIG["pool"])
        self._get(f"{API}/products/{product['product']}/", f"{API}/products/[id]/")

    @task(1)
    def html_cart(self) -> None:
        item = random.choice(CONFIG["pool"])
        page = self._get(f"/p/{item['slug']}/", "/p/[slug]/")
        if page is None:
            return
        token = self.client.cookies.get("csrftoken")
        marker = 'name="csrfmiddlewaretoken" value="'
        start = page.text.find(marker)
        if not token or start < 0:
            raise RuntimeError("the product page has no CSRF token to post the cart form with")
        form_token = page.text[start + len(marker) :].split('"', 1)[0]
        added = call(
            self.client,
            "POST",
            "/cart/add/",
            name="/cart/add/",
            expect=(302,),
            data={"variant": item["variant"], "quantity": 1, "csrfmiddlewaretoken": form_token},
            headers={"Referer": self.host + f"/p/{item['slug']}/"},
        )
        if added is not None:
            cart = call(self.client, "GET", "/cart/", name="/cart/")
            if cart is not None and html.escape(item["product_name"]) not in cart.text:
                raise RuntimeError(f"/cart/ does not show {item['product_name']!r} just added")
            STATE["flow"]["html carts"] += 1
        # The visitor leaves; the next one starts without a session.
        self.client.cookies.clear()

    @staticmethod
    def _slug() -> str:
        # Most visits go to the popular products, the rest anywhere in the catalog.
        if random.random() < 0.8:
            return random.choice(CONFIG["popular_slugs"])
        return random.choice(CONFIG["all_slugs"])


class _LoggedIn(HttpUser):
    abstract = True
    account: dict

    def login(self) -> None:
        answer = call(
            self.client,
            "POST",
            f"{API}/auth/token/",
            name=f"{API}/auth/token/",
            json={"email": self.account["email"], "password": CONFIG["password"]},
        )
        if answer is None:
            raise RuntimeError(f"{self.account['email']} could not log in")
        self.auth = {"Authorization": f"Bearer {answer.json()['access']}"}
        self.logged_in_at = time.monotonic()

    def fresh_login(self) -> None:
        # Access tokens live 15 minutes: log in again well before.
        if time.monotonic() - self.logged_in_at > 600:
            self.login()

    def api(self, method: str, path: str, name: str, **kwargs: Any) -> Any:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return call(self.client, method, API + path, name=API + name, headers=headers, **kwargs)


class Shopper(_LoggedIn):
    """A logged-in shopper: one purchase journey per tick."""

    fixed_count = CONFIG["shoppers_count"]
    wait_time = constant_throughput(CONFIG["journey_rate"])

    def on_start(self) -> None:
        self.account = SHOPPERS.pop()
        self.login()
        self.to_review: list[int] = []
        self.reviewed: set[int] = set()

    @task
    def journey(self) -> None:
        self.fresh_login()
        self.api("GET", f"/products/?page={random.randint(1, 20)}", "/products/ (logged in)")
        items = random.sample(CONFIG["pool"], k=random.choice((1, 1, 2)))
        for item in items:
            self.api("GET", f"/products/{item['product']}/", "/products/[id]/ (logged in)")
            added = self.api(
                "POST",
                "/cart/lines/",
                "/cart/lines/",
                expect=(201,),
                json={"variant": item["variant"], "quantity": 1},
            )
            if added is None:
                return
        if self.api("GET", "/cart/", "/cart/") is None:
            return
        number = self._checkout()
        if number is None:
            return
        if self._pay(number):
            self.to_review.extend(item["product"] for item in items)
        self._review()

    def _checkout(self) -> str | None:
        body = {"shipping_method": CONFIG["shipping_method"], "shipping_address": CONFIG["address"]}
        key = str(uuid.uuid4())
        placed = self.api(
            "POST", "/orders/", "/orders/", expect=(201,), json=body,
            headers={"Idempotency-Key": key},
        )  # fmt: skip
        if placed is None:
            return None
        number = placed.json()["number"]
        STATE["flow"]["orders placed"] += 1
        if random.random() < 0.1:
            # A client whose answer got lost sends the same request again.
            again = self.api(
                "POST", "/orders/", "/orders/ (same Idempotency-Key)", expect=(201,),
                json=body, headers={"Idempotency-Key": key},
            )  # fmt: skip
            STATE["flow"]["checkouts retried"] += 1
            if again is not None and again.json()["number"] != number:
                raise RuntimeError(f"a retried checkout placed {again.json()['number']} too")
        return number

    def _pay(self, number: str) -> bool:
        started = self.api(
            "POST", f"/orders/{number}/payments/", "/orders/[number]/payments/",
            expect=(201,), json={"provider": "sandbox"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )  # fmt: skip
        if started is None:
            return False
        event = payment_succeeded_event(started.json(), order_number=number)
        sent = time.monotonic()
        if not signed_post(
            self.client,
            "/payments/webhooks/sandbox/",
            event,
            secret=CONFIG["sandbox_secret"],
            name="/payments/webhooks/sandbox/",
        ):
            return False
        deadline = sent + PAID_WAIT
        while time.monotonic() < deadline:
            time.sleep(0.5)
            order = self.api("GET", f"/orders/{number}/", "/orders/[number]/")
            if order is not None and order.json()["status"] in PAID_STATUSES:
                STATE["paid_after_ms"].append((time.monotonic() - sent) * 1000)
                STATE["flow"]["orders paid"] += 1
                return True
        errors_record(
            STATE["errors"],
            f"order not paid within {PAID_WAIT:.0f} s of its callback",
            request="journey",
            example=number,
        )
        return False

    def _review(self) -> None:
        # A review of something bought on an earlier journey, as shoppers write them later.
        while len(self.to_review) > 2:
            product = self.to_review.pop(0)
            if product in self.reviewed:
                continue
            self.reviewed.add(product)
            rating = random.choice((3, 4, 4, 5, 5))
            if self.api(
                "POST",
                f"/products/{product}/reviews/",
                "/products/[id]/reviews/",
                expect=(201,),
                json={"rating": rating, "title": "Soak review", "body": "Bought it, used it."},
            ):
                STATE["flow"]["reviews"] += 1
            return


class MerchantStaff(_LoggedIn):
    """One merchant's staff: ships what is paid, every few seconds."""

    fixed_count = len(CONFIG["staff"])
    wait_time = constant_throughput(CONFIG["staff_rate"])

    def on_start(self) -> None:
        self.account = STAFF.pop()
        self.login()

    @task
    def ship(self) -> None:
        self.fresh_login()
        for status in ("paid", "partially_shipped"):
            listed = self.api(
                "GET",
                f"/staff/orders/?status={status}&page_size=50",
                f"/staff/orders/?status={status}",
            )
            if listed is None:
                continue
            for order in listed.json()["results"]:
                if any(line["unshipped_quantity"] > 0 for line in order["lines"]):
                    self._ship(order["number"])

    def _ship(self, number: str) -> None:
        tracking = f"SOAK-{uuid.uuid4().hex[:16].upper()}"
        shipped = self.api(
            "POST", f"/staff/orders/{number}/shipments/", "/staff/orders/[number]/shipments/",
            expect=(201,), json={"carrier": CONFIG["carrier"], "tracking_number": tracking},
        )  # fmt: skip
        if shipped is not None:
            STATE["flow"]["shipments"] += 1
            PARCELS.append((tracking, "in_transit", time.monotonic() + CARRIER_DELAY))


class Carrier(HttpUser):
    """The carrier's tracking callbacks: in transit, then delivered, a few seconds apart."""

    fixed_count = 1
    wait_time = constant_throughput(CONFIG["carrier_rate"])

    @task
    def report(self) -> None:
        if not PARCELS or PARCELS[0][2] > time.monotonic():
            return
        tracking, status, _ = PARCELS.popleft()
        if signed_post(
            self.client,
            f"/shipping/webhooks/{CONFIG['carrier']}/",
            carrier_event(tracking, status),
            secret=CONFIG["carrier_secret"],
            name=f"/shipping/webhooks/{CONFIG['carrier']}/",
        ):
            STATE["flow"][f"carrier {status}"] += 1
            if status == "in_transit":
                PARCELS.append((tracking, "delivered", time.monotonic() + CARRIER_DELAY))
