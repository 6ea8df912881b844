"""Exact pro-rata allocation of a fill over open quantities, in whole lots.

Rule (``REFERENCE.md``, "Allocation and netting"): each order gets
``floor(F·q_i / Σq)``; the shares left over go one lot at a time by largest remainder,
ties broken by the larger order, then the earlier order (lower index). Everything is
exact integer arithmetic, so the sum is always ``F`` and no order gets more than ``q_i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from operator import add, floordiv, mod, mul


def allocate(fill: int, open_qtys: Sequence[int], lot: int = 1) -> list[int]:
    """Split ``fill`` shares over orders with open quantities ``open_qtys`` (index order =
    arrival order). Returns one allocation per order, each a multiple of ``lot``.

    ``fill`` and every open quantity must be whole lots and ``fill <= Σ open_qtys``: the
    caller books anything beyond the open quantity to its excess account first.
    """
    if lot <= 0:
        raise ValueError(f"lot must be positive, got {lot}")
    if fill < 0:
        raise ValueError(f"fill must be >= 0, got {fill}")
    if fill % lot:
        raise ValueError(f"fill {fill} is not a multiple of lot {lot}")
    # Validation in bulk (the desk's hot path): with lot > 0, q - lot·(q // lot) = q % lot
    # is >= 0 for each q, so the sums agree only if every q is a whole number of lots.
    n = len(open_qtys)
    lots = list(map(floordiv, open_qtys, repeat(lot, n))) if lot != 1 else list(open_qtys)
    total = sum(lots)
    if (n and min(open_qtys) < 0) or total * lot != sum(open_qtys):
        bad = next(q for q in open_qtys if q < 0 or q % lot)
        raise ValueError(f"open quantity {bad} is negative or not a multiple of lot {lot}")
    if fill > total * lot:
        raise ValueError(f"fill {fill} exceeds open quantity {total * lot}")
    if fill == 0:
        return [0] * n
    if fill == total * lot:
        return list(open_qtys)  # everything fills: each order its whole open quantity
    shares = _allocate_units(fill // lot, lots, total)
    return shares if lot == 1 else list(map(mul, shares, repeat(lot, n)))


def _allocate_units(units: int, weights: list[int], total: int) -> list[int]:
    """Largest-remainder split of ``units`` (< total) proportionally to ``weights``.

    Hot path (a desk's crosses and fills over hundreds of open orders): per-element work
    runs in C through ``map`` rather than Python loops."""
    n = len(weights)
    shares = list(map(floordiv, map(mul, weights, repeat(units, n)), repeat(total, n)))
    left = units - sum(shares)
    if left:
        # A positive remainder means share < units·w/total ≤ w, so +1 never exceeds w;
        # and left < number of positive remainders (Σ remainders = left·total, each one
        # < total), so only those are ever picked. Rank by (largest remainder, larger
        # order, earlier order): key r·(total+1) + w orders by r then w (w ≤ total), and
        # a stable sort, reversed, keeps equal keys in index order.
        # With r = units·w mod total, that key is w·(units·(total+1) + 1) mod
        # total·(total+1) (it is below the modulus: r ≤ total-1, w ≤ total), one
        # product and one remainder per order.
        keys = list(map(mod, map(mul, weights, repeat(units * (total + 1) + 1, n)),
                        repeat(total * (total + 1), n)))
        for i in sorted(range(n), key=keys.__getitem__, reverse=True)[:left]:
            shares[i] += 1
    return shares
