"""Dark pool: midpoint crosses with hidden contra, limits and minimum quantities."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clock import MINUTE
from engine.config import DarkConfig, SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import (
    BookLevel,
    CancelVenueOrder,
    Liquidity,
    MarketDataUpdated,
    OrderType,
    PlaceVenueOrder,
    Side,
    TimeInForce,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueStatus,
)
from engine.venues.dark_pool import DarkPool
from engine.venues.venue import DarkVenue

SESSION = SessionConfig()
T0 = SESSION.open_ns
XYZ = Instrument(symbol="XYZ", ref_price=100_000_000)
BID, ASK = 99_990_000, 100_010_000
MID = (BID + ASK) // 2


def lit_md(bid=BID, ask=ASK, venue="L1", ts=T0) -> MarketDataUpdated:
    return MarketDataUpdated(
        venue=venue,
        instrument="XYZ",
        kind=VenueKind.LIT,
        status=VenueStatus.UP,
        bids=[BookLevel(bid, 100)],
        asks=[BookLevel(ask, 100)],
        ts=ts,
    )


def pool(**dark) -> DarkPool:
    p = DarkPool(DarkConfig(arrival_rate=0.0, **dark), XYZ, SESSION, random.Random(1))
    p.market.update(lit_md())
    return p


def contra(p: DarkPool, side: int, qty: int, min_quantity: int = 0) -> None:
    p.add_contra(side, qty, SESSION.close_ns, min_quantity)


def test_crosses_at_the_lit_mid():
    p = pool()
    contra(p, -1, 500)
    p.add("o1", 1, 300, None)
    crosses = p.match(T0)
    assert [(c.order_id, c.quantity, c.price) for c in crosses] == [("o1", 300, MID)]
    assert p.contra[0].leaves == 200 and "o1" not in p.ours
    assert (p.volume, p.notional, p.last_price) == (300, 300 * MID, MID)


def test_no_mid_no_cross():
    p = DarkPool(DarkConfig(arrival_rate=0.0), XYZ, SESSION, random.Random(1))
    contra(p, -1, 500)
    p.add("o1", 1, 300, None)
    assert p.match(T0) == []


def test_buy_never_executes_above_its_limit():
    p = pool()
    contra(p, -1, 500)
    p.add("o1", 1, 300, MID - 10_000)
    assert p.match(T0) == []
    p.market.update(lit_md(BID - 20_000, ASK - 20_000))  # mid falls below the limit
    assert [c.price for c in p.match(T0)] == [MID - 20_000]


def test_order_min_quantity_is_honoured():
    p = pool()
    contra(p, -1, 200)
    p.add("o1", 1, 1_000, None, min_quantity=500)
    assert p.match(T0) == []
    contra(p, -1, 600)
    assert [c.quantity for c in p.match(T0)] == [600]


def test_venue_min_quantity_is_honoured():
    p = pool(min_quantity=400)
    contra(p, -1, 300)
    p.add("o1", 1, 1_000, None)
    assert p.match(T0) == []


def test_order_smaller_than_the_venue_minimum_trades_whole_against_a_large_block():
    # Blocks carry the venue minimum: a 200-share child in a pool with a 500 minimum must
    # still trade against a 2,000 block, or it starves there.
    p = pool(min_quantity=500)
    contra(p, -1, 2_000, min_quantity=500)
    p.add("small", 1, 200, None)
    assert [(c.order_id, c.quantity) for c in p.match(T0)] == [("small", 200)]
    assert p.contra[0].leaves == 1_800 and "small" not in p.ours


def test_partly_filled_order_finishes_its_remainder_below_the_venue_minimum():
    # 1,000 against a 700 block leaves 300, which must still be able to trade.
    p = pool(min_quantity=500)
    contra(p, -1, 700, min_quantity=500)
    p.add("o", 1, 1_000, None)
    assert [c.quantity for c in p.match(T0)] == [700]
    assert p.ours["o"].leaves == 300
    contra(p, -1, 2_000, min_quantity=500)
    assert [c.quantity for c in p.match(T0)] == [300]
    assert "o" not in p.ours


def test_large_order_is_still_protected_from_small_blocks_by_the_venue_minimum():
    p = pool(min_quantity=500)
    contra(p, -1, 300, min_quantity=500)  # smaller than the minimum and than our order
    p.add("big", 1, 2_000, None)
    assert p.match(T0) == []
    assert p.fillable(1, None, 2_000) == 0
    contra(p, -1, 600, min_quantity=500)
    assert [c.quantity for c in p.match(T0)] == [600]


def test_remainder_crosses_a_block_skipped_earlier_as_too_small_in_the_same_match():
    # Found by the property below: 1,900 with a 200 minimum skipped the 100 block (too
    # small for 1,900), crossed 1,800, and its last 100 stayed unmatched next to that block.
    p = pool()
    contra(p, -1, 100)
    contra(p, -1, 1_800)
    assert p.fillable(1, None, 1_900, min_quantity=200) == 1_900
    p.add("o", 1, 1_900, None, min_quantity=200)
    assert p.fillable(1, None, 100) == 0  # the resting 1,900 comes first
    assert [c.quantity for c in p.match(T0)] == [1_800, 100]
    assert "o" not in p.ours and p.contra == []


def test_fok_smaller_than_the_venue_minimum_is_fillable_against_a_large_block():
    p = pool(min_quantity=500)
    contra(p, -1, 2_000, min_quantity=500)
    assert p.fillable(1, None, 200) == 200


@settings(max_examples=300)
@given(
    venue_min=st.integers(0, 20).map(lambda n: n * 100),
    order_min=st.integers(0, 20).map(lambda n: n * 100),
    order=st.integers(1, 40).map(lambda n: n * 100),
    blocks=st.lists(st.integers(1, 40).map(lambda n: n * 100), max_size=6),
)
def test_every_cross_honours_the_minimum_or_finishes_the_order(venue_min, order_min, order, blocks):
    p = pool(min_quantity=venue_min)
    for b in blocks:
        contra(p, -1, b, min_quantity=venue_min)
    p.add("o", 1, order, None, min_quantity=order_min)
    leaves = order
    for c in p.match(T0):
        assert c.quantity >= max(venue_min, order_min) or c.quantity == leaves
        leaves -= c.quantity
    assert leaves >= 0 and sum(b.leaves for b in p.contra) == sum(blocks) - (order - leaves)
    if leaves:  # what is left could not cross any remaining block
        assert all(
            b < max(venue_min, order_min) and b < leaves for b in (b.leaves for b in p.contra)
        )


def test_contra_blocks_arrive_and_leave_deterministically():
    def blocks(seed):
        p = DarkPool(
            DarkConfig(arrival_rate=0.05, mean_life_s=60.0), XYZ, SESSION, random.Random(seed)
        )
        seen = []
        for k in range(1, 60):
            p.advance_to(T0 + k * MINUTE)
            seen.append(tuple((b.side, b.leaves) for b in p.contra))
        return seen

    a = blocks(5)
    assert a == blocks(5) and a != blocks(6)
    assert any(a) and len(set(a)) > 5  # blocks come and go


# ------------------------------------------------------------------ DarkVenue


def dark_venue(**dark) -> DarkVenue:
    cfg = VenueConfig(name="D1", kind=VenueKind.DARK, maker_fee=1_000, dark=DarkConfig(**dark))
    v = DarkVenue(cfg, XYZ, SESSION, seed=3)
    v.process(lit_md(), T0)
    return v


def place(
    order_id="d1", quantity=2_000, price=None, order_type=OrderType.MARKET, **kw
) -> PlaceVenueOrder:
    return PlaceVenueOrder(
        venue="D1",
        order_id=order_id,
        parent_id="P",
        child_id="C",
        instrument="XYZ",
        side=Side.BUY,
        quantity=quantity,
        price=price,
        order_type=order_type,
        **kw,
    )


def test_resting_dark_order_fills_at_mid_when_contra_arrives():
    v = dark_venue(arrival_rate=0.05, mean_block=5_000)
    assert [type(m) for m in v.process(place(), T0)] == [VenueOrderAccepted]
    fills = []
    for k in range(1, 121):
        t = T0 + k * MINUTE
        fills += [m for m in v.process(lit_md(ts=t), t) if isinstance(m, VenueOrderFilled)]
    assert fills and sum(f.quantity for f in fills) <= 2_000
    assert all(
        f.price == MID and f.liquidity is Liquidity.MIDPOINT and f.fee == 1_000 * f.quantity
        for f in fills
    )
    # every print is reported, ours and those between contra blocks
    assert v.snapshot(T0).volume > sum(f.quantity for f in fills) and v.snapshot(T0).bids == []


def test_dark_ioc_without_contra_is_cancelled_and_fok_too():
    v = dark_venue(arrival_rate=0.0)
    out = v.process(place(tif=TimeInForce.IOC), T0)
    assert out[-1] == VenueOrderCancelled(
        venue="D1", order_id="d1", cancelled=2_000, reason="ioc_remainder", ts=T0
    )
    out = v.process(place("d2", tif=TimeInForce.FOK), T0)
    assert out[-1].reason == "fok_not_fillable"


def test_dark_cancel_and_off_tick_limit():
    v = dark_venue(arrival_rate=0.0)
    v.process(place(), T0)
    assert v.process(CancelVenueOrder(venue="D1", order_id="d1"), T0)[0].cancelled == 2_000
    assert (
        v.process(place("d3", price=MID + 5_000, order_type=OrderType.LIMIT), T0)[0].reason
        == "price_off_tick"
    )  # a half-cent limit
