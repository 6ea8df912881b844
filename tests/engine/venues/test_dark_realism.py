"""A dark pool a quant would trust: adverse selection, a realistic fill share, the current
mid, and its prints reported. A lit venue and a dark pool share one fundamental seed and
are driven directly: every 2 s (the lit feed's period) the lit venue's snapshot reaches
the pool 300 µs later, as it does through the actors.
"""

from __future__ import annotations

import bisect
import random
import statistics
from collections.abc import Iterator

import msgspec

from engine.clock import MINUTE, MS, SECOND, US
from engine.config import DarkConfig, FlowConfig, SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    BookLevel,
    CancelVenueOrder,
    MarketDataUpdated,
    Message,
    OrderType,
    PlaceVenueOrder,
    Side,
    SubscribeMarketData,
    TimeInForce,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueStatus,
)
from engine.venues.book import BUY, SELL
from engine.venues.dark import shared_fundamental
from engine.venues.dark_pool import DarkPool
from engine.venues.venue import DarkVenue, LitVenue

SESSION = SessionConfig()
XYZ = Instrument(symbol="XYZ", ref_price=100_000_000)
FEED = 2 * SECOND
LINK = 300 * US
MARKOUT = 5 * MINUTE
DEFAULT = DarkConfig()


class Market:
    """One lit venue and one dark pool on a shared fundamental; ``mids`` is the lit tape."""

    def __init__(self, seed: int, dark: DarkConfig = DEFAULT) -> None:
        self.lit = LitVenue(
            VenueConfig(name="L1"), XYZ, SESSION, seed=seed * 10 + 1, fundamental_seed=seed
        )
        self.dark = DarkVenue(
            VenueConfig(name="D1", kind=VenueKind.DARK, dark=dark),
            XYZ,
            SESSION,
            seed=seed * 10 + 2,
            fundamental_seed=seed,
        )
        self.times: list[int] = []
        self.mids: list[float] = []
        self.orders = 0

    def publications(self, minutes: int) -> Iterator[tuple[int, list[Message]]]:
        """Each lit publication: (time the pool receives it, the pool's events)."""
        for k in range(1, minutes * MINUTE // FEED + 1):
            t = SESSION.open_ns + k * FEED
            self.lit.advance_to(t)
            md = self.lit.snapshot(t)
            self.times.append(t)
            self.mids.append((md.bids[0].price + md.asks[0].price) / 2)
            yield t + LINK, self.dark.process(md, t + LINK)

    def place(self, side: Side, quantity: int, now: int) -> tuple[str, list[Message]]:
        """A mid-pegged DAY order of ours in the pool."""
        self.orders += 1
        order_id = f"o{self.orders}"
        msg = PlaceVenueOrder(
            venue="D1",
            order_id=order_id,
            parent_id="P",
            child_id=order_id,
            instrument="XYZ",
            side=side,
            quantity=quantity,
            order_type=OrderType.MARKET,
            tif=TimeInForce.DAY,
        )
        return order_id, self.dark.process(msg, now)

    def markouts(self, fills: list[tuple[int, int, int, int]]) -> list[tuple[int, float]]:
        """(quantity, side·(mid_{t+5min} − p)/p in bps) of each (ts, side, qty, p)."""
        out = []
        for ts, side, qty, price in fills:
            if ts + MARKOUT <= self.times[-1]:
                later = self.mids[bisect.bisect_right(self.times, ts + MARKOUT) - 1]
                out.append((qty, side * (later - price) / price * 1e4))
        return out


def fills_of(events: list[Message]) -> list[VenueOrderFilled]:
    return [m for m in events if isinstance(m, VenueOrderFilled)]


# ------------------------------------------------------------------ adverse selection


def test_informed_contra_know_the_lit_venues_own_fundamental():
    lit = LitVenue(VenueConfig(name="L1"), XYZ, SESSION, seed=11, fundamental_seed=5)
    known = shared_fundamental(FlowConfig(), XYZ, SESSION, 5)
    times = [SESSION.open_ns + k * 17 * MINUTE for k in range(23)]
    assert [known(t) for t in times] == [lit.flow.fundamental(t) for t in times]
    assert len({known(t) for t in times}) == len(times)  # it moves


def resting_both_sides(seed: int, dark: DarkConfig, minutes: int = 60) -> float:
    """Quantity-weighted 5-minute markout (bps) of 200-share buy and sell orders kept
    resting in the pool all the time (each re-placed once filled)."""
    market = Market(seed, dark)
    resting: dict[str, int] = {}
    fills = []
    for now, events in market.publications(minutes):
        for side in (Side.BUY, Side.SELL):
            if int(side) not in resting.values():
                order_id, placed = market.place(side, 200, now)
                resting[order_id] = int(side)
                events += placed
        for f in fills_of(events):
            fills.append((f.ts, resting[f.order_id], f.quantity, f.price))
            if not f.leaves:
                del resting[f.order_id]
    marks = market.markouts(fills)
    return sum(q * m for q, m in marks) / sum(q for q, _ in marks)


def test_dark_fills_are_adversely_selected():
    """Informed contra (Zhu 2014) trade with the coming move, so our fills are followed by
    a move against us: the mean markout is negative, and worse than against the same
    contra flow with every block uninformed (same seeds, same lit market). A busy pool,
    for enough fills to tell."""
    seeds = (1, 2, 3)
    informed = [resting_both_sides(s, DarkConfig(arrival_rate=0.02)) for s in seeds]
    uninformed = [
        resting_both_sides(s, DarkConfig(arrival_rate=0.02, informed_share=0.0)) for s in seeds
    ]
    assert statistics.mean(informed) < 0
    assert statistics.mean(informed) < statistics.mean(uninformed) - 0.5


# ------------------------------------------------------------------ fill share


def patient_vwap_dark_share(seed: int, per_minute: int = 128, minutes: int = 60) -> float:
    """A patient VWAP buying ``per_minute`` (the brief's 50,000 a day) that offers the pool
    every slice first: every 30 s its dark child is re-placed for what the schedule wants
    one minute ahead, and any shortfall is taken on the lit venue. Returns the share of
    its quantity filled in the dark."""
    market = Market(seed)
    filled = dark = 0
    child: str | None = None
    for k, (now, events) in enumerate(market.publications(minutes), start=1):
        if k % 15 == 0 and child is not None:
            events += market.dark.process(CancelVenueOrder(venue="D1", order_id=child), now)
            child = None
        dark += sum(f.quantity for f in fills_of(events))
        filled += sum(f.quantity for f in fills_of(events))
        if k % 15:
            continue
        elapsed = k * FEED
        filled = max(filled, per_minute * elapsed // MINUTE)  # the shortfall, taken lit
        want = per_minute * (elapsed + MINUTE) // MINUTE - filled
        if want > 0:
            child, placed = market.place(Side.BUY, want, now)
            got = sum(f.quantity for f in fills_of(placed))
            dark, filled = dark + got, filled + got
    return dark / filled


def test_a_patient_vwap_fills_a_minority_in_the_dark():
    """An algorithm's dark fill share is of the order of the ATS share of consolidated
    volume (10–15 %), rarely the majority: here 10–40 % even for a VWAP that offers the
    pool everything first."""
    shares = [patient_vwap_dark_share(seed) for seed in (1, 2, 3, 4)]
    assert 0.10 <= statistics.mean(shares) <= 0.40
    assert max(shares) < 0.5


# ------------------------------------------------------------------ the current mid

T0 = SESSION.open_ns
BID, ASK = 99_990_000, 100_010_000


def quote(venue: str, bid: int, ask: int, ts: int, status=VenueStatus.UP) -> MarketDataUpdated:
    return MarketDataUpdated(
        venue=venue,
        instrument="XYZ",
        kind=VenueKind.LIT,
        status=status,
        bids=[BookLevel(bid, 100)],
        asks=[BookLevel(ask, 100)],
        ts=ts,
    )


def pool_with_a_cross_waiting(*quotes: MarketDataUpdated) -> DarkPool:
    p = DarkPool(DarkConfig(arrival_rate=0.0), XYZ, SESSION, random.Random(1))
    for q in quotes:
        p.market.update(q)
    p.add_contra(SELL, 500, SESSION.close_ns)
    p.add("o1", BUY, 300, None)
    return p


def test_the_pool_crosses_at_the_mid_of_a_fresh_view_only():
    p = pool_with_a_cross_waiting(quote("L1", BID, ASK, T0))
    assert p.match(T0 + SECOND) == []  # a quote 1 s old: the mid may have moved since
    p.market.update(quote("L1", BID + 20_000, ASK + 20_000, T0 + 2 * SECOND))
    crosses = p.match(T0 + 2 * SECOND + LINK)
    assert [(c.quantity, c.price) for c in crosses] == [(300, (BID + ASK) // 2 + 20_000)]


def test_one_stale_lit_venue_holds_the_cross_but_a_venue_down_does_not():
    fresh = quote("L1", BID, ASK, T0)
    p = pool_with_a_cross_waiting(fresh, quote("L2", BID, ASK, T0 - 2 * SECOND))
    assert p.match(T0) == []
    p.market.update(quote("L2", BID, ASK, T0 - 2 * SECOND, status=VenueStatus.DOWN))
    assert [c.quantity for c in p.match(T0)] == [300]


def test_no_cross_on_a_locked_or_crossed_nbbo():
    for l2_bid in (ASK, ASK + 10_000):  # L2's bid locks, then crosses, L1's offer
        p = pool_with_a_cross_waiting(
            quote("L1", BID, ASK, T0), quote("L2", l2_bid, l2_bid + 20_000, T0)
        )
        assert p.mid(T0) is None and p.match(T0) == []
        assert p.fillable(BUY, None, 300, now=T0) == 0


def test_an_ioc_on_a_stale_view_waits_for_the_quotes_the_pool_asks_for():
    market = Market(seed=1, dark=DarkConfig(arrival_rate=0.0))
    pool_venue, lit = market.dark, market.lit
    pool_venue.start(SESSION.open_ns, feeds=["L1"])
    now, _ = next(market.publications(1))
    pool_venue.pool.add_contra(SELL, 200, SESSION.close_ns)
    later = now + SECOND  # the last lit quote is a second old
    ioc = PlaceVenueOrder(
        venue="D1",
        order_id="ioc",
        parent_id="P",
        child_id="C",
        instrument="XYZ",
        side=Side.BUY,
        quantity=300,
        order_type=OrderType.MARKET,
        tif=TimeInForce.IOC,
    )
    out = pool_venue.handle(ioc, later, sender="router")
    assert [type(msg) for _, msg in out] == [VenueOrderAccepted, SubscribeMarketData]
    assert out[1][0] == "L1"  # no fill on a stale view, and no cancel yet: held
    answer = lit.handle(out[1][1], later + LINK)
    assert [(dest, type(msg)) for dest, msg in answer] == [("D1", MarketDataUpdated)]
    quote = answer[0][1]
    assert isinstance(quote, MarketDataUpdated) and quote.ts == later + LINK
    events = [msg for _, msg in pool_venue.handle(quote, later + 2 * LINK, sender="L1")]
    fills = fills_of(events)
    assert [(f.quantity, f.price) for f in fills] == [
        (200, (quote.bids[0].price + quote.asks[0].price) // 2)
    ]
    assert isinstance(events[-1], VenueOrderCancelled) and events[-1].cancelled == 100


def test_with_every_lit_venue_down_an_ioc_is_cancelled_at_once():
    market = Market(seed=1, dark=DarkConfig(arrival_rate=0.0))
    market.dark.start(SESSION.open_ns, feeds=["L1"])
    now, _ = next(market.publications(1))
    market.dark.pool.add_contra(SELL, 200, SESSION.close_ns)
    down = msgspec.structs.replace(market.lit.snapshot(now), status=VenueStatus.DOWN)
    market.dark.process(down, now + LINK)
    _, events = market.place(Side.BUY, 100, now + SECOND)  # a DAY order: it rests
    assert [type(m) for m in events] == [VenueOrderAccepted]
    ioc = PlaceVenueOrder(
        venue="D1",
        order_id="ioc",
        parent_id="P",
        child_id="C",
        instrument="XYZ",
        side=Side.BUY,
        quantity=100,
        order_type=OrderType.MARKET,
        tif=TimeInForce.IOC,
    )
    out = market.dark.handle(ioc, now + SECOND, sender="router")
    assert [type(m) for _, m in out] == [VenueOrderAccepted, VenueOrderCancelled]


def test_every_dark_fill_is_at_the_lit_mid_just_published():
    market = Market(seed=2, dark=DarkConfig(arrival_rate=0.02))
    quotes: list[tuple[int, int]] = []  # (ts, mid) of each lit snapshot
    fills: list[VenueOrderFilled] = []
    order: str | None = None
    for now, events in market.publications(30):
        quotes.append((now - LINK, int(market.mids[-1])))
        fills += fills_of(events)
        if order is None or not market.dark.live.get(order):
            order, placed = market.place(Side.BUY, 300, now)
            fills += fills_of(placed)
    assert len(fills) > 20
    for f in fills:
        ts, mid = quotes[bisect.bisect_right(quotes, (f.ts, 1 << 62)) - 1]
        assert f.price == mid and 0 <= f.ts - ts <= 100 * MS


# ------------------------------------------------------------------ prints


def test_contra_blocks_cross_each_other_and_every_cross_is_printed():
    p = pool_with_a_cross_waiting(quote("L1", BID, ASK, T0))
    p.remove("o1")
    p.add_contra(BUY, 200, SESSION.close_ns)  # arrives after the 500 sell: it initiates
    assert p.match(T0) == []  # nothing of ours traded ...
    mid = (BID + ASK) // 2
    assert (p.volume, p.notional, p.last_price) == (200, 200 * mid, mid)  # ... but it printed
    assert p.directional == 0  # nobody's meta-order: not ours
    p.add("o2", BUY, 300, None)
    assert [c.quantity for c in p.match(T0)] == [300]
    assert (p.volume, p.directional) == (500, 300)


def test_the_pools_prints_count_in_the_consolidated_volume():
    market = Market(seed=3, dark=DarkConfig(arrival_rate=0.02))
    ours = 0
    for now, events in market.publications(30):
        ours += sum(f.quantity for f in fills_of(events))
        if not market.dark.live:
            _, placed = market.place(Side.SELL, 500, now)
            ours += sum(f.quantity for f in fills_of(placed))
    t = market.times[-1]
    lit, dark = market.lit.snapshot(t), market.dark.snapshot(t)
    assert 0 < ours < dark.volume  # ours and the contra blocks' among themselves
    assert dark.directional_volume == -ours  # our sells, for a market impact model
    view = MarketView("XYZ")
    view.update(lit)
    view.update(dark)
    assert view.volume() == lit.volume + dark.volume
    assert view.notional() == lit.notional + dark.notional
