"""Page numbers from query strings: clamped into what a database offset can take."""

import pytest

from shop.core.paging import MAX_PAGE_NUMBER, page_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 1),
        ("", 1),
        ("3", 3),
        (" 3 ", 3),
        (7, 7),
        ("0", 1),
        ("-5", 1),
        (-5, 1),
        ("abc", 1),
        ("1.5", 1),
        ("\x00", 1),
        ("\u0661\u0662", 1),  # Arabic-Indic digits: int() reads them, we do not
        ("\u00b2", 1),  # a superscript two: isdigit() says yes, int() would raise
        (True, 1),
        ("99999999999999999999999", MAX_PAGE_NUMBER),
        ("9" * 5000, MAX_PAGE_NUMBER),  # longer than int() reads
        (10**30, MAX_PAGE_NUMBER),
    ],
)
def test_page_number_is_a_whole_number_in_range(raw, expected):
    assert page_number(raw) == expected
