"""Venue actors on the simulated runtime: determinism of a 3 lit + 2 dark market."""

import hashlib

from actors.runtime import SimRuntime
from actors.simulated_market import start_market, subscribe
from actors.supervisor import Supervisor
from engine import messages as m
from engine.audit import MemoryTrail
from engine.clock import MINUTE, SECOND
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.prices import to_price

INSTRUMENT = Instrument(symbol="XYZ", ref_price=to_price("100"))
SESSION = SessionConfig()
VENUES = [
    VenueConfig(name="LIT1"),
    VenueConfig(name="LIT2"),
    VenueConfig(name="LIT3"),
    VenueConfig(name="DARK1", kind=m.VenueKind.DARK),
    VenueConfig(name="DARK2", kind=m.VenueKind.DARK),
]


def run_market(seed: int, minutes: int = 20):
    rt = SimRuntime(seed=seed, start_ns=SESSION.open_ns)
    sup = Supervisor(rt)
    names = start_market(rt, sup, INSTRUMENT, SESSION, VENUES, clients=["trader"])
    log = hashlib.sha256()
    events = []

    def record(msg, sender):
        events.append(msg)
        log.update(sender.encode() + m.canonical(msg))

    rt.on_message("trader", record)
    subscribe(rt, "trader", "XYZ", names)
    rt.run_until(SESSION.open_ns + 1 * SECOND)
    mid = to_price("100")
    for k in range(10):  # our own orders: resting bids, a marketable sweep, dark orders
        venue = ["LIT1", "LIT2", "DARK1"][k % 3]
        order = m.PlaceVenueOrder(
            venue=venue,
            order_id=f"O{k}",
            parent_id="P1",
            child_id="C1",
            instrument="XYZ",
            side=m.Side.BUY,
            quantity=500,
            order_type=m.OrderType.MARKET if k == 5 else m.OrderType.LIMIT,
            price=None if k == 5 else mid - (k % 4) * 10_000,
        )
        rt.send("trader", venue, order, delay_ns=k * 30 * SECOND)
    rt.run_until(SESSION.open_ns + minutes * MINUTE)
    rt.stop()
    return log.hexdigest(), events


def test_same_seed_same_event_log_different_seed_differs():
    d1, events = run_market(seed=11)
    d2, _ = run_market(seed=11)
    d3, _ = run_market(seed=12)
    assert d1 == d2 and d1 != d3
    kinds = {type(e).__name__ for e in events}
    assert {"MarketDataUpdated", "VenueOrderAccepted", "VenueOrderFilled"} <= kinds


def test_market_moves_and_venues_trade_in_the_background():
    _, events = run_market(seed=5, minutes=30)
    lit = [e for e in events if isinstance(e, m.MarketDataUpdated) and e.venue == "LIT1"]
    period_s = VenueConfig(name="x").md_interval_ns // SECOND
    assert len(lit) >= 30 * 60 // period_s - 5  # one publication per market-data period
    assert lit[-1].volume > lit[0].volume
    assert len({(e.bids[0].price + e.asks[0].price) for e in lit if e.bids and e.asks}) > 3
    for e in lit:
        if e.bids and e.asks:
            assert e.bids[0].price < e.asks[0].price  # never crossed


def test_dark_pool_fills_at_the_lit_mid():
    _, events = run_market(seed=5, minutes=30)
    dark_fills = [e for e in events if isinstance(e, m.VenueOrderFilled) and e.venue == "DARK1"]
    for f in dark_fills:
        assert f.liquidity is m.Liquidity.MIDPOINT


def test_a_restarted_venue_answers_cancels_of_orders_it_no_longer_knows():
    """An exchange reset forgets resting orders; a router reconciling by cancel must still
    get an answer ("unknown_order"), or its child never settles."""
    rt = SimRuntime(seed=2, start_ns=SESSION.open_ns)
    sup = Supervisor(rt)
    start_market(rt, sup, INSTRUMENT, SESSION, VENUES[:1], clients=["trader"])
    got = []
    rt.on_message("trader", lambda msg, sender: got.append(msg))
    order = m.PlaceVenueOrder(
        venue="LIT1",
        order_id="O1",
        parent_id="P1",
        child_id="C1",
        instrument="XYZ",
        side=m.Side.BUY,
        quantity=100,
        price=to_price("90"),
    )
    rt.send("trader", "LIT1", order)
    rt.run_until(SESSION.open_ns + SECOND)
    assert any(isinstance(e, m.VenueOrderAccepted) for e in got)
    sup.child_failed("LIT1", RuntimeError("exchange reset"))  # supervisor restarts it
    rt.send("trader", "LIT1", m.CancelVenueOrder(venue="LIT1", order_id="O1"))
    rt.run_until(SESSION.open_ns + 2 * SECOND)
    rejects = [e for e in got if isinstance(e, m.VenueCancelRejected)]
    assert [r.reason for r in rejects] == ["unknown_order"]  # the new instance answered


def test_a_restarted_venue_keeps_publishing_to_its_market_s_subscribers():
    """Subscriptions live in the venue, which a restart resets, and nobody subscribes
    again: the router (a client) and the other venues must keep getting its market data,
    or they trade on its last quote before the crash (a must-complete order would expire
    short)."""
    rt = SimRuntime(seed=2, start_ns=SESSION.open_ns)
    sup = Supervisor(rt)
    start_market(rt, sup, INSTRUMENT, SESSION, VENUES, clients=["trader"])
    quotes = []
    rt.on_message(
        "trader",
        lambda msg, sender: (
            quotes.append((msg.ts, sender)) if isinstance(msg, m.MarketDataUpdated) else None
        ),
    )
    subscribe(rt, "trader", "XYZ", [v.name for v in VENUES])
    rt.run_until(SESSION.open_ns + MINUTE)
    crash = rt.now()
    sup.child_failed("LIT1", RuntimeError("exchange reset"))
    rt.run_until(SESSION.open_ns + 2 * MINUTE)
    after = {sender for ts, sender in quotes if ts > crash}
    assert after == {v.name for v in VENUES}  # LIT1's new instance included
    assert set(rt.ref("LIT1").actor.obj.subscribers) == {"trader"} | {
        v.name for v in VENUES if v.name != "LIT1"
    }  # the other venues too (inline ref)


def test_a_venue_journals_its_order_events_and_status_changes_once_and_no_feed():
    trail = MemoryTrail()
    rt = SimRuntime(seed=3, start_ns=SESSION.open_ns, journal=trail)
    sup = Supervisor(rt)
    start_market(rt, sup, INSTRUMENT, SESSION, VENUES[:2], clients=["trader"])
    got = []
    rt.on_message("trader", lambda msg, sender: got.append(msg))
    subscribe(rt, "trader", "XYZ", ["LIT1", "LIT2"])
    order = m.PlaceVenueOrder(
        venue="LIT1",
        order_id="O1",
        parent_id="P1",
        child_id="C1",
        instrument="XYZ",
        side=m.Side.BUY,
        quantity=100,
        price=to_price("90"),
    )
    rt.send("trader", "LIT1", order)
    rt.send("trader", "LIT1", m.InjectVenueFault(venue="LIT1", fault=m.FaultKind.DEGRADE))
    rt.run_until(SESSION.open_ns + 10 * SECOND)
    rt.stop()
    journaled = list(trail.by_venue("LIT1"))
    assert [r.type for r in journaled] == ["VenueOrderAccepted", "VenueStatusChanged"]
    accepted = next(msg for msg in got if isinstance(msg, m.VenueOrderAccepted))
    assert journaled[0].message == accepted  # journaled as sent, by its sender
    assert not list(trail.by_type("MarketDataUpdated", "SubscribeMarketData"))
    assert sum(isinstance(msg, m.VenueStatusChanged) for msg in got) == 1  # broadcast too
    assert sum(isinstance(msg, m.MarketDataUpdated) for msg in got) > 2
