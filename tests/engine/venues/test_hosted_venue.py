"""A venue on the host contract: what it sends, to whom, and when it next wakes."""

from __future__ import annotations

from engine.clock import SECOND
from engine.config import FlowConfig, SessionConfig, VenueConfig
from engine.contract import JOURNAL, Hosted
from engine.instruments import Instrument
from engine.messages import (
    CancelVenueOrder,
    FaultKind,
    FaultStarted,
    InjectVenueFault,
    MarketDataUpdated,
    PlaceVenueOrder,
    Side,
    SubscribeMarketData,
    VenueCancelRejected,
    VenueKind,
    VenueOrderAccepted,
    VenueStatusChanged,
)
from engine.venues.venue import FEED, DarkVenue, LitVenue, make_venue

SESSION = SessionConfig()
T0 = SESSION.open_ns
XYZ = Instrument(symbol="XYZ", ref_price=100_000_000, lot=10)
CONFIG = VenueConfig(name="L1", flow=FlowConfig(rate_scale=0.0))  # no background flow


def lit(epoch: int = 0) -> LitVenue:
    return LitVenue(CONFIG, XYZ, SESSION, seed=1, epoch=epoch)


def place(order_id: str = "o1") -> PlaceVenueOrder:
    return PlaceVenueOrder(
        venue="L1",
        order_id=order_id,
        parent_id="P1",
        child_id="C1",
        instrument="XYZ",
        side=Side.BUY,
        quantity=100,
        price=99_000_000,
    )


def destinations(out):
    return [(dest, type(msg).__name__) for dest, msg in out]


def both_are_hosted(a: LitVenue, b: DarkVenue) -> tuple[Hosted, Hosted]:
    """mypy checks that both kinds implement the contract (this file type-checks)."""
    return a, b


def test_make_venue_builds_the_configured_kind():
    dark = VenueConfig(name="D1", kind=VenueKind.DARK)
    assert isinstance(make_venue(dark, XYZ, SESSION, 1, epoch=2), DarkVenue)
    assert isinstance(make_venue(CONFIG, XYZ, SESSION, 1, fundamental_seed=3), LitVenue)
    assert make_venue(dark, XYZ, SESSION, 1, epoch=2).epoch == 2


def test_start_subscribes_to_the_feeds_and_first_publishes_one_interval_after_the_open():
    v = lit()
    assert v.next_wake_ns() is None
    out = v.start(T0 - SECOND, feeds=["L2", "L3"], subscribers=["router"])
    assert out == [
        ("L2", SubscribeMarketData(subscriber="L1", instrument="XYZ")),
        ("L3", SubscribeMarketData(subscriber="L1", instrument="XYZ")),
    ]  # a first start: nobody is re-admitted, subscribers subscribe themselves
    assert v.next_wake_ns() == T0 + CONFIG.md_interval_ns


def test_a_restarted_venue_takes_its_market_s_subscribers_back_with_a_snapshot():
    v = lit(epoch=1)
    out = v.start(T0 + SECOND, feeds=["L2"], subscribers=["router", "D1"])
    assert destinations(out) == [
        ("L2", "SubscribeMarketData"),
        ("router", "MarketDataUpdated"),
        ("D1", "MarketDataUpdated"),
    ]
    assert v.subscribers == ["router", "D1"]
    assert v.next_wake_ns() == T0 + SECOND + CONFIG.md_interval_ns


def test_order_events_go_to_whoever_placed_the_order():
    v = lit()
    out = v.handle(place(), T0, "router")
    assert out == [("router", VenueOrderAccepted(venue="L1", order_id="o1", leaves=100, ts=T0))]
    assert destinations(v.handle(CancelVenueOrder(venue="L1", order_id="o1"), T0, "other")) == [
        ("router", "VenueOrderCancelled")
    ]  # the owner, not the canceller


def test_a_venue_that_does_not_know_the_order_answers_whoever_asks():
    v = lit()  # e.g. after a restart: the owner table is empty
    out = v.handle(CancelVenueOrder(venue="L1", order_id="gone"), T0, "router")
    assert [(d, m.reason) for d, m in out if isinstance(m, VenueCancelRejected)] == [
        ("router", "unknown_order")
    ]


def test_events_of_an_order_placed_by_nobody_known_are_not_sent():
    v = lit()
    assert v.handle(place(), T0) == []  # no sender given: no owner
    assert "o1" in v.live  # the order itself was placed


def test_a_subscription_answers_with_a_snapshot_once_per_subscriber():
    v = lit()
    sub = SubscribeMarketData(subscriber="router", instrument="XYZ")
    for _ in range(2):
        (entry,) = v.handle(sub, T0, "router")
        assert entry[0] == "router" and isinstance(entry[1], MarketDataUpdated)
    assert v.subscribers == ["router"]


def test_a_status_change_is_journaled_once_then_broadcast_with_a_snapshot():
    v = lit()
    v.handle(SubscribeMarketData(subscriber="router", instrument="XYZ"), T0)
    v.handle(SubscribeMarketData(subscriber="D1", instrument="XYZ"), T0)
    out = v.handle(InjectVenueFault(venue="L1", fault=FaultKind.DOWN), T0, "chaos")
    status = VenueStatusChanged(
        venue="L1", status=v.status, reason="down", instrument="XYZ", ts=T0
    )  # the book's status: it names its instrument
    started = FaultStarted(fault=FaultKind.DOWN, target="L1", ts=T0)  # every fault is journaled
    assert out[:4] == [(JOURNAL, started), (JOURNAL, status), ("router", status), ("D1", status)]
    assert destinations(out[4:]) == [("router", "MarketDataUpdated"), ("D1", "MarketDataUpdated")]
    assert all(type(msg) in FEED for dest, msg in out if dest != JOURNAL)


def test_each_wake_publishes_and_the_last_is_at_the_close():
    v = lit()
    v.start(T0)
    v.handle(SubscribeMarketData(subscriber="router", instrument="XYZ"), T0)
    wake = v.next_wake_ns()
    assert wake is not None
    assert destinations(v.on_wake(wake)) == [("router", "MarketDataUpdated")]
    assert v.next_wake_ns() == wake + CONFIG.md_interval_ns
    v.on_wake(SESSION.close_ns)
    assert v.next_wake_ns() is None


def test_messages_that_are_not_for_a_venue_are_ignored():
    v = lit()
    assert v.handle(VenueOrderAccepted(venue="L2", order_id="x", leaves=1), T0, "router") == []
