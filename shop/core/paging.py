"""Page numbers read from query strings: always a whole number the database can use."""

from __future__ import annotations

# Far past any real list (a million pages of 100 is 10**8 rows), and small enough that an
# offset computed from it always fits a bigint.
MAX_PAGE_NUMBER = 1_000_000


def page_number(raw: object) -> int:
    """`?page=` as a number in 1..MAX_PAGE_NUMBER: larger ones are clamped to the maximum
    (a list shows its last page for those), anything that is no whole number is page 1."""
    if isinstance(raw, bool):
        return 1
    if isinstance(raw, int):
        return min(max(raw, 1), MAX_PAGE_NUMBER)
    if not isinstance(raw, str):
        return 1
    text = raw.strip()
    # ASCII digits only: int() also reads "١٢" and chokes on "²", which isdigit() lets by.
    if not (text.isascii() and text.isdigit()):
        return 1
    if len(text) > len(str(MAX_PAGE_NUMBER)):  # before int(): 5,000 digits raise
        return MAX_PAGE_NUMBER
    return min(max(int(text), 1), MAX_PAGE_NUMBER)
