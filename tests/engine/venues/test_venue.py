"""The pure lit venue: rejects, order types, fees, fills by background flow, faults."""

from __future__ import annotations

import pytest

from engine.clock import MINUTE, SECOND
from engine.config import FlowConfig, SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import (
    CancelVenueOrder,
    FaultKind,
    InjectVenueFault,
    Liquidity,
    OrderType,
    PlaceVenueOrder,
    ReplaceVenueOrder,
    Side,
    TimeInForce,
    VenueCancelRejected,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueOrderReplaced,
    VenueStatus,
    VenueStatusChanged,
)
from engine.venues.book import BUY, SELL
from engine.venues.venue import LitVenue

SESSION = SessionConfig()
T0 = SESSION.open_ns
XYZ = Instrument(symbol="XYZ", ref_price=100_000_000, lot=10)
CENT = XYZ.tick


def venue(**flow) -> LitVenue:
    return LitVenue(VenueConfig(name="L1", flow=FlowConfig(**flow)), XYZ, SESSION, seed=1)


def quiet() -> LitVenue:
    """No background flow: the seeded book only (every rate is zero)."""
    return venue(rate_scale=0.0)


def place(order_id="o1", side=Side.BUY, quantity=100, price=None, **kw) -> PlaceVenueOrder:
    return PlaceVenueOrder(
        venue="L1",
        order_id=order_id,
        parent_id="P1",
        child_id="C1",
        instrument="XYZ",
        side=side,
        quantity=quantity,
        price=price,
        **kw,
    )


def of(kind, msgs):
    return [m for m in msgs if isinstance(m, kind)]


def book_unchanged(v: LitVenue, action) -> None:
    before = (v.book.depth(BUY, 50), v.book.depth(SELL, 50), len(v.book.orders))
    action()
    assert (v.book.depth(BUY, 50), v.book.depth(SELL, 50), len(v.book.orders)) == before


# ------------------------------------------------------------------------ rejects


@pytest.mark.parametrize(
    "msg, reason",
    [
        (place(price=99_995_000), "price_off_tick"),
        (place(price=0), "bad_price"),
        (place(quantity=0, price=99_990_000), "bad_quantity"),
        (place(quantity=-10, price=99_990_000), "bad_quantity"),
        (place(quantity=15, price=99_990_000), "quantity_off_lot"),
        (place(price=None), "missing_price"),
    ],
)
def test_bad_orders_are_rejected_and_the_book_is_untouched(msg, reason):
    v = quiet()
    out: list = []
    book_unchanged(v, lambda: out.extend(v.process(msg, T0)))
    assert [(type(m), m.reason) for m in out] == [(VenueOrderRejected, reason)]


def test_unknown_instrument_is_rejected():
    v = quiet()
    msg = PlaceVenueOrder(
        venue="L1",
        order_id="x",
        parent_id="P",
        child_id="C",
        instrument="ABC",
        side=Side.BUY,
        quantity=10,
        price=99_990_000,
    )
    assert of(VenueOrderRejected, v.process(msg, T0))[0].reason == "unknown_instrument"


def test_duplicate_order_id_is_rejected():
    v = quiet()
    v.process(place(price=99_000_000), T0)
    out: list = []
    book_unchanged(v, lambda: out.extend(v.process(place(price=99_000_000), T0)))
    assert of(VenueOrderRejected, out)[0].reason == "duplicate_order_id"


def test_post_only_that_would_cross_is_rejected():
    v = quiet()
    ask = v.book.best_ask
    out: list = []
    book_unchanged(v, lambda: out.extend(v.process(place(price=ask, post_only=True), T0)))
    assert of(VenueOrderRejected, out)[0].reason == "post_only_would_cross"
    ok = v.process(place("o2", price=ask - CENT, post_only=True), T0)
    assert of(VenueOrderAccepted, ok) and "o2" in v.book


def test_cancel_unknown_and_too_late():
    v = quiet()
    assert v.process(CancelVenueOrder(venue="L1", order_id="nope"), T0)[0].reason == "unknown_order"
    v.process(place(price=v.book.best_ask, tif=TimeInForce.IOC, quantity=10), T0)
    late = v.process(CancelVenueOrder(venue="L1", order_id="o1"), T0)
    assert isinstance(late[0], VenueCancelRejected) and late[0].reason == "too_late"


# ------------------------------------------------------------------- order types


def test_resting_limit_then_cancel():
    v = quiet()
    out = v.process(place(price=v.book.best_bid, quantity=100), T0)
    assert [type(m) for m in out] == [VenueOrderAccepted]
    out = v.process(CancelVenueOrder(venue="L1", order_id="o1"), T0 + 1)
    assert out == [
        VenueOrderCancelled(venue="L1", order_id="o1", cancelled=100, reason="cancelled", ts=T0 + 1)
    ]
    assert "o1" not in v.book


def test_marketable_limit_takes_with_taker_fee_then_rests():
    v = quiet()
    ask = v.book.best_ask
    at_touch = v.book.depth(SELL, 1)[0][1]
    out = v.process(place(price=ask, quantity=at_touch + 100), T0)
    fills = of(VenueOrderFilled, out)
    assert sum(f.quantity for f in fills) == at_touch
    assert all(f.liquidity is Liquidity.TAKER and f.price == ask for f in fills)
    assert all(f.fee == 3_000 * f.quantity > 0 for f in fills)  # taker pays
    assert fills[-1].leaves == 100 and v.book.get("o1").leaves == 100
    assert v.book.best_bid == ask  # our remainder now sets the bid


def test_market_order_sweeps_levels_and_moves_the_price():
    v = quiet()
    ask_before = v.book.best_ask
    out = v.process(place(quantity=3_000, order_type=OrderType.MARKET), T0)
    fills = of(VenueOrderFilled, out)
    assert sum(f.quantity for f in fills) == 3_000
    assert max(f.price for f in fills) > ask_before
    assert v.book.best_ask > ask_before  # impact


def test_ioc_remainder_is_cancelled():
    v = quiet()
    ask = v.book.best_ask
    at_touch = v.book.depth(SELL, 1)[0][1]
    out = v.process(place(price=ask, quantity=at_touch + 50, tif=TimeInForce.IOC), T0)
    assert next(type(m) for m in out) is VenueOrderAccepted
    assert out[-1] == VenueOrderCancelled(
        venue="L1", order_id="o1", cancelled=50, reason="ioc_remainder", ts=T0
    )
    assert "o1" not in v.book and "o1" not in v.live


def test_fok_not_fillable_is_cancelled_whole_and_nothing_trades():
    v = quiet()
    ask = v.book.best_ask
    at_touch = v.book.depth(SELL, 1)[0][1]
    out: list = []
    book_unchanged(
        v,
        lambda: out.extend(
            v.process(place(price=ask, quantity=at_touch + 10, tif=TimeInForce.FOK), T0)
        ),
    )
    assert [type(m) for m in out] == [VenueOrderAccepted, VenueOrderCancelled]
    assert out[-1].reason == "fok_not_fillable" and out[-1].cancelled == at_touch + 10
    done = v.process(place("o2", price=ask, quantity=at_touch, tif=TimeInForce.FOK), T0)
    assert sum(f.quantity for f in of(VenueOrderFilled, done)) == at_touch


def test_maker_fill_earns_the_rebate():
    v = quiet()
    bid = v.book.best_bid
    v.process(place("mine", price=bid + CENT, quantity=100), T0)
    out = v.process(place("hit", side=Side.SELL, quantity=100, order_type=OrderType.MARKET), T0)
    maker = next(f for f in of(VenueOrderFilled, out) if f.order_id == "mine")
    assert (
        maker.liquidity is Liquidity.MAKER and maker.fee == -2_000 * 100 < 0
    )  # self-trade: both fill


def test_replace_down_keeps_priority_up_loses_it_and_validates():
    v = quiet()
    bid = v.book.best_bid
    v.process(place("a", price=bid + CENT, quantity=100), T0)
    v.process(place("b", price=bid + CENT, quantity=100), T0)
    out = v.process(ReplaceVenueOrder(venue="L1", order_id="a", quantity=50), T0)
    assert out == [
        VenueOrderReplaced(
            venue="L1", order_id="a", quantity=50, price=bid + CENT, leaves=50, ts=T0
        )
    ]
    assert [o.order_id for o in v.book.bids[bid + CENT].live()] == ["a", "b"]
    v.process(ReplaceVenueOrder(venue="L1", order_id="a", quantity=200), T0)
    assert [o.order_id for o in v.book.bids[bid + CENT].live()] == ["b", "a"]
    bad = v.process(
        ReplaceVenueOrder(venue="L1", order_id="a", quantity=200, price=bid + 5_000), T0
    )
    assert isinstance(bad[0], VenueCancelRejected) and bad[0].reason == "price_off_tick"
    gone = v.process(ReplaceVenueOrder(venue="L1", order_id="zz", quantity=10), T0)
    assert gone[0].reason == "unknown_order"


# ----------------------------------------------------------- background flow


def test_background_flow_fills_our_resting_order_later_with_event_time():
    v = venue()
    v.process(place("mine", price=v.book.best_bid, quantity=100), T0)
    fills = []
    t = T0
    while not fills and t < T0 + 30 * MINUTE:
        t += 10 * SECOND
        fills += of(VenueOrderFilled, v.advance_to(t))
    assert fills, "a resting order at the touch should be hit within 30 minutes"
    assert all(f.liquidity is Liquidity.MAKER and f.fee < 0 for f in fills)
    assert all(t - 10 * SECOND < f.ts <= t for f in fills)


def test_snapshot_has_depth_and_counts_background_volume():
    v = venue()
    v.advance_to(T0 + 5 * MINUTE)
    md = v.snapshot(T0 + 5 * MINUTE)
    assert 1 <= len(md.bids) <= 5 and 1 <= len(md.asks) <= 5
    assert md.bids[0].price < md.asks[0].price
    assert md.volume > 0 and md.notional > 0 and md.status is VenueStatus.UP


# ------------------------------------------------------------------------ faults


def test_down_venue_rejects_orders_and_cancels_but_keeps_resting_orders():
    v = quiet()
    v.process(place("rest", price=v.book.best_bid, quantity=100), T0)
    out = v.process(InjectVenueFault(venue="L1", fault=FaultKind.DOWN, duration_ns=MINUTE), T0)
    down = VenueStatusChanged(
        venue="L1", status=VenueStatus.DOWN, reason="down", instrument="XYZ", ts=T0
    )
    assert out == [down]
    assert v.process(place("new", price=v.book.best_bid), T0)[0].reason == "venue_down"
    assert v.process(CancelVenueOrder(venue="L1", order_id="rest"), T0)[0].reason == "venue_down"
    assert "rest" in v.book
    back = v.advance_to(T0 + 2 * MINUTE)
    assert [type(m) for m in back] == [VenueStatusChanged] and back[0].ts == T0 + MINUTE
    assert v.snapshot(T0).status is VenueStatus.UP


def test_reject_orders_and_drop_cancels_faults():
    v = quiet()
    v.process(place("rest", price=v.book.best_bid, quantity=100), T0)
    v.process(InjectVenueFault(venue="L1", fault=FaultKind.REJECT_ORDERS), T0)
    v.process(InjectVenueFault(venue="L1", fault=FaultKind.DROP_CANCELS), T0)
    assert v.process(place("new", price=v.book.best_bid), T0)[0].reason == "venue_rejecting"
    assert v.process(CancelVenueOrder(venue="L1", order_id="rest"), T0) == []
    v.process(InjectVenueFault(venue="L1", fault=FaultKind.UP), T0)
    assert of(VenueOrderCancelled, v.process(CancelVenueOrder(venue="L1", order_id="rest"), T0))


def fault(kind, duration_ns=None):
    return InjectVenueFault(venue="L1", fault=kind, duration_ns=duration_ns)


def statuses(msgs):
    return [(m.status, m.reason, m.ts) for m in of(VenueStatusChanged, msgs)]


def test_timed_outage_ends_on_time_when_an_untimed_fault_follows():
    # "down" for 10 s, then "drop_cancels" without duration 1 s later: the outage must
    # still end on time (not stay down with no status event).
    v = quiet()
    v.process(place("rest", price=v.book.best_bid, quantity=100), T0)
    assert statuses(v.process(fault(FaultKind.DOWN, 10 * SECOND), T0)) == [
        (VenueStatus.DOWN, "down", T0)
    ]
    assert v.process(fault(FaultKind.DROP_CANCELS), T0 + SECOND) == []
    out = v.advance_to(T0 + 60 * SECOND)
    assert statuses(out) == [(VenueStatus.UP, "fault_expired", T0 + 10 * SECOND)]
    assert v.status is VenueStatus.UP
    # the untimed fault lasts until "up": cancels are still dropped, orders accepted
    assert v.process(CancelVenueOrder(venue="L1", order_id="rest"), T0 + 61 * SECOND) == []
    assert of(VenueOrderAccepted, v.process(place("new", price=v.book.best_bid), T0 + 61 * SECOND))
    v.process(fault(FaultKind.UP), T0 + 62 * SECOND)
    cancel = CancelVenueOrder(venue="L1", order_id="rest")
    assert of(VenueOrderCancelled, v.process(cancel, T0 + 62 * SECOND))


def test_timed_drop_cancels_ends_on_time_and_leaves_a_later_untimed_outage_down():
    # The mirror: drop_cancels for 10 s, then "down" without duration 1 s later.
    v = quiet()
    v.process(place("rest", price=v.book.best_bid, quantity=100), T0)
    v.process(fault(FaultKind.DROP_CANCELS, 10 * SECOND), T0)
    down = v.process(fault(FaultKind.DOWN), T0 + SECOND)
    assert statuses(down) == [(VenueStatus.DOWN, "down", T0 + SECOND)]
    assert v.advance_to(T0 + 60 * SECOND) == []  # drop_cancels expired; still down, no event
    assert v.status is VenueStatus.DOWN
    cancel = CancelVenueOrder(venue="L1", order_id="rest")
    assert v.process(cancel, T0 + 60 * SECOND)[0].reason == "venue_down"
    up = v.process(fault(FaultKind.UP), T0 + 61 * SECOND)
    assert statuses(up) == [(VenueStatus.UP, "up", T0 + 61 * SECOND)]
    assert of(VenueOrderCancelled, v.process(cancel, T0 + 61 * SECOND))  # no longer dropped


def test_each_timed_fault_expires_at_its_own_time():
    v = quiet()
    v.process(fault(FaultKind.REJECT_ORDERS, 5 * SECOND), T0)
    v.process(fault(FaultKind.DOWN, 20 * SECOND), T0 + SECOND)
    v.process(fault(FaultKind.DEGRADE, 30 * SECOND), T0 + 2 * SECOND)
    out = v.advance_to(T0 + MINUTE)
    assert statuses(out) == [
        (VenueStatus.DEGRADED, "fault_expired", T0 + 21 * SECOND),
        (VenueStatus.UP, "fault_expired", T0 + 32 * SECOND),
    ]
    assert of(VenueOrderAccepted, v.process(place("new", price=v.book.best_bid), T0 + MINUTE))


def test_a_timed_reject_orders_expiring_does_not_end_an_untimed_drop_cancels():
    v = quiet()
    v.process(place("rest", price=v.book.best_bid, quantity=100), T0)
    v.process(fault(FaultKind.DROP_CANCELS), T0)
    v.process(fault(FaultKind.REJECT_ORDERS, 5 * SECOND), T0)
    assert (
        v.process(place("new", price=v.book.best_bid), T0 + SECOND)[0].reason == "venue_rejecting"
    )
    assert of(VenueOrderAccepted, v.process(place("new2", price=v.book.best_bid), T0 + 6 * SECOND))
    assert v.process(CancelVenueOrder(venue="L1", order_id="rest"), T0 + 6 * SECOND) == []


def test_reinjecting_a_fault_replaces_its_expiry():
    v = quiet()
    v.process(fault(FaultKind.DOWN, 10 * SECOND), T0)
    v.process(fault(FaultKind.DOWN, 30 * SECOND), T0 + 5 * SECOND)
    back = v.advance_to(T0 + MINUTE)
    assert statuses(back) == [(VenueStatus.UP, "fault_expired", T0 + 35 * SECOND)]
    v.process(fault(FaultKind.DOWN, 10 * SECOND), T0 + MINUTE)
    v.process(fault(FaultKind.DOWN), T0 + MINUTE + SECOND)  # now until "up"
    assert v.advance_to(T0 + 5 * MINUTE) == [] and v.status is VenueStatus.DOWN
