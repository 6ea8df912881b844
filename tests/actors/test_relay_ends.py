"""A parent that has ended tells the router, and the router's relay sends it no more
market data: only live parents (and the desk) read the market."""

from __future__ import annotations

from actors import Engine, MarketConfig
from engine import messages as m
from engine.clock import MINUTE, SECOND
from engine.config import VenueConfig
from engine.instruments import Instrument
from engine.prices import to_price

MARKET = MarketConfig(
    instrument=Instrument(symbol="XYZ", ref_price=to_price("100"), lot=100),
    venues=[VenueConfig(name="LIT1"), VenueConfig(name="LIT2")],
)


def order(cid: str, qty: int, minutes: int) -> m.ClientOrder:
    open_ns = MARKET.session.open_ns
    return m.ClientOrder(
        source="OMS",
        account="A1",
        client_order_id=cid,
        instrument="XYZ",
        side=m.Side.BUY,
        quantity=qty,
        mandate=m.Mandate(strategy=m.StrategyName.TWAP, end_ns=open_ns + minutes * MINUTE),
    )


def test_an_ended_parent_is_unsubscribed_from_the_relay():
    open_ns = MARKET.session.open_ns
    with Engine(MARKET, seed=5) as engine:
        engine.submit(order("short", 500, minutes=3), at_ns=open_ns + SECOND)
        engine.submit(order("long", 5_000, minutes=60), at_ns=open_ns + SECOND)
        engine.run_until(open_ns + 10 * MINUTE)
        router = engine.runtime.ref("router").actor
        subscribers = set(router.subscribers)
        assert engine.journal is not None
        records = list(engine.journal.replay())
    ended = {
        r.parent_id
        for r in records
        if isinstance(r, m.ParentStateChanged) and r.state is m.ParentState.COMPLETED
    }
    gone = [r.subscriber for r in records if isinstance(r, m.UnsubscribeMarketData)]
    assert len(ended) == 1 and gone == sorted(ended)  # the short one, once
    assert subscribers == {"desk", "P1", "P2"} - ended
