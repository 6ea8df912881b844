"""The desk actor: intake, aggregation, netting and allocation (``engine.aggregation``).

Client commands arrive from the embedded API, FIX or scenario files; execution reports
and rejects go to the ``reports`` endpoint. Each new parent gets its own parent actor,
started under the parents supervisor (transient: restarted only after a failure).
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.actor import EngineActor
from actors.parent_actor import ParentActor
from actors.runtime import EXTERNAL, Runtime
from actors.supervisor import ChildSpec, RestartType, Supervisor
from engine.aggregation import DeskConfig, OrderDesk
from engine.config import SessionConfig
from engine.instruments import Instrument
from engine.market import MarketView
from engine.messages import (
    AmendClientOrder,
    CancelClientOrder,
    CancelParentOrder,
    ClientOrderRejected,
    ExecutionReport,
    MarketDataUpdated,
    Message,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentStateChanged,
    ResizeParentOrder,
    SubmitClientOrder,
    SubscribeMarketData,
)
from engine.parent import ParentConfig

_WINDOW = "window"
REPORTS = "reports"


class DeskActor(EngineActor):
    def __init__(
        self,
        runtime: Runtime,
        name: str,
        generation: int = 0,
        *,
        instruments: Sequence[Instrument],
        session: SessionConfig,
        parents: Supervisor,
        config: DeskConfig = DeskConfig(),
        parent_config: ParentConfig = ParentConfig(),
        router: str = "router",
        reports: str = REPORTS,
    ) -> None:
        super().__init__(runtime, name, generation)
        self.instruments = {i.symbol: i for i in instruments}
        self.session = session
        self.parents = parents
        self.config = config
        self.parent_config = parent_config
        self.router = router
        self.reports = reports

    def started(self) -> None:
        self.desk = OrderDesk(self.instruments, self.config)
        self.markets = {s: MarketView(s) for s in self.instruments}
        for symbol in self.instruments:
            self.send(self.router, SubscribeMarketData(subscriber=self.name, instrument=symbol))

    def receive(self, msg: Message, sender: str) -> None:
        desk, now = self.desk, self.now
        if isinstance(msg, MarketDataUpdated):
            view = self.markets.get(msg.instrument)
            if view is not None:
                view.update(msg)
                desk.set_mid(msg.instrument, view.mid())
            return
        if sender == EXTERNAL:
            self.journal(msg)  # client commands; engine-internal messages are journaled by their sender
        if isinstance(msg, SubmitClientOrder):
            out = desk.submit(msg.order, now)
        elif isinstance(msg, CancelClientOrder):
            out = desk.cancel(msg.source, msg.client_order_id, now)
        elif isinstance(msg, AmendClientOrder):
            out = desk.amend(msg.source, msg.client_order_id, now, msg.quantity,
                             msg.limit_price)
        elif isinstance(msg, ParentOrderFilled):
            out = desk.on_parent_fill(msg)
        elif isinstance(msg, ParentStateChanged):
            out = desk.on_parent_state(msg)
        else:
            return
        self._emit(out)

    def on_timer(self, key: str) -> None:
        self._emit(self.desk.close_window(self.now))

    def _emit(self, out: list[Message]) -> None:
        for msg in out:
            if isinstance(msg, (ExecutionReport, ClientOrderRejected)):
                self.journal(self.send(self.reports, msg))
            elif isinstance(msg, ParentOrderCreated):
                self._start_parent(self.journal(msg))
            elif isinstance(msg, (ResizeParentOrder, CancelParentOrder)):
                self.journal(self.send(msg.parent_id, msg))
            else:
                self.journal(msg)  # InternalCrossExecuted
        deadline = self.desk.window_deadline()
        if deadline is not None:
            self.set_timer(_WINDOW, deadline)

    def _start_parent(self, order: ParentOrderCreated) -> None:
        self.parents.start_child(ChildSpec(
            order.parent_id,
            ParentActor,
            {
                "order": order,
                "instrument": self.instruments[order.instrument],
                "session": self.session,
                "config": self.parent_config,
                "router": self.router,
                "desk": self.name,
            },
            restart=RestartType.TRANSIENT,
        ))
