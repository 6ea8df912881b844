"""Exact prices: fixed-point integers.

A price is an ``int`` in units of 1e-6 of the quote currency (micro-dollars). A cent
tick is 10_000 units, so the midpoint of two cent-tick prices is always exact.
Quantities are plain ``int`` shares. Binary floats never enter accounting; they are
fine for statistics (bps, volatility).
"""

from __future__ import annotations

from decimal import Decimal

PRICE_SCALE = 1_000_000
_SCALE_DEC = Decimal(PRICE_SCALE)


def to_price(value: str | int | Decimal) -> int:
    """Parse a decimal price ("100.01", Decimal, int dollars) into fixed-point units.

    Raises ``ValueError`` if the value has more precision than the fixed-point unit.
    """
    if isinstance(value, float):
        raise TypeError("prices are exact: pass a str or Decimal, not a float")
    dec = Decimal(value) * _SCALE_DEC
    units = int(dec)
    if units != dec:
        raise ValueError(f"price {value!r} is finer than 1e-6")
    return units


def to_decimal(units: int) -> Decimal:
    """Fixed-point units back to an exact Decimal."""
    return Decimal(units) / _SCALE_DEC


def fmt(units: int | None, places: int = 4) -> str:
    """Human-readable price, e.g. ``100.0150``."""
    if units is None:
        return "-"
    return f"{to_decimal(units):.{places}f}"


def average_price(notional: int, quantity: int) -> Decimal:
    """Exact average price (as Decimal, in currency) of ``quantity`` shares costing ``notional``
    fixed-point units in total (Σ qty·price)."""
    if quantity == 0:
        return Decimal(0)
    return Decimal(notional) / (Decimal(quantity) * _SCALE_DEC)


def bps(side: int, exec_price: float, bench_price: float) -> float:
    """Slippage (cost) in basis points: side·(P_exec − P_bench)/P_bench·1e4; positive = cost."""
    return side * (exec_price - bench_price) / bench_price * 1e4
