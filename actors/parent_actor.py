"""The parent order actor: one per parent, hosting ``engine.parent.ParentOrder``.

It reads the market from the router's relay, places and cancels children through the
router, wakes on the parent's own timer, and reports fills and state changes to the
desk. Every decision it makes is journaled.
"""

from __future__ import annotations

from actors.actor import EngineActor
from actors.runtime import Runtime
from engine.config import SessionConfig
from engine.instruments import Instrument
from engine.market import MarketView
from engine.messages import (
    CancelChildOrder,
    CancelParentOrder,
    ChildOrderAccepted,
    ChildOrderDone,
    ChildOrderFilled,
    ChildOrderOverfilled,
    ChildOrderRejected,
    MarketDataUpdated,
    Message,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentStateChanged,
    PlaceChildOrder,
    ResizeParentOrder,
    SubscribeMarketData,
)
from engine.parent import ParentConfig, ParentOrder

_WAKE = "decide"


class ParentActor(EngineActor):
    def __init__(
        self,
        runtime: Runtime,
        name: str,
        generation: int = 0,
        *,
        order: ParentOrderCreated,
        instrument: Instrument,
        session: SessionConfig,
        config: ParentConfig = ParentConfig(),
        router: str = "router",
        desk: str = "desk",
    ) -> None:
        super().__init__(runtime, name, generation)
        self.order = order
        self.instrument = instrument
        self.session = session
        self.config = config
        self.router = router
        self.desk = desk

    def started(self) -> None:
        self.market = MarketView(self.instrument.symbol)
        self.parent = ParentOrder(self.order, self.instrument, self.session, self.config)
        self.send(self.router, SubscribeMarketData(subscriber=self.name,
                                                   instrument=self.instrument.symbol))
        self._emit(self.parent.start(self.now, self.market))

    def receive(self, msg: Message, sender: str) -> None:
        parent, now, market = self.parent, self.now, self.market
        if isinstance(msg, MarketDataUpdated):
            market.update(msg)
            return
        if isinstance(msg, ChildOrderFilled):
            out = parent.on_child_filled(msg, now, market)
        elif isinstance(msg, ChildOrderDone):
            out = parent.on_child_done(msg, now, market)
        elif isinstance(msg, ChildOrderAccepted):
            out = parent.on_child_accepted(msg, now, market)
        elif isinstance(msg, ChildOrderRejected):
            out = parent.on_child_rejected(msg, now, market)
        elif isinstance(msg, ChildOrderOverfilled):
            # Shares beyond the child: the desk books them to the excess account.
            self.journal(msg)
            out = [ParentOrderFilled(
                parent_id=msg.parent_id, child_id=msg.child_id, fill_id=msg.fill_id,
                venue=msg.venue, quantity=msg.quantity, price=msg.price,
                liquidity=msg.liquidity, fee=msg.fee, ts=now,
            )]
        elif isinstance(msg, ResizeParentOrder):
            out = parent.resize(msg.quantity, now, market, msg.reason)
        elif isinstance(msg, CancelParentOrder):
            out = parent.cancel(now, msg.reason or "cancelled")
        else:
            return
        self._emit(out)

    def on_timer(self, key: str) -> None:
        self._emit(self.parent.on_timer(self.now, self.market))

    def _emit(self, out: list[Message]) -> None:
        for msg in out:
            if isinstance(msg, (PlaceChildOrder, CancelChildOrder)):
                self.journal(self.send(self.router, msg))
            elif isinstance(msg, (ParentOrderFilled, ParentStateChanged)):
                self.journal(self.send(self.desk, msg))
            else:
                self.journal(msg)  # ScheduleRecalibrated and other decisions
        wake = self.parent.next_wake_ns
        if wake is not None and not self.parent.is_terminal:
            self.set_timer(_WAKE, wake)
        else:
            self.cancel_timer(_WAKE)
