"""The JSON log lines and the request id's rules (shop/core/logs.py)."""

import json
import logging

import pytest

from shop.core.logs import (
    JsonFormatter,
    RequestIdFilter,
    request_id_accept,
    request_id_reset,
    request_id_set,
)


def _record(message: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("shop.test", logging.WARNING, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    RequestIdFilter().filter(record)
    return record


def test_a_record_is_one_json_line_with_the_request_id_and_extras():
    token = request_id_set("abc-123")
    try:
        record = _record("paid %s", "ORD-1", order_id=7)
    finally:
        request_id_reset(token)

    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "paid ORD-1"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "shop.test"
    assert entry["request_id"] == "abc-123"
    assert entry["order_id"] == 7
    assert entry["time"].endswith("+00:00")


def test_an_exception_stays_on_its_line():
    try:
        raise ValueError("two\nlines")
    except ValueError:
        import sys

        record = _record("failed", exc_info=sys.exc_info())

    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "-"
    assert "ValueError: two\nlines" in entry["exception"]


def test_a_forged_log_line_in_a_message_stays_inside_its_field():
    line = JsonFormatter().format(_record("user said %s", 'x\n{"level": "ERROR"}'))
    assert len(line.splitlines()) == 1
    assert json.loads(line)["level"] == "WARNING"


@pytest.mark.parametrize(
    "incoming", ["0f8c2e4a9b7d4c1e8f2a3b4c5d6e7f80", "Root=1-67891233-abcdef012345678912345678"]
)
def test_ids_proxies_make_are_kept(incoming):
    assert request_id_accept(incoming) == incoming


@pytest.mark.parametrize("incoming", [None, "", "a b", "a\r\nb", "x" * 200, "<script>"])
def test_anything_else_is_replaced(incoming):
    replaced = request_id_accept(incoming)
    assert replaced != incoming
    assert len(replaced) == 32
