"""The desk actor: intake, aggregation, netting and allocation (``engine.desk.desk``).

Client commands arrive from the embedded API, FIX or scenario files; execution reports
and rejects go to the ``reports`` endpoint. Each new parent gets its own parent actor,
started under the parents supervisor (transient: restarted only after a failure).

After a crash the supervisor starts it again (generation > 0) and ``started()`` rebuilds
the desk from the journal (``engine.desk.recovery``) before it acts: client orders with
their fills and status, parents with their members, target and fills, the fills already
allocated, the id counters, the orders waiting for the aggregation window (re-queued,
window timer re-armed). Then it reconciles: parent fills and state changes the old
instance never handled (dropped with its inbox, or still in flight: a later delivery is
a duplicate) are applied in the order each parent sent them, so every fill is allocated
exactly once; client commands it journaled but never answered are answered. Parent
actors are not touched: they run under their own supervisor and keep sending to the
desk's stable name.
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.actor import EngineActor
from actors.parent_actor import ParentActor
from actors.runtime import EXTERNAL, Runtime
from actors.supervisor import ChildSpec, RestartType, Supervisor
from engine.config import SessionConfig
from engine.desk import recovery as desk_recovery
from engine.desk.desk import DeskConfig, OrderDesk
from engine.desk.intake import Intake
from engine.instruments import Instrument
from engine.market_view import MarketView
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
from engine.parent.order import ParentConfig

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
        # a mandate without an end ends at the close: intake checks start and arrival by it
        intake = Intake(self.instruments, default_end_ns=self.session.close_ns)
        self.desk = OrderDesk(self.instruments, self.config, intake=intake)
        self.markets = {s: MarketView(s) for s in self.instruments}
        for symbol in self.instruments:
            self.send(self.router, SubscribeMarketData(subscriber=self.name, instrument=symbol))
        if self.generation:
            self._recover()

    # --------------------------------------------------------------- recovery

    def _recover(self) -> None:
        """Rebuild from the journal, then reconcile before acting. In simulation the
        records of the wave that crashed are already in the journal: the runtime writes a
        wave's records before it lets the supervisor restart anyone."""
        recovered = desk_recovery.rebuild(self.desk, self._journal_records())
        for msg in recovered.inbox:  # parents' fills / state changes never handled
            self._emit(self._handle(msg) or [])
        for cmd in recovered.unanswered:  # journaled on receipt already
            self._emit(self._handle(cmd) or [])
        deadline = self.desk.window_deadline()
        if deadline is not None:
            self.set_timer(_WINDOW, deadline)
        self.runtime.stats["desks_recovered"] += 1

    def _journal_records(self) -> list[Message]:
        sink = self.runtime.journal_sink
        if sink is None:
            raise RuntimeError(f"desk {self.name} restarted without a journal to recover from")
        query = getattr(sink, "query", None)
        if query is not None:  # only the types recovery reads
            names = [t.__name__ for t in desk_recovery.RECORD_TYPES]
            return [record.message for record in query(types=names)]
        records: list[Message] = list(sink)  # type: ignore[call-overload]
        return [msg for msg in records if isinstance(msg, desk_recovery.RECORD_TYPES)]

    # --------------------------------------------------------------- handlers

    def receive(self, msg: Message, sender: str) -> None:
        if isinstance(msg, MarketDataUpdated):
            view = self.markets.get(msg.instrument)
            if view is not None:
                view.update(msg)
                self.desk.set_mid(msg.instrument, view.mid())
                crossed = self.desk.net_working(msg.instrument, self.now)
                if crossed:
                    self._emit(crossed)
            return
        if sender == EXTERNAL:
            self.journal(
                msg
            )  # client commands; engine-internal messages are journaled by their sender
        out = self._handle(msg)
        if out is not None:
            self._emit(out)

    def _handle(self, msg: Message) -> list[Message] | None:
        desk, now = self.desk, self.now
        if isinstance(msg, SubmitClientOrder):
            out = desk.submit(msg.order, now)
        elif isinstance(msg, CancelClientOrder):
            out = desk.cancel(msg.source, msg.client_order_id, now)
        elif isinstance(msg, AmendClientOrder):
            out = desk.amend(msg.source, msg.client_order_id, now, msg.quantity, msg.limit_price)
        elif isinstance(msg, ParentOrderFilled):
            out = desk.on_parent_fill(msg)
        elif isinstance(msg, ParentStateChanged):
            out = desk.on_parent_state(msg)
        else:
            return None
        return out

    # --------------------------------------------------------------- emitting

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
        self.parents.start_child(
            ChildSpec(
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
            )
        )
