"""JSON that PostgreSQL's jsonb can hold.

Python's json module reads things jsonb refuses: `\\u0000` in a string (jsonb has no NUL),
lone surrogates such as `\\ud800` (not UTF-8, so the driver cannot send them), `NaN` and
`Infinity` (not JSON at all), and it gives up on numbers too long for int() and on deep
nesting with errors nobody catches. `json_load` reads any document without those
surprises; `jsonb_storable` makes a value storable and says whether it had to change it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# NUL and the UTF-16 surrogate range, which UTF-8 (and so PostgreSQL) cannot carry alone.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Python refuses to read integers longer than sys.int_info.default_max_str_digits (4300).
_MAX_INT_DIGITS = 4000
# Far deeper than any provider's event; deeper documents would exhaust the stack of the
# parser, of this module or of the JSON encoder when the row is saved.
MAX_DEPTH = 64


class JSONNotStorable(ValueError):
    """The document is no JSON, or it nests too deeply (to read, or deeper than MAX_DEPTH
    to store)."""


def _parse_int(text: str) -> int | str:
    return int(text) if len(text.lstrip("-")) <= _MAX_INT_DIGITS else text


def _parse_float(text: str) -> float | str:
    number = float(text)
    return number if math.isfinite(number) else text  # 1e400 would read as infinity


def json_load(document: str | bytes) -> Any:
    """`document` parsed; JSONNotStorable if it is no JSON or nests too deeply to read.

    What JSON has no value for is kept as the text that was sent: `NaN`, `Infinity`,
    `1e400`, integers of thousands of digits."""
    try:
        value = json.loads(
            document, parse_int=_parse_int, parse_float=_parse_float, parse_constant=str
        )
    except RecursionError as exc:
        raise JSONNotStorable("nested too deeply to read") from exc
    except ValueError as exc:  # also UnicodeDecodeError
        raise JSONNotStorable(str(exc)) from exc
    return value


def _check_depth(value: Any) -> None:
    level = [value]
    for _depth in range(MAX_DEPTH + 1):
        level = [
            item
            for container in level
            if isinstance(container, dict | list)
            for item in (container.values() if isinstance(container, dict) else container)
        ]
        if not level:
            return
    raise JSONNotStorable(f"nested deeper than {MAX_DEPTH} levels")


def _escape(text: str) -> str:
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def jsonb_storable(value: Any) -> tuple[Any, bool]:
    """(storable, changed): `value` with NUL and lone surrogates in its strings (keys too)
    written out as the visible escapes `\\u0000`, and non-finite floats as text.

    `changed` says whether anything was rewritten: the stored text is then ambiguous (a
    `\\u0000` may have been sent as such), so callers keep the original beside it.
    JSONNotStorable if `value` nests deeper than MAX_DEPTH."""
    _check_depth(value)
    changed = False

    def convert(item: Any) -> Any:
        nonlocal changed
        if isinstance(item, str):
            escaped = _escape(item)
            changed = changed or escaped != item
            return escaped
        if isinstance(item, float) and not math.isfinite(item):
            changed = True
            return str(item)
        if isinstance(item, list | tuple):
            return [convert(element) for element in item]
        if isinstance(item, dict):
            return {convert(str(key)): convert(element) for key, element in item.items()}
        return item

    return convert(value), changed
