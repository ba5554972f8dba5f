from decimal import Decimal

import pytest

from shop.core.money import Money


def test_adds_same_currency():
    assert Money(Decimal("1.10"), "USD") + Money(Decimal("2.25"), "USD") == Money(
        Decimal("3.35"), "USD"
    )


def test_refuses_to_mix_currencies():
    with pytest.raises(ValueError):
        Money(Decimal("1"), "USD") + Money(Decimal("1"), "EUR")


def test_refuses_floats():
    with pytest.raises(TypeError):
        Money(1.1, "USD")
    with pytest.raises(TypeError):
        Money(Decimal("1"), "USD") * 1.5


def test_quantize_rounds_half_up():
    assert Money(Decimal("0.125"), "USD").quantize().amount == Decimal("0.13")
    assert Money(Decimal("0.124"), "USD").quantize().amount == Decimal("0.12")


def test_minor_units_round_trip_without_float_error():
    money = Money(Decimal("19.99"), "USD")
    assert money.to_minor_units() == 1999
    assert Money.from_minor_units(1999, "usd") == Money(Decimal("19.99"), "USD")
    assert Money.from_minor_units(1, "USD").amount == Decimal("0.01")


def test_multiplying_by_quantity():
    assert (Money(Decimal("3.30"), "USD") * 3).amount == Decimal("9.90")


def test_rejects_bad_currency_code():
    with pytest.raises(ValueError):
        Money(Decimal("1"), "usd")
