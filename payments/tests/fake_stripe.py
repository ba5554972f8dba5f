"""A tiny Stripe API on 127.0.0.1 for tests: the real `stripe` library talks HTTP to it.

It answers `POST /v1/payment_intents`, `POST /v1/payment_intents/{id}/cancel` and
`POST /v1/refunds` with Stripe-shaped JSON,
replays the first answer for a repeated `Idempotency-Key` (as Stripe does), records every
request (path, form-decoded params, headers), and can be told to fail the next calls.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]  # form keys as sent, e.g. "metadata[order_number]"
    headers: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class FakeStripe:
    server: ThreadingHTTPServer
    requests: list[RecordedRequest] = field(default_factory=list)
    # Status codes to answer the next requests with, in order (e.g. [500]).
    failures: list[int] = field(default_factory=list)
    # Status of refunds created from now on ("succeeded" or "pending").
    refund_status: str = "succeeded"
    intents: dict[str, dict] = field(default_factory=dict)
    _replays: dict[str, tuple[int, dict]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, *statuses: int) -> None:
        with self._lock:
            self.failures.extend(statuses)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def handle(self, method: str, path: str, params: dict[str, str], headers: dict[str, str]):
        with self._lock:
            self.requests.append(RecordedRequest(method, path, params, headers))
            if self.failures:
                status = self.failures.pop(0)
                return status, _error("api_error", "Fake Stripe was told to fail.")
            key = headers.get("idempotency-key")
            if key and key in self._replays:
                return self._replays[key]
            answer = self._answer(method, path, params)
            if key and answer[0] == 200:
                self._replays[key] = answer
            return answer

    def _answer(self, method: str, path: str, params: dict[str, str]) -> tuple[int, dict]:
        if method != "POST":
            return 404, _error("invalid_request_error", "Unrecognized request URL.")
        if path == "/v1/payment_intents":
            intent_id = f"pi_{secrets.token_hex(12)}"
            intent = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": int(params["amount"]),
                "amount_received": 0,
                "currency": params["currency"],
                "status": "requires_payment_method",
                "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
                "livemode": False,
                "metadata": _nested(params, "metadata"),
            }
            self.intents[intent_id] = intent
            return 200, intent
        if path.startswith("/v1/payment_intents/") and path.endswith("/cancel"):
            intent = self.intents.get(path.split("/")[3])
            if intent is None:
                return 404, _error("invalid_request_error", "No such payment_intent.")
            if intent["status"] in ("succeeded", "processing"):
                # What Stripe answers for an intent that can no longer be cancelled.
                return 400, _error(
                    "invalid_request_error",
                    "This PaymentIntent's status is succeeded; it cannot be canceled.",
                    code="payment_intent_unexpected_state",
                )
            intent["status"] = "canceled"
            intent["cancellation_reason"] = params.get("cancellation_reason")
            return 200, intent
        if path == "/v1/refunds":
            intent = self.intents.get(params.get("payment_intent", ""))
            if intent is None:
                return 404, _error("invalid_request_error", "No such payment_intent.")
            return 200, {
                "id": f"re_{secrets.token_hex(12)}",
                "object": "refund",
                "amount": int(params.get("amount", intent["amount"])),
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "status": self.refund_status,
                "metadata": _nested(params, "metadata"),
            }
        return 404, _error("invalid_request_error", "Unrecognized request URL.")


def _nested(params: dict[str, str], name: str) -> dict[str, str]:
    prefix = f"{name}["
    return {k[len(prefix) : -1]: v for k, v in params.items() if k.startswith(prefix)}


def _error(kind: str, message: str, code: str | None = None) -> dict:
    error = {"type": kind, "message": message}
    if code is not None:
        error["code"] = code
    return {"error": error}


def _handler(fake_getter):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self._serve("POST")

        def do_GET(self):
            self._serve("GET")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            params = dict(parse_qsl(body, keep_blank_values=True))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = fake_getter().handle(method, self.path, params, headers)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(8)}")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep test output quiet
            pass

    return Handler


def fake_stripe_start() -> FakeStripe:
    holder: list[FakeStripe] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(lambda: holder[0]))
    server.daemon_threads = True
    fake = FakeStripe(server=server)
    holder.append(fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake


@pytest.fixture(name="fake_stripe")
def fake_stripe_fixture(settings):
    """A running fake Stripe with the shop's settings pointed at it."""
    fake = fake_stripe_start()
    settings.STRIPE_API_KEY = "sk_test_fake_0123456789"
    settings.STRIPE_API_BASE = fake.base_url
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_fake_secret"
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
