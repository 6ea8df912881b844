"""Exact pro-rata allocation of a fill over open quantities, in whole lots.

Rule: each order gets ``floor(F·q_i / Σq)``; the shares left over go one lot at a time
by largest remainder, ties broken by the larger order, then the earlier order (lower
index). Everything is exact integer arithmetic, so the sum is always ``F`` and no order
gets more than ``q_i``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import compress, count, islice, repeat
from operator import eq, floordiv, mod, mul

_FEW_ORDERS = 16  # up to this many, counting sizes costs more than it saves


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
    # An order's share depends on its open quantity only, so when sizes repeat (a desk's
    # thousands of open orders in round lots have a few dozen sizes) the work is done once
    # per distinct size; per order there are only passes in C: the count, the sum and the
    # final lookup. Few orders, or mostly distinct sizes: per order, vectorized.
    n = len(open_qtys)
    total = sum(open_qtys)
    # only a split needs the counts, and most of a desk's calls fill everything
    grouped = n > _FEW_ORDERS and 0 < fill < total
    # distinct quantities in first-seen order (how many orders each, when grouped)
    counts = Counter(open_qtys) if grouped else None
    sizes = dict.fromkeys(open_qtys) if counts is None else counts
    for q in sizes:
        if q < 0 or q % lot:
            raise ValueError(f"open quantity {q} is negative or not a multiple of lot {lot}")
    if fill > total:
        raise ValueError(f"fill {fill} exceeds open quantity {total}")
    if fill == 0:
        return [0] * n
    if fill == total:
        return list(open_qtys)  # everything fills: each order its whole open quantity
    if counts is None or 2 * len(counts) > n:
        lots = list(map(floordiv, open_qtys, repeat(lot, n))) if lot != 1 else list(open_qtys)
        shares = _allocate_units(fill // lot, lots, total // lot)
        return shares if lot == 1 else list(map(mul, shares, repeat(lot, n)))
    share_of, cut_qty, at_cut = _shares_by_size(fill // lot, counts, total // lot, lot)
    shares = list(map(share_of.__getitem__, open_qtys))
    if at_cut:
        # the orders of size ``cut_qty`` get their extra lot earliest first
        for i in islice(compress(count(), map(eq, open_qtys, repeat(cut_qty))), at_cut):
            shares[i] += lot
    return shares


def _shares_by_size(
    units: int, sizes: Counter[int], total: int, lot: int
) -> tuple[dict[int, int], int, int]:
    """Largest-remainder split of ``units`` lots (0 < units < total) by size: each size's
    share in shares (floor of its pro-rata part, plus one lot when its remainder ranks in
    the top), and the size at the cut with how many of its orders (the earliest) get one
    more lot on top of that."""
    floors: dict[int, int] = {}
    remainders: list[tuple[int, int]] = []  # (remainder, size) where positive
    left = units
    for q, n in sizes.items():
        share, r = divmod(units * (q // lot), total)
        floors[q] = share
        left -= share * n
        if r:
            remainders.append((r, q))
    # A positive remainder means share < units·w/total ≤ w, so one more lot never
    # exceeds the order; and left < number of orders with a positive remainder
    # (Σ remainders = left·total, each one < total), so only those are ever picked.
    cut_qty = at_cut = 0
    if left:
        # by largest remainder, then larger order (sizes are distinct: no ties); the
        # earlier order goes first within the size at the cut (``allocate``)
        remainders.sort(reverse=True)
        for _, q in remainders:
            n = sizes[q]
            if n <= left:
                floors[q] += 1
                left -= n
                if not left:
                    break
            else:
                cut_qty, at_cut = q, left
                break
    return {q: share * lot for q, share in floors.items()}, cut_qty, at_cut


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
        keys = list(
            map(
                mod,
                map(mul, weights, repeat(units * (total + 1) + 1, n)),
                repeat(total * (total + 1), n),
            )
        )
        for i in sorted(range(n), key=keys.__getitem__, reverse=True)[:left]:
            shares[i] += 1
    return shares
