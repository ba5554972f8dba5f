"""Path converters that accept only what a parameter can be, so anything else is a 404.

Django's `int` takes any number of digits (a 30-digit id overflows PostgreSQL's bigint
wherever it is used as an offset or a raw value) and `str` takes anything but `/`,
NUL included, which PostgreSQL refuses in text. Every URLconf names its parameters with
these instead; a value of the wrong shape never reaches a view.
"""

from __future__ import annotations

from django.urls import register_converter


class IdConverter:
    """A primary key: 1 to 18 digits, which always fits a bigint (2**63 - 1 has 19)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int | str) -> str:
        return str(value)


class _TextConverter:
    regex = ""

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


class OrderNumberConverter(_TextConverter):
    """An order number (`BZ` and seven base-32 characters today; Order.number holds 20)."""

    regex = "[A-Za-z0-9]{1,20}"


class NameConverter(_TextConverter):
    """A provider's or carrier's name, as Payment.provider stores it (lower case, 20 at most)."""

    regex = "[a-z0-9][a-z0-9_-]{0,19}"


class ReferenceConverter(_TextConverter):
    """A payment provider's id for a payment (`pi_...`, `sbx_pi_...`), 255 at most."""

    regex = "[A-Za-z0-9_-]{1,255}"


class SignedTokenConverter(_TextConverter):
    """A link that is its own credential (django.core.signing: URL-safe base64 and colons),
    such as the sandbox payment page's."""

    regex = "[A-Za-z0-9_:.-]{1,500}"


register_converter(IdConverter, "id")
register_converter(OrderNumberConverter, "order_number")
register_converter(NameConverter, "name")
register_converter(ReferenceConverter, "reference")
register_converter(SignedTokenConverter, "signed_token")
