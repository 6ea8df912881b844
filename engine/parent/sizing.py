"""Pricing and routing a child: pure functions of the market, the mandate and the
instrument (the quantity is sized by the parent, which knows its schedule)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import Mandate, RoutingLogic, Side, Tactic, Urgency
from engine.parent.participation import CAPPED


@dataclass(slots=True)
class Decision:
    """What one recalibration decided: the schedule now, the tactic, and why."""

    scheduled: int
    tactic: Tactic
    reason: str
    sweep: bool = False


def child_price(
    tactic: Tactic,
    market: MarketView,
    *,
    side: Side,
    limit: int | None,
    instrument: Instrument,
    sweep_ticks: int,
) -> int | None:
    """On tick; never through the parent limit (buy ≤ limit, sell ≥ limit).
    ``sweep_ticks``: how far an aggressive child prices through the far touch."""
    buy = side is Side.BUY
    bid, ask = market.best_bid(), market.best_ask()
    near, far = (bid, ask) if buy else (ask, bid)
    tick = instrument.tick
    sign = 1 if buy else -1
    price: int | None
    if tactic is Tactic.AGGRESSIVE and far is not None:
        price = far + sign * sweep_ticks * tick
    elif tactic is Tactic.MIDPOINT and bid is not None and ask is not None:
        price = instrument.round_to_tick((bid + ask) // 2 + (bid + ask) % 2, up=buy)
    else:
        price = near if near is not None else (far - sign * tick if far is not None else None)
    return clamp_to_limit(price, limit, buy, instrument)


def clamp_to_limit(
    price: int | None, limit: int | None, buy: bool, instrument: Instrument
) -> int | None:
    """Keep a child price on tick and on the right side of the parent limit."""
    if limit is not None:
        bound = instrument.round_to_tick(limit, up=not buy)  # an off-tick limit rounds inward
        if price is None:
            price = bound
        price = min(price, bound) if buy else max(price, bound)
    if price is None:
        return None
    price = instrument.round_to_tick(price, up=not buy)
    return price if price > 0 else None


def routing_for(tactic: Tactic, mandate: Mandate) -> RoutingLogic:
    """The mandate's routing if it names one; else by tactic: resting in the dark seeks
    liquidity, an urgent cross sprays venues in parallel, the rest go one by one."""
    if mandate.routing is not None:
        return mandate.routing
    if tactic is Tactic.MIDPOINT:
        return RoutingLogic.LIQUIDITY_SEEKING
    if tactic is Tactic.AGGRESSIVE and mandate.urgency is Urgency.HIGH:
        return RoutingLogic.PARALLEL
    return RoutingLogic.SEQUENTIAL


def child_quantity(
    want: int, room: int, cap: int | None, minimum: int, lot: int
) -> tuple[int, str]:
    """Size a child; returns (quantity, why it is smaller than wanted or zero).

    ``want``: what the schedule asks for beyond filled and open; ``room``: the quantity not
    yet allocated to a child (never over-allocate); ``cap``: what max participation allows
    (None: no cap); ``minimum``: the least child, whole lots.

    The schedule is rounded to the nearest minimum child: a child is due once the schedule
    wants half of one, and is at least one. No child is below the minimum except the final
    remainder (all of ``room``), and none leaves a remainder below the minimum behind it:
    the last child takes the odd remainder along."""
    if room <= 0:
        return 0, "fully allocated to open children"
    if want <= 0 or 2 * want < min(room, minimum):
        return 0, "nothing due yet"
    wanted = min(max(want, minimum), room)
    limit = wanted if cap is None else min(wanted, cap)
    qty = limit - limit % lot
    if qty < room and room - qty < minimum:  # take the odd remainder along, or leave a minimum
        qty = room if cap is None or cap >= room else qty - ceil_lot(minimum - (room - qty), lot)
    why = CAPPED if limit < wanted else ""
    if qty < min(minimum, room):
        return 0, why or "below minimum child size"
    return qty, why


def ceil_lot(quantity: int, lot: int) -> int:
    return -(-quantity // lot) * lot


def has_quotes(market: MarketView) -> bool:
    return market.best_bid() is not None or market.best_ask() is not None
