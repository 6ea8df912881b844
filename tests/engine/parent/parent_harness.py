"""A tiny deterministic market around one ``ParentOrder``: the parent tests' harness."""

from __future__ import annotations

from engine.clock import MINUTE, SECOND
from engine.config import SessionConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    BookLevel,
    CancelChildOrder,
    ChildOrderAccepted,
    ChildOrderDone,
    ChildOrderFilled,
    Liquidity,
    Mandate,
    MarketDataUpdated,
    ParentOrderCreated,
    ParentStateChanged,
    PlaceChildOrder,
    Side,
    Tactic,
    VenueKind,
    VenueStatus,
)
from engine.parent.order import ParentConfig, ParentOrder

SESSION = SessionConfig()
T0 = SESSION.open_ns + 60 * MINUTE
CENT = 10_000
XYZ = Instrument(symbol="XYZ", tick=CENT, lot=100, ref_price=100 * 1_000_000)


def quote(market: MarketView, bid: int | None, ask: int | None, volume: int) -> None:
    market.update(
        MarketDataUpdated(
            venue="LIT1",
            instrument="XYZ",
            kind=VenueKind.LIT,
            status=VenueStatus.UP,
            bids=[BookLevel(bid, 1_000)] if bid else [],
            asks=[BookLevel(ask, 1_000)] if ask else [],
            volume=volume,
        )
    )


def make_parent(qty=10_000, side=Side.BUY, limit=None, minutes=30, **mandate) -> ParentOrder:
    mandate.setdefault("end_ns", T0 + minutes * MINUTE)
    order = ParentOrderCreated(
        parent_id="P1",
        instrument="XYZ",
        side=side,
        quantity=qty,
        limit_price=limit,
        mandate=Mandate(**mandate),
    )
    return ParentOrder(order, XYZ, SESSION, ParentConfig())


class Harness:
    """Runs a parent to its end. Aggressive children whose price reaches the far touch fill
    at once; passive/midpoint ones fill ``passive_fill`` of their leaves per wake (0 = a
    starved market). The market trades ``market_rate`` shares per second besides us."""

    def __init__(
        self,
        parent,
        bid=100 * 1_000_000,
        spread=2 * CENT,
        passive_fill=0.5,
        market_rate=50,
        cross=True,
    ):
        self.parent, self.bid, self.ask = parent, bid, bid + spread
        self.passive_fill, self.market_rate, self.cross = passive_fill, market_rate, cross
        self.market = MarketView("XYZ")
        self.now = T0
        self.background = 0
        self.ours = 0
        self.working: dict[str, PlaceChildOrder] = {}
        self.leaves: dict[str, int] = {}
        self.out: list = []
        self.fills = 0
        self.invariant_checks = 0
        self._refresh()

    def _refresh(self):
        quote(self.market, self.bid, self.ask, self.background + self.ours)

    def run(self, until=None):
        self.feed(self.parent.start(self.now, self.market))
        while self.parent.next_wake_ns is not None and (until is None or self.now < until):
            nxt = self.parent.next_wake_ns
            assert nxt > self.now
            self.background += self.market_rate * (nxt - self.now) // SECOND
            self.now = nxt
            self._refresh()
            self.feed(self.parent.on_timer(self.now, self.market))
            self.fill_passive()
        return self

    def fill_passive(self):
        for cid, place in list(self.working.items()):
            if place.tactic is not Tactic.AGGRESSIVE and self.passive_fill > 0:
                qty = int(self.leaves[cid] * self.passive_fill) // 100 * 100 or self.leaves[cid]
                self.fill(place, qty, place.limit_price)

    def fill(self, place, qty, price):
        self.fills += 1
        self.leaves[place.child_id] -= qty
        self.ours += qty
        self._refresh()
        msg = ChildOrderFilled(
            parent_id="P1",
            child_id=place.child_id,
            fill_id=f"F{self.fills}",
            venue="LIT1",
            quantity=qty,
            price=price,
            liquidity=Liquidity.TAKER,
            leaves=self.leaves[place.child_id],
        )
        self.feed(self.parent.on_child_filled(msg, self.now, self.market))
        if self.leaves.get(place.child_id) == 0:
            self.done(place.child_id)

    def done(self, cid):
        place = self.working.pop(cid, None)
        if place is None:
            return
        msg = ChildOrderDone(
            parent_id="P1",
            child_id=cid,
            filled=place.quantity - self.leaves[cid],
            cancelled=self.leaves[cid],
        )
        self.feed(self.parent.on_child_done(msg, self.now, self.market))

    def feed(self, msgs):
        for m in msgs:
            assert m.ts == self.now and m.msg_id == 0
            self.out.append(m)
            self.check_invariants()
            if isinstance(m, PlaceChildOrder):
                self.working[m.child_id] = m
                self.leaves[m.child_id] = m.quantity
                self.feed(
                    self.parent.on_child_accepted(
                        ChildOrderAccepted(parent_id="P1", child_id=m.child_id),
                        self.now,
                        self.market,
                    )
                )
                far = self.ask if m.side is Side.BUY else self.bid
                crosses = m.limit_price is not None and (m.limit_price - far) * m.side >= 0
                if m.tactic is Tactic.AGGRESSIVE and self.cross and crosses:
                    self.fill(m, m.quantity, far)
            elif isinstance(m, CancelChildOrder) and m.child_id in self.working:
                self.done(m.child_id)

    def check_invariants(self):
        p = self.parent
        assert p.filled <= p.target
        assert p.open_qty <= max(p.leaves, 0) or p.is_terminal
        self.invariant_checks += 1

    def of(self, kind):
        return [m for m in self.out if isinstance(m, kind)]

    def states(self):
        return [m.state for m in self.of(ParentStateChanged)]
