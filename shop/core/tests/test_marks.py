"""Coalescing marks in PostgreSQL (shop/core/marks.py)."""

import pytest

from shop.core.marks import mark_add, mark_delete, mark_exists
from shop.core.testing import run_together


@pytest.mark.django_db
def test_a_mark_is_set_once_until_deleted():
    assert mark_add(key="work:1", seconds=60) is True
    assert mark_add(key="work:1", seconds=60) is False
    assert mark_add(key="work:2", seconds=60) is True  # another key, another mark
    assert mark_exists(key="work:1")
    mark_delete(key="work:1")
    assert not mark_exists(key="work:1")
    assert mark_add(key="work:1", seconds=60) is True


@pytest.mark.django_db
def test_an_expired_mark_is_taken_over():
    assert mark_add(key="work:1", seconds=0) is True  # its work was lost
    assert not mark_exists(key="work:1")
    assert mark_add(key="work:1", seconds=60) is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_set_a_mark_exactly_once():
    results = run_together([lambda: mark_add(key="work:hot", seconds=60)] * 6)
    assert sorted(results) == [False] * 5 + [True]
