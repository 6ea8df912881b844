"""Price and size arithmetic of the planner: capping by the child's limit, reading a
venue's touch and depth, splitting a quantity into whole lots by weight."""

from __future__ import annotations

from collections.abc import Callable

from engine.messages import BookLevel, MarketDataUpdated, Side


def cap(price: int, side: Side, limit: int | None) -> int:
    """The worse-for-us of price and limit never crosses the limit."""
    if limit is None:
        return price
    return min(price, limit) if side is Side.BUY else max(price, limit)


def near_touch(md: MarketDataUpdated | None, side: Side) -> tuple[int, int] | None:
    """(price, quantity) of the venue's best level on our own side."""
    levels = (md.bids if side is Side.BUY else md.asks) if md else []
    return (levels[0].price, levels[0].quantity) if levels else None


def passive_price(
    own: MarketDataUpdated | None,
    side: Side,
    far_touch: int | None,
    limit: int | None,
    tick: int,
) -> int | None:
    """Where a passive order rests on one venue, from that venue's own quote ``own`` (None:
    not usable, see ``Planner._own_quote``): it joins the venue's touch on our side and
    never improves it, never locks or crosses a far touch we see (the venue's own or
    ``far_touch``, the consolidated one: in a locked or crossed consolidated view the
    order rests one tick behind the lowest offer / highest bid seen, behind its own touch
    if need be), and never breaches the child's limit. None when the venue shows nothing
    on our side to join."""
    near = near_touch(own, side)
    if near is None:
        return None
    price = near[0]
    far = far_levels(own, side)
    for touch in (far[0].price if far else None, far_touch):
        if touch is not None:
            price = min(price, touch - tick) if side is Side.BUY else max(price, touch + tick)
    return cap(price, side, limit)


def far_levels(md: MarketDataUpdated | None, side: Side) -> list[BookLevel]:
    """The venue's contra side, best first."""
    return list((md.asks if side is Side.BUY else md.bids) if md else [])


def far_depth(md: MarketDataUpdated | None, side: Side, limit: int | None) -> int:
    """Displayed contra shares we can take without crossing the limit."""
    if md is None:
        return 0
    if side is Side.BUY:
        if limit is None:
            return sum(lvl.quantity for lvl in md.asks)
        return sum(lvl.quantity for lvl in md.asks if lvl.price <= limit)
    if limit is None:
        return sum(lvl.quantity for lvl in md.bids)
    return sum(lvl.quantity for lvl in md.bids if lvl.price >= limit)


def split(total: int, weights: list[tuple[str, float]], lot: int) -> list[tuple[str, int]]:
    """Whole lots proportional to weights, largest remainder, ties in the given order."""
    lots = total // lot
    positive = [(v, w) for v, w in weights if w > 0] or [(v, 1.0) for v, _ in weights]
    if lots <= 0 or not positive:
        return []
    wsum = sum(w for _, w in positive)
    raw = [lots * w / wsum for _, w in positive]
    base = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[: lots - sum(base)]:
        base[i] += 1
    return [(v, n * lot) for (v, _), n in zip(positive, base, strict=True) if n > 0]


def split_min(
    total: int,
    weights: list[tuple[str, float]],
    lot: int,
    minimum: int,
    sizes: Callable[[int, list[tuple[str, float]], int], list[tuple[str, int]]] = split,
) -> list[tuple[str, int]]:
    """``sizes(total, weights, lot)`` with no slice below ``minimum`` unless it is the only
    one: the venue with the smallest slice (on a tie the later one, in ``weights``' order:
    the lower ranked) is left out and the same total re-split among the others, until
    every slice is at least ``minimum``. Whole lots; the total is what ``sizes`` gives,
    just over fewer venues."""
    out = sizes(total, weights, lot)
    while len(out) > 1:
        smallest = min(range(len(out)), key=lambda i: (out[i][1], -i))
        if out[smallest][1] >= minimum:
            break
        keep = {v for v, _ in out} - {out[smallest][0]}
        weights = [(v, w) for v, w in weights if v in keep]
        out = sizes(total, weights, lot)
    return out
