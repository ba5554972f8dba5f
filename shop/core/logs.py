"""Structured logs and the request id.

Every request gets an id: a sane incoming `X-Request-ID` (a proxy's or a client's) is kept,
anything else is replaced by a new one; the response echoes it. It lives in a context
variable for the request's lifetime, so every log line of the request carries it
(`RequestIdFilter` puts it on each record), and it travels to the Celery tasks the request
queues as a message header (`task_publish_add_request_id`), where the worker's lines for that
task carry it again (`task_request_id_bind` / `task_request_id_unbind`).

`JsonFormatter` writes one JSON object per line. The stdlib is enough for it: a dozen lines
give exactly the fields we want (and the request id), with no dependency to keep up with;
python-json-logger or structlog would add a package for what `json.dumps` does here.
`LOG_FORMAT=plain` (the default with DEBUG) keeps the human-readable lines for `make run`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
# The Celery message header that carries it (a task's kwargs stay the task's own).
TASK_HEADER = "bazaar_request_id"
# What an incoming id may look like: UUIDs, hex digests and the ids proxies make (AWS's
# `Root=1-...`, Heroku's, nginx's $request_id) fit; anything longer or with other characters
# (spaces, quotes, newlines that would forge log lines) is replaced.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/@-]{0,127}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "bazaar_request_id", default=None
)


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_accept(incoming: str | None) -> str:
    """The incoming id when it is sane, else a new one."""
    if incoming and _SANE.fullmatch(incoming):
        return incoming
    return request_id_new()


def request_id_get() -> str | None:
    return _request_id.get()


def request_id_set(value: str | None) -> contextvars.Token[str | None]:
    return _request_id.set(value)


def request_id_reset(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)


# Where request_started leaves the id for the middleware, in the WSGI environ (META).
ENVIRON_KEY = "bazaar.request_id"


def request_started_bind(
    sender: Any = None, environ: dict[str, Any] | None = None, **_: Any
) -> None:
    """request_started: the request's id is current from the handler's first line to its
    last (Django logs "Not Found" and 5xx after the middleware has returned)."""
    if environ is None:
        return
    value = request_id_accept(environ.get("HTTP_X_REQUEST_ID"))
    environ[ENVIRON_KEY] = value
    _request_id.set(value)


def request_finished_unbind(**_: Any) -> None:
    """request_finished (the response closed): nothing after it belongs to the request."""
    _request_id.set(None)


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or "-") on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        return True


# LogRecord's own attributes: everything else on a record came from `extra=` and is logged.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id,
    the exception's traceback when there is one, and whatever `extra=` gave."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get() or "-",
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# --- Celery: the id of the request that queued a task, in the worker ------------------


def task_publish_add_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """before_task_publish: the current request's id goes with the message."""
    current = _request_id.get()
    if current is not None and headers is not None:
        headers.setdefault(TASK_HEADER, current)


_task_tokens: dict[str, contextvars.Token[str | None]] = {}


def _task_header(request: Any) -> str | None:
    value = getattr(request, TASK_HEADER, None)
    if value is None:
        headers = getattr(request, "headers", None)
        if isinstance(headers, Mapping):
            value = headers.get(TASK_HEADER)
    return value if isinstance(value, str) and _SANE.fullmatch(value) else None


def task_request_id_bind(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """task_prerun: the worker's lines for this task carry the queuing request's id (or
    none: a task queued by beat or the shell gets "-"). A task run in-process (no broker:
    nothing was published) keeps the id of the request running it."""
    value = _task_header(getattr(task, "request", None)) or _request_id.get()
    if task_id is not None:
        _task_tokens[task_id] = _request_id.set(value)


def task_request_id_unbind(task_id: str | None = None, **_: Any) -> None:
    """task_postrun: the next task starts without it."""
    token = _task_tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        try:
            _request_id.reset(token)
        except ValueError:  # set in another context (a thread pool): just clear it
            _request_id.set(None)
